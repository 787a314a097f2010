"""The policy's directory lookups over Microsoft Graph (v1.0), cached for a while and failing closed; and people's
display names for cards, which fail open.

- the requester's manager: `GET /users/{id}/manager?$select=id` (404: none) — User.Read.All;
- a group's people: `GET /groups/{id}/transitiveMembers/microsoft.graph.user?$select=id` (paged) —
  GroupMember.Read.All;
- is the requester in these groups: `POST /users/{id}/checkMemberGroups` (≤ 20 ids a call, transitive) —
  GroupMember.Read.All (with User.ReadBasic.All). These are the least-privileged application permissions.

checkMemberGroups answers only about the groups a policy names, in one call, instead of paging through every
group the requester belongs to (transitiveMemberOf). Any Graph failure raises DirectoryUnavailable: the plan is
not made, so an outage means nobody approves yet — never that a group check silently passes. Answers are cached
for `ttl_seconds` in a `DirectoryCache` that outlives the Graph client (one per process).

A person's display name, `GET /users/{id}?$select=displayName` (404: none) — User.Read.All, is a nicety for the
cards' stage lines: `DirectoryNames` gives the names it could read within a short time budget and never raises, so
a card still goes out (with short ids) when Graph is slow or down. Failures are not cached; the next card asks again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, aclosing
from typing import Any, TypeVar
from urllib.parse import quote

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphError, GraphNotFound
from greenlight.graph.urls import DIRECTORY_API
from greenlight.policy.model import MEMBER_READ_LIMIT
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

    def cached(self, key: tuple[str, ...]) -> tuple[bool, Any]:
        """(True, answer) while the key's answer is fresh, else (False, None): no reader, so no Graph client."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            return True, entry[1]
        return False, None

    def clear(self) -> None:
        self._entries.clear()


class GraphDirectory:
    """`greenlight.policy.plan.Directory` over a Graph client (and people's display names, for DirectoryNames)."""

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

    async def display_name(self, user_id: str) -> str | None:
        """The user's displayName; None when Graph knows no such user (404) or the name is empty."""
        return await self._cache.get(name_key(user_id), lambda: self._read_display_name(user_id))

    async def _read_display_name(self, user_id: str) -> str | None:
        try:
            user = await self._graph.get(
                f"users/{quote(user_id, safe='')}", params={"$select": "displayName"}, version=DIRECTORY_API
            )
        except GraphNotFound:
            return None  # an id Graph does not know (deleted, or another tenant's): cached like an answer
        except GraphError as error:
            # A warning, not an error: the card goes out with a short id instead (the message names no secret).
            log.warning("display name of %s not read: %s", user_id, error)
            raise DirectoryUnavailable(f"could not read a display name ({type(error).__name__})") from None
        name = str(user.get("displayName") or "").strip()
        return name or None

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
        """Every member, or the first MEMBER_READ_LIMIT + 1 of a bigger group (no stage may ask that many)."""
        path = f"groups/{quote(group_id)}/transitiveMembers/microsoft.graph.user"
        params = {"$select": "id", "$top": str(self._page_size)}
        members: set[str] = set()
        try:
            async with aclosing(self._graph.paged(path, params=params, version=DIRECTORY_API)) as pages:
                async for item in pages:
                    members.add(str(item["id"]).lower())
                    if len(members) > MEMBER_READ_LIMIT:
                        break  # the pages after this one are never asked for
            return frozenset(members)
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


def name_key(user_id: str) -> tuple[str, ...]:
    return ("name", user_id.lower())


GraphFactory = Callable[[], AbstractAsyncContextManager[GraphClient]]
DEFAULT_NAMES_TIMEOUT_SECONDS = 4.0
NAMES_REST_AFTER_FAILURE_SECONDS = 30.0


class DirectoryNames:
    """People's display names from the directory, for cards. Cached answers need no Graph client; the rest are read
    concurrently through one client within `timeout_seconds`. Never raises: what could not be read is left out.

    After a failed read (an outage, the time budget, a client that cannot be opened) Graph is left alone for
    `rest_seconds`: during an outage every card would otherwise wait out the budget, once per lookup."""

    def __init__(
        self,
        graph: GraphFactory,
        cache: DirectoryCache | None = None,
        timeout_seconds: float = DEFAULT_NAMES_TIMEOUT_SECONDS,
        *,
        rest_seconds: float = NAMES_REST_AFTER_FAILURE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._graph = graph
        self._cache = cache or DirectoryCache()
        self._timeout = timeout_seconds
        self._rest = rest_seconds
        self._clock = clock
        self._resting_until = float("-inf")

    async def display_names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """{user id (as given): display name} for the ids the directory names."""
        found: dict[str, str] = {}
        unread: list[str] = []
        for user_id in dict.fromkeys(user_ids):
            fresh, name = self._cache.cached(name_key(user_id))
            if not fresh:
                unread.append(user_id)
            elif name:
                found[user_id] = name
        if unread and self._clock() >= self._resting_until:
            try:
                await asyncio.wait_for(self._read(unread, found), self._timeout)
            except DirectoryUnavailable:
                self._resting_until = self._clock() + self._rest  # the failed read logged why
            except Exception as error:  # noqa: BLE001 - settings, client or time budget: the cards show short ids
                log.warning("display names of %d people not read (%s)", len(unread), type(error).__name__)
                self._resting_until = self._clock() + self._rest
        return found

    async def _read(self, user_ids: list[str], found: dict[str, str]) -> None:
        async with self._graph() as graph:
            directory = GraphDirectory(graph, self._cache)

            async def read(user_id: str) -> None:
                name = await directory.display_name(user_id)
                if name:
                    found[user_id] = name

            failures = [
                r for r in await asyncio.gather(*(read(u) for u in user_ids), return_exceptions=True) if r is not None
            ]
        if failures:
            raise failures[0]
