"""The episode engine against the real azure-functions-durable SDK, without storage or HTTP.

The worked example is the one in docs/reference/durable-host-protocol.md §1.9, whose ids were verified
against the SDK: download=0, deadline timer=1, hash_verify=2, index_lookup=3, upload #1=4, retry timer=5,
upload #2=6.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df

from devhost.durable import history as h
from devhost.durable.engine import EpisodeRunner, allocates_ids, is_deliverable
from devhost.durable.state import InstanceState, RuntimeStatus

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def approval(context: df.DurableOrchestrationContext):
    blob = yield context.call_activity("download", context.get_input())
    context.set_custom_status({"stage": "awaiting_approval", "uuid": context.new_uuid()})
    deadline = context.create_timer(context.current_utc_datetime + timedelta(hours=24))
    decision = context.wait_for_external_event("Approval")
    winner = yield context.task_any([decision, deadline])
    if winner != decision:
        return "expired"
    deadline.cancel()
    results = yield context.task_all(
        [context.call_activity("hash_verify", blob), context.call_activity("index_lookup", blob)]
    )
    uploaded = yield context.call_activity_with_retry("upload", df.RetryOptions(5000, 2), blob)
    context.set_custom_status({"stage": "done"})
    return {"upload": uploaded, "checks": results, "decision": decision.result}


def racing(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    work = context.call_activity("work", None)
    yield context.task_any([work, timer])  # the timer is neither awaited to the end nor cancelled
    return "work won"


def calls_an_entity(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("counter", "c1"), "add", 1)


def _state(name: str, input_value=None) -> InstanceState:
    stamp = h.format_timestamp(T0)
    return InstanceState("inst-1", name, "exec-1", stamp, stamp, input_token=json.dumps(json.dumps(input_value)))


def _runner() -> EpisodeRunner:
    handles = {fn.__name__: df.Orchestrator.create(fn) for fn in (approval, racing, calls_an_entity)}
    return EpisodeRunner(handles)


def test_worked_example_gets_the_extensions_ids_and_output():
    runner, state = _runner(), _state("approval", {"name": "report.pdf"})
    effects = runner.run(state, [], T0)
    assert [(a.task_id, a.name, json.loads(a.input)) for a in effects.activities] == [
        (0, "download", {"name": "report.pdf"})
    ]

    effects = runner.run(state, [h.task_completed(T0, 0, json.dumps("blob-1"))], T0)
    assert [(t.task_id, t.fire_at) for t in effects.timers] == [(1, T0 + timedelta(hours=24))]
    assert json.loads(state.custom_status)["stage"] == "awaiting_approval"

    effects = runner.run(state, [h.event_raised(T0, "Approval", json.dumps({"by": "alice"}))], T0)
    assert effects.cancelled_timers == [1]
    assert [(a.task_id, a.name) for a in effects.activities] == [(2, "hash_verify"), (3, "index_lookup")]

    effects = runner.run(state, [h.task_completed(T0, 3, "true"), h.task_completed(T0, 2, '"ok"')], T0)
    assert [(a.task_id, a.name) for a in effects.activities] == [(4, "upload")]

    failure = h.task_failed(T0, 4, "Activity function 'upload' failed: OSError: disk", "trace")
    assert allocates_ids(state, failure)
    effects = runner.run(state, [failure], T0)
    assert [(t.task_id, t.fire_at) for t in effects.timers] == [(5, T0 + timedelta(seconds=5))]
    assert effects.activities == []  # the SDK asks for nothing: retrying is the host's job

    effects = runner.run(state, [h.timer_fired(T0, 5, h.format_timestamp(T0 + timedelta(seconds=5)))], T0)
    assert [(a.task_id, a.name) for a in effects.activities] == [(6, "upload")]

    effects = runner.run(state, [h.task_completed(T0, 6, '"uploaded"')], T0)
    assert effects.finished and state.status is RuntimeStatus.COMPLETED
    assert json.loads(state.output) == {"upload": "uploaded", "checks": ["ok", True], "decision": {"by": "alice"}}
    assert json.loads(state.custom_status) == {"stage": "done"}


def test_a_completion_for_a_task_that_is_not_open_is_not_delivered():
    runner, state = _runner(), _state("approval", {})
    runner.run(state, [], T0)
    first = h.task_completed(T0, 0, '"blob"')
    assert is_deliverable(state, first)
    runner.run(state, [first], T0)
    assert not is_deliverable(state, h.task_completed(T0, 0, '"blob"'))
    assert not is_deliverable(state, h.task_completed(T0, 42, '"never scheduled"'))


def test_an_uncancelled_timer_keeps_a_returned_orchestration_running_until_it_fires():
    runner, state = _runner(), _state("racing")
    runner.run(state, [], T0)
    # task_any numbers its children depth-first: the activity is 0, the timer 1.
    assert state.open_tasks["0"]["kind"] == "activity" and state.open_tasks["1"]["kind"] == "timer"
    effects = runner.run(state, [h.task_completed(T0, 0, "null")], T0)
    assert not effects.finished and state.status is RuntimeStatus.RUNNING

    later = T0 + timedelta(hours=1)
    effects = runner.run(state, [h.timer_fired(later, 1, h.format_timestamp(later))], later)
    assert effects.finished and json.loads(state.output) == "work won"


def test_entity_calls_fail_the_instance_with_a_clear_message():
    runner, state = _runner(), _state("calls_an_entity")
    runner.run(state, [], T0)
    assert state.status is RuntimeStatus.FAILED
    assert "devhost does not run CallEntity" in json.loads(state.output)


def test_an_unregistered_orchestrator_fails_with_its_name():
    runner, state = _runner(), _state("renamed_away")
    runner.run(state, [], T0)
    assert state.status is RuntimeStatus.FAILED
    assert "'renamed_away' is not registered" in json.loads(state.output)


def test_history_episodes_are_framed_by_orchestrator_started_and_completed():
    runner, state = _runner(), _state("approval", {})
    runner.run(state, [], T0)
    runner.run(state, [h.task_completed(T0, 0, '"b"')], T0)
    kinds = [h.EventType(e["EventType"]).name for e in state.history]
    assert kinds == [
        "ORCHESTRATOR_STARTED", "EXECUTION_STARTED", "TASK_SCHEDULED", "ORCHESTRATOR_COMPLETED",
        "ORCHESTRATOR_STARTED", "TASK_COMPLETED", "TIMER_CREATED", "ORCHESTRATOR_COMPLETED",
    ]  # fmt: skip
    assert state.history[1]["Version"] == ""


def test_the_sdk_receives_the_stored_history_as_played_then_the_episodes_new_events():
    # The history goes to the SDK as pre-encoded text: it must decode to what the extension sends.
    contexts: list[dict] = []
    handle = df.Orchestrator.create(approval)

    def recording(context):
        contexts.append(json.loads(context.body))
        return handle(context)

    runner, state = EpisodeRunner({"approval": recording}), _state("approval", {"name": "a"})
    runner.run(state, [], T0)
    stored = list(state.history)
    completion = h.task_completed(T0 + timedelta(seconds=1), 0, '"blob"')
    runner.run(state, [completion], T0 + timedelta(seconds=2))
    sent = contexts[-1]
    assert sent["history"] == [
        *({**event, "IsPlayed": True} for event in stored),
        h.orchestrator_started(T0 + timedelta(seconds=2)),
        completion,
    ]
    assert {k: v for k, v in sent.items() if k != "history"} == {
        "input": json.dumps({"name": "a"}),
        "instanceId": "inst-1",
        "isReplaying": False,
        "parentInstanceId": None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        "maximumShortTimerDuration": "6.00:00:00",
        "longRunningTimerIntervalDuration": "3.00:00:00",
    }
    assert all(not event["IsPlayed"] for event in state.history)  # what is stored stays unplayed
