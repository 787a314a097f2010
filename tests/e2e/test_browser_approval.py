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

from greenlight.storage import DecisionRepository, RequestRepository, StorageAccount
from tests.e2e.conftest import BotStack
from tests.e2e.flows import MEGANS_REASON, megan_requests_7zip, megans_chat
from tests.e2e.playground import ALEX, MEGAN, TENANT_ID, Playground

pytestmark = [pytest.mark.e2e]

SCRIPT = Path(__file__).with_name("approve_in_browser.js")
CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("node") is None, reason="needs Debian's chromium and node")
async def test_alex_approves_megans_request_in_the_playground_ui(
    bot_stack: BotStack, playground: Playground, artifacts_dir: Path
):
    account = StorageAccount.from_connection_string(bot_stack.storage_connection)
    megan_conversation = await megans_chat(playground, account)
    screenshot = artifacts_dir / "playground-approve.png"
    for stale in (
        screenshot,
        artifacts_dir / f"failed-{screenshot.name}",
        screenshot.with_name("playground-approve-before.png"),
    ):
        stale.unlink(missing_ok=True)
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
                    megans_request = await megan_requests_7zip(playground, megan_conversation)
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
    assert screenshot.with_name("playground-approve-before.png").stat().st_size > 10_000

    assert megans_request is not None
    assert RequestRepository(account).get(TENANT_ID, megans_request).value.requester_oid == MEGAN.oid
    decision = DecisionRepository(account).get(megans_request, 0)
    assert (decision.approver_oid, decision.verdict) == (ALEX.oid, "approved")
    assert decision.comment == "Approved from the browser test"
