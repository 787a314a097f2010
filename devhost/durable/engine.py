"""One orchestration episode: what the Durable extension does between two checkpoints.

Given an instance's state and the new events to deliver, build the context JSON the extension would send
(stored history with `IsPlayed: true` + `OrchestratorStarted(now)` + the new events), call the real SDK
handle, check that re-emitted actions match history (non-determinism), give ids to new actions
depth-first, and append the history events DTFx would write. Side effects (run this activity, start that
timer) are returned as `Effects` for the runtime to carry out after the episode is committed.

Pure with respect to I/O: everything here is deterministic given (state, events, now), which makes it the
unit under test for the extension's rules.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import azure.functions as func

from devhost.durable import history as h
from devhost.durable.actions import ActionType, describe, is_numbered, leaves, signature, top_level_actions
from devhost.durable.history import Event, EventType, OrchestrationStatus
from devhost.durable.retry import InvalidRetryOptions, RetryPolicy
from devhost.durable.sdk_timestamps import memoize_sdk_timestamps
from devhost.durable.state import InstanceState, RuntimeStatus

OrchestratorHandle = Callable[[Any], str]
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"

# Azure Storage provider values (AzureStorageDurabilityProvider.cs); sent only when long timers are enabled.
MAX_SHORT_TIMER = "6.00:00:00"
LONG_TIMER_INTERVAL = "3.00:00:00"


@dataclass(frozen=True)
class EngineOptions:
    long_timers: bool = True  # send the Azure Storage 6-day / 3-day durations (the SDK then splits long timers)


@dataclass(frozen=True)
class ActivityCall:
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class TimerCall:
    task_id: int
    fire_at: datetime


@dataclass(frozen=True)
class SubOrchestrationCall:
    task_id: int
    name: str
    instance_id: str
    input: str | None


@dataclass
class Effects:
    activities: list[ActivityCall] = field(default_factory=list)
    timers: list[TimerCall] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    sub_orchestrations: list[SubOrchestrationCall] = field(default_factory=list)
    finished: bool = False  # reached a terminal status in this episode
    continued_as_new: bool = False


def allocates_ids(state: InstanceState, event: Event) -> bool:
    """Does applying this event make the host allocate sequence ids (a retry timer or attempt)?

    Such an event must be the first one of an episode: the SDK allocates the same ids while it processes the
    event, before user code resumes, so any earlier event in the batch could schedule tasks first.
    """
    kind = event["EventType"]
    if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
        task = state.open_tasks.get(str(event["TaskScheduledId"]))
    elif kind == EventType.TIMER_FIRED:
        task = state.open_tasks.get(str(event["TimerId"]))
    else:
        return False
    return bool(task and task.get("retry_group") is not None)


def is_deliverable(state: InstanceState, event: Event) -> bool:
    """False for completions of tasks that are not open (a duplicate delivery, or a late one after a restart)."""
    kind = event["EventType"]
    if kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_COMPLETED,
                EventType.SUB_ORCHESTRATION_FAILED):  # fmt: skip
        return str(event["TaskScheduledId"]) in state.open_tasks
    if kind == EventType.TIMER_FIRED:
        task = state.open_tasks.get(str(event["TimerId"]))
        return task is not None and not task.get("cancelled")
    return kind == EventType.EVENT_RAISED


class EpisodeRunner:
    def __init__(self, orchestrators: dict[str, OrchestratorHandle], options: EngineOptions | None = None) -> None:
        self._orchestrators = orchestrators
        self._options = options or EngineOptions()
        memoize_sdk_timestamps()  # every replay re-parses the same history timestamps (see sdk_timestamps)

    def run(self, state: InstanceState, events: list[Event], now: datetime) -> Effects:
        """Deliver `events` (already filtered with `is_deliverable`) and advance `state`; returns the effects."""
        effects = Effects()
        delivered: list[Event] = []
        host_events: list[Event] = []
        if state.status is RuntimeStatus.PENDING:
            state.status = RuntimeStatus.RUNNING
            delivered.append(
                h.execution_started(
                    now,
                    state.name,
                    _loads_or_none(state.input_token),
                    state.instance_id,
                    state.execution_id,
                    state.parent,
                )
            )
        for item in events:
            stamped = {**item, "Timestamp": item.get("Timestamp") or h.format_timestamp(now)}
            self._apply_host_side(state, stamped, now, host_events, effects)
            delivered.append(stamped)

        started = h.orchestrator_started(now)
        sdk_state = self._call_sdk(state, [*state.played_history(), *_encoded([started, *delivered])])
        new_events: list[Event] = []
        try:
            self._check_replay(state, sdk_state)
            self._refresh_cancellations(state, sdk_state, effects)
            if sdk_state.get("error") is None:
                self._schedule_new_actions(state, sdk_state, now, new_events, effects)
        except _EpisodeFailure as failure:
            sdk_state = {"isDone": False, "error": str(failure), "customStatus": sdk_state.get("customStatus")}
        state.custom_status = json.dumps(sdk_state["customStatus"]) if "customStatus" in sdk_state else None
        completion = self._completion(state, sdk_state, now, effects)
        state.history.extend(
            [started, *delivered, *host_events, *new_events, *completion, h.orchestrator_completed(now)]
        )
        state.episode += 1
        state.last_updated_time = h.format_timestamp(now)
        return effects

    # ------------------------------------------------------------------ host-side bookkeeping of new events

    def _apply_host_side(
        self, state: InstanceState, item: Event, now: datetime, host_events: list[Event], effects: Effects
    ) -> None:
        kind = item["EventType"]
        if kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED):
            task = state.open_tasks.pop(str(item["TaskScheduledId"]))
            if task.get("retry_group") is not None:
                state.retry_groups.pop(task["retry_group"], None)
        elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
            task = state.open_tasks.pop(str(item["TaskScheduledId"]))
            group_id = task.get("retry_group")
            if group_id is not None:
                self._after_failed_attempt(state, group_id, now, host_events, effects)
        elif kind == EventType.TIMER_FIRED:
            task = state.open_tasks.pop(str(item["TimerId"]))
            group_id = task.get("retry_group")
            if group_id is not None:
                if task.get("retry") == "next":
                    self._schedule_attempt(state, group_id, now, host_events, effects)
                else:
                    state.retry_groups.pop(group_id, None)

    def _after_failed_attempt(
        self, state: InstanceState, group_id: str, now: datetime, host_events: list[Event], effects: Effects
    ) -> None:
        # DTFx RetryInterceptor: a retry timer after each failed attempt, and after the last one a timer that
        # fires at once (kept by DTFx for compatibility, mirrored by the SDK's RetryAbleTask).
        group = state.retry_groups[group_id]
        policy = RetryPolicy.from_action(group["options"])
        retry = policy.should_retry(group["attempt"])
        fire_at = now + policy.delay_after(group["attempt"]) if retry else now
        timer_id = state.allocate_id()
        state.open_tasks[str(timer_id)] = {
            "kind": "timer",
            "fire_at": h.format_timestamp(fire_at),
            "retry_group": group_id,
            "retry": "next" if retry else "final",
        }
        host_events.append(h.timer_created(now, timer_id, fire_at))
        effects.timers.append(TimerCall(timer_id, fire_at))

    def _schedule_attempt(
        self, state: InstanceState, group_id: str, now: datetime, host_events: list[Event], effects: Effects
    ) -> None:
        group = state.retry_groups[group_id]
        group["attempt"] += 1
        task_id = state.allocate_id()
        if group["kind"] == "activity":
            state.open_tasks[str(task_id)] = {
                "kind": "activity", "name": group["name"], "input": group["input"], "retry_group": group_id
            }  # fmt: skip
            host_events.append(h.task_scheduled(now, task_id, group["name"], group["input"]))
            effects.activities.append(ActivityCall(task_id, group["name"], group["input"]))
        else:
            child_id = group.get("instance_id") or _child_instance_id(state, task_id)
            state.open_tasks[str(task_id)] = {
                "kind": "suborch", "name": group["name"], "input": group["input"], "instance_id": child_id,
                "retry_group": group_id,
            }  # fmt: skip
            host_events.append(h.sub_orchestration_created(now, task_id, group["name"], child_id, group["input"]))
            effects.sub_orchestrations.append(SubOrchestrationCall(task_id, group["name"], child_id, group["input"]))

    # ------------------------------------------------------------------ calling the SDK

    def _call_sdk(self, state: InstanceState, episode_history: list[str]) -> dict[str, Any]:
        """The SDK's answer for this context; `episode_history` holds each event as JSON text."""
        handle = self._orchestrators.get(state.name)
        if handle is None:
            return {
                "isDone": False,
                "error": f"The orchestrator function '{state.name}' is not registered in this app.",
            }
        context: dict[str, Any] = {
            "input": _loads_or_none(state.input_token),
            "instanceId": state.instance_id,
            "isReplaying": False,
            "parentInstanceId": state.parent["instance_id"] if state.parent else None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
        if self._options.long_timers:
            context["maximumShortTimerDuration"] = MAX_SHORT_TIMER
            context["longRunningTimerIntervalDuration"] = LONG_TIMER_INTERVAL
        # The history goes in as text: its events were encoded once, not on every episode (see EncodedHistory).
        context_json = '{"history":[' + ",".join(episode_history) + "]," + json.dumps(context)[1:]
        try:
            return json.loads(handle(func.OrchestrationContext(context_json)))
        except Exception as exc:  # noqa: BLE001 - the SDK reports user-code failures by raising (reference §1.5)
            message = str(exc)
            marker = message.find(OUT_OF_PROC_MARKER)
            if marker >= 0:
                return json.loads(message[marker + len(OUT_OF_PROC_MARKER) :])
            return {"isDone": False, "error": message or type(exc).__name__}

    # ------------------------------------------------------------------ replay checks

    def _check_replay(self, state: InstanceState, sdk_state: dict[str, Any]) -> None:
        actions = top_level_actions(sdk_state)
        for index, recorded in enumerate(state.action_signatures):
            if index >= len(actions):
                if sdk_state.get("isDone") or sdk_state.get("error"):
                    return
                raise _EpisodeFailure(
                    "Non-Deterministic workflow detected: the orchestrator no longer schedules action "
                    f"#{index} ({describe(json.loads(recorded))}) that its history recorded."
                )
            if signature(actions[index]) != recorded:
                raise _EpisodeFailure(
                    f"Non-Deterministic workflow detected: action #{index} was {describe(json.loads(recorded))} "
                    f"in the history, but the orchestrator now schedules {describe(actions[index])}."
                )

    def _refresh_cancellations(self, state: InstanceState, sdk_state: dict[str, Any], effects: Effects) -> None:
        actions = top_level_actions(sdk_state)
        for action, ids in zip(actions, state.action_leaf_ids, strict=False):
            numbered = [leaf for leaf in leaves(action) if is_numbered(leaf)]
            for leaf, task_id in zip(numbered, [i for i in ids if i is not None], strict=False):
                if leaf.get("actionType") != ActionType.CREATE_TIMER or not leaf.get("isCanceled"):
                    continue
                task = state.open_tasks.get(str(task_id))
                if task is not None and not task.get("cancelled"):
                    task["cancelled"] = True
                    effects.cancelled_timers.append(task_id)

    # ------------------------------------------------------------------ new actions

    def _schedule_new_actions(
        self, state: InstanceState, sdk_state: dict[str, Any], now: datetime, out: list[Event], effects: Effects
    ) -> None:
        actions = top_level_actions(sdk_state)
        for action in actions[len(state.action_signatures) :]:
            ids: list[int | None] = []
            for leaf in leaves(action):
                kind = leaf.get("actionType")
                if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
                    ids.append(None)
                    continue
                if kind == ActionType.CONTINUE_AS_NEW:
                    continue
                if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY, ActionType.CALL_HTTP):
                    raise _EpisodeFailure(f"devhost does not run {describe(leaf)} actions (entities and call_http).")
                if not is_numbered(leaf):
                    raise _EpisodeFailure(f"Unknown action type {kind} in the orchestrator's actions.")
                task_id = state.allocate_id()
                ids.append(task_id)
                self._schedule_leaf(state, leaf, task_id, now, out, effects)
            state.action_signatures.append(signature(action))
            state.action_leaf_ids.append(ids)

    def _schedule_leaf(
        self,
        state: InstanceState,
        leaf: dict[str, Any],
        task_id: int,
        now: datetime,
        out: list[Event],
        effects: Effects,
    ) -> None:
        kind = leaf["actionType"]
        key = str(task_id)
        if kind == ActionType.CREATE_TIMER:
            fire_at = h.parse_timestamp(leaf["fireAt"])
            cancelled = bool(leaf.get("isCanceled"))
            state.open_tasks[key] = {"kind": "timer", "fire_at": h.format_timestamp(fire_at), "cancelled": cancelled}
            out.append(h.timer_created(now, task_id, fire_at))
            if not cancelled:
                effects.timers.append(TimerCall(task_id, fire_at))
            return
        name = leaf.get("functionName")
        input_text = leaf.get("input")
        group_id = None
        if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            try:
                RetryPolicy.from_action(leaf.get("retryOptions"))
            except InvalidRetryOptions as exc:
                raise _EpisodeFailure(str(exc)) from None
            group_id = key
            state.retry_groups[group_id] = {
                "kind": "activity" if kind == ActionType.CALL_ACTIVITY_WITH_RETRY else "suborch",
                "name": name,
                "input": input_text,
                "options": leaf.get("retryOptions"),
                "attempt": 1,
                "instance_id": leaf.get("instanceId"),
            }
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            state.open_tasks[key] = {"kind": "activity", "name": name, "input": input_text, "retry_group": group_id}
            out.append(h.task_scheduled(now, task_id, name, input_text))
            effects.activities.append(ActivityCall(task_id, name, input_text))
        else:
            child_id = leaf.get("instanceId") or _child_instance_id(state, task_id)
            state.open_tasks[key] = {
                "kind": "suborch", "name": name, "input": input_text, "instance_id": child_id, "retry_group": group_id
            }  # fmt: skip
            out.append(h.sub_orchestration_created(now, task_id, name, child_id, input_text))
            effects.sub_orchestrations.append(SubOrchestrationCall(task_id, name, child_id, input_text))

    # ------------------------------------------------------------------ completion

    def _completion(
        self, state: InstanceState, sdk_state: dict[str, Any], now: datetime, effects: Effects
    ) -> list[Event]:
        error = sdk_state.get("error")
        if error is not None:
            message = f"Orchestrator function '{state.name}' failed: {error}"
            state.output = json.dumps(message)
            state.status = RuntimeStatus.FAILED
            effects.finished = True
            self._drop_open_work(state, effects)
            return [h.execution_completed(now, OrchestrationStatus.FAILED, state.output)]
        if not sdk_state.get("isDone"):
            return []
        continue_action = next(
            (a for a in top_level_actions(sdk_state) if a.get("actionType") == ActionType.CONTINUE_AS_NEW), None
        )
        if continue_action is not None:
            effects.continued_as_new = True
            self._drop_open_work(state, effects)
            return [h.continue_as_new(now, continue_action.get("input"))]
        if state.open_timers():
            # An un-cancelled durable timer keeps the instance Running until it fires (as in production).
            return []
        state.output = json.dumps(sdk_state.get("output"))
        state.status = RuntimeStatus.COMPLETED
        effects.finished = True
        self._drop_open_work(state, effects)
        return [h.execution_completed(now, OrchestrationStatus.COMPLETED, state.output)]

    @staticmethod
    def _drop_open_work(state: InstanceState, effects: Effects) -> None:
        effects.cancelled_timers.extend(state.open_timers())
        state.open_tasks.clear()
        state.retry_groups.clear()


