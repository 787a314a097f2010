"""In-process devhost for the durable conformance tests: the real SDK, Azurite, a real HTTP server on a free
port, the real `DurableOrchestrationClient`, and a virtual clock so 72-hour timers fire in milliseconds."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from aiohttp.test_utils import TestServer

from devhost.durable.client_binding import client_binding
from devhost.durable.clock import VirtualClock
from devhost.durable.runtime import DurableRuntime
from devhost.durable.settings import DurableSettings
from devhost.durable.state import InstanceState, RuntimeStatus
from devhost.function_index import FunctionIndex, index_app
from devhost.server import build_application, create_runtime
from tests.integration.devhost import sample_app

_hubs = itertools.count()


@dataclass
class DurableHost:
    runtime: DurableRuntime
    clock: VirtualClock
    base_url: str
    task_hub: str

    def client(self) -> df.DurableOrchestrationClient:
        """The SDK's own client, bound exactly as the Functions host binds it (JSON string)."""
        return df.DurableOrchestrationClient(client_binding(self.base_url, self.task_hub))

    async def settle(self) -> None:
        """Let every episode, activity and message in flight finish (armed timers stay armed)."""
        await self.runtime.wait_until_idle()

    async def run_timers(self, limit: timedelta = timedelta(days=30)) -> None:
        """Jump the virtual clock from timer to timer until nothing is armed (or `limit` is passed)."""
        deadline = self.clock.now() + limit
        while True:
            # Settle first, and decide only on a settled runtime: a fired timer's work is then finished.
            await self.settle()
            next_at = self.runtime.next_timer_at()
            if next_at is None or next_at > deadline:
                return
            self.clock.set(max(next_at, self.clock.now()))
            await asyncio.sleep(0.001)  # let the timer loop wake up and deliver

    async def state(self, instance_id: str) -> InstanceState:
        await self.settle()
        state = await self.runtime.get(instance_id, with_history=True)
        assert state is not None, f"instance {instance_id} not found"
        return state

    async def wait_for(self, instance_id: str, status: RuntimeStatus, timeout: float = 10.0) -> InstanceState:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = await self.state(instance_id)
            if state.status is status:
                return state
            await asyncio.sleep(0.02)
        raise AssertionError(f"{instance_id} is {state.status}, expected {status}; output: {state.output}")


@pytest.fixture(scope="session")
def sample_index() -> FunctionIndex:
    # FunctionApp.get_functions() works once per app object, so the sample app is indexed once per session.
    return index_app(sample_app.myApp)


async def start_host(index: FunctionIndex, connection_string: str, **settings: Any) -> tuple[DurableHost, TestServer]:
    hub = settings.get("task_hub") or f"T{int(time.time())}n{next(_hubs)}"
    config = DurableSettings(
        storage_connection=connection_string,
        task_hub=hub,
        max_concurrent_activities=settings.get("max_concurrent_activities", 8),
        long_timers=settings.get("long_timers", True),
    )
    clock = VirtualClock(datetime.fromisoformat("2026-03-02T09:00:00+00:00"))
    runtime = create_runtime(index, config, clock)
    assert runtime is not None
    server = TestServer(build_application(index, runtime, hub), host="127.0.0.1")
    await server.start_server()
    return DurableHost(runtime, clock, str(server.make_url("")).rstrip("/"), hub), server


@pytest.fixture
async def host(sample_index: FunctionIndex, azurite) -> AsyncIterator[DurableHost]:
    durable_host, server = await start_host(sample_index, azurite.connection_string)
    yield durable_host
    await server.close()


def input_token(value: Any) -> str:
    """An orchestration input as the extension stores it when the Python client starts an instance."""
    return json.dumps(json.dumps(value))


def event_types(state: InstanceState) -> list[str]:
    from devhost.durable.history import EventType

    return [EventType(e["EventType"]).name for e in state.history]


def events_of(state: InstanceState, name: str) -> list[dict[str, Any]]:
    from devhost.durable.history import EventType

    return [e for e in state.history if EventType(e["EventType"]).name == name]
