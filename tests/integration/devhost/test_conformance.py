"""Durable Functions patterns, as the official Python samples write them, on devhost + the real SDK + Azurite.

Every instance is started and inspected through the SDK's `DurableOrchestrationClient` over HTTP, the way
client functions do it in Azure; history shapes are checked on the DTFx history devhost feeds the SDK.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from devhost.durable.history import parse_timestamp
from tests.integration.devhost.conftest import DurableHost, event_types, events_of

# The SDK warns when an event arrives before the orchestrator waits for it (it buffers it; reference §1.3).
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")


async def test_function_chaining_returns_the_three_greetings_with_ids_in_call_order(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("my_orchestrator")
    await host.settle()

    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    assert status.runtime_status.value == "Completed"
    assert status.output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert [e["EventType"] for e in status.historyEvents] == [
        "ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted",
    ]  # fmt: skip
    assert [e["FunctionName"] for e in status.historyEvents[1:4]] == ["say_hello"] * 3

    state = await host.state(instance_id)
    scheduled = events_of(state, "TASK_SCHEDULED")
    assert [(e["EventId"], json.loads(e["Input"])) for e in scheduled] == [(0, "Tokyo"), (1, "Seattle"), (2, "London")]
    assert [e["TaskScheduledId"] for e in events_of(state, "TASK_COMPLETED")] == [0, 1, 2]
    assert event_types(state)[:4] == [
        "ORCHESTRATOR_STARTED",
        "EXECUTION_STARTED",
        "TASK_SCHEDULED",
        "ORCHESTRATOR_COMPLETED",
    ]


async def test_fan_out_schedules_all_items_in_one_episode_and_fans_in_their_sum(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("fan_out_fan_in")
    await host.settle()

    status = await client.get_status(instance_id)
    assert status.output == "sum of squares: 385"
    state = await host.state(instance_id)
    f2 = [e for e in events_of(state, "TASK_SCHEDULED") if e["Name"] == "F2"]
    assert [e["EventId"] for e in f2] == list(range(1, 11))
    assert len({e["Timestamp"] for e in f2}) == 1  # one episode scheduled the whole batch
    f3 = [e for e in events_of(state, "TASK_SCHEDULED") if e["Name"] == "F3"]
    assert [e["EventId"] for e in f3] == [11]
    assert sorted(e["TaskScheduledId"] for e in events_of(state, "TASK_COMPLETED")) == list(range(12))


async def test_human_interaction_approved_before_the_deadline_cancels_the_timer(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("human_interaction")
    await host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"

    await client.raise_event(instance_id, "ApprovalEvent", {"by": "alice"})
    await host.settle()

    status = await client.get_status(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == "approved by alice"
    state = await host.state(instance_id)
    assert len(events_of(state, "TIMER_CREATED")) == 1
    assert events_of(state, "TIMER_FIRED") == []
    # As through the extension, the client's double JSON encoding reaches the orchestrator as JSON text (#295).
    assert json.loads(events_of(state, "EVENT_RAISED")[0]["Input"]) == json.dumps({"by": "alice"})
    assert host.runtime.next_timer_at() is None


async def test_human_interaction_escalates_when_the_72_hour_timer_fires_first(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("human_interaction")
    await host.settle()
    started = host.clock.now()

    host.clock.advance(timedelta(hours=71))
    await host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"
    await host.run_timers()

    status = await client.get_status(instance_id)
    assert status.output == "escalated"
    state = await host.state(instance_id)
    (created,) = events_of(state, "TIMER_CREATED")
    (fired,) = events_of(state, "TIMER_FIRED")
    assert fired["TimerId"] == created["EventId"] == 1
    assert parse_timestamp(fired["FireAt"]) == started + timedelta(hours=72)


async def test_monitor_loops_on_timers_and_continues_as_new_until_the_job_completes(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("monitor", None, {"jobId": "job-7", "pollingInterval": 600})
    await host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"

    await host.run_timers()

    status = await client.get_status(instance_id, show_input=True)
    assert status.runtime_status.value == "Completed"
    assert status.output == "job-7 completed after 3 checks"
    state = await host.state(instance_id)
    assert state.generation == 2  # two continue-as-new restarts
    assert json.loads(json.loads(state.input_token)) == {"jobId": "job-7", "pollingInterval": 600, "round": 2}
    # The history is the last execution's only, starting afresh with ids from 0.
    assert [e["Name"] for e in events_of(state, "TASK_SCHEDULED")] == ["GetJobStatus", "SendAlert"]
    assert [e["EventId"] for e in events_of(state, "TASK_SCHEDULED")] == [0, 1]


async def test_retry_succeeds_on_the_third_attempt_after_two_five_second_retry_timers(host: DurableHost):
    client = host.client()
    key = uuid.uuid4().hex
    instance_id = await client.start_new("retry_orchestrator", None, {"key": key, "failures": 2})
    await host.settle()
    start = host.clock.now()
    await host.run_timers()

    status = await client.get_status(instance_id)
    assert status.output == "succeeded on attempt 3"
    state = await host.state(instance_id)
    # DTFx RetryInterceptor numbering: attempt, timer, attempt, timer, attempt (reference §2).
    assert [e["EventId"] for e in events_of(state, "TASK_SCHEDULED")] == [0, 2, 4]
    assert [e["EventId"] for e in events_of(state, "TIMER_CREATED")] == [1, 3]
    assert [e["TaskScheduledId"] for e in events_of(state, "TASK_FAILED")] == [0, 2]
    fire_times = [parse_timestamp(e["FireAt"]) for e in events_of(state, "TIMER_CREATED")]
    assert fire_times == [start + timedelta(seconds=5), start + timedelta(seconds=10)]


async def test_retry_exhausted_after_three_attempts_fails_the_orchestration_with_the_last_error(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("retry_orchestrator", None, {"key": uuid.uuid4().hex, "failures": 5})
    await host.run_timers()

    status = await client.get_status(instance_id)
    assert status.runtime_status.value == "Failed"
    assert status.output.startswith("Orchestrator function 'retry_orchestrator' failed: ")
    assert "Activity function 'FlakyFunction' failed: RuntimeError: transient failure 3" in status.output
    assert "sample_app.py" in status.output and "runtime.py" not in status.output  # the activity's own traceback
    state = await host.state(instance_id)
    assert [e["EventId"] for e in events_of(state, "TASK_SCHEDULED")] == [0, 2, 4]
    # After the last failure DTFx still schedules a timer that fires at once (id 5), then the SDK fails.
    timers = events_of(state, "TIMER_CREATED")
    assert [e["EventId"] for e in timers] == [1, 3, 5]
    assert timers[2]["FireAt"] == timers[2]["Timestamp"]
    assert event_types(state)[-2:] == ["EXECUTION_COMPLETED", "ORCHESTRATOR_COMPLETED"]


async def test_sub_orchestrations_run_as_their_own_instances_and_return_results_in_order(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("provision_new_devices")
    await host.settle()

    status = await client.get_status(instance_id)
    assert status.output == ["device-a provisioned", "device-b provisioned", "device-c provisioned"]
    for index, device in enumerate(["device-a", "device-b", "device-c"]):
        child = await client.get_status(f"{instance_id}:{index}", show_input=True)
        assert child.runtime_status.value == "Completed"
        assert child.name == "device_provisioning"
        assert json.loads(child.input_) == device
    state = await host.state(instance_id)
    created = events_of(state, "SUB_ORCHESTRATION_CREATED")
    assert [(e["EventId"], e["InstanceId"]) for e in created] == [(i + 1, f"{instance_id}:{i}") for i in range(3)]
    assert sorted(e["TaskScheduledId"] for e in events_of(state, "SUB_ORCHESTRATION_COMPLETED")) == [1, 2, 3]


async def test_terminate_stops_a_waiting_instance_and_later_events_are_gone(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("human_interaction")
    await host.settle()

    await client.terminate(instance_id, "no longer needed")
    await host.settle()

    status = await client.get_status(instance_id, show_history=True)
    assert status.runtime_status.value == "Terminated"
    assert status.output == "no longer needed"
    assert status.historyEvents[-2]["EventType"] == "ExecutionTerminated"
    with pytest.raises(Exception, match="is gone"):
        await client.raise_event(instance_id, "ApprovalEvent", {"by": "late"})
    host.clock.advance(timedelta(hours=80))
    await host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Terminated"


async def test_custom_status_is_visible_while_running_and_updated_at_the_end(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("custom_status_orchestrator")
    await host.settle()

    running = await client.get_status(instance_id)
    assert running.runtime_status.value == "Running"
    assert running.custom_status == {"completionPercentage": 90.0, "status": "Updating database records"}

    await client.raise_event(instance_id, "Continue", None)
    await host.settle()
    done = await client.get_status(instance_id)
    assert done.output == "done"
    assert done.custom_status == {"completionPercentage": 100.0, "status": "Done"}


async def test_suspended_instance_holds_events_until_resumed(host: DurableHost):
    client = host.client()
    instance_id = await client.start_new("human_interaction")
    await host.settle()

    await client.suspend(instance_id, "maintenance")
    await host.settle()
    await client.raise_event(instance_id, "ApprovalEvent", {"by": "carol"})
    await host.settle()
    assert (await client.get_status(instance_id)).runtime_status.value == "Suspended"

    await client.resume(instance_id, "done")
    await host.settle()
    status = await client.get_status(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == "approved by carol"


async def test_list_filters_and_purge_through_the_client(host: DurableHost):
    client = host.client()
    prefix = f"batch-{uuid.uuid4().hex[:6]}-"
    done_id = await client.start_new("my_orchestrator", f"{prefix}done")
    waiting_id = await client.start_new("human_interaction", f"{prefix}waiting")
    await host.settle()

    completed = await client.get_status_by(runtime_status=[_status("Completed")])
    running = await client.get_status_by(runtime_status=[_status("Running")])
    assert done_id in {s.instance_id for s in completed}
    assert waiting_id in {s.instance_id for s in running} and waiting_id not in {s.instance_id for s in completed}
    everything = {s.instance_id for s in await client.get_status_all()}
    assert {done_id, waiting_id} <= everything
    by_prefix = await client.get_status_by(instance_id_prefix=prefix)
    assert sorted(s.instance_id for s in by_prefix) == [done_id, waiting_id]
    now = host.clock.now()
    assert {s.instance_id for s in await client.get_status_by(created_time_from=now - timedelta(minutes=1))} >= {
        done_id,
        waiting_id,
    }
    assert not {s.instance_id for s in await client.get_status_by(created_time_to=now - timedelta(days=1))} & {
        done_id,
        waiting_id,
    }

    result = await client.purge_instance_history(done_id)
    assert result.instances_deleted == 1
    assert not await client.get_status(done_id)
    assert (await client.purge_instance_history(done_id)).instances_deleted == 0


async def test_starting_an_unknown_orchestrator_raises_the_extensions_message(host: DurableHost):
    client = host.client()
    with pytest.raises(Exception, match="doesn't exist, is disabled, or is not an orchestrator function"):
        await client.start_new("no_such_orchestrator")


async def test_status_of_an_unknown_instance_is_falsy(host: DurableHost):
    assert not await host.client().get_status("does-not-exist")


def _status(name: str):
    from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

    return OrchestrationRuntimeStatus(name)


async def test_restart_runs_the_orchestrator_again_with_the_same_input_under_a_new_id(host: DurableHost):
    client = host.client()
    first = await client.start_new("monitor", None, {"jobId": "job-9", "pollingInterval": 5})
    await host.run_timers()

    second = await client.restart(first)
    await host.run_timers()

    assert second != first
    again = await client.get_status(second, show_input=True)
    assert again.output == "job-9 completed after 3 checks"
    # Like the extension's RestartAsync, the input is the instance's current one: after continue-as-new, round 2.
    assert json.loads(again.input_) == {"jobId": "job-9", "pollingInterval": 5, "round": 2}