def start_new_execution(state: InstanceState, input_text: str | None, now: datetime) -> None:
    """Continue-as-new: same instance, new execution id, empty history, the new input (a JSON-text string)."""
    state.execution_id = uuid.uuid4().hex
    state.input_token = json.dumps(input_text)
    state.status = RuntimeStatus.PENDING
    state.generation += 1
    state.next_id = 0
    state.episode = 0
    state.archived_events = 0
    state.archived_rows = 0
    state.action_signatures = []
    state.action_leaf_ids = []
    state.open_tasks = {}
    state.retry_groups = {}
    state.history = []
    state.output = None
    state.last_updated_time = h.format_timestamp(now)


def terminate(state: InstanceState, reason: str | None, now: datetime) -> Effects:
    effects = Effects(finished=True)
    EpisodeRunner._drop_open_work(state, effects)
    state.status = RuntimeStatus.TERMINATED
    state.output = json.dumps(reason)
    state.history.extend(
        [
            h.orchestrator_started(now),
            h.execution_terminated(now, reason),
            h.execution_completed(now, OrchestrationStatus.TERMINATED, state.output),
            h.orchestrator_completed(now),
        ]
    )
    state.last_updated_time = h.format_timestamp(now)
    return effects


class _EpisodeFailure(Exception):
    """Fails the instance with this message (non-determinism, unsupported actions, invalid options)."""


def _encoded(events: list[Event]) -> list[str]:
    return [json.dumps(item, separators=h.COMPACT) for item in events]


def _loads_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _child_instance_id(state: InstanceState, task_id: int) -> str:
    # Deterministic, so a restart that re-creates a child finds the one it already started.
    return f"{state.instance_id}:{state.execution_id[:8]}:{task_id}"
