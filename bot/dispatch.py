"""The Teams side of `greenlight.requests.ports.Notifier`: approval cards out, cards updated in place.

The request workflow calls this (through the composition root, `services.get().notifier`) for every request,
whichever door it came through: approval cards to each approver of the current stage who has none for it yet
(ApprovalCards rows, with their stage, make a re-run send nothing twice), reminders, the decided card on every
copy of the decided stage and the requester's status card, and the requester's card refreshed with the
workflow's progress and where the approval stands.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.cards import approval_card, decided_card, request_status_card
from bot.cards.stage import StageView
from bot.notifier import NotificationError, ProactiveNotifier, SentCard, stored_bot_account
from bot.standing import DisplayNames, names_of, next_step_note, stage_label, stage_view
from greenlight.models import Decision, Request, RequestStatus
from greenlight.requests import stages
from greenlight.requests.approvers import ApproverDirectory
from greenlight.requests.progress import Progress
from greenlight.requests.service import CANCELLABLE
from greenlight.storage import (
    ApprovalCardRepository,
    ConversationReferenceRepository,
    DecisionRepository,
    RequesterCardRepository,
)

log = logging.getLogger("greenlight.bot.dispatch")

# A closed request's approval cards lose their buttons (nothing left to decide).
_CLOSED_WITHOUT_DECISION = frozenset({RequestStatus.CANCELLED, RequestStatus.EXPIRED})


class ApprovalDispatch:
    def __init__(
        self,
        notifier: ProactiveNotifier,
        approvers: ApproverDirectory,
        approval_cards: ApprovalCardRepository,
        requester_cards: RequesterCardRepository,
        references: ConversationReferenceRepository,
        decisions: DecisionRepository | None = None,
        names: DisplayNames | None = None,
    ) -> None:
        self._notifier = notifier
        self._approvers = approvers
        self._approval_cards = approval_cards
        self._requester_cards = requester_cards
        self._references = references
        self._decisions = decisions
        self._names = names  # the directory's names for people the bot has no name of

    async def _recipients(self, request: Request) -> list[str]:
        """Who may decide the current stage: the plan's stage approvers (plus the escalation approvers once
        escalated); a row from before approval policies: the configured approvers."""
        stage = stages.stage_at(request, request.stage)
        if stage is not None:
            return list(stages.deciders(request, stage))
        await self._approvers.refresh()
        return sorted(self._approvers.approvers_for(request))

    async def send_approval_cards(self, request: Request) -> list[str]:
        """A card to every approver of the current stage who has none for this stage yet; returns who has one."""
        recipients = await self._recipients(request)
        cards = await asyncio.to_thread(self._approval_cards.list, request.request_id)
        have = {c.approver_oid for c in cards if c.stage == request.stage}
        delivered = await self._deliver(request, [o for o in recipients if o not in have], notice=None)
        reached = [o for o in recipients if o in have or o in delivered]
        if not reached:
            log.warning("request %s: no approver could be reached", request.request_id)
        return reached

    async def send_reminders(self, request: Request, approvers: list[str]) -> list[str]:
        """A fresh approval card (a new message, so Teams notifies) to each approver who has not answered."""
        notice = "Reminder: this request is still waiting for your decision."
        return await self._deliver(request, approvers, notice=notice)

    async def _deliver(self, request: Request, oids: list[str], notice: str | None) -> list[str]:
        if not oids:
            return []
        # Chats with approvers the bot never talked to are created where the requester's chat lives.
        requester = await asyncio.to_thread(self._references.get, request.tenant_id, request.requester_oid)
        hint = requester.service_url if requester is not None else None
        bot_account = stored_bot_account(requester)
        view = await self._view(request)
        known = await names_of(self._references, request.tenant_id, oids, self._names)

        async def deliver(oid: str) -> str | None:
            card = approval_card(request, notice, view, viewer_name=known.get(oid))
            try:
                sent = await self._notifier.send_card(
                    request.tenant_id, oid, card, service_url_hint=hint, bot_account=bot_account
                )
            except NotificationError as error:
                log.warning("approval card for %s not delivered to %s: %s", request.request_id, oid, error)
                return None
            await asyncio.to_thread(
                self._approval_cards.put,
                request.request_id,
                oid,
                sent.conversation_id,
                sent.activity_id,
                sent.service_url,
                request.stage,
            )
            return oid

        return [oid for oid in await asyncio.gather(*(deliver(o) for o in oids)) if oid]

    async def _settled(self, request: Request) -> Decision | None:
        """The decision that settled the request's current stage: the requester's card keeps saying who approved
        while the progress updates replace it."""
        if self._decisions is None:
            return None
        return await asyncio.to_thread(self._decisions.get, request.request_id, request.stage)

    async def _view(self, request: Request) -> StageView | None:
        if self._decisions is None:
            return None
        return await stage_view(request, self._decisions, self._references, self._names)

    async def show_decision(self, request: Request, decision: Decision) -> int:
        """Every card of the decided stage becomes the decided card; the requester's card shows it too."""
        label = stage_label(request, decision.stage)
        note = next_step_note(request, decision.stage) if decision.verdict == "approved" else None
        decided = decided_card(request, decision, stage_label=label, note=note)
        targets = [(address, decided) for address in await self._approver_addresses(request, decision.stage)]
        mine = await asyncio.to_thread(self._requester_cards.get, request.request_id, request.requester_oid)
        if mine is not None:
            targets.append((mine, self._requester_card(request, None, decision, None)))
        return await self._update_all(request, targets)

    async def show_status(self, request: Request, progress: Progress | None) -> bool:
        """The requester's status card, in place (with the current stage and whom it waits on, and Cancel while
        it may be cancelled); a cancelled or expired request's approval cards lose their buttons. An expired
        request with no card (made through the API) gets a new message, so the requester hears of it. False
        when there was nothing to update."""
        targets: list[tuple[SentCard, dict[str, Any]]] = []
        if request.status in _CLOSED_WITHOUT_DECISION:
            closed = request_status_card(request)
            targets += [(address, closed) for address in await self._approver_addresses(request)]
        mine = await asyncio.to_thread(self._requester_cards.get, request.request_id, request.requester_oid)
        card = self._requester_card(request, progress, await self._settled(request), await self._view(request))
        if mine is not None:
            targets.append((mine, card))
        elif request.status is RequestStatus.EXPIRED:
            await self._tell_requester(request, card)
        updated = await self._update_all(request, targets)
        return mine is not None and updated > 0

    def _requester_card(self, request: Request, progress, decision, view) -> dict[str, Any]:
        return request_status_card(request, progress, decision, stage=view, cancellable=request.status in CANCELLABLE)

    async def _tell_requester(self, request: Request, card: dict[str, Any]) -> None:
        try:
            sent = await self._notifier.send_card(request.tenant_id, request.requester_oid, card)
        except NotificationError as error:
            log.warning("requester of %s not told: %s", request.request_id, error)
            return
        await asyncio.to_thread(self._requester_cards.put, request.request_id, request.requester_oid, sent)

    async def _approver_addresses(self, request: Request, stage: int | None = None) -> list[SentCard]:
        cards = await asyncio.to_thread(self._approval_cards.list, request.request_id)
        return [
            SentCard(request.tenant_id, c.conversation_id, c.activity_id, c.service_url)
            for c in cards
            if stage is None or c.stage == stage
        ]

    async def _update_all(self, request: Request, targets: list[tuple[SentCard, dict[str, Any]]]) -> int:
        async def update(sent: SentCard, card: dict[str, Any]) -> bool:
            try:
                return await self._notifier.update_card(sent, card)
            except NotificationError as error:
                log.warning("card %s for %s not updated: %s", sent.activity_id, request.request_id, error)
                return False

        return sum(await asyncio.gather(*(update(sent, card) for sent, card in targets)))
