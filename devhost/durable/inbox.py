"""Choosing what one episode delivers from an instance's inbox (pure functions, unit-tested)."""

from __future__ import annotations

from typing import Any

from devhost.durable import engine
from devhost.durable.state import InstanceState, RuntimeStatus
from devhost.durable.store import StoredMessage

CONTROL_KINDS = ("terminate", "suspend", "resume")
MAX_EVENTS_PER_EPISODE = 50  # keeps a checkpoint (and its message deletes) inside one 100-operation transaction


def next_control(state: InstanceState, inbox: list[StoredMessage]) -> StoredMessage | None:
    """The control request to apply now, if any: terminate jumps the queue, a suspended instance listens only
    to control requests, otherwise requests and events are applied in arrival order."""
    control = next((m for m in inbox if m.body["kind"] in CONTROL_KINDS), None)
    if control is None:
        return None
    if control is inbox[0] or control.body["kind"] == "terminate" or state.status is RuntimeStatus.SUSPENDED:
        return control
    return None


def select_batch(state: InstanceState, inbox: list[StoredMessage]) -> tuple[list[StoredMessage], list[dict[str, Any]]]:
    """(messages consumed, events to deliver) for one episode, taken from the front of the sorted inbox.

    Duplicates and completions of tasks that are no longer open are consumed without delivery. An event that
    makes the host allocate retry ids may only open a batch (see `engine.allocates_ids`).
    """
    consumed: list[StoredMessage] = []
    batch: list[dict[str, Any]] = []
    for message in inbox:
        if message.body["kind"] != "event":
            break
        event = message.body["event"]
        stale = message.body.get("execution_id") not in (None, state.execution_id)
        if stale or not engine.is_deliverable(state, event):
            consumed.append(message)
            continue
        if batch and engine.allocates_ids(state, event):
            break
        consumed.append(message)
        batch.append(event)
        if len(consumed) >= MAX_EVENTS_PER_EPISODE:
            break
    return consumed, batch
