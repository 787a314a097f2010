"""Domain records shared by the API, the bot and the orchestrations.

Frozen dataclasses: a change is a new value (`dataclasses.replace`), and the storage layer pairs a value with
the ETag it was read at (`Versioned`) so an update made from a stale copy is detected instead of overwriting.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_request_id() -> str:
    """A request id: opaque, unguessable and safe as a Table Storage row key."""
    return uuid.uuid4().hex


class RequestStatus(StrEnum):
    SUBMITTED = "Submitted"
    PENDING_APPROVAL = "PendingApproval"
    APPROVED = "Approved"
    PUBLISHING = "Publishing"
    PUBLISHED = "Published"
    COMPLETED = "Completed"
    REJECTED = "Rejected"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"
    FAILED = "Failed"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES

    def can_become(self, target: RequestStatus) -> bool:
        """Whether the lifecycle of ARCHITECTURE §5 allows moving from this status to `target`."""
        return target in _TRANSITIONS.get(self, frozenset())


_FINAL_STATUSES = frozenset(
    {
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
        RequestStatus.EXPIRED,
        RequestStatus.CANCELLED,
        RequestStatus.FAILED,
    }
)


_S = RequestStatus
# Submitted → PendingApproval → Approved → Publishing → Published → Completed, with the exits of §5. PendingApproval
# may repeat (the next approval stage); Approved may skip to Published when the version was published before.
_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    _S.SUBMITTED: frozenset({_S.PENDING_APPROVAL, _S.APPROVED, _S.REJECTED, _S.CANCELLED, _S.FAILED}),
    _S.PENDING_APPROVAL: frozenset(
        {_S.PENDING_APPROVAL, _S.APPROVED, _S.REJECTED, _S.EXPIRED, _S.CANCELLED, _S.FAILED}
    ),
    _S.APPROVED: frozenset({_S.PUBLISHING, _S.PUBLISHED, _S.CANCELLED, _S.FAILED}),
    _S.PUBLISHING: frozenset({_S.PUBLISHED, _S.FAILED}),
    _S.PUBLISHED: frozenset({_S.COMPLETED, _S.FAILED}),
}


class Verdict(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Request:
    tenant_id: str
    request_id: str
    requester_oid: str
    requester_name: str
    package_id: str
    package_version: str | None
    architecture: str
    scope: str
    justification: str
    status: RequestStatus = RequestStatus.SUBMITTED
    stage: int = 0
    created_at: dt.datetime = field(default_factory=utc_now)
    updated_at: dt.datetime = field(default_factory=utc_now)
    error: str | None = None
    app_id: str | None = None
    # Added with the request workflow (all optional, so older rows still read):
    error_code: str | None = None  # a stable code for `error`, e.g. "unknown_package", "publish_failed"
    progress: dict[str, Any] | None = None  # the workflow's last {stage, percent, message}
    submitted_by: str | None = None  # who called: the requester, or an Admin / tool acting on their behalf
    fingerprint: str | None = None  # digest of what was asked, so a retried submit with other values is refused
    # Added with approval policies: the plan the workflow made (greenlight.policy ApprovalPlan JSON), so the doors
    # check a click against the current stage (`stage` = its position in plan["stages"]) without re-planning;
    # `escalated`: the current stage is also offered to the plan's escalation approvers.
    plan: dict[str, Any] | None = None
    escalated: bool = False

    def __post_init__(self) -> None:
        # Accept the plain string a caller or a stored row gives; an unknown status is a ValueError here,
        # not a surprise later.
        object.__setattr__(self, "status", RequestStatus(self.status))


@dataclass(frozen=True)
class Decision:
    request_id: str
    stage: int
    approver_oid: str
    approver_name: str
    verdict: Verdict
    comment: str = ""
    decided_at: dt.datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))


@dataclass(frozen=True)
class ApprovalCard:
    request_id: str
    approver_oid: str
    conversation_id: str
    activity_id: str
    service_url: str
    updated_at: dt.datetime = field(default_factory=utc_now)
    stage: int = 0  # the approval stage this card was sent for (a new stage sends a new card)


@dataclass(frozen=True)
class StoredConversationReference:
    tenant_id: str
    aad_object_id: str
    reference: dict[str, Any]  # botbuilder's ConversationReference, serialized
    service_url: str
    user_name: str | None = None
    unreachable: bool = False
    unreachable_reason: str | None = None
    updated_at: dt.datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class PublishedApp:
    package_id: str
    version: str
    architecture: str
    scope: str
    app_id: str  # Intune mobileApp id
    group_id: str  # the assignment group
    content_digest: str  # sha256 of the installer that was packaged
    published_at: dt.datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class Policy:
    """An approval policy document for one package (or `*`, the tenant default); interpreted by greenlight.policy."""

    tenant_id: str
    package_id: str
    document: dict[str, Any]
    updated_at: dt.datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class AuditEntry:
    entry_id: str
    occurred_at: dt.datetime
    actor: str
    action: str
    entity: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A value together with the ETag of the stored row it was read from (or written as)."""

    value: T
    etag: str


@dataclass(frozen=True)
class CardAddress:
    """Where a card a bot sent lives (1:1 chat + activity id), so it can be updated in place later."""

    tenant_id: str
    conversation_id: str
    activity_id: str
    service_url: str
