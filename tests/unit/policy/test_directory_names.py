"""DirectoryNames at its seam (the Graph client factory): the cache spares the client, the time budget keeps what
was read. The same lookups against the sandbox's Graph: tests/integration/policy/test_graph_directory.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from greenlight.graph.errors import GraphNotFound
from greenlight.policy.directory import DirectoryCache, DirectoryNames

PEOPLE = {"oid-pat": "Pat Doe", "oid-sam": "Sam Roe"}


class Graph:
    """Answers `users/{id}` from PEOPLE (404 otherwise); `users/oid-stuck` never answers."""

    def __init__(self) -> None:
        self.opened = 0
        self.paths: list[str] = []

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Graph]:
        self.opened += 1
        yield self

    async def get(self, path: str, **_: Any) -> dict[str, Any]:
        self.paths.append(path)
        user_id = path.removeprefix("users/")
        if user_id == "oid-stuck":
            await asyncio.Event().wait()
        if user_id not in PEOPLE:
            raise GraphNotFound(f"GET /v1.0/{path}: not found", status=404, code="Request_ResourceNotFound")
        return {"displayName": PEOPLE[user_id]}


async def test_a_batch_already_cached_opens_no_graph_client() -> None:
    graph, now = Graph(), [0.0]
    names = DirectoryNames(graph.open, DirectoryCache(ttl_seconds=60, clock=lambda: now[0]))
    assert await names.display_names(["oid-pat", "oid-nobody"]) == {"oid-pat": "Pat Doe"}
    assert (graph.opened, len(graph.paths)) == (1, 2)
    assert await names.display_names(["oid-nobody", "oid-pat"]) == {"oid-pat": "Pat Doe"}
    assert (graph.opened, len(graph.paths)) == (1, 2)  # the name and the 404 both came from the cache
    assert await names.display_names(["oid-pat", "oid-sam"]) == PEOPLE
    assert (graph.opened, graph.paths[2:]) == (2, ["users/oid-sam"])  # only the one not cached is read
    now[0] = 61.0
    await names.display_names(["oid-pat"])
    assert graph.paths[-1] == "users/oid-pat"  # expired: read again


async def test_the_time_budget_keeps_the_names_read_before_it_ran_out() -> None:
    graph, now = Graph(), [0.0]
    names = DirectoryNames(graph.open, DirectoryCache(), timeout_seconds=1.0, rest_seconds=30, clock=lambda: now[0])
    assert await names.display_names(["oid-pat", "oid-stuck"]) == {"oid-pat": "Pat Doe"}
    now[0] = 31.0
    assert await names.display_names(["oid-stuck"]) == {}  # nothing cached for the one that never answered
    assert graph.paths.count("users/oid-stuck") == 2


async def test_after_a_failed_read_graph_is_left_alone_for_a_while() -> None:
    """During an outage each card would otherwise wait out the time budget: the next lookups answer at once."""
    graph, now = Graph(), [0.0]
    names = DirectoryNames(graph.open, DirectoryCache(), timeout_seconds=1.0, rest_seconds=30, clock=lambda: now[0])
    assert await names.display_names(["oid-stuck"]) == {}
    assert (graph.opened, graph.paths) == (1, ["users/oid-stuck"])
    now[0] = 29.0
    assert await names.display_names(["oid-pat"]) == {}  # resting: no client opened, the card shows the short id
    assert graph.opened == 1
    now[0] = 30.0
    assert await names.display_names(["oid-pat"]) == {"oid-pat": "Pat Doe"}
    assert graph.opened == 2


async def test_a_client_that_cannot_be_opened_gives_no_names_instead_of_an_error() -> None:
    @asynccontextmanager
    async def unconfigured() -> AsyncIterator[Any]:
        raise RuntimeError("GREENLIGHT_TENANT_ID is required")
        yield

    assert await DirectoryNames(unconfigured).display_names(["oid-pat"]) == {}
