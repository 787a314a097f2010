"""devhost's durable settings (README, settings table `durable`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from greenlight.settings import EnvReader, SettingsError

_HUB = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")


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
    def from_env(cls, env: Mapping[str, str] | None = None) -> DurableSettings:
        reader = EnvReader(env)
        hub = reader.string("DEVHOST_TASK_HUB", "TestHubName")
        if not _HUB.fullmatch(hub):
            raise SettingsError(f"DEVHOST_TASK_HUB must be 3-45 letters or digits starting with a letter, got {hub!r}")
        return cls(
            storage_connection=reader.optional("AzureWebJobsStorage"),
            task_hub=hub,
            max_concurrent_activities=reader.integer("DEVHOST_MAX_CONCURRENT_ACTIVITIES", 16, minimum=1, maximum=256),
            long_timers=reader.boolean("DEVHOST_LONG_TIMERS", True),
        )
