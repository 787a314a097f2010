"""The parts of `host.json` the Functions host would apply and devhost honours: the HTTP route prefix and the
Durable task hub name and activity concurrency. Environment settings (README, `durable`) take precedence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class HostJsonError(ValueError):
    """host.json is unreadable or a value in it is invalid; the message names the key."""


@dataclass(frozen=True)
class HostJson:
    route_prefix: str = "api"
    hub_name: str | None = None
    max_concurrent_activities: int | None = None


def read_host_json(root: Path) -> HostJson:
    """`root/host.json` (the script root, like `func start`); defaults when there is none."""
    path = root / "host.json"
    if not path.exists():
        return HostJson()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HostJsonError(f"{path} is not valid JSON: {exc}") from None
    extensions = _object(data, "extensions", path)
    http = _object(extensions, "http", path)
    durable = _object(extensions, "durableTask", path)
    prefix = http.get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise HostJsonError(f"{path}: extensions.http.routePrefix must be a string")
    hub = durable.get("hubName")
    if hub is not None and not isinstance(hub, str):
        raise HostJsonError(f"{path}: extensions.durableTask.hubName must be a string")
    activities = durable.get("maxConcurrentActivityFunctions")
    if activities is not None and (not isinstance(activities, int) or activities < 1):
        raise HostJsonError(f"{path}: extensions.durableTask.maxConcurrentActivityFunctions must be a positive integer")
    return HostJson(route_prefix=prefix.strip("/"), hub_name=hub, max_concurrent_activities=activities)


def _object(parent: Any, key: str, path: Path) -> dict[str, Any]:
    value = parent.get(key, {}) if isinstance(parent, dict) else {}
    if not isinstance(value, dict):
        raise HostJsonError(f"{path}: {key} must be an object")
    return value
