"""The main job through Teams cards, on the stack `make run` starts (scripts/stack.start_stack, its own ports and
state): Alex's Agents Playground (the requester) and Megan's (an approver: the current user of a second Playground).

1. Megan's tab loads in headless Chromium: her Playground installs the bot in her personal chat (the UI does that
   on load), and the bot stores her reference.
2. Alex: `search 7zip` → Request → justification → Submit, with his chat open in headless Chromium too.
3. The approval card arrives in Megan's personal chat, on HER Playground's stream and in her tab
   (test-artifacts/story-approval-card.png); she clicks Approve.
4. The request reaches Completed; Alex's status card (read from his Playground's stream) went through the
   publishing stages in order and ends "On its way to your devices"; the sandbox's Intune holds the app, its
   content committed, assigned, Alex in its group.
5. Chromium's screenshot of Alex's final card in his tab: test-artifacts/story-completed.png.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from greenlight.models import RequestStatus
from greenlight.storage import RequestRepository, StorageAccount
from scripts.localstack import ManagedProcess, free_port
from scripts.stack import PORTS, LocalStack, approver_playground_config, start_stack
from tests.e2e.flows import request_7zip, request_id_in
from tests.e2e.playground import ALEX, MEGAN, TENANT_ID, Playground, card_of, card_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("watch_in_browser.js")
CHROMIUM = Path("/usr/bin/chromium")
DONE_MESSAGE = "On its way to your devices"
MEGANS_CHAT_ID: str = approver_playground_config()["personalChat"]["id"]
# What the requester's card shows, in order (bot/cards/status.py: "<stage> · <percent>%"): waiting for Megan,
# approved, then publish_orchestrator's steps, then the request's own end (access granted).
STAGES = ["Approval", "Publishing", "Verifying", "Downloading", "Uploading", "Assigning", "Done"]
_LABEL = re.compile(r"^(?P<stage>[A-Za-z]+) · (?P<percent>\d+)%$")


@pytest.fixture(scope="module")
def story_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """What `make run` starts (Azurite, sandbox, devhost, both Playgrounds), on free ports, in a fresh state dir:
    the sandbox's Intune starts empty, so this story publishes 7-Zip from scratch."""
    started: list[ManagedProcess] = []
    try:
        yield start_stack(tmp_path_factory.mktemp("story"), {name: free_port() for name in PORTS}, started)
    finally:
        for process in reversed(started):
            process.stop()


def progress_shown(frames: list[dict[str, Any]], message_id: str) -> list[tuple[str, int]]:
    """(stage, percent) of each update of one card that showed progress, in the order the Playground pushed them."""
    shown: list[tuple[str, int]] = []
    for frame in frames:
        if frame.get("action") != "updateMessage" or frame["message"].get("messageId") != message_id:
            continue
        for element in (card_of(frame["message"]) or {}).get("body", []):
            label = _LABEL.match(str(element.get("text", "")))
            if label:
                shown.append((label["stage"], int(label["percent"])))
    return shown


def collapsed(stages: list[str]) -> list[str]:
    return [stage for i, stage in enumerate(stages) if i == 0 or stages[i - 1] != stage]


async def approval_card_in(pg: Playground, chat_id: str, request_id: str) -> str:
    """The approval card the workflow pushed into `chat_id` (the approver's own personal chat): its message id."""
    frame = await pg.chat.wait_for(
        lambda f: (
            f.get("action") == "createMessage"
            and f.get("actionConversationId") == chat_id
            and request_id in card_text(card_of(f["message"]))
            and '"approve"' in card_text(card_of(f["message"]))
        ),
        timeout=60,
    )
    return frame["message"]["messageId"]


async def completed(account: StorageAccount, request_id: str) -> Any:
    repository = RequestRepository(account)
    async with asyncio.timeout(240):
        while True:
            request = (await asyncio.to_thread(repository.get, TENANT_ID, request_id)).value
            if request.status.is_final:
                return request
            await asyncio.sleep(0.5)


def intune_state(stack: LocalStack) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.sandbox.graph_url}/_sandbox/state",
        params={"tenant": TENANT_ID},
        verify=str(stack.sandbox.ca_file),
    )
    response.raise_for_status()
    return response.json()


async def open_in_chromium(
    url: str, screenshot: Path, needle: str, tabs: list[asyncio.subprocess.Process]
) -> asyncio.subprocess.Process:
    """A person's tab on one Playground's personal chat, kept open until a card containing `needle` shows (the
    browser is added to `tabs` at once, so the test stops it whatever happens)."""
    for stale in (screenshot, screenshot.with_name(f"failed-{screenshot.name}")):
        stale.unlink(missing_ok=True)
    browser = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        url,
        str(screenshot),
        needle,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    tabs.append(browser)
    async with asyncio.timeout(90):
        ready = (await browser.stdout.readline()).decode().strip()
    assert ready == "READY", ready + (await browser.stdout.read()).decode()
    return browser


