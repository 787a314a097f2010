"""A small client for Microsoft 365 Agents Playground's HTTP/WebSocket API (the same endpoints its web UI uses).

- `/_conversation/v1/...` posts what a user does (messages, Action.Execute invokes) on a user's behalf;
- `/_ws_conversation/v1/conversations/stream` pushes what the bot shows in the personal chat;
- `/_ws/log/stream` carries every Bot Connector request the bot made, including messages into chats the bot
  created itself (those are not pushed on the conversation stream), so cards sent there are read from it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

# The Playground's users come from teams/playground.yml (start_playground copies it, for tests and `make run`).
# Their channel ids equal their Entra object ids, the form Teams accepts as `members[].id` when the bot creates a
# 1:1 chat, so the bot's create-conversation path runs unmodified.
CONFIG_FILE = Path(__file__).resolve().parents[2] / "teams" / "playground.yml"
_CONFIG = yaml.safe_load(CONFIG_FILE.read_text())


@dataclass(frozen=True)
class User:
    oid: str
    given: str
    surname: str

    @property
    def name(self) -> str:
        return f"{self.given} {self.surname}"


def _user(entry: dict[str, Any]) -> User:
    assert entry["id"] == entry["aadObjectId"], "teams/playground.yml: channel id must equal the object id"
    return User(entry["aadObjectId"], entry["givenName"], entry["surname"])


TENANT_ID: str = _CONFIG["tenantId"]
BOT_ID: str = _CONFIG["bot"]["id"]
PERSONAL_CHAT_ID: str = _CONFIG["personalChat"]["id"]
ALEX = _user(_CONFIG["currentUser"])  # the Playground's current user: the one its web UI speaks as
MEGAN, ADELE, ISAIAH, PATTI, LYNNE = (_user(u) for u in _CONFIG["users"])


@dataclass
class Stream:
    """Collects JSON frames from one WebSocket; tests wait on predicates over everything seen so far."""

    items: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, item: dict[str, Any]) -> None:
        async with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            async with self.changed:
                start = 0
                while True:
                    for item in self.items[start:]:
                        if predicate(item):
                            return item
                    start = len(self.items)
                    await self.changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            tail = json.dumps(self.items[-5:])[:3000]
            raise AssertionError(f"nothing matched within {timeout}s; last frames: {tail}") from None


class Playground:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session
        self.chat = Stream()  # conversation stream frames ({action, actionConversationId, message})
        self.log = Stream()  # appendLog entries
        self._tasks: list[asyncio.Task] = []

    async def connect(self) -> None:
        ws_base = self.base_url.replace("http://", "ws://")
        chat = await self.session.ws_connect(f"{ws_base}/_ws_conversation/v1/conversations/stream")
        log = await self.session.ws_connect(f"{ws_base}/_ws/log/stream")
        self._tasks = [
            asyncio.create_task(self._pump(chat, self.chat, lambda d: d)),
            asyncio.create_task(self._pump(log, self.log, lambda d: d.get("log") if isinstance(d, dict) else None)),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @staticmethod
    async def _pump(ws: aiohttp.ClientWebSocketResponse, stream: Stream, pick) -> None:
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                item = pick(json.loads(frame.data))
            except ValueError:
                continue
            if isinstance(item, dict):
                await stream.add(item)

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.post(self.base_url + path, json=body) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    async def config(self) -> dict[str, Any]:
        async with self.session.get(self.base_url + "/_internal/v1/config") as response:
            return (await response.json())["config"]

    async def install(self, conversation_id: str = PERSONAL_CHAT_ID) -> tuple[int, Any]:
        return await self._post(f"/_debug/conversation/{conversation_id}/installation", {})

    async def say(self, text: str, conversation_id: str = PERSONAL_CHAT_ID) -> tuple[int, Any]:
        """A message typed by the Playground's current user (Alex): the endpoint always sends as that user."""
        body = {"from": {"id": ALEX.oid}, "text": text, "textFormat": "plain", "type": "text"}
        return await self._post(f"/_conversation/v1/conversations/{conversation_id}/messages", body)

    async def say_as(self, user: User, text: str, conversation_id: str) -> tuple[int, Any]:
        """A message from another user in their 1:1 chat with the bot. The Playground's message endpoint would
        send it as the current user, so it goes in as a custom activity shaped like the ones it sends itself."""
        status, template = await self._get(
            f"/_internal/v1/customActivities/template?conversationId={PERSONAL_CHAT_ID}&type=install"
        )
        assert status == 200, template
        activity = {
            "type": "message",
            "text": text,
            "textFormat": "plain",
            "channelId": "msteams",
            "serviceUrl": template["serviceUrl"],
            "from": {"id": user.oid, "name": user.name, "aadObjectId": user.oid},
            "recipient": template["recipient"],
            "conversation": {"id": conversation_id, "conversationType": "personal", "tenantId": TENANT_ID},
            "channelData": {"tenant": {"id": TENANT_ID}},
            "locale": "en-US",
        }
        return await self.custom_activity(activity)

    async def _get(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.base_url + path) as response:
            return response.status, await response.json(content_type=None)

    async def click(
        self, user: User, conversation_id: str, card_message_id: str, verb: str, data: dict[str, Any]
    ) -> tuple[int, Any]:
        """Action.Execute as the Playground UI sends it (`value.action` with the card's data merged with inputs)."""
        body = {
            "name": "adaptiveCard/action",
            "from": {"id": user.oid},
            "conversation": {"id": conversation_id},
            "replyToId": card_message_id,
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
        }
        return await self._post("/_conversation/v1/invoke", body)

    async def submit(
        self, user: User, conversation_id: str, card_message_id: str, data: dict[str, Any]
    ) -> tuple[int, Any]:
        """Action.Submit as the Playground UI sends it: the bot receives a message whose `value` is the data."""
        body = {
            "conversation": {"id": conversation_id},
            "from": {"id": user.oid},
            "replyToId": card_message_id,
            "value": data,
        }
        return await self._post("/_conversation/v1/submit", body)

    async def custom_activity(self, activity: dict[str, Any]) -> tuple[int, Any]:
        """Forwarded to the bot unvalidated: lets a test play a user the Playground would not let click."""
        return await self._post("/_internal/v1/customActivities", activity)


def card_of(message: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in message.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            content = attachment.get("content")
            return json.loads(content) if isinstance(content, str) else content
    return None


def card_text(card: dict[str, Any] | None) -> str:
    return json.dumps(card or {}, ensure_ascii=False)


def logged_activity(entry: dict[str, Any]) -> dict[str, Any]:
    """The activity the bot posted, from a log entry (empty when the entry is not a bot request)."""
    body = (entry.get("request") or {}).get("body")
    return body if isinstance(body, dict) else {}
