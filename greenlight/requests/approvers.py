"""Who approves, until approval policies exist: configured object ids, optionally plus an Entra group's members.

`GREENLIGHT_APPROVER_OIDS` names approvers directly; `GREENLIGHT_APPROVER_GROUP_IDS` (the groups that also grant
the API's Approver role) adds their direct members, read from Microsoft Graph (`/groups/{id}/members`, v1.0) and
cached for
`GREENLIGHT_APPROVER_GROUP_CACHE_SECONDS`. The handler calls `refresh()` before it needs the set; a Graph failure
keeps the members last read (none before the first success: fail closed), and is logged. A requester is never
an approver of their own request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from greenlight.graph.client import GraphClient
from greenlight.graph.urls import DIRECTORY_API
from greenlight.models import Request

log = logging.getLogger("greenlight.requests.approvers")


class ApproverDirectory(Protocol):
    async def refresh(self) -> None: ...

    def approvers_for(self, request: Request) -> frozenset[str]: ...


class ConfiguredApprovers:
    """Approvers from settings (GREENLIGHT_APPROVER_OIDS); never the requester."""

    def __init__(self, oids: frozenset[str]) -> None:
        self.oids = frozenset(o.lower() for o in oids)

    async def refresh(self) -> None:
        return

    def approvers_for(self, request: Request) -> frozenset[str]:
        return frozenset(o for o in self.oids if o != request.requester_oid.lower())


GraphFactory = Callable[[], AbstractAsyncContextManager[GraphClient]]


class GroupApprovers(ConfiguredApprovers):
    def __init__(
        self,
        oids: frozenset[str],
        group_ids: Sequence[str],
        graph: GraphFactory,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(oids)
        self.group_ids = tuple(group_ids)
        self._graph = graph
        self._ttl = ttl_seconds
        self._clock = clock
        self._members: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._read_at is not None and self._clock() - self._read_at < self._ttl

    async def refresh(self) -> None:
        if self._fresh():
            return
        async with self._lock:
            if self._fresh():
                return
            try:
                members: set[str] = set()
                async with self._graph() as graph:
                    for group_id in self.group_ids:
                        async for item in graph.paged(f"groups/{group_id}/members", version=DIRECTORY_API):
                            if item.get("id"):
                                members.add(str(item["id"]).lower())
            except Exception as error:  # noqa: BLE001 - Graph, token and settings errors all mean "keep what we had"
                log.error("approver groups could not be read (%s); keeping %d known members",
                          type(error).__name__, len(self._members))  # fmt: skip
                return
            self._members = frozenset(members)
            self._read_at = self._clock()

    def approvers_for(self, request: Request) -> frozenset[str]:
        return frozenset(o for o in self.oids | self._members if o != request.requester_oid.lower())


def approver_directory(
    oids: frozenset[str], group_ids: Sequence[str], cache_seconds: int = 300, graph: GraphFactory | None = None
) -> ApproverDirectory:
    """Configured object ids, plus the members of the approver groups when any are configured."""
    if not group_ids:
        return ConfiguredApprovers(oids)

    def default_graph() -> AbstractAsyncContextManager[GraphClient]:  # Graph settings read when first needed
        from greenlight.graph.client import open_graph_client
        from greenlight.graph.settings import GraphSettings

        return open_graph_client(GraphSettings.from_env())

    return GroupApprovers(oids, group_ids, graph or default_graph, ttl_seconds=cache_seconds)
