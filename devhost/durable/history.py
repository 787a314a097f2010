"""DTFx history events as the Durable extension serialises them for the Python SDK (PascalCase, int enums).

Timestamps use the .NET round-trip format with 7 fractional digits and `Z`; they are stored once and never
regenerated, because `current_utc_datetime`, `new_uuid()` and timer deadlines are all derived from them.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


class OrchestrationStatus(IntEnum):
    """DTFx `OrchestrationStatus`, as written into ExecutionCompleted."""

    RUNNING = 0
    COMPLETED = 1
    CONTINUED_AS_NEW = 2
    FAILED = 3
    CANCELED = 4
    TERMINATED = 5
    PENDING = 6
    SUSPENDED = 7


@functools.lru_cache(maxsize=1024)  # an episode stamps several events, the record and the list with one `now`
def format_timestamp(moment: datetime) -> str:
    """`2024-05-01T10:00:00.1234560Z`: .NET's round-trip format (7 digits), from a microsecond datetime."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 UTC timestamp with up to 7 fractional digits (and `Z` or an offset)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    main, _, zone = value.partition("+")
    if "." in main:
        head, frac = main.split(".", 1)
        main = f"{head}.{frac[:6].ljust(6, '0')}"
    moment = datetime.fromisoformat(f"{main}+{zone or '00:00'}")
    return moment.astimezone(UTC)


COMPACT = (",", ":")  # how history is stored: json.dumps(events, separators=COMPACT)


class EncodedHistory:
    """The JSON text of each event of one history list, encoded once instead of on every episode.

    Two forms per event: as stored (`json.dumps(event, separators=COMPACT)`, so joining them yields exactly the
    text `json.dumps(events, separators=COMPACT)` would) and as replayed to the SDK (`IsPlayed: true`). Events
    are never changed once appended, so a text stays valid while its event is in the list; a different list (a
    new execution) or a list that was cut short starts the cache afresh.
    """

    def __init__(self) -> None:
        self._events: list[Event] | None = None
        self._encoded: list[Event] = []  # the events encoded so far (the same objects as in the list)
        self._stored: list[str] = []
        self._played: list[str] = []

    def stored_json(self, events: list[Event], start: int = 0) -> str:
        """`events[start:]` as compact JSON, byte for byte what `json.dumps(..., separators=COMPACT)` gives."""
        self._follow(events)
        for item in self._encoded[len(self._stored) :]:
            self._stored.append(json.dumps(item, separators=COMPACT))
        return "[" + ",".join(self._stored[start:]) + "]"

    def played(self, events: list[Event]) -> list[str]:
        """Each event as the extension replays it: `IsPlayed` set to true."""
        self._follow(events)
        for item in self._encoded[len(self._played) :]:
            self._played.append(json.dumps({**item, "IsPlayed": True}, separators=COMPACT))
        return self._played

    def _follow(self, events: list[Event]) -> None:
        known = len(self._encoded)
        if events is not self._events or known > len(events) or (known and events[known - 1] is not self._encoded[-1]):
            self._events, self._encoded, self._stored, self._played = events, [], [], []
        self._encoded.extend(events[len(self._encoded) :])


def event(event_type: EventType, at: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(at),
        **fields,
    }


