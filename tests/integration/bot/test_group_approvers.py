"""Approvers from an Entra group, read from the sandbox's Microsoft Graph over HTTPS (MSAL token, real client)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from greenlight.graph.client import GraphClient, open_graph_client
from greenlight.graph.settings import GraphSettings
from greenlight.graph.urls import DIRECTORY_API
from greenlight.models import Request
from greenlight.requests.approvers import GroupApprovers
from tests.support.builders import sandbox_graph_settings


@pytest.fixture
def graph_settings(sandbox) -> GraphSettings:
    return sandbox_graph_settings(
        sandbox, tenant_id=str(uuid.uuid4()), client_id="greenlight-bot-tests", max_attempts=3
    )


class CountingGraph:
    def __init__(self, settings: GraphSettings) -> None:
        self.settings = settings
        self.opened = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[GraphClient]:
        self.opened += 1
        async with open_graph_client(self.settings) as client:
            yield client


async def make_group(settings: GraphSettings, members: list[str]) -> str:
    async with open_graph_client(settings) as graph:
        nickname = f"approvers{uuid.uuid4().hex[:8]}"
        body = {"displayName": "Greenlight approvers", "mailNickname": nickname}
        group = await graph.post(
            "groups", {**body, "mailEnabled": False, "securityEnabled": True}, version=DIRECTORY_API
        )
        for member in members:
            ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{member}"}
            await graph.post(f"groups/{group['id']}/members/$ref", ref, version=DIRECTORY_API)
    return group["id"]


def request_by(oid: str) -> Request:
    return Request("t", "r", oid, "Requester", "7zip.7zip", None, "x64", "machine", "because")


async def test_group_members_and_configured_oids_approve_but_never_the_requester(graph_settings) -> None:
    members = [str(uuid.uuid4()) for _ in range(3)]
    configured = str(uuid.uuid4())
    groups = [await make_group(graph_settings, members[:2]), await make_group(graph_settings, members[2:])]
    graph = CountingGraph(graph_settings)
    directory = GroupApprovers(frozenset({configured}), groups, graph, ttl_seconds=300)
    assert directory.approvers_for(request_by(str(uuid.uuid4()))) == {configured}  # before the first read
    await directory.refresh()
    assert directory.approvers_for(request_by(str(uuid.uuid4()))) == {configured, *members}
    assert directory.approvers_for(request_by(members[0])) == {configured, *members[1:]}
    await directory.refresh()
    assert graph.opened == 1  # cached within the TTL


async def test_membership_changes_are_seen_after_the_cache_expires(graph_settings) -> None:
    first, later = str(uuid.uuid4()), str(uuid.uuid4())
    group_id = await make_group(graph_settings, [first])
    now = [1000.0]
    directory = GroupApprovers(
        frozenset(), [group_id], CountingGraph(graph_settings), ttl_seconds=60, clock=lambda: now[0]
    )
    await directory.refresh()
    async with open_graph_client(graph_settings) as graph:
        ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{later}"}
        await graph.post(f"groups/{group_id}/members/$ref", ref, version=DIRECTORY_API)
    await directory.refresh()
    assert directory.approvers_for(request_by("x")) == {first}
    now[0] += 61
    await directory.refresh()
    assert directory.approvers_for(request_by("x")) == {first, later}


async def test_an_unreadable_group_fails_closed_and_keeps_known_members(graph_settings) -> None:
    member = str(uuid.uuid4())
    group_id = await make_group(graph_settings, [member])
    now = [0.0]
    directory = GroupApprovers(
        frozenset(), [group_id], CountingGraph(graph_settings), ttl_seconds=10, clock=lambda: now[0]
    )
    await directory.refresh()
    directory.group_ids = (str(uuid.uuid4()),)  # the group was deleted (Graph answers 404 from now on)
    now[0] += 11
    await directory.refresh()
    assert directory.approvers_for(request_by("x")) == {member}
    missing = GroupApprovers(frozenset(), [str(uuid.uuid4())], CountingGraph(graph_settings))
    await missing.refresh()
    assert missing.approvers_for(request_by("x")) == frozenset()
