"""Approval clicks: who may decide, and recording the first decision exactly once.

Card data is untrusted: it only names a request. The clicker must be an approver of that request, in the
request's tenant (the request is looked up under the clicker's tenant, so another tenant's request is simply
not found), and never the requester. The Decisions row is insert-only, so of two concurrent clicks — two
approvers, a double click, or a Teams retry of the same invoke — exactly one is recorded; the others get the
decision that won. No botbuilder here: the handler translates activities into these calls.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.approvers import ApproverDirectory
from greenlight.models import Decision, Request, RequestStatus, Verdict, Versioned, utc_now
from greenlight.storage import (
    AlreadyDecided,
    AuditLog,
    ConcurrencyConflict,
    DecisionRepository,
    NotFound,
    RequestRepository,
)

log = logging.getLogger("greenlight.bot.approvals")

OPEN_STATUSES = frozenset({RequestStatus.SUBMITTED, RequestStatus.PENDING_APPROVAL})


class Outcome(StrEnum):
    RECORDED = "recorded"
    ALREADY_DECIDED = "already_decided"
    REFUSED = "refused"


@dataclass(frozen=True)
class ClickResult:
    outcome: Outcome
    request: Request | None = None
    decision: Decision | None = None
    reason: str | None = None  # shown to the clicker when refused


class ApprovalService:
    def __init__(
        self,
        requests: RequestRepository,
        decisions: DecisionRepository,
        approvers: ApproverDirectory,
        audit: AuditLog | None = None,
        clock: Callable[[], object] = utc_now,
    ) -> None:
        self._requests = requests
        self._decisions = decisions
        self._approvers = approvers
        self._audit = audit
        self._clock = clock

    def is_approver(self, request: Request, oid: str | None) -> bool:
        return bool(oid) and oid.lower() in self._approvers.approvers_for(request)

    def decide(
        self,
        *,
        tenant_id: str,
        request_id: str,
        clicker_oid: str | None,
        clicker_name: str,
        verdict: Verdict,
        comment: str = "",
    ) -> ClickResult:
        try:
            current = self._requests.get(tenant_id, request_id)
        except NotFound:
            return ClickResult(Outcome.REFUSED, reason="This request does not exist (or not in your organization).")
        request = current.value
        if not clicker_oid:
            return ClickResult(Outcome.REFUSED, request, reason="Your identity could not be determined.")
        if clicker_oid.lower() == request.requester_oid.lower():
            return ClickResult(Outcome.REFUSED, request, reason="You cannot approve your own request.")
        if not self.is_approver(request, clicker_oid):
            return ClickResult(Outcome.REFUSED, request, reason="You are not an approver for this request.")
        existing = self._decisions.get(request_id, request.stage)
        if existing is not None:
            return ClickResult(Outcome.ALREADY_DECIDED, self._apply(current, existing), existing)
        if request.status not in OPEN_STATUSES:
            return ClickResult(Outcome.REFUSED, request, reason=f"This request is {request.status}; nothing to decide.")
        decision = Decision(
            request_id=request_id,
            stage=request.stage,
            approver_oid=clicker_oid,
            approver_name=clicker_name,
            verdict=verdict,
            comment=comment.strip()[:300],
            decided_at=self._clock(),
        )
        try:
            self._decisions.record(decision)
        except AlreadyDecided as lost:
            return ClickResult(Outcome.ALREADY_DECIDED, self._apply(current, lost.existing), lost.existing)
        if self._audit is not None:
            self._audit.append(
                clicker_oid,
                f"request.{verdict}",
                f"request/{request_id}",
                {"stage": request.stage, "tenant": tenant_id, "via": "teams"},
            )
        return ClickResult(Outcome.RECORDED, self._apply(current, decision), decision)

    def _apply(self, current: Versioned[Request], decision: Decision) -> Request:
        """Move an open request to Approved / Rejected. Safe to repeat: a retried click converges on the same row.

        Until the request workflow consumes decisions, the bot moves the status itself so `status` and
        `pending` tell the truth; ETag-guarded, re-read on conflict.
        """
        target = RequestStatus.APPROVED if decision.verdict is Verdict.APPROVED else RequestStatus.REJECTED
        for _ in range(5):
            request = current.value
            if request.status not in OPEN_STATUSES or request.stage != decision.stage:
                return request
            try:
                return self._requests.update(dataclasses.replace(request, status=target), current.etag).value
            except ConcurrencyConflict:
                current = self._requests.get(request.tenant_id, request.request_id)
        log.warning("request %s kept changing; status not moved to %s", decision.request_id, target)
        return current.value
