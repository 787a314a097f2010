"""Table Storage repositories (ARCHITECTURE §5) and blob staging, with typed errors and ETag concurrency."""

from greenlight.storage.account import StorageAccount, StorageSettings, default_account
from greenlight.storage.approval_cards import ApprovalCardRepository
from greenlight.storage.audit import AuditLog
from greenlight.storage.blobs import StagingArea
from greenlight.storage.conversation_refs import ConversationReferenceRepository
from greenlight.storage.decisions import DecisionRepository
from greenlight.storage.errors import (
    AlreadyDecided,
    AlreadyExists,
    ConcurrencyConflict,
    InvalidContinuation,
    InvalidKey,
    NotFound,
    StorageError,
)
from greenlight.storage.paging import Page
from greenlight.storage.policies import PolicyRepository
from greenlight.storage.published_apps import PublishedAppRepository
from greenlight.storage.requester_cards import RequesterCardRepository
from greenlight.storage.requests import RequestRepository

__all__ = [
    "AlreadyDecided",
    "AlreadyExists",
    "ApprovalCardRepository",
    "AuditLog",
    "ConcurrencyConflict",
    "ConversationReferenceRepository",
    "DecisionRepository",
    "InvalidContinuation",
    "InvalidKey",
    "NotFound",
    "Page",
    "PolicyRepository",
    "PublishedAppRepository",
    "RequestRepository",
    "RequesterCardRepository",
    "StagingArea",
    "StorageAccount",
    "StorageError",
    "StorageSettings",
    "default_account",
]
