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
from typing import Any

from greenlight.models import Request, RequestStatus, Verdict
from greenlight.requests.ports import AuditTrail, DecisionStore, Notifier, RequestStore
from greenlight.requests.progress import Progress
from greenlight.requests.service import OPEN_STATUSES, Action, entity

_AUDITED = {RequestStatus.COMPLETED: Action.COMPLETED, RequestStatus.FAILED: Action.FAILED}


class RequestSteps:
    def __init__(
        self,
        requests: RequestStore,
        decisions: DecisionStore,
        audit: AuditTrail,
        notifier: Callable[[], Notifier],
    ) -> None:
        self.requests = requests
        self.decisions = decisions
        self.audit = audit
        self._notifier = notifier  # resolved per call: the bot's notifier is built lazily

    async def open_for_approval(self, tenant_id: str, request_id: str) -> dict[str, Any]:
        """Submitted → PendingApproval and an approval card to every approver (once each)."""

        def change(request: Request) -> Request | None:
            if request.status is not RequestStatus.SUBMITTED:
                return None
            progress = Progress("Approval", 10, "Waiting for an approver").as_dict()
            return dataclasses.replace(request, status=RequestStatus.PENDING_APPROVAL, progress=progress)

        request = (await asyncio.to_thread(self.requests.modify, tenant_id, request_id, change)).value
        approvers: list[str] = []
        if request.status is RequestStatus.PENDING_APPROVAL:
            notifier = self._notifier()
            approvers = await notifier.send_approval_cards(request)
            await notifier.show_status(request, Progress.from_dict(request.progress))
        return {"status": str(request.status), "stage": request.stage, "approvers": approvers}

    async def decision_of(self, tenant_id: str, request_id: str, stage: int) -> dict[str, Any]:
        """The recorded decision of `stage`, applied to the row and shown on every card; verdict None when there
        is none (a stale or early event)."""
        decision = await asyncio.to_thread(self.decisions.get, request_id, stage)
        if decision is None:
            current = (await asyncio.to_thread(self.requests.get, tenant_id, request_id)).value
            return {"verdict": None, "status": str(current.status)}
        target = RequestStatus.APPROVED if decision.verdict is Verdict.APPROVED else RequestStatus.REJECTED

        def change(request: Request) -> Request | None:
            if request.status not in OPEN_STATUSES or request.stage != stage:
                return None
            return dataclasses.replace(request, status=target, progress=None)  # no longer "waiting for an approver"

        request = (await asyncio.to_thread(self.requests.modify, tenant_id, request_id, change)).value
        await self._notifier().show_decision(request, decision)
        return {"verdict": str(decision.verdict), "status": str(request.status)}

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
