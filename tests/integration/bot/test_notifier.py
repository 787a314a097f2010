"""Proactive sends and updates against a scripted Bot Connector.

The Agents Playground (used by the e2e tests) cannot be told to answer 429, 503 or 403, so the connector here is
a small aiohttp server on loopback that answers what each test scripts — the boundary no local part can play.
The notifier, botbuilder's adapter and connector client, and Table Storage (Azurite) are real.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.notifier import (
    NotificationError,
    ProactiveNotifier,
    RecipientUnreachable,
    SentCard,
    UntrustedServiceUrl,
)
from bot.runtime import BotRuntime
from bot.settings import AppType, BotSettings
from greenlight.models import Decision, RequestStatus, Verdict
from greenlight.requests import Progress
from greenlight.settings import Environment
from greenlight.storage import ApprovalCardRepository, ConversationReferenceRepository, StorageAccount
from tests.support.builders import a_request

CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "hello"}]}


@dataclass
class Connector:
    """Scripted answers per (method, kind); every request is recorded."""

    script: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    base_url: str = ""

    def answer(self, kind: str, *answers: tuple) -> None:
        self.script.setdefault(kind, []).extend(a if len(a) == 3 else (*a, {}) for a in answers)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        path = request.path
        if request.method == "POST" and path == "/v3/conversations":
            kind = "create"
        elif request.method == "PUT":
            kind = "update"
        else:
            kind = "send"
        self.calls.append((kind, path, body))
        queue = self.script.get(kind) or []
        if queue:
            status, payload, headers = queue.pop(0)
        elif kind == "create":
            status, payload, headers = 201, {"id": f"a:created-{len(self.calls)}"}, {}
        else:
            status, payload, headers = (200 if kind == "update" else 201), {"id": f"act-{len(self.calls)}"}, {}
        return web.json_response(payload, status=status, headers=headers)

    def of(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [c for c in self.calls if c[0] == kind]


@pytest.fixture
async def connector() -> AsyncIterator[Connector]:
    fake = Connector()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    fake.base_url = f"http://127.0.0.1:{port}/"
    yield fake
    await runner.cleanup()


@dataclass
class Harness:
    notifier: ProactiveNotifier
    references: ConversationReferenceRepository
    sleeps: list[float]
    tenant: str


@pytest.fixture
def harness(storage_connection_string: str) -> Harness:
    settings = BotSettings(
        environment=Environment.LOCAL, app_id=None, app_type=AppType.MULTI_TENANT, app_tenant_id=None
    )
    account = StorageAccount.from_connection_string(storage_connection_string)
    runtime = BotRuntime.build(settings, account)
    sleeps: list[float] = []

    async def record(delay: float) -> None:
        sleeps.append(delay)

    references = ConversationReferenceRepository(account)
    notifier = ProactiveNotifier(runtime.adapter, settings, references, sleep=record, base_delay=0.2)
    return Harness(notifier, references, sleeps, tenant=str(uuid.uuid4()))


def store_reference(h: Harness, oid: str, service_url: str, conversation_id: str = "a:1old") -> None:
    reference = {
        "activityId": "1",
        "user": {"id": "29:user", "aadObjectId": oid},
        "bot": {"id": "28:bot", "name": "Greenlight"},
        "conversation": {"id": conversation_id, "conversationType": "personal", "tenantId": h.tenant},
        "channelId": "msteams",
        "serviceUrl": service_url,
    }
    h.references.upsert(h.tenant, oid, reference, service_url, "User")


async def test_throttling_and_server_errors_are_retried_with_backoff(harness: Harness, connector: Connector):
    oid = str(uuid.uuid4())
    store_reference(harness, oid, connector.base_url)
    connector.answer("send", (429, {}, {"Retry-After": "2"}), (503, {}), (201, {"id": "act-ok"}))
    sent = await harness.notifier.send_card(harness.tenant, oid, CARD)
    assert sent == SentCard(harness.tenant, "a:1old", "act-ok", connector.base_url)
    assert len(connector.of("send")) == 3
    assert harness.sleeps[0] == 2.0  # Retry-After honoured
    assert 0.2 <= harness.sleeps[1] <= 0.2 * 2 * 1.5  # then exponential backoff with jitter
    card = connector.of("send")[-1][2]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive" and card["content"] == CARD


async def test_persistent_failure_gives_up_after_the_attempt_budget(harness: Harness, connector: Connector):
    oid = str(uuid.uuid4())
    store_reference(harness, oid, connector.base_url)
    connector.answer("send", *[(502, {})] * 4)
    with pytest.raises(NotificationError, match="502"):
        await harness.notifier.send_card(harness.tenant, oid, CARD)
    assert len(connector.of("send")) == 4 and len(harness.sleeps) == 3


async def test_blocked_bot_marks_the_user_unreachable_and_stops_sending(harness: Harness, connector: Connector):
    oid = str(uuid.uuid4())
    store_reference(harness, oid, connector.base_url)
    connector.answer("send", (403, {"error": {"code": "MessageWritesBlocked", "message": "blocked"}}))
    with pytest.raises(RecipientUnreachable, match="MessageWritesBlocked"):
        await harness.notifier.send_card(harness.tenant, oid, CARD)
    stored = harness.references.get(harness.tenant, oid)
    assert stored.unreachable and "MessageWritesBlocked" in stored.unreachable_reason
    with pytest.raises(RecipientUnreachable):
        await harness.notifier.send_card(harness.tenant, oid, CARD)
    assert len(connector.of("send")) == 1  # the second attempt never reached the connector


async def test_gone_conversation_is_recreated_once(harness: Harness, connector: Connector):
    oid = str(uuid.uuid4())
    store_reference(harness, oid, connector.base_url, "a:1deleted")
    connector.answer("send", (404, {"error": {"code": "ConversationNotFound", "message": "gone"}}))
    connector.answer("create", (201, {"id": "a:1fresh"}))
    sent = await harness.notifier.send_card(harness.tenant, oid, CARD)
    assert sent.conversation_id == "a:1fresh"
    created = connector.of("create")[0][2]
    assert created["members"] == [{"id": oid}]
    assert created["channelData"] == {"tenant": {"id": harness.tenant}}
    assert created["bot"]["id"] == "28:bot"  # the bot account from the stored reference
    assert harness.references.get(harness.tenant, oid).reference["conversation"]["id"] == "a:1fresh"


async def test_user_without_a_reference_gets_a_new_chat(harness: Harness, connector: Connector):
    oid = str(uuid.uuid4())
    sent = await harness.notifier.send_card(harness.tenant, oid, CARD, service_url_hint=connector.base_url)
    [(_, _, created)] = connector.of("create")
    assert created["isGroup"] is False and created["members"] == [{"id": oid}]
    stored = harness.references.get(harness.tenant, oid)
    assert stored.reference["conversation"]["id"] == sent.conversation_id
    assert stored.reference["user"]["aadObjectId"] == oid and stored.service_url == connector.base_url


async def test_untrusted_service_url_is_never_called(harness: Harness, connector: Connector):
    oid = str(uuid.uuid4())
    store_reference(harness, oid, "https://attacker.example/")
    with pytest.raises(UntrustedServiceUrl):
        await harness.notifier.send_card(harness.tenant, oid, CARD)
    assert connector.calls == []


async def test_update_replaces_the_card_in_place_and_reports_a_missing_one(harness: Harness, connector: Connector):
    target = SentCard(harness.tenant, "a:1chat", "act-42", connector.base_url)
    assert await harness.notifier.update_card(target, CARD) is True
    [(_, path, body)] = connector.of("update")
    assert path == "/v3/conversations/a:1chat/activities/act-42" and body["id"] == "act-42"
    connector.answer("update", (404, {"error": {"code": "ActivityNotFoundInConversation", "message": "no"}}))
    assert await harness.notifier.update_card(target, CARD) is False


async def test_update_retries_are_counted_once(harness: Harness, connector: Connector):
    """botbuilder's connector client would retry a 5xx PUT by itself; the notifier's budget is the only one."""
    target = SentCard(harness.tenant, "a:1chat", "act-43", connector.base_url)
    connector.answer("update", *[(503, {})] * 10)
    with pytest.raises(NotificationError, match="503"):
        await harness.notifier.update_card(target, CARD)
    assert len(connector.of("update")) == 4 and len(harness.sleeps) == 3


async def test_requester_status_card_shows_workflow_progress(storage_connection_string: str, connector: Connector):
    """The workflow's custom status reaches the requester's card as a progress bar, replaced in place."""
    settings = BotSettings(
        environment=Environment.LOCAL, app_id=None, app_type=AppType.MULTI_TENANT, app_tenant_id=None
    )
    runtime = BotRuntime.build(settings, StorageAccount.from_connection_string(storage_connection_string))
    request = a_request(status=RequestStatus.PUBLISHING)
    dispatch = runtime.services.dispatch
    assert await dispatch.show_status(request, Progress("Uploading", 40, "block 4 of 10")) is False  # no card yet
    card = SentCard(request.tenant_id, "a:1requester", "act-7", connector.base_url)
    runtime.services.requester_cards.put(request.request_id, request.requester_oid, card)
    assert await dispatch.show_status(request, Progress("Uploading", 40, "block 4 of 10")) is True
    [(_, path, body)] = connector.of("update")
    assert path == "/v3/conversations/a:1requester/activities/act-7"
    content = body["attachments"][0]["content"]
    bar = next(e for e in content["body"] if e["type"] == "ColumnSet")
    assert [c["width"] for c in bar["columns"]] == [40, 60]
    assert "block 4 of 10" in str(content)
    assert "Approved by" not in str(content)  # nothing settled the stage yet

    runtime.services.decisions.settle(
        Decision(request.request_id, request.stage, "oid-megan", "Megan Bowen", Verdict.APPROVED)
    )
    assert await dispatch.show_status(request, Progress("Uploading", 60, "block 6 of 10")) is True
    content = connector.of("update")[-1][2]["attachments"][0]["content"]
    assert "Approved by Megan Bowen" in str(content) and "block 6 of 10" in str(content)


async def test_dispatch_follows_the_stages_cards_reminders_and_the_decided_stage_only(
    storage_connection_string: str, connector: Connector
):
    """Approval cards go to the current stage's approvers (with the stage and who else was asked), reminders are
    fresh cards, a decision replaces only that stage's cards, and an expired API-made request is told anew."""
    settings = BotSettings(
        environment=Environment.LOCAL, app_id=None, app_type=AppType.MULTI_TENANT, app_tenant_id=None
    )
    account = StorageAccount.from_connection_string(storage_connection_string)
    runtime = BotRuntime.build(settings, account)
    dispatch, references = runtime.services.dispatch, ConversationReferenceRepository(account)
    plan = {
        "outcome": "approval",
        "stages": [
            {"index": 0, "name": "Manager", "rule": "any", "approvers": ["oid-megan"], "source": "manager"},
            {"index": 1, "name": "IT", "rule": "all", "approvers": ["oid-adele", "oid-isaiah"], "source": "named"},
        ],
        "escalation": ["oid-patti"],
        "timing": {},
        "reason": "stages: Manager, IT",
    }
    request = a_request(plan=plan, stage=1)
    names = {"oid-megan": "Megan Bowen", "oid-adele": "Adele Vance", "oid-isaiah": "Isaiah Langer"}
    for oid, name in names.items():
        reference = {"user": {"id": f"29:{oid}", "aadObjectId": oid}, "bot": {"id": "28:bot"}, "channelId": "msteams",
                     "conversation": {"id": f"a:{oid}", "conversationType": "personal", "tenantId": request.tenant_id},
                     "serviceUrl": connector.base_url}  # fmt: skip
        references.upsert(request.tenant_id, oid, reference, connector.base_url, name)
    cards = ApprovalCardRepository(account)
    cards.put(request.request_id, "oid-megan", "a:oid-megan", "act-stage1", connector.base_url, 0)  # stage 1's

    assert sorted(await dispatch.send_approval_cards(request)) == ["oid-adele", "oid-isaiah"]
    sent = {path.split("/")[3]: str(body) for _, path, body in connector.of("send")}  # by conversation
    adele = sent["a:oid-adele"]
    assert "Stage 2 of 2: IT" in adele and "Also asked: Isaiah Langer" in adele and "Megan" not in adele
    assert await dispatch.send_approval_cards(request) == ["oid-adele", "oid-isaiah"]  # nothing sent twice
    assert len(connector.of("send")) == 2

    assert await dispatch.send_reminders(request, ["oid-isaiah"]) == ["oid-isaiah"]
    assert "Reminder" in str(connector.of("send")[-1][2])

    decision = Decision(request.request_id, 1, "oid-isaiah", "Isaiah Langer", Verdict.APPROVED)
    await dispatch.show_decision(dataclasses.replace(request, status=RequestStatus.APPROVED), decision)
    updated = [path for _, path, _ in connector.of("update")]
    assert len(updated) == 2 and not any("act-stage1" in path for path in updated)  # stage 1's card stays

    before = len(connector.of("send"))
    expired = dataclasses.replace(request, status=RequestStatus.EXPIRED)
    chat = {"id": "a:requester", "conversationType": "personal", "tenantId": request.tenant_id}
    requester = {"user": {"id": "29:r", "aadObjectId": request.requester_oid}, "bot": {"id": "28:bot"},
                 "channelId": "msteams", "serviceUrl": connector.base_url, "conversation": chat}  # fmt: skip
    references.upsert(request.tenant_id, request.requester_oid, requester, connector.base_url, "Requester")
    await dispatch.show_status(expired, None)
    assert [path.split("/")[3] for _, path, _ in connector.of("send")[before:]] == ["a:requester"]
