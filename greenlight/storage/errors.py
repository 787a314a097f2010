"""Typed storage errors: callers decide on these, never on azure-core exception types."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlight.models import Decision


class StorageError(Exception):
    """Storage failed or refused an operation."""


class ConcurrencyConflict(StorageError):
    """The row changed since it was read (ETag mismatch); re-read, re-apply the change, retry."""


class AlreadyExists(StorageError):
    """An insert found a row with the same keys."""


class NotFound(StorageError):
    """No row with these keys."""


class InvalidKey(StorageError, ValueError):
    """A value cannot be a PartitionKey/RowKey (empty, too long, or has `/ \\ # ?` or control characters)."""


class InvalidContinuation(StorageError, ValueError):
    """A paging continuation token that this layer did not issue."""


class AlreadyDecided(StorageError):
    """A decision for this request and stage was recorded first by someone else (first writer wins)."""

    def __init__(self, existing: Decision) -> None:
        super().__init__(
            f"request {existing.request_id} stage {existing.stage} was already {existing.verdict} "
            f"by {existing.approver_name}"
        )
        self.existing = existing
