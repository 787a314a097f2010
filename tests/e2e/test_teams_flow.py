"""The whole Teams conversation against Microsoft 365 Agents Playground, driven through its HTTP/WebSocket API.

Real parts only: the Playground (Teams client + mocked Bot Connector), devhost serving the real function_app,
Azurite for the tables, and WINGET's verified catalog over the sandbox CDN for `search`.
Alex requests 7-Zip; Megan and Adele (approvers) get cards proactively in chats the bot creates for them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from greenlight.models import RequestStatus
from greenlight.storage import (
    ApprovalCardRepository,
    ConversationReferenceRepository,
    DecisionRepository,
    RequestRepository,
    StorageAccount,
)
from tests.e2e.conftest import BotStack
from tests.e2e.flows import JUSTIFICATION, request_7zip, request_id_in
from tests.e2e.flows import approval_cards as wait_for_approval_cards
from tests.e2e.playground import (
    ADELE,
    ALEX,
    BOT_ID,
    ISAIAH,
    MEGAN,
    PERSONAL_CHAT_ID,
    TENANT_ID,
    Playground,
    card_of,
    card_text,
    logged_activity,
)

pytestmark = [pytest.mark.e2e]

CARD = "application/vnd.microsoft.card.adaptive"


def _updated(frame: dict[str, Any], message_id: str, *needles: str) -> bool:
    if frame.get("action") != "updateMessage" or frame["message"].get("messageId") != message_id:
        return False
    text = card_text(card_of(frame["message"]))
    return all(n in text for n in needles)


def _bot_wrote(entry: dict[str, Any], conversation_id: str, activity_id: str | None, *needles: str) -> bool:
    """A Bot Connector call seen in the Playground log: a send (new id) or an update (PUT with that id)."""
    activity = logged_activity(entry)
    if (activity.get("conversation") or {}).get("id") != conversation_id:
        return False
    if activity_id is not None and activity_id not in (activity.get("id"), entry.get("messageId")):
        return False
    text = card_text(card_of(activity))
    return all(n in text for n in needles)


async def test_install_search_request_approve_refuse_and_double_click(bot_stack: BotStack, playground: Playground):
    pg = playground
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    references = ConversationReferenceRepository(account)
    requests = RequestRepository(account)
    decisions = DecisionRepository(account)
    approval_cards = ApprovalCardRepository(account)

    # 1. install → welcome, and Alex's 1:1 reference (with its tenant in its own column) is stored
    status, _ = await pg.install()
    assert status == 200, bot_stack.logs()
    await pg.chat.wait_for(lambda f: f.get("action") == "createMessage" and "search" in f["message"].get("text", ""))
    stored = references.get(TENANT_ID, ALEX.oid)
    assert stored is not None, bot_stack.logs()
    assert stored.tenant_id == TENANT_ID
    assert stored.reference["conversation"]["id"] == PERSONAL_CHAT_ID
    assert stored.reference["user"]["aadObjectId"] == ALEX.oid
    assert stored.service_url.startswith("http://localhost:") or stored.service_url.startswith("http://127.0.0.1:")

    # 2-3. search → results card; Request → form; Submit → the form becomes the status card, which the workflow
    # moves to PendingApproval (request_7zip waits for that update)
    form_id, body = await request_7zip(pg)
    assert body["type"] == CARD and "7zip.7zip" in card_text(body["value"]), body
    request = requests.get(TENANT_ID, request_id_in(body["value"])).value
    assert request.requester_oid == ALEX.oid
    # x64: not asked on the form, but the most common architecture of Alex's Intune devices (the sandbox's Graph)
    assert (request.package_id, request.architecture, request.status) == ("7zip.7zip", "x64", "PendingApproval")
    assert request.justification == JUSTIFICATION and request.requester_name == "Alex Wilber"

    # 4. the workflow sent approval cards to Megan and Adele proactively, in 1:1 chats the bot created for them
    # (never Alex)
    cards = await wait_for_approval_cards(account, request.request_id)
    assert set(cards) == {MEGAN.oid, ADELE.oid}
    for user in (MEGAN, ADELE):
        card = cards[user.oid]
        assert card.conversation_id != PERSONAL_CHAT_ID
        await pg.log.wait_for(
            lambda e, c=card: _bot_wrote(
                e, c.conversation_id, c.activity_id, "Approval needed: 7zip.7zip", JUSTIFICATION
            )
        )
        assert references.get(TENANT_ID, user.oid).reference["conversation"]["id"] == card.conversation_id

    # 4b. Teams retrying the Submit invoke (same form message) neither duplicates the request nor re-sends cards
    before = len(requests.list_by_requester(TENANT_ID, ALEX.oid, 100).items)
    data = {"verb": "submitRequest", "packageId": "7zip.7zip", "justification": JUSTIFICATION}
    status, retried = await pg.click(ALEX, PERSONAL_CHAT_ID, form_id, "submitRequest", data)
    assert status == 200 and request_id_in(retried["value"]) == request.request_id, retried
    assert {c.approver_oid: c.activity_id for c in approval_cards.list(request.request_id)} == {
        oid: c.activity_id for oid, c in cards.items()
    }
    assert len(requests.list_by_requester(TENANT_ID, ALEX.oid, 100).items) == before

    # 5. refused clicks: the requester on his own request, and a non-approver (Isaiah) — nothing recorded
    approve = {"verb": "approve", "requestId": request.request_id}
    status, body = await pg.click(ALEX, PERSONAL_CHAT_ID, form_id, "approve", approve)
    assert status == 200 and body["type"] == "application/vnd.microsoft.error", body
    assert "own request" in body["value"]["message"]

    megan_card = cards[MEGAN.oid]
    forged = {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "channelId": "msteams",
        "serviceUrl": stored.service_url,
        "from": {"id": ISAIAH.oid, "aadObjectId": ISAIAH.oid, "name": ISAIAH.name},
        "recipient": {"id": BOT_ID},
        "conversation": {"id": megan_card.conversation_id, "conversationType": "personal", "tenantId": TENANT_ID},
        "channelData": {"tenant": {"id": TENANT_ID}},
        "replyToId": megan_card.activity_id,
        "value": {"action": {"type": "Action.Execute", "verb": "approve", "data": approve}, "trigger": "manual"},
    }
    status, _ = await pg.custom_activity(forged)
    assert status == 200
    refused = await pg.log.wait_for(
        lambda e: (
            logged_activity(e).get("name") == "adaptiveCard/action"
            and (logged_activity(e).get("from") or {}).get("id") == ISAIAH.oid
            and e.get("response") is not None
        )
    )
    answer = refused["response"]["body"]
    assert answer["statusCode"] == 403 and "not an approver" in answer["value"]["message"], refused
    assert decisions.get(request.request_id, 0) is None

    # 6. Megan approves with a comment → her card, Adele's card and Alex's status card all show the decision
    status, body = await pg.click(
        MEGAN, megan_card.conversation_id, megan_card.activity_id, "approve", {**approve, "comment": "Enjoy"}
    )
    assert status == 200 and body["type"] == CARD, body
    assert "Approved by Megan Bowen" in card_text(body["value"])
    decision = decisions.get(request.request_id, 0)
    assert (decision.approver_oid, decision.verdict, decision.comment) == (MEGAN.oid, "approved", "Enjoy")
    # Past approval: the workflow goes on to publish (Approved → Publishing → …) once it gets the Decision event.
    assert requests.get(TENANT_ID, request.request_id).value.status not in (
        RequestStatus.PENDING_APPROVAL,
        RequestStatus.REJECTED,
    )

    await pg.chat.wait_for(lambda f: _updated(f, form_id, "Approved by Megan Bowen", "Comment: Enjoy"))
    adele_card = cards[ADELE.oid]
    await pg.log.wait_for(
        lambda e: (
            _bot_wrote(e, adele_card.conversation_id, adele_card.activity_id, "Approved by Megan Bowen")
            and "Action.Execute" not in card_text(card_of(logged_activity(e)))
        )
    )
    await pg.log.wait_for(
        lambda e: _bot_wrote(e, megan_card.conversation_id, megan_card.activity_id, "Approved by Megan Bowen")
    )

    # 7. a double click by Megan and a late Reject by Adele both get the decided card; one decision stays
    status, again = await pg.click(MEGAN, megan_card.conversation_id, megan_card.activity_id, "approve", approve)
    assert status == 200 and "Approved by Megan Bowen" in card_text(again["value"]), again
    reject = {"verb": "reject", "requestId": request.request_id}
    status, late = await pg.click(ADELE, adele_card.conversation_id, adele_card.activity_id, "reject", reject)
    assert status == 200 and "Approved by Megan Bowen" in card_text(late["value"]), late
    assert [(d.approver_oid, d.verdict) for d in decisions.list(request.request_id)] == [(MEGAN.oid, "approved")]


async def test_simultaneous_clicks_by_two_approvers_settle_the_stage_once(bot_stack: BotStack, playground: Playground):
    pg = playground
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    await pg.install()
    _, body = await request_7zip(pg)
    request_id = request_id_in(body["value"])
    assert RequestRepository(account).get(TENANT_ID, request_id).value.status is RequestStatus.PENDING_APPROVAL
    cards = await wait_for_approval_cards(account, request_id)
    megan, adele = cards[MEGAN.oid], cards[ADELE.oid]
    results = await asyncio.gather(
        pg.click(
            MEGAN, megan.conversation_id, megan.activity_id, "approve", {"verb": "approve", "requestId": request_id}
        ),
        pg.click(
            ADELE, adele.conversation_id, adele.activity_id, "reject", {"verb": "reject", "requestId": request_id}
        ),
    )
    settled = DecisionRepository(account).get(request_id, 0)  # the stage's outcome: written once
    assert settled is not None
    winner = "Approved by Megan Bowen" if settled.verdict == "approved" else "Rejected by Adele Vance"
    for status, answer in results:
        assert status == 200 and winner in card_text(answer["value"]), answer
