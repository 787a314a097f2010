"""The policy's directory lookups over Microsoft Graph (v1.0), cached for a while and failing closed.

- the requester's manager: `GET /users/{id}/manager?$select=id` (404: none) — User.Read.All;
- a group's people: `GET /groups/{id}/transitiveMembers/microsoft.graph.user?$select=id` (paged) —
  GroupMember.Read.All;
- is the requester in these groups: `POST /users/{id}/checkMemberGroups` (≤ 20 ids a call, transitive) —
  GroupMember.Read.All (with User.ReadBasic.All). These are the least-privileged application permissions.

checkMemberGroups answers only about the groups a policy names, in one call, instead of paging through every
group the requester belongs to (transitiveMemberOf). Any Graph failure raises DirectoryUnavailable: the plan is
not made, so an outage means nobody approves yet — never that a group check silently passes. Answers are cached
for `ttl_seconds` in a `DirectoryCache` that outlives the Graph client (one per process).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphError, GraphNotFound
from greenlight.graph.urls import DIRECTORY_API
from greenlight.policy.plan import DirectoryUnavailable

log = logging.getLogger("greenlight.policy.directory")
T = TypeVar("T")
CHECK_MEMBER_GROUPS_LIMIT = 20  # Graph's limit of group ids per checkMemberGroups call
DEFAULT_TTL_SECONDS = 300.0


class DirectoryCache:
    """Answers by key, each kept for `ttl_seconds` (the lookups change rarely; a policy is evaluated often)."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}

    async def get(self, key: tuple[str, ...], read: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            return entry[1]
        value = await read()
        self._entries[key] = (self._clock(), value)
        return value

    def clear(self) -> None:
        self._entries.clear()


class GraphDirectory:
    """`greenlight.policy.plan.Directory` over a Graph client."""

    def __init__(self, graph: GraphClient, cache: DirectoryCache | None = None, *, page_size: int = 999) -> None:
        self._graph = graph
        self._cache = cache or DirectoryCache()
        self._page_size = page_size

    async def manager_of(self, user_id: str) -> str | None:
        return await self._cache.get(("manager", user_id.lower()), lambda: self._read_manager(user_id))

    async def group_members(self, group_id: str) -> frozenset[str]:
        return await self._cache.get(("members", group_id.lower()), lambda: self._read_members(group_id))

    async def member_groups(self, user_id: str, group_ids: Sequence[str]) -> frozenset[str]:
        wanted = tuple(sorted({g.lower() for g in group_ids}))
        if not wanted:
            return frozenset()
        return await self._cache.get(("in", user_id.lower(), *wanted), lambda: self._check_groups(user_id, wanted))

    async def _read_manager(self, user_id: str) -> str | None:
        try:
            manager = await self._graph.get(
                f"users/{quote(user_id)}/manager", params={"$select": "id"}, version=DIRECTORY_API
            )
        except GraphNotFound:
            return None  # no manager set (Graph answers 404 Request_ResourceNotFound)
        except GraphError as error:
            raise _unavailable("the manager", error) from None
        manager_id = manager.get("id")
        return str(manager_id).lower() if manager_id else None

    async def _read_members(self, group_id: str) -> frozenset[str]:
        path = f"groups/{quote(group_id)}/transitiveMembers/microsoft.graph.user"
        params = {"$select": "id", "$top": str(self._page_size)}
        try:
            return frozenset(
                [str(i["id"]).lower() async for i in self._graph.paged(path, params=params, version=DIRECTORY_API)]
            )
        except GraphError as error:
            # A deleted group is an outage of the policy too: its stage must not silently lose its approvers.
            raise _unavailable(f"the members of group {group_id}", error) from None

    async def _check_groups(self, user_id: str, group_ids: Sequence[str]) -> frozenset[str]:
        found: set[str] = set()
        for start in range(0, len(group_ids), CHECK_MEMBER_GROUPS_LIMIT):
            chunk = list(group_ids[start : start + CHECK_MEMBER_GROUPS_LIMIT])
            try:
                answer = await self._graph.post(
                    f"users/{quote(user_id)}/checkMemberGroups", {"groupIds": chunk}, version=DIRECTORY_API
                )
            except GraphError as error:
                raise _unavailable("the requester's groups", error) from None
            found |= {str(g).lower() for g in (answer or {}).get("value", [])}
        return frozenset(found & set(group_ids))


def _unavailable(what: str, error: GraphError) -> DirectoryUnavailable:
    log.error("directory lookup of %s failed: %s", what, error)
    return DirectoryUnavailable(f"could not read {what} from Microsoft Graph ({type(error).__name__})")
