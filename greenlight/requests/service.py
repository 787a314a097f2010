"""The application layer both doors call: submit a request, record a decision, cancel a request.

Rules live here once: a package its policy blocks is refused at submit; who may decide (an approver of the
request's current stage, or an escalation approver once it is escalated, never its requester, in its tenant);
each approver's first decision wins and the first decision that settles a stage wins (insert-only Decisions
rows), and only then is the workflow signalled, so a replayed or duplicated event can never decide twice; cancel
is for the requester or an Admin, before publishing starts.
Storage calls are blocking SDK calls, run in a worker thread so the event loop (Teams turns) keeps moving.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from greenlight.models import Decision, Request, RequestStatus, Verdict, utc_now
from greenlight.policy import ApprovalPolicy, Rule, StagePlan
from greenlight.policy.effective import ensure_requestable
from greenlight.requests import rules, stages
from greenlight.requests.approvers import ApproverDirectory
from greenlight.requests.errors import (
    IdempotencyKeyReused,
    NotAllowed,
    NotOpen,
    NotYetOpen,
    RequestNotFound,
    WorkflowUnavailable,
)
from greenlight.requests.intake import Submission, SubmitRequest, fingerprint, new_request, request_id_for
from greenlight.requests.ports import AuditTrail, DecisionStore, DeviceDirectory, PackageCatalog, RequestStore
from greenlight.requests.stages import StageBook
from greenlight.requests.workflow import Workflow
from greenlight.storage.errors import AlreadyDecided as StoredDecisionExists
from greenlight.storage.errors import AlreadyExists, InvalidKey, NotFound

log = logging.getLogger("greenlight.requests")

OPEN_STATUSES = frozenset({RequestStatus.SUBMITTED, RequestStatus.PENDING_APPROVAL})
CANCELLABLE = frozenset({RequestStatus.SUBMITTED, RequestStatus.PENDING_APPROVAL, RequestStatus.APPROVED})


class PolicyLookup(Protocol):
    def policy_for(self, tenant_id: str, package_id: str) -> ApprovalPolicy: ...


class Action(StrEnum):
    """The audit vocabulary of a request's life."""

    SUBMITTED = "request.submitted"
    APPROVED = "request.approved"
    REJECTED = "request.rejected"
    CANCELLED = "request.cancelled"
    COMPLETED = "request.completed"
    FAILED = "request.failed"
    EXPIRED = "request.expired"
    STAGE_APPROVED = "request.stage_approved"  # an approval stage other than the last


@dataclass(frozen=True)
class DecideRequest:
    tenant_id: str
    request_id: str
    approver_oid: str
    approver_name: str
    verdict: Verdict
    comment: str = ""
    via: str = "api"
    stage: int | None = None  # the stage the card was for (None: the current one)


@dataclass(frozen=True)
class DecisionOutcome:
    request: Request
    decision: Decision  # this approver's decision; or, when it did not count, the one that settled the stage
    recorded: bool  # False: this approver had decided already, or the stage was settled first (409)
    settled: Decision | None = None  # the decision that settled the stage, if it is settled


def settle_status(current: Request, decision: Decision) -> Request | None:
    """The row once `decision` settled its stage: Rejected, Approved after the last stage, else unchanged."""
    if current.status not in OPEN_STATUSES or current.stage != decision.stage:
        return None
    if (
        decision.verdict is Verdict.APPROVED
        and current.plan is not None
        and not stages.is_last_stage(current, decision.stage)
    ):
        return None
    target = RequestStatus.APPROVED if decision.verdict is Verdict.APPROVED else RequestStatus.REJECTED
    return dataclasses.replace(current, status=target, progress=None)


def entity(request_id: str) -> str:
    return f"request/{request_id}"


