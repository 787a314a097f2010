"""Stage lines name people the bot never heard a name from, by their directory display name (the sandbox's Graph
over HTTPS), and the cards still go out with short ids when Graph does not know someone or is down.

The scripted Bot Connector of test_notifier.py takes the cards; the dispatch, botbuilder, Table Storage (Azurite),
the Graph client and the sandbox's Graph are real.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from typing import Any

import pytest

from bot.notifier import SentCard
from bot.runtime import BotRuntime
from bot.settings import AppType, BotSettings
from greenlight.graph.client import open_graph_client
from greenlight.graph.settings import GraphSettings
from greenlight.models import Request
from greenlight.policy.directory import DirectoryCache, DirectoryNames
from greenlight.settings import SANDBOX_TENANT_ID, Environment
from greenlight.storage import ConversationReferenceRepository, StorageAccount
from sandbox.graph.directory import ADELE, MEGAN
from tests.integration.bot import test_notifier
from tests.integration.bot.test_notifier import Connector
from tests.support.builders import a_request, sandbox_graph_settings
from tests.support.sandbox_tenant import SandboxTenant

connector = test_notifier.connector  # the scripted Bot Connector, as a fixture of this module too
SETTINGS = BotSettings(environment=Environment.LOCAL, app_id=None, app_type=AppType.MULTI_TENANT, app_tenant_id=None)


def directory_names(sandbox: Any, graph_tenant: str) -> DirectoryNames:
    settings = sandbox_graph_settings(sandbox, tenant_id=graph_tenant, client_id="greenlight-bot-tests", max_attempts=2)
    return DirectoryNames(lambda: open_graph_client(settings), DirectoryCache(ttl_seconds=60))


def all_of_them(*approvers: str) -> Request:
    """A pending request whose one stage waits on every approver (rule all), so each shows on the stage lines."""
    stage = {"index": 0, "name": "IT", "rule": "all", "approvers": list(approvers), "source": "named"}
    plan = {"outcome": "approval", "stages": [stage], "escalation": [], "timing": {}, "reason": "stages: IT"}
    return a_request(tenant_id=str(uuid.uuid4()), plan=plan)


def known_to_the_bot(
    references: ConversationReferenceRepository, request: Request, oid: str, name: str | None, base_url: str
) -> None:
    """A conversation reference, as a message (with the user's name) or an installation (without one) stores it."""
    chat = {"id": f"a:{oid}", "conversationType": "personal", "tenantId": request.tenant_id}
    reference = {"user": {"id": f"29:{oid}", "aadObjectId": oid}, "bot": {"id": "28:bot"}, "channelId": "msteams",
                 "conversation": chat, "serviceUrl": base_url}  # fmt: skip
    references.upsert(request.tenant_id, oid, reference, base_url, name)


async def cards_to(
    connector: Connector, runtime: BotRuntime, request: Request, people: dict[str, str | None]
) -> dict[str, str]:
    """Approval cards to `people` ({oid: stored name or None}); the card text by recipient."""
    references = runtime.services.references
    for oid, name in people.items():
        known_to_the_bot(references, request, oid, name, connector.base_url)
    assert sorted(await runtime.services.dispatch.send_approval_cards(request)) == sorted(people)
    return {path.split("/")[3].removeprefix("a:"): str(body) for _, path, body in connector.of("send")}


async def test_someone_who_only_installed_the_bot_shows_with_their_directory_name(
    storage_connection_string: str, connector: Connector, sandbox: Any
) -> None:
    account = StorageAccount.from_connection_string(storage_connection_string)
    runtime = BotRuntime.build(SETTINGS, account, names=directory_names(sandbox, SANDBOX_TENANT_ID))
    request = all_of_them(ADELE, MEGAN)
    sent = await cards_to(connector, runtime, request, {ADELE: "Adele Vance", MEGAN: None})  # Megan: installed
    assert "Also asked: Megan Bowen" in sent[ADELE]  # from the Playground org, not "user 8d2f9a4b"
    assert "Waiting on: Adele Vance, Megan Bowen" in sent[ADELE]
    assert "Also asked: Adele Vance" in sent[MEGAN]  # her own card does not list her by her directory name

    mine = SentCard(request.tenant_id, "a:requester", "act-requester", connector.base_url)
    runtime.services.requester_cards.put(request.request_id, request.requester_oid, mine)
    assert await runtime.services.dispatch.show_status(request, None) is True
    assert "Waiting on: Adele Vance, Megan Bowen" in str(connector.of("update")[-1][2])  # the requester's card


async def test_someone_the_directory_does_not_know_still_shows_as_a_short_id(
    storage_connection_string: str, connector: Connector, sandbox: Any
) -> None:
    account = StorageAccount.from_connection_string(storage_connection_string)
    runtime = BotRuntime.build(SETTINGS, account, names=directory_names(sandbox, SANDBOX_TENANT_ID))
    stranger = str(uuid.uuid4())
    request = all_of_them(ADELE, stranger)
    sent = await cards_to(connector, runtime, request, {ADELE: "Adele Vance", stranger: None})
    assert f"Also asked: user {stranger[:8]}" in sent[ADELE]


@pytest.mark.parametrize("outage", ["503 from Graph", "Graph endpoint stopped"])
async def test_the_cards_go_out_with_short_ids_when_graph_fails(
    storage_connection_string: str, connector: Connector, sandbox: Any, outage: str
) -> None:
    account = StorageAccount.from_connection_string(storage_connection_string)
    graph_tenant, person = str(uuid.uuid4()), str(uuid.uuid4())
    control = SandboxTenant(sandbox, graph_tenant)
    control.org(users=[{"id": person, "displayName": "Pat Doe"}])  # the directory would name them
    names = directory_names(sandbox, graph_tenant)
    if outage == "503 from Graph":
        control.faults(unavailable_every=1)
    else:
        names = DirectoryNames(lambda: open_graph_client(_stopped(sandbox, graph_tenant)))
    runtime = BotRuntime.build(SETTINGS, account, names=names)
    request = all_of_them(ADELE, person)
    sent = await cards_to(connector, runtime, request, {ADELE: "Adele Vance", person: None})
    assert f"Also asked: user {person[:8]}" in sent[ADELE] and "Pat Doe" not in sent[ADELE]


def _stopped(sandbox: Any, graph_tenant: str) -> GraphSettings:
    """Graph settings whose Graph URL is a loopback port nothing listens on (tokens still come from the sandbox)."""
    with socket.socket() as probe:  # a port that was free a moment ago, closed again: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = sandbox_graph_settings(sandbox, tenant_id=graph_tenant, client_id="greenlight-bot-tests", max_attempts=2)
    return dataclasses.replace(settings, graph_url=f"https://127.0.0.1:{port}/graph")
