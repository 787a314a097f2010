"""What devhost keeps in Table Storage (Azurite) is enough to carry on: long histories move to archive rows and
load back intact, and a second runtime on the same task hub resumes what the first one left."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.core.exceptions import ResourceExistsError

from devhost.durable import runtime as runtime_module
from devhost.durable.state import InstanceState, RuntimeStatus
from devhost.durable.store import INLINE_CHARS, ConcurrentWriter, DurableStore
from devhost.durable.table_rest import TableRestClient
from devhost.function_index import FunctionIndex, index_app
from tests.integration.devhost.conftest import DurableHost, start_host

# The SDK warns when an event arrives before the orchestrator waits for it (it buffers it; reference §1.3).
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def big_fan_out(context: df.DurableOrchestrationContext):
    tasks = [context.call_activity("echo", f"{i:04d}" + "x" * 2000) for i in range(100)]
    results = yield context.task_all(tasks)
    return [r[:4] for r in results]


@app.orchestration_trigger(context_name="context")
def waits_for_go(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("echo", "before")
    go = yield context.wait_for_external_event("Go")
    second = yield context.call_activity("echo", "after")
    return [first, go, second]


@app.orchestration_trigger(context_name="context")
def two_steps(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("echo", "one")
    second = yield context.call_activity("echo", "two")
    return [first, second]


@app.activity_trigger(input_name="text")
def echo(text: str) -> str:
    return text


@pytest.fixture(scope="module")
def persistence_index() -> FunctionIndex:
    return index_app(app)


@pytest.fixture
async def durable(persistence_index: FunctionIndex, azurite) -> AsyncIterator[DurableHost]:
    durable_host, server = await start_host(persistence_index, azurite.connection_string)
    yield durable_host
    await server.close()


async def test_a_long_history_is_archived_and_loads_back_identical(durable: DurableHost, azurite):
    client = durable.client()
    instance_id = await client.start_new("big_fan_out")
    await durable.settle()

    status = await client.get_status(instance_id)
    assert status.output == [f"{i:04d}" for i in range(100)]
    in_memory = await durable.state(instance_id)
    assert len(json.dumps(in_memory.history)) > INLINE_CHARS

    store = DurableStore(azurite.connection_string, f"{durable.task_hub}DevhostDurable")
    try:
        loaded = await store.load(instance_id)
    finally:
        await store.close()
    assert loaded is not None
    assert loaded.state.archived_rows >= 1
    assert loaded.state.history == in_memory.history
    assert loaded.state.status is RuntimeStatus.COMPLETED


@pytest.mark.parametrize(("threshold", "where"), [(10_000, "MainThread"), (0, "orchestrator")])
async def test_short_replays_run_on_the_event_loop_and_long_ones_on_a_thread(
    durable: DurableHost, monkeypatch: pytest.MonkeyPatch, threshold: int, where: str
):
    monkeypatch.setattr(runtime_module, "INLINE_REPLAY_EVENTS", threshold)
    runner = durable.runtime._runner
    replay, threads = runner.run, []

    def recording(*args):
        threads.append(threading.current_thread().name)
        return replay(*args)

    monkeypatch.setattr(runner, "run", recording)
    client = durable.client()
    instance_id = await client.start_new("two_steps")
    await durable.settle()

    assert (await client.get_status(instance_id)).output == ["one", "two"]
    assert len(threads) == 3 and all(name.startswith(where) for name in threads), threads


async def test_a_second_runtime_on_the_same_hub_resumes_a_waiting_instance(
    durable: DurableHost, persistence_index: FunctionIndex, azurite
):
    first_client = durable.client()
    instance_id = await first_client.start_new("waits_for_go")
    await durable.settle()
    assert (await first_client.get_status(instance_id)).runtime_status.value == "Running"
    await durable.runtime.stop()  # the first host goes away with the instance waiting for its event

    second, server = await start_host(persistence_index, azurite.connection_string, task_hub=durable.task_hub)
    try:
        client = second.client()
        await client.raise_event(instance_id, "Go", "go")
        await second.settle()
        status = await client.get_status(instance_id)
        assert status.runtime_status.value == "Completed"
        assert status.output == ["before", '"go"', "after"]
    finally:
        await server.close()


@pytest.mark.parametrize("instance_id", ["plain-id_1.0", "needs escaping: O'Brien é"])
async def test_the_checkpoint_writes_insert_once_and_replace_only_on_the_current_etag(azurite, instance_id: str):
    """Plain ids take devhost's own REST client, others the SDK; both refuse a duplicate and a stale ETag."""
    takes_rest = TableRestClient.accepts({"PartitionKey": instance_id, "RowKey": "meta"})
    assert takes_rest is (instance_id == "plain-id_1.0")
    store = DurableStore(azurite.connection_string, "StoreWrites")
    await store.open()
    now = "2026-12-03T10:00:00.000000Z"
    state = InstanceState(instance_id, "chain", "e1", now, now, input_token='"in"', parent=None)
    try:
        first = (await store.create(state)).etag
        with pytest.raises(ResourceExistsError):
            await store.create(state)
        state.history.append({"EventType": 0, "Timestamp": now})
        state.status = RuntimeStatus.RUNNING
        written = await store.commit(state, first)
        second = written.etag
        with pytest.raises(ConcurrentWriter):
            await store.commit(state, first)  # what a second host on the same hub would do
        loaded = await store.load(instance_id)
    finally:
        await store.close()
    assert second != first
    assert loaded is not None and loaded.etag == second
    assert loaded.state.status is RuntimeStatus.RUNNING and loaded.state.history == state.history
    assert written.record_json == state.to_json()  # what the row holds: the runtime's snapshot reuses it
