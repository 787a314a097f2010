"""Approval cards out, decided cards everywhere: the proactive half of the approval flow.

Until the request workflow exists, the bot sends the approval cards itself right after a request is submitted;
the workflow's `send_approval_cards` step is meant to call `send_approval_cards` here (it only needs the request).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from bot.approvers import ApproverDirectory
from bot.cards import Progress, approval_card, decided_card, request_status_card
from bot.notifier import NotificationError, ProactiveNotifier, SentCard
from bot.request_cards import RequesterCardRepository
from greenlight.models import Decision, Request, RequestStatus, Versioned
from greenlight.storage import ApprovalCardRepository, ConcurrencyConflict, RequestRepository

log = logging.getLogger("greenlight.bot.dispatch")


class ApprovalDispatch:
    def __init__(
        self,
        notifier: ProactiveNotifier,
        approvers: ApproverDirectory,
        approval_cards: ApprovalCardRepository,
        requester_cards: RequesterCardRepository,
        requests: RequestRepository,
    ) -> None:
        self._notifier = notifier
        self._approvers = approvers
        self._approval_cards = approval_cards
        self._requester_cards = requester_cards
        self._requests = requests

    async def send_approval_cards(
        self,
        current: Versioned[Request],
        *,
        service_url_hint: str | None = None,
        bot_account: dict[str, Any] | None = None,
    ) -> tuple[Request, list[str]]:
        """Card to every approver (never the requester); returns the request and who got a card."""
        request = current.value
        card = approval_card(request)
        await self._approvers.refresh()
        approvers = sorted(self._approvers.approvers_for(request))

        async def deliver(oid: str) -> str | None:
            try:
                sent = await self._notifier.send_card(
                    request.tenant_id, oid, card, service_url_hint=service_url_hint, bot_account=bot_account
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
        if delivered and request.status is RequestStatus.SUBMITTED:
            request = await asyncio.to_thread(self._mark_pending, current)
        return request, delivered

    def _mark_pending(self, current: Versioned[Request]) -> Request:
        for _ in range(5):
            if current.value.status is not RequestStatus.SUBMITTED:
                return current.value
            try:
                pending = dataclasses.replace(current.value, status=RequestStatus.PENDING_APPROVAL)
                return self._requests.update(pending, current.etag).value
            except ConcurrencyConflict:
                current = self._requests.get(current.value.tenant_id, current.value.request_id)
        return current.value

    async def show_progress(self, request: Request, progress: Progress | None) -> bool:
        """Refresh the requester's status card in place, e.g. with the workflow's `{stage, percent, message}`.

        False when the requester has no card for this request (requested through the API) or it is gone.
        """
        mine = await asyncio.to_thread(self._requester_cards.get, request.request_id, request.requester_oid)
        if mine is None:
            return False
        try:
            return await self._notifier.update_card(mine, request_status_card(request, progress))
        except NotificationError as error:
            log.warning("status card for %s not updated: %s", request.request_id, error)
            return False

    async def update_everywhere(self, request: Request, decision: Decision, *, skip_activity_id: str | None) -> int:
        """Replace every approver's card with the decided card, and the requester's status card; returns updates."""
        cards = await asyncio.to_thread(self._approval_cards.list, request.request_id)
        decided = decided_card(request, decision)
        targets = [
            (SentCard(request.tenant_id, c.conversation_id, c.activity_id, c.service_url), decided)
            for c in cards
            if c.activity_id != skip_activity_id
        ]
        mine = await asyncio.to_thread(self._requester_cards.get, request.request_id, request.requester_oid)
        if mine is not None and mine.activity_id != skip_activity_id:
            targets.append((mine, request_status_card(request, decision=decision)))

        async def update(sent: SentCard, card: dict) -> bool:
            try:
                return await self._notifier.update_card(sent, card)
            except NotificationError as error:
                log.warning("card %s for %s not updated: %s", sent.activity_id, request.request_id, error)
                return False

        results = await asyncio.gather(*(update(sent, card) for sent, card in targets))
        return sum(results)
