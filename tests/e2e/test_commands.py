"""The text commands in the Playground: `my requests`, `pending` → Review → Approve, and help for anything else."""

from __future__ import annotations

import pytest

from greenlight.models import RequestStatus
from greenlight.storage import DecisionRepository, RequestRepository, StorageAccount
from tests.e2e.conftest import BotStack
from tests.e2e.flows import _created_card, megan_requests_7zip, megans_chat, request_7zip, request_id_in
from tests.e2e.playground import ALEX, PERSONAL_CHAT_ID, TENANT_ID, Playground, card_of, card_text, logged_activity

pytestmark = [pytest.mark.e2e]


async def test_unknown_text_gets_help_not_silence(bot_stack: BotStack, playground: Playground) -> None:
    status, _ = await playground.say("could you install photoshop for me?")
    assert status == 200
    await playground.chat.wait_for(
        lambda f: f.get("action") == "createMessage" and "I did not understand that" in f["message"].get("text", "")
    )


async def test_my_requests_lists_the_new_request(bot_stack: BotStack, playground: Playground) -> None:
    await playground.install()
    _, body = await request_7zip(playground)
    request_id = request_id_in(body["value"])
    await playground.say("my requests")
    await playground.chat.wait_for(lambda f: _created_card(f, "Your requests", request_id, "PendingApproval"))
    await playground.say(f"status {request_id}")
    await playground.chat.wait_for(lambda f: _created_card(f, "7zip.7zip — PendingApproval", request_id, "x64"))
    await playground.say("status " + "0" * 32)
    await playground.chat.wait_for(
        lambda f: f.get("action") == "createMessage" and "no request of yours" in f["message"].get("text", "")
    )


async def test_pending_review_then_approve(bot_stack: BotStack, playground: Playground) -> None:
    """Alex approves Megan's request from his `pending` list; Megan's status card shows the decision."""
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    conversation = await megans_chat(playground, account)
    megans_request = await megan_requests_7zip(playground, conversation)

    await playground.say("pending")
    listing = await playground.chat.wait_for(lambda f: _created_card(f, "Waiting for your approval", megans_request))
    list_id = listing["message"]["messageId"]
    review = {"verb": "review", "requestId": megans_request}
    status, body = await playground.click(ALEX, PERSONAL_CHAT_ID, list_id, "review", review)
    assert status == 200 and "Approval needed: 7zip.7zip" in card_text(body["value"]), body

    approve = {"verb": "approve", "requestId": megans_request}
    status, body = await playground.click(ALEX, PERSONAL_CHAT_ID, list_id, "approve", approve)
    assert status == 200 and "Approved by Alex Wilber" in card_text(body["value"]), body
    assert DecisionRepository(account).get(megans_request, 0).approver_oid == ALEX.oid
    await playground.log.wait_for(
        lambda e: (
            (logged_activity(e).get("conversation") or {}).get("id") == conversation
            and "Approved by Alex Wilber" in card_text(card_of(logged_activity(e)))
            and "PendingApproval" not in card_text(card_of(logged_activity(e)))
        )
    )


async def test_action_submit_fallback_takes_the_same_path(bot_stack: BotStack, playground: Playground) -> None:
    """Clients without Universal Actions click the Action.Submit fallback: same verbs, answered by updating the
    clicked card in place (there is no invoke response)."""
    await playground.install()
    await playground.say("search 7zip")
    results = await playground.chat.wait_for(lambda f: _created_card(f, "Results for", "7zip.7zip"))
    seen_forms = {
        f["message"]["messageId"] for f in playground.chat.items if _created_card(f, "Request 7-Zip", "submitRequest")
    }
    data = {"verb": "requestForm", "packageId": "7zip.7zip"}
    status, _ = await playground.submit(ALEX, PERSONAL_CHAT_ID, results["message"]["messageId"], data)
    assert status == 200
    form = await playground.chat.wait_for(
        lambda f: _created_card(f, "Request 7-Zip", "submitRequest") and f["message"]["messageId"] not in seen_forms
    )
    reason = "Fallback path: the Windows 10 LTSC kiosk client renders cards as version 1.3."
    data = {"verb": "submitRequest", "packageId": "7zip.7zip", "justification": reason}
    status, _ = await playground.submit(ALEX, PERSONAL_CHAT_ID, form["message"]["messageId"], data)
    assert status == 200
    updated = await playground.chat.wait_for(
        lambda f: (
            f.get("action") == "updateMessage"
            and f["message"].get("messageId") == form["message"]["messageId"]
            and "PendingApproval" in card_text(card_of(f["message"]))
        )
    )
    assert "x64" in card_text(card_of(updated["message"]))  # Alex's laptop, from Intune


async def test_the_requester_cancels_from_the_status_card_and_with_the_cancel_command(
    bot_stack: BotStack, playground: Playground
) -> None:
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    await playground.install()
    form_id, body = await request_7zip(playground)
    first = request_id_in(body["value"])
    await playground.say(f"status {first}")  # where it stands, with the Cancel button
    await playground.chat.wait_for(lambda f: _created_card(f, first, "Waiting on:", '"verb": "cancel"'))
    status, answer = await playground.click(
        ALEX, PERSONAL_CHAT_ID, form_id, "cancel", {"verb": "cancel", "requestId": first}
    )
    assert status == 200 and "7zip.7zip — Cancelled" in card_text(answer["value"]), answer
    assert '"verb": "cancel"' not in card_text(answer["value"])

    _, body = await request_7zip(playground)
    second = request_id_in(body["value"])
    await playground.say(f"cancel {second}")
    await playground.chat.wait_for(lambda f: _created_card(f, "7zip.7zip — Cancelled", second))
    await playground.say(f"cancel {second}")  # again: already cancelled, still the same answer
    requests = RequestRepository(account)
    assert {requests.get(TENANT_ID, r).value.status for r in (first, second)} == {RequestStatus.CANCELLED}