async def browser_result(browser: asyncio.subprocess.Process) -> str:
    try:
        async with asyncio.timeout(240):
            output = (await browser.stdout.read()).decode()
            await browser.wait()
    finally:
        if browser.returncode is None:
            browser.kill()
            await browser.wait()
    done = next((line for line in output.splitlines() if line.startswith("DONE ")), None)
    assert done is not None, output
    return json.loads(done[5:])["text"]


@pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("node") is None, reason="needs Debian's chromium and node")
async def test_alex_requests_megan_approves_in_her_playground_and_the_app_reaches_intune(
    story_stack: LocalStack, artifacts_dir: Path
) -> None:
    account = StorageAccount.from_connection_string(story_stack.azurite.connection_string)
    screenshot = artifacts_dir / "story-completed.png"
    approval_screenshot = artifacts_dir / "story-approval-card.png"
    tabs: list[asyncio.subprocess.Process] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        alex = Playground(story_stack.playground_url, session)
        megan = Playground(story_stack.approver_playground_url, session)
        await alex.connect()
        await megan.connect()
        try:
            # 1. Megan's tab loads first: her Playground's UI installs the bot in her chat, and the bot greets her.
            megans_tab = await open_in_chromium(
                story_stack.approver_playground_url, approval_screenshot, "Approval needed: 7zip.7zip", tabs
            )
            await megan.chat.wait_for(
                lambda f: f.get("actionConversationId") == MEGANS_CHAT_ID and "Hi!" in str(f["message"].get("text"))
            )
            # 2. Alex, his chat open in a browser: search → Request → justification → Submit.
            alexs_tab = await open_in_chromium(story_stack.playground_url, screenshot, DONE_MESSAGE, tabs)
            form_id, body = await request_7zip(alex)
            request_id = request_id_in(body["value"])

            # 3. The approval card is in Megan's own chat, in her Playground; she approves there.
            card_id = await approval_card_in(megan, MEGANS_CHAT_ID, request_id)
            shown_to_megan = await browser_result(megans_tab)  # her tab shows it, with its buttons
            approve = {"verb": "approve", "requestId": request_id}
            status, body = await megan.click(MEGAN, MEGANS_CHAT_ID, card_id, "approve", approve)
            assert status == 200 and "Approved by Megan Bowen" in card_text(body["value"]), body

            # 4. Completed, and Alex's card followed it there.
            request = await completed(account, request_id)
            assert request.status is RequestStatus.COMPLETED, (request.status, request.error)
            final = await alex.chat.wait_for(
                lambda f: (
                    f.get("action") == "updateMessage"
                    and f["message"].get("messageId") == form_id
                    and DONE_MESSAGE in card_text(card_of(f["message"]))
                )
            )
            shown = text_of(final)
            progress = progress_shown(alex.chat.items, form_id)
            shown_in_browser = await browser_result(alexs_tab)
        finally:
            await alex.close()
            await megan.close()
            for tab in tabs:
                if tab.returncode is None:
                    tab.kill()
                    await tab.wait()

    assert "7zip.7zip — Completed" in shown and "Done · 100%" in shown, shown
    assert "Approved by Megan Bowen" in shown, shown  # the progress updates keep who approved
    assert collapsed([stage for stage, _ in progress]) == STAGES, progress
    percents = [percent for _, percent in progress]
    assert percents == sorted(percents), progress  # the bar never goes back
    intune = intune_state(story_stack)
    (app,) = [a for a in intune["apps"] if a["id"] == request.app_id]
    assert app["contentVersions"][0]["files"][0]["uploadState"] == "commitFileSuccess"
    assert [a["intent"] for a in app["assignments"]] == ["required"]
    assert any(ALEX.oid in group["members"] for group in intune["groups"])
    assert DONE_MESSAGE in shown_in_browser and "Completed" in shown_in_browser, shown_in_browser
    assert screenshot.stat().st_size > 10_000
    assert "Alex Wilber" in shown_to_megan and "Approve" in shown_to_megan, shown_to_megan
    assert approval_screenshot.stat().st_size > 10_000


def text_of(frame: dict[str, Any]) -> str:
    """The visible texts of a card in a stream frame, one per line."""
    card = card_of(frame["message"]) or {}
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                texts.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body", []))
    return "\n".join(texts)
