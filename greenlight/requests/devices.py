"""Which architecture to publish for a user: the most common among their Intune-managed Windows devices.

Employees are not asked (most do not know); Intune knows. Graph v1.0
`GET /users/{oid}/managedDevices?$select=id,operatingSystem,processorArchitecture` (needs
DeviceManagementManagedDevices.Read.All). Ties go to x64, then arm64, then x86. No Windows device, an unknown
architecture, or a failed / slow lookup all give x64: the common case, and never a reason to refuse a request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from greenlight.graph.client import GraphClient
from greenlight.graph.urls import DIRECTORY_API
from greenlight.requests.rules import ARCHITECTURES, DEFAULT_ARCHITECTURE

log = logging.getLogger("greenlight.requests.devices")

SELECT = "id,operatingSystem,processorArchitecture"
_GRAPH_NAMES = {"x64": "x64", "amd64": "x64", "arm64": "arm64", "x86": "x86"}


def architecture_from(devices: Iterable[Mapping[str, Any]]) -> str:
    """The most common of x64 / arm64 / x86 among Windows devices (ties in that order); x64 when none."""
    counts: Counter[str] = Counter()
    for device in devices:
        if str(device.get("operatingSystem") or "").strip().lower() != "windows":
            continue
        arch = _GRAPH_NAMES.get(str(device.get("processorArchitecture") or "").strip().lower())
        if arch is not None:
            counts[arch] += 1
    if not counts:
        return DEFAULT_ARCHITECTURE
    return max(ARCHITECTURES, key=lambda a: (counts[a], -ARCHITECTURES.index(a)))


GraphFactory = Callable[[], AbstractAsyncContextManager[GraphClient]]


class IntuneDevices:
    def __init__(self, graph: GraphFactory, timeout_seconds: float = 4.0) -> None:
        self._graph = graph
        self._timeout = timeout_seconds

    async def architecture_of(self, tenant_id: str, user_oid: str) -> str:
        try:
            devices = await asyncio.wait_for(self._read(user_oid), self._timeout)
        except Exception as error:  # noqa: BLE001 - any failure (Graph, token, settings, timeout) means the default
            log.warning("managed devices of %s could not be read (%s); using x64", user_oid, type(error).__name__)
            return DEFAULT_ARCHITECTURE
        return architecture_from(devices)

    async def _read(self, user_oid: str) -> list[dict[str, Any]]:
        async with self._graph() as graph:
            path = f"users/{user_oid}/managedDevices"
            return [d async for d in graph.paged(path, params={"$select": SELECT}, version=DIRECTORY_API)]


class FixedArchitecture:
    """Every user gets the same architecture (tests; or a tenant without Intune device data)."""

    def __init__(self, architecture: str = DEFAULT_ARCHITECTURE) -> None:
        self.architecture = architecture

    async def architecture_of(self, tenant_id: str, user_oid: str) -> str:
        return self.architecture
