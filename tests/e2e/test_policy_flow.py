"""A two-stage approval policy in the Playground: Alex requests 7-Zip; Megan (his manager in the sandbox's
directory) approves stage 1; Adele and Isaiah (IT Approvers, Isaiah through the nested IT Service Desk group)
both approve stage 2 (rule all); the request goes on to publishing. Real parts: the Playground, devhost serving
the real function_app, Azurite, and the sandbox's Graph for the manager and the transitive group members."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from greenlight.models import ApprovalCard, Policy, RequestStatus
from greenlight.policy.admin import canonical
from greenlight.storage import ApprovalCardRepository, PolicyRepository, RequestRepository, StorageAccount
from sandbox.graph.directory import IT_APPROVERS_GROUP
from tests.e2e.conftest import BotStack
from tests.e2e.flows import request_7zip, request_id_in
from tests.e2e.playground import (
    ADELE,
    ISAIAH,
    LYNNE,
    MEGAN,
    PERSONAL_CHAT_ID,
    TENANT_ID,
    Playground,
    card_of,
    card_text,
)

pytestmark = [pytest.mark.e2e]

TWO_STAGES: dict[str, Any] = {
    "stages": [
        {"name": "Manager", "approvers": {"manager": True, "users": [LYNNE.oid]}},
        {"name": "IT Approvers", "approvers": {"groups": [IT_APPROVERS_GROUP]}, "rule": "all"},
    ]
}


async def stage_cards(account: StorageAccount, request_id: str, stage: int, count: int) -> dict[str, ApprovalCard]:
    repository = ApprovalCardRepository(account)
    async with asyncio.timeout(30):
        while True:
            cards = {
                c.approver_oid: c for c in await asyncio.to_thread(repository.list, request_id) if c.stage == stage
            }
            if len(cards) >= count:
                return cards
            await asyncio.sleep(0.1)


def _updated(frame: dict[str, Any], message_id: str, *needles: str) -> bool:
    if frame.get("action") != "updateMessage" or frame["message"].get("messageId") != message_id:
        return False
    text = card_text(card_of(frame["message"]))
    return all(n in text for n in needles)


async def test_manager_then_every_it_approver_and_the_request_goes_on_to_publishing(
    bot_stack: BotStack, playground: Playground
) -> None:
    pg = playground
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    policies, requests = PolicyRepository(account), RequestRepository(account)
    saved = policies.create(Policy(TENANT_ID, "7zip.7zip", canonical(TWO_STAGES)))
    try:
        await pg.install()
        form_id, body = await request_7zip(pg)
        request_id = request_id_in(body["value"])
        # Alex's card shows where the request stands
        await pg.chat.wait_for(lambda f: _updated(f, form_id, "Stage 1 of 2: Manager", "Waiting on:", "cancel"))

        # stage 1: only Megan, his manager, is asked
        first = await stage_cards(account, request_id, 0, 1)
        assert set(first) == {MEGAN.oid}
        data = {"verb": "approve", "requestId": request_id, "stage": 0}
        megan = first[MEGAN.oid]
        status, answer = await pg.click(MEGAN, megan.conversation_id, megan.activity_id, "approve", data)
        assert status == 200 and "Next: stage 2 of 2 (IT Approvers)" in card_text(answer["value"]), answer

        # stage 2: Adele and Isaiah, both must approve
        second = await stage_cards(account, request_id, 1, 2)
        assert set(second) == {ADELE.oid, ISAIAH.oid}
        await pg.chat.wait_for(lambda f: _updated(f, form_id, "Stage 2 of 2: IT Approvers"))
        data = {"verb": "approve", "requestId": request_id, "stage": 1}
        adele = second[ADELE.oid]
        status, answer = await pg.click(ADELE, adele.conversation_id, adele.activity_id, "approve", data)
        assert status == 200 and "still waits on" in card_text(answer["value"]), answer
        assert requests.get(TENANT_ID, request_id).value.status is RequestStatus.PENDING_APPROVAL
        isaiah = second[ISAIAH.oid]
        status, answer = await pg.click(ISAIAH, isaiah.conversation_id, isaiah.activity_id, "approve", data)
        assert status == 200 and "Approved by Isaiah Langer" in card_text(answer["value"]), answer

        # past approval: the workflow goes on to publishing; Alex's card says who approved last
        assert requests.get(TENANT_ID, request_id).value.status not in (
            RequestStatus.PENDING_APPROVAL,
            RequestStatus.REJECTED,
        )
        await pg.chat.wait_for(lambda f: _updated(f, form_id, "Approved by Isaiah Langer"))
        assert PERSONAL_CHAT_ID not in {c.conversation_id for c in (*first.values(), *second.values())}
    finally:
        policies.delete(TENANT_ID, "7zip.7zip", saved.etag)
