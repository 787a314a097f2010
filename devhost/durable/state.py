"""The persisted record of one orchestration instance (everything but its history lives in one JSON blob)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from devhost.durable.history import EncodedHistory, Event


class RuntimeStatus(StrEnum):
    """`OrchestrationRuntimeStatus` names as the status API reports them."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    SUSPENDED = "Suspended"

    @property
    def is_terminal(self) -> bool:
        return self in (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED)


@dataclass
class InstanceState:
    instance_id: str
    name: str
    execution_id: str
    created_time: str
    last_updated_time: str
    status: RuntimeStatus = RuntimeStatus.PENDING
    input_token: str | None = None  # the stored input JToken as JSON text (see reference §5.4)
    output: str | None = None  # JSON text
    custom_status: str | None = None  # JSON text
    parent: dict[str, Any] | None = None  # {instance_id, execution_id, task_id, name}
    next_id: int = 0
    episode: int = 0
    generation: int = 0
    archived_events: int = 0  # history events moved out of the record into archive rows (see store)
    archived_rows: int = 0
    action_signatures: list[str] = field(default_factory=list)
    action_leaf_ids: list[list[int | None]] = field(default_factory=list)
    # sequence id (as str: JSON keys) -> {"kind": activity|timer|suborch, ...}
    open_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # retry group id (first attempt's id, as str) -> {"kind", "name", "input", "options", "attempt", "instance_id"}
    retry_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Not a field: never stored, compared or copied; every episode re-sends and re-stores the whole history.
        self._encoded_history = EncodedHistory()

    def history_json(self, start: int = 0) -> str:
        """`history[start:]` as stored (compact JSON); each event is encoded once while this object lives."""
        return self._encoded_history.stored_json(self.history, start)

    def played_history(self) -> list[str]:
        """Each history event as compact JSON with `IsPlayed: true`, as the extension replays it."""
        return self._encoded_history.played(self.history)

    def to_json(self) -> str:
        # Not dataclasses.asdict: that deep-copies the whole history on every checkpoint.
        data = {name: getattr(self, name) for name in _RECORD_FIELDS}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, history: list[Event]) -> InstanceState:
        data = json.loads(text)
        data["status"] = RuntimeStatus(data["status"])
        return cls(**data, history=history)

    def allocate_id(self) -> int:
        task_id = self.next_id
        self.next_id += 1
        return task_id

    def open_timers(self) -> list[int]:
        return [int(k) for k, v in self.open_tasks.items() if v["kind"] == "timer" and not v.get("cancelled")]


# What the record holds, in field order (computed once: `fields()` on every checkpoint showed in profiles).
_RECORD_FIELDS = tuple(f.name for f in fields(InstanceState) if f.name != "history")
