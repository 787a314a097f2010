"""Conversation steps shared by the e2e tests (each step asserts what the Playground answered)."""

from __future__ import annotations

import asyncio
from typing import Any

from greenlight.models import ApprovalCard
from greenlight.storage import ApprovalCardRepository, StorageAccount
from tests.e2e.playground import (
    ALEX,
    MEGAN,
    PERSONAL_CHAT_ID,
    Playground,
    card_of,
    card_text,
    logged_activity,
)

JUSTIFICATION = "Our support team unpacks customer log archives (.7z) several times a day."
MEGANS_REASON = "Megan needs 7-Zip to open the vendor's quarterly report bundle."


def _created_card(frame: dict[str, Any], *needles: str) -> bool:
    if frame.get("action") != "createMessage" or frame.get("actionConversationId") != PERSONAL_CHAT_ID:
        return False
    text = card_text(card_of(frame["message"]))
    return all(n in text for n in needles)


def request_id_in(card: dict[str, Any]) -> str:
    """The request id the status card shows (its "Request" fact)."""
    for element in card["body"]:
        for fact in element.get("facts", []):
            if fact["title"] == "Request":
                return fact["value"]
    raise AssertionError(f"no request id in {card_text(card)[:500]}")


def _pending_update(frame: dict[str, Any], message_id: str) -> bool:
    """The workflow's first update of the requester's card (PendingApproval, waiting for an approver)."""
    if frame.get("action") != "updateMessage" or frame["message"].get("messageId") != message_id:
        return False
    return "PendingApproval" in card_text(card_of(frame["message"]))


async def approval_cards(account: StorageAccount, request_id: str, count: int = 2) -> dict[str, ApprovalCard]:
    """The workflow sends the approval cards moments after the submit: wait until `count` approvers have one."""
    repository = ApprovalCardRepository(account)
    async with asyncio.timeout(30):
        while True:
            cards = {c.approver_oid: c for c in await asyncio.to_thread(repository.list, request_id)}
            if len(cards) >= count:
                return cards
            await asyncio.sleep(0.1)


async def request_7zip(pg: Playground) -> tuple[str, dict[str, Any]]:
    """search → Request → form → Submit, as Alex. Returns the form's message id and the submit response, once the
    workflow has put the request up for approval (the form card, now a status card, says PendingApproval)."""
    status, _ = await pg.say("search 7zip")
    assert status == 200
    results = await pg.chat.wait_for(lambda f: _created_card(f, "Results for", "7zip.7zip", "requestForm"))
    results_id = results["message"]["messageId"]

    status, body = await pg.click(
        ALEX, PERSONAL_CHAT_ID, results_id, "requestForm", {"verb": "requestForm", "packageId": "7zip.7zip"}
    )
    assert status == 200, body
    form = await pg.chat.wait_for(lambda f: _created_card(f, "Request 7-Zip", "submitRequest", "justification"))
    form_id = form["message"]["messageId"]

    data = {"verb": "submitRequest", "packageId": "7zip.7zip", "justification": JUSTIFICATION}
    status, body = await pg.click(ALEX, PERSONAL_CHAT_ID, form_id, "submitRequest", data)
    assert status == 200, body
    await pg.chat.wait_for(lambda f: _pending_update(f, form_id))
    return form_id, body


async def megans_chat(pg: Playground, account: StorageAccount) -> str:
    """Megan's 1:1 chat exists once the bot has sent her an approval card (for one of Alex's requests)."""
    await pg.install()
    _, body = await request_7zip(pg)
    request_id = request_id_in(body["value"])
    cards = await approval_cards(account, request_id)
    return cards[MEGAN.oid].conversation_id


async def megan_requests_7zip(pg: Playground, conversation_id: str) -> str:
    status, _ = await pg.say_as(MEGAN, "request 7zip.7zip", conversation_id)
    assert status == 200
    form = await pg.log.wait_for(
        lambda e: (
            (logged_activity(e).get("conversation") or {}).get("id") == conversation_id
            and "submitRequest" in card_text(card_of(logged_activity(e)))
            and e.get("response", {}).get("body", {}).get("id")
        )
    )
    form_id = form["response"]["body"]["id"]
    data = {"verb": "submitRequest", "packageId": "7zip.7zip", "justification": MEGANS_REASON}
    status, body = await pg.click(MEGAN, conversation_id, form_id, "submitRequest", data)
    assert status == 200 and "7zip.7zip" in card_text(body.get("value")), body
    # The workflow puts it up for approval: the bot updates Megan's card (the Playground logs that call).
    await pg.log.wait_for(
        lambda e: (
            (logged_activity(e).get("conversation") or {}).get("id") == conversation_id
            and "PendingApproval" in card_text(card_of(logged_activity(e)))
            and "arm64" in card_text(card_of(logged_activity(e)))  # her Surface, from Intune via Graph
        )
    )
    return request_id_in(body["value"])
