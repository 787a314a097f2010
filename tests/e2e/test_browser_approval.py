"""One real browser: headless Chromium (Debian's package, driven by playwright-core) clicks Approve on an
approval card rendered by the Agents Playground UI, and the screenshot is kept in test-artifacts/.

Megan (who first got a chat with the bot as an approver of Alex's request) asks for 7-Zip herself; Alex is an
approver of *her* request, so the card arrives proactively in Alex's personal chat — the chat the UI shows.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from greenlight.storage import ApprovalCardRepository, DecisionRepository, RequestRepository, StorageAccount
from tests.e2e.conftest import BotStack
from tests.e2e.playground import ALEX, MEGAN, TENANT_ID, Playground, card_of, card_text, logged_activity
from tests.e2e.test_teams_flow import _request_7zip, request_id_in

pytestmark = [pytest.mark.e2e]

SCRIPT = Path(__file__).with_name("approve_in_browser.js")
CHROMIUM = Path("/usr/bin/chromium")
MEGANS_REASON = "Megan needs 7-Zip to open the vendor's quarterly report bundle."


async def _megans_chat(pg: Playground, account: StorageAccount) -> str:
    """Megan's 1:1 chat exists once the bot has sent her an approval card (for one of Alex's requests)."""
    await pg.install()
    _, body = await _request_7zip(pg)
    request_id = next(
        r.request_id
        for r in RequestRepository(account).list_by_requester(TENANT_ID, ALEX.oid).items
        if r.request_id in card_text(body["value"])
    )
    cards = {c.approver_oid: c for c in ApprovalCardRepository(account).list(request_id)}
    return cards[MEGAN.oid].conversation_id


async def _megan_requests_7zip(pg: Playground, conversation_id: str) -> str:
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
    data = {"verb": "submitRequest", "packageId": "7zip.7zip", "architecture": "x86", "justification": MEGANS_REASON}
    status, body = await pg.click(MEGAN, conversation_id, form_id, "submitRequest", data)
    assert status == 200 and "PendingApproval" in card_text(body.get("value")), body
    return request_id_in(body["value"])


@pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("node") is None, reason="needs Debian's chromium and node")
async def test_alex_approves_megans_request_in_the_playground_ui(
    bot_stack: BotStack, playground: Playground, artifacts_dir: Path
):
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    megans_chat = await _megans_chat(playground, account)
    screenshot = artifacts_dir / "playground-approve.png"
    screenshot.unlink(missing_ok=True)
    browser = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        bot_stack.playground_url,
        str(screenshot),
        MEGANS_REASON,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    megans_request = None
    try:
        async with asyncio.timeout(90):
            while line := (await browser.stdout.readline()).decode().strip():
                output.append(line)
                if line == "READY":
                    megans_request = await _megan_requests_7zip(playground, megans_chat)
                if line.startswith(("DONE", "FAILED")):
                    break
            await browser.wait()
    finally:
        if browser.returncode is None:
            browser.kill()
            await browser.wait()
    done = next((line for line in output if line.startswith("DONE ")), None)
    assert done is not None, "\n".join(output[-20:]) + "\n" + bot_stack.logs(30)
    shown = json.loads(done[5:])["text"]
    assert "Approved by Alex Wilber" in shown and "Comment: Approved from the browser test" in shown
    assert screenshot.stat().st_size > 10_000

    assert megans_request is not None
    assert RequestRepository(account).get(TENANT_ID, megans_request).value.requester_oid == MEGAN.oid
    decision = DecisionRepository(account).get(megans_request, 0)
    assert (decision.approver_oid, decision.verdict) == (ALEX.oid, "approved")
    assert decision.comment == "Approved from the browser test"
