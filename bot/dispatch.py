"""The Teams side of `greenlight.requests.ports.Notifier`: approval cards out, cards updated in place.

The request workflow calls this (through the composition root, `services.get().notifier`) for every request,
whichever door it came through: approval cards to each approver who has none yet (ApprovalCards rows make a
re-run send nothing twice), the decided card on every approver's copy and the requester's status card, and the
requester's card refreshed with the workflow's progress.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.cards import approval_card, decided_card, request_status_card
from bot.notifier import NotificationError, ProactiveNotifier, SentCard, stored_bot_account
from greenlight.models import Decision, Request, RequestStatus
from greenlight.requests.approvers import ApproverDirectory
from greenlight.requests.progress import Progress
from greenlight.storage import ApprovalCardRepository, ConversationReferenceRepository, RequesterCardRepository

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
    ) -> None:
        self._notifier = notifier
        self._approvers = approvers
        self._approval_cards = approval_cards
        self._requester_cards = requester_cards
        self._references = references

    async def send_approval_cards(self, request: Request) -> list[str]:
        """A card to every approver (never the requester) who has none for this request yet; returns who has one."""
        await self._approvers.refresh()
        approvers = sorted(self._approvers.approvers_for(request))
        have = {c.approver_oid for c in await asyncio.to_thread(self._approval_cards.list, request.request_id)}
        # Chats with approvers the bot never talked to are created where the requester's chat lives.
        requester = await asyncio.to_thread(self._references.get, request.tenant_id, request.requester_oid)
        hint = requester.service_url if requester is not None else None
        bot_account = stored_bot_account(requester)
        card = approval_card(request)

        async def deliver(oid: str) -> str | None:
            if oid in have:
                return oid
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
            )
            return oid

        delivered = [oid for oid in await asyncio.gather(*(deliver(o) for o in approvers)) if oid]
        if not delivered:
            log.warning("request %s: no approver could be reached", request.request_id)
        return delivered

    async def show_decision(self, request: Request, decision: Decision) -> int:
        """Every approver's card becomes the decided card; the requester's card shows the decision."""
        decided = decided_card(request, decision)
        targets = [(address, decided) for address in await self._approver_addresses(request)]
        mine = await asyncio.to_thread(self._requester_cards.get, request.request_id, request.requester_oid)
        if mine is not None:
            targets.append((mine, request_status_card(request, decision=decision)))
        return await self._update_all(request, targets)

    async def show_status(self, request: Request, progress: Progress | None) -> bool:
        """The requester's status card, in place; a cancelled or expired request's approval cards lose their
        buttons. False when the requester has no card for this request (e.g. requested through the API)."""
        targets: list[tuple[SentCard, dict[str, Any]]] = []
        if request.status in _CLOSED_WITHOUT_DECISION:
            closed = request_status_card(request)
            targets += [(address, closed) for address in await self._approver_addresses(request)]
        mine = await asyncio.to_thread(self._requester_cards.get, request.request_id, request.requester_oid)
        if mine is not None:
            targets.append((mine, request_status_card(request, progress)))
        updated = await self._update_all(request, targets)
        return mine is not None and updated > 0

    async def _approver_addresses(self, request: Request) -> list[SentCard]:
        cards = await asyncio.to_thread(self._approval_cards.list, request.request_id)
        return [SentCard(request.tenant_id, c.conversation_id, c.activity_id, c.service_url) for c in cards]

    async def _update_all(self, request: Request, targets: list[tuple[SentCard, dict[str, Any]]]) -> int:
        async def update(sent: SentCard, card: dict[str, Any]) -> bool:
            try:
                return await self._notifier.update_card(sent, card)
            except NotificationError as error:
                log.warning("card %s for %s not updated: %s", sent.activity_id, request.request_id, error)
                return False

        return sum(await asyncio.gather(*(update(sent, card) for sent, card in targets)))
