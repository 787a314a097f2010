"""Replay rules the SDK leaves to the host: non-determinism detection and Azure Storage long-timer splitting.

Uses its own small app, because the point is an orchestrator whose code changes between two replays.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.durable.history import parse_timestamp
from devhost.function_index import FunctionIndex, index_app
from tests.integration.devhost.conftest import DurableHost, events_of, start_host

# The SDK warns when an event arrives before the orchestrator waits for it (it buffers it; reference §1.3).
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
CODE_VERSION = {"value": 1}


@app.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):
    # Version 1 calls "first" then "second"; version 2 (a deployment mid-flight) calls "second" first.
    if CODE_VERSION["value"] == 1:
        a = yield context.call_activity("first", None)
    else:
        a = yield context.call_activity("second", None)
    b = yield context.wait_for_external_event("Go")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
    return "woke up"


@app.activity_trigger(input_name="unused")
def first(unused) -> str:
    return "first"


@app.activity_trigger(input_name="unused")
def second(unused) -> str:
    return "second"


@pytest.fixture(scope="module")
def replay_index() -> FunctionIndex:
    return index_app(app)


@pytest.fixture
async def replay_host(replay_index: FunctionIndex, azurite) -> AsyncIterator[DurableHost]:
    durable_host, server = await start_host(replay_index, azurite.connection_string)
    yield durable_host
    await server.close()
    CODE_VERSION["value"] = 1


async def test_changed_orchestrator_code_fails_the_instance_with_a_non_determinism_error(replay_host: DurableHost):
    client = replay_host.client()
    instance_id = await client.start_new("versioned")
    await replay_host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"

    CODE_VERSION["value"] = 2  # the code changes while the instance waits for "Go"
    await client.raise_event(instance_id, "Go", "now")
    await replay_host.settle()

    status = await client.get_status(instance_id)
    assert status.runtime_status.value == "Failed"
    assert "Non-Deterministic workflow detected" in status.output
    assert "CallActivity 'first'" in status.output and "CallActivity 'second'" in status.output
    state = await replay_host.state(instance_id)
    assert [e["Name"] for e in events_of(state, "TASK_SCHEDULED")] == ["first"]  # nothing new was scheduled


async def test_unchanged_orchestrator_code_replays_to_completion(replay_host: DurableHost):
    client = replay_host.client()
    instance_id = await client.start_new("versioned")
    await replay_host.settle()
    await client.raise_event(instance_id, "Go", "now")
    await replay_host.settle()

    status = await client.get_status(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == ["first", '"now"']  # raised through the Python client: JSON text (SDK issue #295)


async def test_ten_day_timer_is_split_into_segments_of_at_most_three_days(replay_host: DurableHost):
    client = replay_host.client()
    instance_id = await client.start_new("long_wait")
    await replay_host.settle()
    start = replay_host.clock.now()
    replay_host.clock.advance(timedelta(days=2, hours=23))
    await replay_host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"

    await replay_host.run_timers()

    assert (await client.get_status(instance_id)).output == "woke up"
    state = await replay_host.state(instance_id)
    # The SDK turns a timer beyond the 6-day limit into 3-day segments; each new one is a new action.
    fire_times = [parse_timestamp(e["FireAt"]) - start for e in events_of(state, "TIMER_CREATED")]
    assert fire_times == [timedelta(days=3), timedelta(days=6), timedelta(days=10)]
    fired = [e["TimerId"] for e in events_of(state, "TIMER_FIRED")]
    assert fired == [e["EventId"] for e in events_of(state, "TIMER_CREATED")] == [0, 1, 2]


@app.orchestration_trigger(context_name="context")
def parent_of_failing_child(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("failing_child", "boom")
    except Exception as error:  # noqa: BLE001 - the SDK raises a plain Exception for a failed child
        return f"child failed: {error}"
    return "child succeeded"


@app.orchestration_trigger(context_name="context")
def failing_child(context: df.DurableOrchestrationContext):
    yield context.call_activity("first", None)
    raise ValueError(f"cannot provision {context.get_input()}")


async def test_a_failing_sub_orchestration_surfaces_as_an_exception_in_the_parent(replay_host: DurableHost):
    client = replay_host.client()
    instance_id = await client.start_new("parent_of_failing_child")
    await replay_host.settle()

    status = await client.get_status(instance_id)
    assert status.runtime_status.value == "Completed"
    assert "child failed: Orchestrator function 'failing_child' failed: cannot provision boom" in status.output
    state = await replay_host.state(instance_id)
    (created,) = events_of(state, "SUB_ORCHESTRATION_CREATED")
    (failure,) = events_of(state, "SUB_ORCHESTRATION_FAILED")
    assert failure["TaskScheduledId"] == created["EventId"]
    child = await client.get_status(created["InstanceId"])
    assert child.runtime_status.value == "Failed"


async def test_starting_a_finished_instance_id_again_replaces_it(replay_host: DurableHost):
    client = replay_host.client()
    await client.start_new("versioned", "fixed-id")
    await client.raise_event("fixed-id", "Go", "one")
    await replay_host.settle()
    assert (await client.get_status("fixed-id")).output == ["first", '"one"']

    await client.start_new("versioned", "fixed-id")
    await replay_host.settle()
    again = await client.get_status("fixed-id")
    assert again.runtime_status.value == "Running" and again.output is None
    with pytest.raises(Exception, match="already exists"):
        await client.start_new("versioned", "fixed-id")


async def test_without_the_azure_storage_limits_a_ten_day_timer_is_one_timer(replay_index: FunctionIndex, azurite):
    """DEVHOST_LONG_TIMERS=false: like the DTS and MSSQL providers, which send no timer limits."""
    durable_host, server = await start_host(replay_index, azurite.connection_string, long_timers=False)
    try:
        client = durable_host.client()
        instance_id = await client.start_new("long_wait")
        await durable_host.run_timers()
        assert (await client.get_status(instance_id)).output == "woke up"
        state = await durable_host.state(instance_id)
        assert [e["EventId"] for e in events_of(state, "TIMER_CREATED")] == [0]
    finally:
        await server.close()


CHILD_RUNS = {"count": 0}


@app.orchestration_trigger(context_name="context")
def parent_retrying_child(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(1000, 3)
    result = yield context.call_sub_orchestrator_with_retry("flaky_child", options, "payload")
    return result


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("count_child_run", context.get_input())
    if value == 1:
        raise RuntimeError("first child run fails")
    return f"child run {value} ok"


@app.activity_trigger(input_name="payload")
def count_child_run(payload: str) -> int:
    CHILD_RUNS["count"] += 1
    return CHILD_RUNS["count"]


async def test_a_sub_orchestration_with_retry_gets_a_new_child_after_a_timer(replay_host: DurableHost):
    CHILD_RUNS["count"] = 0
    client = replay_host.client()
    instance_id = await client.start_new("parent_retrying_child")
    await replay_host.run_timers()

    assert (await client.get_status(instance_id)).output == "child run 2 ok"
    state = await replay_host.state(instance_id)
    created = events_of(state, "SUB_ORCHESTRATION_CREATED")
    assert [e["EventId"] for e in created] == [0, 2]
    assert [e["EventId"] for e in events_of(state, "TIMER_CREATED")] == [1]
    assert [e["TaskScheduledId"] for e in events_of(state, "SUB_ORCHESTRATION_FAILED")] == [0]
    first_child = await client.get_status(created[0]["InstanceId"])
    assert first_child.runtime_status.value == "Failed"
