"""Which messages one episode delivers: duplicates dropped, retry-allocating events only open a batch,
control requests in order (terminate first, only control while suspended)."""

from __future__ import annotations

from datetime import UTC, datetime

from devhost.durable import history as h
from devhost.durable.inbox import next_control, select_batch
from devhost.durable.state import InstanceState, RuntimeStatus
from devhost.durable.store import StoredMessage

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _state() -> InstanceState:
    stamp = h.format_timestamp(T0)
    state = InstanceState("i", "orch", "exec-1", stamp, stamp, status=RuntimeStatus.RUNNING)
    state.open_tasks = {
        "0": {"kind": "activity", "name": "a", "input": None, "retry_group": None},
        "1": {"kind": "activity", "name": "flaky", "input": None, "retry_group": "1"},
        "2": {"kind": "activity", "name": "b", "input": None, "retry_group": None},
    }
    return state


def _message(key: str, body: dict) -> StoredMessage:
    return StoredMessage("i", key, body)


def _event(key: str, event: dict, execution: str | None = "exec-1") -> StoredMessage:
    return _message(key, {"kind": "event", "execution_id": execution, "event": event})


def test_a_retry_failure_is_not_batched_behind_another_event():
    state = _state()
    inbox = [
        _event("m-1", h.task_completed(T0, 0, "1")),
        _event("m-2", h.task_failed(T0, 1, "boom", None)),
        _event("m-3", h.task_completed(T0, 2, "2")),
    ]
    consumed, batch = select_batch(state, inbox)
    assert [m.key for m in consumed] == ["m-1"]
    assert [e["TaskScheduledId"] for e in batch] == [0]

    consumed, batch = select_batch(state, inbox[1:])
    assert [e["TaskScheduledId"] for e in batch] == [1, 2]  # first in its batch: fine


def test_duplicates_and_stale_executions_are_consumed_without_delivery():
    state = _state()
    inbox = [
        _event("m-1", h.task_completed(T0, 7, "never scheduled")),
        _event("m-2", h.task_completed(T0, 0, "old execution"), execution="exec-0"),
        _event("m-3", h.event_raised(T0, "Go", '"x"'), execution=None),
    ]
    consumed, batch = select_batch(state, inbox)
    assert [m.key for m in consumed] == ["m-1", "m-2", "m-3"]
    assert [e["EventType"] for e in batch] == [h.EventType.EVENT_RAISED]


def test_terminate_jumps_the_queue_and_suspend_waits_its_turn():
    state = _state()
    event = _event("m-1", h.event_raised(T0, "Go", None))
    suspend = _message("m-2", {"kind": "suspend", "reason": None})
    terminate = _message("m-3", {"kind": "terminate", "reason": "stop"})
    assert next_control(state, [event, suspend]) is None
    assert next_control(state, [suspend, event]) is suspend
    assert next_control(state, [event, terminate]) is terminate
    state.status = RuntimeStatus.SUSPENDED
    resume = _message("m-4", {"kind": "resume", "reason": None})
    assert next_control(state, [event, resume]) is resume
