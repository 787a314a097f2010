"""devhost's durable settings (README, settings table `durable`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from devhost.host_json import HostJson
from greenlight.settings import EnvReader, SettingsError

_HUB = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")  # Azure's task hub rule (letters and digits, 3-45)


@dataclass(frozen=True)
class DurableSettings:
    storage_connection: str | None  # AzureWebJobsStorage; None: the app has no durable functions to run
    task_hub: str
    max_concurrent_activities: int
    long_timers: bool

    @property
    def table_name(self) -> str:
        return f"{self.task_hub}DevhostDurable"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, host: HostJson | None = None) -> DurableSettings:
        """Environment first, then host.json's durableTask section, then the extension's local defaults."""
        reader = EnvReader(env)
        host = host or HostJson()
        hub = reader.string("DEVHOST_TASK_HUB", host.hub_name or "TestHubName")
        if not _HUB.fullmatch(hub):
            raise SettingsError(f"DEVHOST_TASK_HUB must be 3-45 letters or digits starting with a letter, got {hub!r}")
        return cls(
            storage_connection=reader.optional("AzureWebJobsStorage"),
            task_hub=hub,
            max_concurrent_activities=reader.integer(
                "DEVHOST_MAX_CONCURRENT_ACTIVITIES", host.max_concurrent_activities or 16, minimum=1, maximum=256
            ),
            long_timers=reader.boolean("DEVHOST_LONG_TIMERS", True),
        )