def orchestrator_started(at: datetime) -> Event:
    return event(EventType.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> Event:
    return event(EventType.ORCHESTRATOR_COMPLETED, at)


def execution_started(
    at: datetime, name: str, input_token: Any, instance_id: str, execution_id: str, parent: dict[str, Any] | None
) -> Event:
    parent_instance = None
    if parent:
        parent_instance = {
            "Name": parent.get("name"),
            "TaskScheduleId": parent["task_id"],
            "OrchestrationInstance": {"InstanceId": parent["instance_id"], "ExecutionId": parent["execution_id"]},
        }
    return event(
        EventType.EXECUTION_STARTED,
        at,
        Name=name,
        Version="",  # the SDK reads Version unguarded: it must exist
        Input=json.dumps(input_token),
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent_instance,
        Tags=None,
    )


def task_scheduled(at: datetime, task_id: int, name: str, input_text: str | None) -> Event:
    return event(EventType.TASK_SCHEDULED, at, task_id, Name=name, Version="", Input=input_text, Tags=None)


def task_completed(at: datetime, task_id: int, result: str | None) -> Event:
    return event(EventType.TASK_COMPLETED, at, TaskScheduledId=task_id, Result=result)


def task_failed(at: datetime, task_id: int, reason: str, details: str | None) -> Event:
    return event(
        EventType.TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details, FailureDetails=None
    )


def timer_created(at: datetime, timer_id: int, fire_at: datetime) -> Event:
    return event(EventType.TIMER_CREATED, at, timer_id, FireAt=format_timestamp(fire_at))


def timer_fired(at: datetime, timer_id: int, fire_at: str) -> Event:
    return event(EventType.TIMER_FIRED, at, TimerId=timer_id, FireAt=fire_at)


def sub_orchestration_created(at: datetime, task_id: int, name: str, instance_id: str, input_text: str | None) -> Event:
    return event(
        EventType.SUB_ORCHESTRATION_CREATED,
        at,
        task_id,
        Name=name,
        Version="",
        InstanceId=instance_id,
        Input=input_text,
    )


def sub_orchestration_completed(at: datetime, task_id: int, result: str | None) -> Event:
    return event(EventType.SUB_ORCHESTRATION_COMPLETED, at, TaskScheduledId=task_id, Result=result)


def sub_orchestration_failed(at: datetime, task_id: int, reason: str, details: str | None) -> Event:
    return event(EventType.SUB_ORCHESTRATION_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def event_raised(at: datetime, name: str, input_text: str | None) -> Event:
    return event(EventType.EVENT_RAISED, at, Name=name, Input=input_text)


def execution_completed(at: datetime, status: OrchestrationStatus, result: str | None) -> Event:
    return event(EventType.EXECUTION_COMPLETED, at, OrchestrationStatus=int(status), Result=result, FailureDetails=None)


def execution_terminated(at: datetime, reason: str | None) -> Event:
    return event(EventType.EXECUTION_TERMINATED, at, Input=reason)


def execution_suspended(at: datetime, reason: str | None) -> Event:
    return event(EventType.EXECUTION_SUSPENDED, at, Reason=reason)


def execution_resumed(at: datetime, reason: str | None) -> Event:
    return event(EventType.EXECUTION_RESUMED, at, Reason=reason)


def continue_as_new(at: datetime, input_text: str | None) -> Event:
    return event(EventType.CONTINUE_AS_NEW, at, Result=input_text)


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_view(history: list[Event], show_output: bool) -> list[dict[str, Any]]:
    """The history as the extension's status API shows it (`showHistory=true`).

    Like `DurableClient.ConvertHistoryToJsonArray`: no OrchestratorStarted/Completed or TaskScheduled rows,
    event types by name, completions carry the FunctionName and ScheduledTime of what they complete.
    """
    scheduled: dict[int, Event] = {}
    rows: list[dict[str, Any]] = []
    for item in history:
        kind = EventType(item["EventType"])
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
            scheduled[item["EventId"]] = item
            if kind is EventType.TASK_SCHEDULED:
                continue
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        row: dict[str, Any] = {"EventType": _type_name(kind), "Timestamp": item["Timestamp"]}
        if kind is EventType.EXECUTION_STARTED:
            row["FunctionName"] = item["Name"]
        elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_COMPLETED,
                      EventType.SUB_ORCHESTRATION_FAILED):  # fmt: skip
            origin = scheduled.get(item["TaskScheduledId"], {})
            row["FunctionName"] = origin.get("Name")
            row["ScheduledTime"] = origin.get("Timestamp")
            if "Reason" in item:
                row["Reason"] = item["Reason"]
                row["Details"] = item.get("Details")
            if show_output and "Result" in item:
                row["Result"] = _loads(item["Result"])
        elif kind is EventType.SUB_ORCHESTRATION_CREATED:
            row["FunctionName"] = item["Name"]
            row["InstanceId"] = item["InstanceId"]
        elif kind in (EventType.TIMER_CREATED, EventType.TIMER_FIRED):
            row["FireAt"] = item["FireAt"]
        elif kind is EventType.EVENT_RAISED:
            row["Name"] = item["Name"]
            if show_output:
                row["Input"] = _loads(item.get("Input"))
        elif kind is EventType.EXECUTION_COMPLETED:
            row["OrchestrationStatus"] = _status_name(item["OrchestrationStatus"])
            if show_output:
                row["Result"] = _loads(item.get("Result"))
        elif kind is EventType.EXECUTION_TERMINATED:
            row["Input"] = item.get("Input")
        rows.append(row)
    return rows


def _type_name(kind: EventType) -> str:
    names = {
        EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
        EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
        EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
    }
    return names.get(kind) or "".join(part.capitalize() for part in kind.name.split("_"))


def _status_name(value: int) -> str:
    return "".join(part.capitalize() for part in OrchestrationStatus(value).name.split("_"))