class RequestService:
    def __init__(
        self,
        requests: RequestStore,
        decisions: DecisionStore,
        audit: AuditTrail,
        approvers: ApproverDirectory,
        catalog: PackageCatalog,
        devices: DeviceDirectory,
        clock: Callable[[], dt.datetime] = utc_now,
        policies: PolicyLookup | None = None,
    ) -> None:
        self.requests = requests
        self.decisions = decisions
        self.audit = audit
        self.approvers = approvers
        self.catalog = catalog
        self.devices = devices
        self._clock = clock
        self.policies = policies  # None: no package is blocked (today's behaviour)
        self.book = StageBook(decisions)

    # ------------------------------------------------------------------ reading

    async def get(self, tenant_id: str, request_id: str) -> Request:
        try:
            return (await asyncio.to_thread(self.requests.get, tenant_id, request_id)).value
        except (NotFound, InvalidKey):
            raise RequestNotFound(request_id) from None

    async def current_stage(self, request: Request) -> StagePlan | None:
        """The stage a decision now applies to: the plan's current stage; for a row written before approval
        policies (no plan), the configured approvers, any one decides."""
        if request.plan is not None:
            return stages.stage_at(request, request.stage)
        await self.approvers.refresh()
        return StagePlan(0, "Approval", Rule.ANY, tuple(sorted(self.approvers.approvers_for(request))), "named")

    async def may_decide(self, request: Request, oid: str | None) -> bool:
        """Whether `oid` may decide the request's current stage now (never its requester)."""
        if not oid or oid.lower() == request.requester_oid.lower():
            return False
        stage = await self.current_stage(request)
        return stage is not None and oid.lower() in stages.deciders(request, stage)

    async def is_approver(self, request: Request, oid: str | None) -> bool:
        """Whether `oid` was asked to decide any stage of the request (what they may read), never its requester."""
        if not oid or oid.lower() == request.requester_oid.lower():
            return False
        if request.plan is None:
            return await self.may_decide(request, oid)
        asked = {a for stage in stages.stages_of(request) for a in stage.approvers}
        if request.escalated:
            asked |= set(stages.escalation_of(request))
        return oid.lower() in asked

    # ------------------------------------------------------------------ submit

    async def submit_request(self, command: SubmitRequest, workflow: Workflow) -> Submission:
        package_id = rules.check_package_id(command.package_id)
        version = rules.check_version(command.package_version)
        justification = rules.clean_text(command.justification, "justification", max_chars=rules.JUSTIFICATION_MAX)
        command = dataclasses.replace(
            command,
            architecture=rules.check_architecture(command.architecture),
            scope=rules.check_scope(command.scope),
            client_key=rules.check_idempotency_key(command.client_key),
        )
        name = rules.clean_text(command.requester_name, "requester name", max_chars=rules.NAME_MAX)
        request_id = request_id_for(command.tenant_id, command.caller_oid, command.client_key)
        digest = fingerprint(command, package_id=package_id, version=version, justification=justification)
        if command.client_key:
            existing = await self._existing(command, request_id, digest)
            if existing is not None:
                return Submission(await self._finish_submit(existing, workflow, command.via), created=False)
        resolved = await asyncio.to_thread(self.catalog.resolve, package_id, version)
        if self.policies is not None:  # a blocked package is refused now, not after someone approved it
            policy = await asyncio.to_thread(self.policies.policy_for, command.tenant_id, resolved.package_id)
            ensure_requestable(policy, resolved.package_id)
        architecture = command.architecture or await self.devices.architecture_of(
            command.tenant_id, command.requester_oid
        )
        request = new_request(
            command,
            request_id=request_id,
            package_id=resolved.package_id,
            version=resolved.version,
            architecture=architecture,
            justification=justification,
            requester_name=name,
            digest=digest,
        )
        try:
            created = (await asyncio.to_thread(self.requests.create, request)).value
        except AlreadyExists:  # a concurrent attempt with the same key won the insert
            existing = await self._existing(command, request_id, digest)
            assert existing is not None
            return Submission(await self._finish_submit(existing, workflow, command.via), created=False)
        return Submission(await self._finish_submit(created, workflow, command.via), created=True)

    async def _existing(self, command: SubmitRequest, request_id: str, digest: str) -> Request | None:
        try:
            found = (await asyncio.to_thread(self.requests.get, command.tenant_id, request_id)).value
        except NotFound:
            return None
        if found.fingerprint != digest:
            raise IdempotencyKeyReused(command.client_key or "")
        return found

    async def _finish_submit(self, request: Request, workflow: Workflow, via: str) -> Request:
        """Audit (once) and start the workflow (idempotent); both safe to repeat on every retry."""
        details = {"package": request.package_id, "version": request.package_version, "via": via}
        if request.submitted_by and request.submitted_by != request.requester_oid:
            details["on_behalf_of"] = request.requester_oid
        await asyncio.to_thread(
            self.audit.append_once,
            f"{request.request_id}|{Action.SUBMITTED}",
            request.created_at,
            request.submitted_by or request.requester_oid,
            str(Action.SUBMITTED),
            entity(request.request_id),
            details,
        )
        if request.status is RequestStatus.SUBMITTED:
            try:
                await workflow.start(request.tenant_id, request.request_id)
            except WorkflowUnavailable:
                raise
            except Exception as error:  # the row stands as Submitted; the same retry starts the workflow
                log.error("workflow for %s not started: %s", request.request_id, type(error).__name__)
                raise WorkflowUnavailable("the approval workflow could not be started; retry the request") from error
        return request

    # ------------------------------------------------------------------ decide

    async def record_decision(self, command: DecideRequest, workflow: Workflow) -> DecisionOutcome:
        """Record one approver's decision in the request's current stage, settle the stage if that decides it,
        then signal the workflow.

        Raises RequestNotFound, NotAllowed, NotOpen. A repeated decision (this approver already decided this
        stage), or one that lost (the stage was settled first), comes back with `recorded=False` and the decision
        that stands; the doors answer 409 / show the decided card.
        """
        request = await self.get(command.tenant_id, command.request_id)
        if not command.approver_oid:
            raise NotAllowed("your identity could not be determined")
        oid = command.approver_oid.lower()
        if oid == request.requester_oid.lower():
            raise NotAllowed("you cannot decide your own request")
        if request.status is RequestStatus.SUBMITTED and request.plan is None:
            await workflow.start(request.tenant_id, request.request_id)  # idempotent: a start that failed earlier
            raise NotYetOpen(request.request_id, request.status)
        position = request.stage if command.stage is None else command.stage
        earlier = await self._earlier_stage(request, position, oid)
        if earlier is not None:
            return earlier
        stage = await self.current_stage(request)
        if stage is None or oid not in stages.deciders(request, stage):
            raise NotAllowed("you are not an approver of this request's current stage")
        comment = rules.clean_text(command.comment, "comment", max_chars=rules.COMMENT_MAX, required=False)
        mine = await asyncio.to_thread(self.decisions.of_approver, request.request_id, position, oid)
        settled = await self.book.settled(request.request_id, position)
        if mine is None and settled is None and request.status not in OPEN_STATUSES:
            raise NotOpen(request.request_id, request.status, "decided")
        recorded = False
        if mine is None and settled is None:
            decision = Decision(
                request_id=request.request_id,
                stage=position,
                approver_oid=oid,
                approver_name=rules.clean_text(command.approver_name, "approver name", max_chars=rules.NAME_MAX),
                verdict=command.verdict,
                comment=comment,
                decided_at=self._clock(),
            )
            try:
                mine = await asyncio.to_thread(self.decisions.record, decision)
                recorded = True
            except StoredDecisionExists as lost:  # a double click / retried invoke: their first decision stands
                mine = lost.existing
        settled = await self.book.settle(request, position, stage)
        if settled is not None:
            request = await self._apply(request, settled)
            await self._audit_decision(request, settled, command.via)
        if settled is not None and (mine is None or (stage.rule is Rule.ANY and settled.approver_oid != oid)):
            recorded = False  # rule any: the first decision decided the stage, this one came too late
        standing_decision = mine if mine is not None and (recorded or settled is None) else settled or mine
        assert standing_decision is not None
        await self._raise(workflow, request, position)
        return DecisionOutcome(request, standing_decision, recorded, settled)

    async def _earlier_stage(self, request: Request, position: int, oid: str) -> DecisionOutcome | None:
        """A click on an earlier stage's card (already settled): its outcome, for one of that stage's deciders."""
        if position == request.stage or request.plan is None:
            return None
        stage = stages.stage_at(request, position)
        settled = await self.book.settled(request.request_id, position) if position < request.stage else None
        if stage is None or settled is None or oid not in stage.approvers + stages.escalation_of(request):
            raise NotAllowed("you are not an approver of this request's current stage")
        return DecisionOutcome(request, settled, False, settled)

    async def _raise(self, workflow: Workflow, request: Request, position: int) -> None:
        try:
            await workflow.raise_decision(request.tenant_id, request.request_id, position)
        except Exception as error:  # the decision stands; repeating the click / call raises it again
            log.error("decision for %s not raised: %s", request.request_id, type(error).__name__)
            raise WorkflowUnavailable("the decision is recorded but the workflow was not told; retry") from error

    async def _apply(self, request: Request, decision: Decision) -> Request:
        """Move an open request to Rejected, or Approved after its last stage, so status reads true at once (the
        workflow does the same, so this converges whoever gets there first; ETag-guarded). An earlier stage's
        approval leaves it PendingApproval: the workflow opens the next stage."""
        return (await asyncio.to_thread(self.requests.modify, request.tenant_id, request.request_id,
                                        lambda current: settle_status(current, decision))).value  # fmt: skip

    async def _audit_decision(self, request: Request, decision: Decision, via: str) -> None:
        action = Action.APPROVED if decision.verdict is Verdict.APPROVED else Action.REJECTED
        if action is Action.APPROVED and request.plan is not None and not stages.is_last_stage(request, decision.stage):
            action = Action.STAGE_APPROVED  # the request itself is not approved yet
        await asyncio.to_thread(
            self.audit.append_once,
            f"{request.request_id}|decision|{decision.stage}",
            decision.decided_at,
            decision.approver_oid,
            str(action),
            entity(request.request_id),
            {"stage": decision.stage, "tenant": request.tenant_id, "via": via},
        )

    # ------------------------------------------------------------------ cancel

    async def cancel_request(
        self, tenant_id: str, request_id: str, caller_oid: str, *, is_admin: bool, workflow: Workflow
    ) -> Request:
        """Cancel before publishing starts (Submitted, PendingApproval or Approved); repeating it is fine."""
        request = await self.get(tenant_id, request_id)
        if caller_oid.lower() != request.requester_oid.lower() and not is_admin:
            raise NotAllowed("only the requester or an Admin may cancel a request")
        if request.status is not RequestStatus.CANCELLED and request.status not in CANCELLABLE:
            raise NotOpen(request_id, request.status, "cancelled")

        def change(current: Request) -> Request | None:
            if current.status is RequestStatus.CANCELLED:
                return None
            if current.status not in CANCELLABLE:
                raise NotOpen(request_id, current.status, "cancelled")
            return dataclasses.replace(current, status=RequestStatus.CANCELLED, progress=None)

        request = (await asyncio.to_thread(self.requests.modify, tenant_id, request_id, change)).value
        await asyncio.to_thread(
            self.audit.append_once,
            f"{request_id}|{Action.CANCELLED}",
            request.updated_at,
            caller_oid.lower(),
            str(Action.CANCELLED),
            entity(request_id),
            {"tenant": tenant_id, "by_admin": caller_oid.lower() != request.requester_oid.lower()},
        )
        try:
            await workflow.raise_cancel(tenant_id, request_id)
        except Exception as error:
            log.error("cancel for %s not raised: %s", request_id, type(error).__name__)
            raise WorkflowUnavailable("the request is cancelled but the workflow was not told; retry") from error
        return request
