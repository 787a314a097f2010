"""The bot's views of requests: `status` (one or all of yours), `pending` (what waits on you), `cancel`, an
approver's Review, and the clicked card after a decision. A mixin of ApprovalBot (bot/handler.py), which keeps
the turn plumbing; everything decided here is asked of the application layer (greenlight.requests)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity

from bot.cards import approval_card, decided_card, request_list_card, request_status_card
from bot.references import tenant_of
from bot.services import BotServices
from bot.standing import next_step_note, stage_label, stage_view
from bot.workflow import workflow_of as _workflow
from greenlight.models import Request, RequestStatus, Verdict
from greenlight.requests import NotAllowed, NotOpen, RequestNotFound, WorkflowUnavailable
from greenlight.requests.service import CANCELLABLE, DecisionOutcome
from greenlight.storage import InvalidKey, NotFound


@dataclass(frozen=True)
class ActionResult:
    """What a card action produced: a card replacing the clicked one, and/or a short message, or an error."""

    card: dict[str, Any] | None = None
    message: str | None = None
    error: tuple[int, str, str] | None = None  # (status, code, message)


def oid_of(activity: Activity) -> str | None:
    user = activity.from_property
    return user.aad_object_id.lower() if user is not None and user.aad_object_id else None


class RequestViews:
    _s: BotServices

    async def _send_card(self, turn_context: TurnContext, card: dict[str, Any]) -> Any:
        return await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

    async def _my_requests(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        tenant_id, oid = tenant_of(activity), oid_of(activity)
        if not tenant_id or not oid:
            await turn_context.send_activity("I could not tell who you are, so I cannot list your requests.")
            return
        page = await asyncio.to_thread(self._s.requests.list_by_requester, tenant_id, oid, 15)
        items = sorted(page.items, key=lambda r: r.created_at, reverse=True)
        await self._send_card(
            turn_context, request_list_card("Your requests", items, "You have no requests yet. Try `search`.")
        )

    async def _one_request(self, turn_context: TurnContext, request_id: str) -> None:
        """One request with its decision and where it stands, for its requester or one of its approvers only."""
        activity = turn_context.activity
        tenant_id, oid = tenant_of(activity), oid_of(activity)
        try:
            current = await asyncio.to_thread(self._s.requests.get, tenant_id or "", request_id)
        except (NotFound, InvalidKey):
            current = None
        request = current.value if current is not None else None
        if request is None or (
            request.requester_oid.lower() != oid and not await self._s.service.is_approver(request, oid)
        ):
            await turn_context.send_activity("I found no request of yours with that id.")
            return
        await self._send_card(turn_context, await self._status_card(request, oid))

    async def _status_card(self, request: Request, oid: str | None) -> dict[str, Any]:
        decision = await asyncio.to_thread(self._s.decisions.get, request.request_id, request.stage)
        view = await stage_view(request, self._s.decisions, self._s.references, self._s.names)
        mine = oid is not None and request.requester_oid.lower() == oid
        return request_status_card(
            request, decision=decision, stage=view, cancellable=mine and request.status in CANCELLABLE
        )

    async def _pending(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        tenant_id, oid = tenant_of(activity), oid_of(activity)
        if not tenant_id or not oid:
            await turn_context.send_activity("I could not tell who you are, so I cannot list approvals.")
            return
        page = await asyncio.to_thread(self._s.requests.list_by_status, tenant_id, RequestStatus.PENDING_APPROVAL, 50)
        mine = [r for r in page.items if await self._waits_on(r, oid)]
        await self._send_card(
            turn_context,
            request_list_card("Waiting for your approval", mine, "Nothing is waiting for you.", reviewable=True),
        )

    async def _waits_on(self, request: Request, oid: str) -> bool:
        """The request's current stage waits on `oid`: they may decide it and have not yet."""
        if not await self._s.service.may_decide(request, oid):
            return False
        answered = await asyncio.to_thread(self._s.decisions.of_approver, request.request_id, request.stage, oid)
        return answered is None

    async def _cancel_command(self, turn_context: TurnContext, request_id: str) -> None:
        result = await self._cancel(turn_context, request_id)
        if result.error is not None:
            await turn_context.send_activity(result.error[2])
        elif result.card is not None:
            await self._send_card(turn_context, result.card)

    async def _cancel(self, turn_context: TurnContext, request_id: str) -> ActionResult:
        """The requester cancels (before publishing starts) through the same cancel_request as the API."""
        activity = turn_context.activity
        tenant_id, oid = tenant_of(activity) or "", oid_of(activity) or ""
        try:
            request = await self._s.service.cancel_request(
                tenant_id, request_id, oid, is_admin=False, workflow=_workflow(turn_context)
            )
        except (RequestNotFound, InvalidKey, NotAllowed):
            return ActionResult(error=(404, "RequestNotFound", "I found no request of yours with that id."))
        except NotOpen as closed:
            return ActionResult(
                error=(409, "NotOpen", f"This request is {closed.status}; it can no longer be cancelled.")
            )
        except WorkflowUnavailable:
            return ActionResult(error=(503, "TryAgain", "Your request is cancelled; I could not tell everyone yet."))
        return ActionResult(card=request_status_card(request))

    async def _after_decision(self, outcome: DecisionOutcome) -> dict[str, Any]:
        """The clicked card after a decision: the stage's outcome once settled, else this approver's decision
        and whom the stage still waits on (rule all)."""
        request, decision = outcome.request, outcome.settled or outcome.decision
        label = stage_label(request, decision.stage)
        if outcome.settled is None:
            view = await stage_view(request, self._s.decisions, self._s.references, self._s.names)
            waiting = f"Recorded. The stage still waits on: {', '.join(view.waiting_on)}." if view else "Recorded."
            return decided_card(request, decision, stage_label=label, note=waiting)
        note = next_step_note(request, decision.stage) if decision.verdict is Verdict.APPROVED else None
        return decided_card(request, decision, stage_label=label, note=note)

    async def _review(self, tenant_id: str, oid: str, request_id: str) -> ActionResult:
        try:
            current = await asyncio.to_thread(self._s.requests.get, tenant_id, request_id)
        except (NotFound, InvalidKey):
            return ActionResult(error=(404, "RequestNotFound", "This request does not exist."))
        request = current.value
        if await self._waits_on(request, oid):
            view = await stage_view(request, self._s.decisions, self._s.references, self._s.names)
            name = await asyncio.to_thread(self._s.references.get, tenant_id, oid) or None
            return ActionResult(card=approval_card(request, None, view, name.user_name if name else None))
        if not await self._s.service.is_approver(request, oid):
            return ActionResult(error=(403, "NotAllowed", "You are not an approver for this request."))
        decision = await asyncio.to_thread(self._s.decisions.get, request_id, request.stage)
        mine = await asyncio.to_thread(self._s.decisions.of_approver, request_id, request.stage, oid)
        if decision is not None or mine is not None:
            return ActionResult(
                card=decided_card(request, decision or mine, stage_label=stage_label(request, request.stage))
            )
        return ActionResult(error=(409, "NotOpen", f"This request is {request.status}; nothing for you to decide."))
