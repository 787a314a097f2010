"""The request workflow's steps (each a thin activity in orchestrations/request.py).

Every step is idempotent: an activity that runs again after a crash finds the row already moved, the cards
already sent (ApprovalCards rows), the audit entry already there (deterministic key), and does nothing twice.
The request row is the arbiter: a status move is applied only when the lifecycle allows it
(`RequestStatus.can_become`), so a Cancel that lands first makes the workflow's later moves no-ops.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from greenlight.models import Request, RequestStatus
from greenlight.requests import stages
from greenlight.requests.ports import AuditTrail, DecisionStore, Notifier, RequestStore
from greenlight.requests.progress import Progress
from greenlight.requests.service import Action, entity, settle_status
from greenlight.requests.stages import StageBook

_AUDITED = {
    RequestStatus.COMPLETED: Action.COMPLETED,
    RequestStatus.FAILED: Action.FAILED,
    RequestStatus.EXPIRED: Action.EXPIRED,
}


class PolicyPlanner(Protocol):
    async def plan(self, request: Request) -> dict[str, Any]: ...


class RequestSteps:
    def __init__(
        self,
        requests: RequestStore,
        decisions: DecisionStore,
        audit: AuditTrail,
        notifier: Callable[[], Notifier],
        policies: PolicyPlanner | None = None,
    ) -> None:
        self.requests = requests
        self.decisions = decisions
        self.audit = audit
        self._notifier = notifier  # resolved per call: the bot's notifier is built lazily
        self.policies = policies
        self.book = StageBook(decisions)

    async def _row(self, tenant_id: str, request_id: str) -> Request:
        return (await asyncio.to_thread(self.requests.get, tenant_id, request_id)).value

    async def _modify(self, tenant_id: str, request_id: str, change: Callable[[Request], Request | None]) -> Request:
        return (await asyncio.to_thread(self.requests.modify, tenant_id, request_id, change)).value

    # ------------------------------------------------------------------ approval

    async def plan_approval(self, tenant_id: str, request_id: str) -> dict[str, Any]:
        """The request's approval plan, made once and kept on the row (a re-run returns the kept one, so a retry
        can never plan differently). DirectoryUnavailable propagates: the workflow retries, nobody approves."""
        request = await self._row(tenant_id, request_id)
        if request.plan is not None:
            return request.plan
        if request.status is not RequestStatus.SUBMITTED:
            return {"outcome": "closed", "status": str(request.status), "reason": f"the request is {request.status}"}
        if self.policies is None:
            raise RuntimeError("no policy service configured")
        plan = await self.policies.plan(request)
        if plan["outcome"] not in ("approval", "auto_approved"):
            return plan  # blocked, no_approvers, too_many_approvers: the workflow fails the request with the reason

        def keep(current: Request) -> Request | None:
            return None if current.plan is not None else dataclasses.replace(current, plan=plan)

        return (await self._modify(tenant_id, request_id, keep)).plan or plan

    async def open_stage(self, tenant_id: str, request_id: str, position: int) -> dict[str, Any]:
        """The request waits on stage `position`: PendingApproval, its cards out (once each), the requester told."""
        count = len(stages.stages_of(await self._row(tenant_id, request_id)))

        def change(request: Request) -> Request | None:
            moving = request.status is RequestStatus.SUBMITTED or (
                request.status is RequestStatus.PENDING_APPROVAL and request.stage < position
            )
            if not moving:
                return None
            stage = stages.stage_at(request, position)
            name = stage.name if stage is not None else "Approval"
            percent = 10 + (position * 10) // max(count, 1)
            message = "Waiting for an approver" if count <= 1 else f"Stage {position + 1} of {count}: {name}; waiting"
            return dataclasses.replace(
                request,
                status=RequestStatus.PENDING_APPROVAL,
                stage=position,
                escalated=False,
                progress=Progress("Approval", percent, message).as_dict(),
            )

        request = await self._modify(tenant_id, request_id, change)
        approvers: list[str] = []
        if request.status is RequestStatus.PENDING_APPROVAL and request.stage == position:
            notifier = self._notifier()
            approvers = await notifier.send_approval_cards(request)
            await notifier.show_status(request, Progress.from_dict(request.progress))
        return {"status": str(request.status), "stage": request.stage, "approvers": approvers}

    async def decision_of(self, tenant_id: str, request_id: str, stage: int) -> dict[str, Any]:
        """Stage `stage` settled (from the approvers' decisions, should a door not have settled it), applied to
        the row and shown on every card of the stage; verdict None while it is pending (a stale or early event,
        or rule `all` still waiting on someone)."""
        request = await self._row(tenant_id, request_id)
        plan_stage = stages.stage_at(request, stage)
        decision = await self.book.settle(request, stage, plan_stage) if plan_stage is not None else None
        if decision is None:
            decision = await self.book.settled(request_id, stage)  # a row from before approval policies
        if decision is None:
            if request.status is RequestStatus.PENDING_APPROVAL and request.stage == stage:
                await self._notifier().show_status(request, Progress.from_dict(request.progress))  # who answered
            return {"verdict": None, "status": str(request.status)}
        request = await self._modify(tenant_id, request_id, lambda current: settle_status(current, decision))
        await self._notifier().show_decision(request, decision)
        return {"verdict": str(decision.verdict), "status": str(request.status)}

    async def remind(self, tenant_id: str, request_id: str, stage: int) -> dict[str, Any]:
        """A reminder to whoever of the current stage has not answered (nothing once the stage moved on)."""
        request = await self._row(tenant_id, request_id)
        plan_stage = stages.stage_at(request, stage)
        if plan_stage is None or request.status is not RequestStatus.PENDING_APPROVAL or request.stage != stage:
            return {"reminded": []}
        answered = {d.approver_oid for d in await self.book.for_stage(request_id, stage)}
        waiting = [oid for oid in stages.deciders(request, plan_stage) if oid not in answered]
        reminded = await self._notifier().send_reminders(request, waiting) if waiting else []
        return {"reminded": reminded}

    async def escalate(self, tenant_id: str, request_id: str, stage: int) -> dict[str, Any]:
        """The current stage is also offered to the escalation approvers (their cards go out, once each)."""

        def change(request: Request) -> Request | None:
            if request.status is not RequestStatus.PENDING_APPROVAL or request.stage != stage or request.escalated:
                return None
            return dataclasses.replace(request, escalated=True)

        request = await self._modify(tenant_id, request_id, change)
        if not (request.escalated and request.stage == stage and request.status is RequestStatus.PENDING_APPROVAL):
            return {"escalated": False, "approvers": []}
        notifier = self._notifier()
        approvers = await notifier.send_approval_cards(request)
        await notifier.show_status(request, Progress.from_dict(request.progress))
        return {"escalated": True, "approvers": approvers}

    async def auto_approve(self, tenant_id: str, request_id: str, reason: str) -> dict[str, Any]:
        """Submitted → Approved by the policy (no stages), audited once."""
        moved = await self.set_status(tenant_id, request_id, RequestStatus.APPROVED)
        if moved["ok"]:
            request = await self._row(tenant_id, request_id)
            await asyncio.to_thread(
                self.audit.append_once,
                f"{request_id}|{Action.APPROVED}|policy",
                request.created_at,
                "policy",
                str(Action.APPROVED),
                entity(request_id),
                {"tenant": tenant_id, "reason": reason[:300]},
            )
        return moved

    async def set_status(
        self,
        tenant_id: str,
        request_id: str,
        status: RequestStatus,
        *,
        progress: Progress | None = None,
        app_id: str | None = None,
        error: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Move the request to `status` if the lifecycle allows it (already there counts), tell the requester.

        Returns {"ok": moved-or-already-there, "status": the row's status}."""

        def change(request: Request) -> Request | None:
            # Already there: no write, so updated_at (the audit entry's time) stays that of the move.
            if request.status is status or not request.status.can_become(status):
                return None
            return dataclasses.replace(
                request,
                status=status,
                progress=progress.as_dict() if progress else request.progress,
                app_id=app_id or request.app_id,
                error=(error or {}).get("message", request.error),
                error_code=(error or {}).get("code", request.error_code),
            )

        request = (await asyncio.to_thread(self.requests.modify, tenant_id, request_id, change)).value
        if request.status is not status:
            return {"ok": False, "status": str(request.status)}
        action = _AUDITED.get(status)
        if action is not None:
            details = {"tenant": tenant_id, "app_id": request.app_id, "error_code": request.error_code}
            await asyncio.to_thread(
                self.audit.append_once,
                f"{request_id}|{action}",
                request.updated_at,
                "workflow",
                str(action),
                entity(request_id),
                details,
            )
        await self._notifier().show_status(request, Progress.from_dict(request.progress))
        return {"ok": True, "status": str(request.status)}
