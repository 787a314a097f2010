"""The durable scheduler: per-instance processors and inboxes, sub-orchestrations, crash recovery.

Every change to an instance goes through its inbox. Requests from outside (external events, terminate,
suspend, resume) are persisted before they are accepted; completions produced inside devhost (activity
results, timer firings, child results) are queued in memory only. The instance's processor - at most one per
instance, so two episodes of one instance never overlap - delivers a batch in one episode and checkpoints it
atomically (see `store`). Side effects (activities, timers, child instances) start only after the checkpoint.
On start, `recover()` rebuilds everything in flight from storage: open activities run again (at-least-once,
as in Azure), timers are re-armed, children re-checked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError

from devhost.durable import engine
from devhost.durable import history as h
from devhost.durable.activities import ActivityWorkers
from devhost.durable.clock import Clock
from devhost.durable.engine import EngineOptions, EpisodeRunner, SubOrchestrationCall
from devhost.durable.errors import InstanceAlreadyExists, InstanceFinished, InstanceNotFound, UnknownOrchestrator
from devhost.durable.inbox import next_control, select_batch
from devhost.durable.state import InstanceState, RuntimeStatus
from devhost.durable.store import (
    ConcurrentWriter,
    DurableStore,
    PayloadTooLarge,
    StoredMessage,
    StoreError,
    memory_message,
)
from devhost.durable.timers import ArmedTimer, TimerService
from devhost.function_index import FunctionIndex

log = logging.getLogger("devhost.durable")

RETRY_DELAY_SECONDS = 0.5
# Replays of shorter histories run on the event loop: they are pure Python under the GIL, so a thread buys no
# parallelism, only a hand-off each way. A long history's replay goes to a thread, where the GIL's switching
# interval lets the loop serve HTTP meanwhile.
INLINE_REPLAY_EVENTS = 400


@dataclass
class _Cached:
    """An instance in memory. `state` may hold an episode in progress; readers get `committed()`."""

    state: InstanceState
    etag: str
    persisted_events: int = 0
    snapshot: str = ""

    def __post_init__(self) -> None:
        self.mark_committed(self.snapshot or None)

    def mark_committed(self, record_json: str | None = None) -> None:
        """`record_json`: the record as the checkpoint wrote it (saves encoding the state a second time)."""
        self.persisted_events = len(self.state.history)
        self.snapshot = self.state.to_json() if record_json is None else record_json

    def committed(self) -> InstanceState:
        """The last checkpointed state, never a half-run episode (list slicing is atomic under the GIL)."""
        return InstanceState.from_json(self.snapshot, self.state.history[: self.persisted_events])


class DurableRuntime:
    def __init__(
        self,
        index: FunctionIndex,
        store: DurableStore,
        clock: Clock,
        max_concurrent_activities: int = 16,
        options: EngineOptions | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._orchestrators = index.by_trigger("orchestrationTrigger")
        self._runner = EpisodeRunner({n: f.user_function for n, f in self._orchestrators.items()}, options)
        self._workers = ActivityWorkers(index.by_trigger("activityTrigger"), max_concurrent_activities, clock)
        # For replays of long histories (see INLINE_REPLAY_EVENTS): the event loop (HTTP) stays responsive.
        self._orchestrator_pool = ThreadPoolExecutor(2, thread_name_prefix="orchestrator")
        self._cache: dict[str, _Cached] = {}
        self._inbox: dict[str, list[StoredMessage]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._draining: set[str] = set()
        self._broken: set[str] = set()  # instances whose processing hit a devhost bug: not retried in a loop
        self._timers = TimerService(clock, self._timer_is_live, self._timer_fired)
        self._background: set[asyncio.Task[Any]] = set()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False

    # ================================================================== lifecycle

    async def start(self) -> None:
        await self._store.open()
        await self.recover()
        self._timers.start()

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._timers.stop()
        self._workers.shutdown()
        self._orchestrator_pool.shutdown(wait=False, cancel_futures=True)
        await self._store.close()

    async def recover(self) -> None:
        """Resume every unfinished instance from storage (called once at start)."""
        messages = await self._store.all_messages()
        for message in messages:
            self._inbox.setdefault(message.instance_id, []).append(message)
        unfinished = await self._store.query_records(
            [RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.SUSPENDED]
        )
        pending_ids = {m.instance_id for m in messages}
        for record in unfinished:
            loaded = await self._store.load(record.instance_id)
            if loaded is None:
                continue
            state = loaded.state
            self._cache[state.instance_id] = _Cached(state, loaded.etag)
            self._inbox[state.instance_id] = loaded.messages
            # Completions were only in memory: re-run open activities, re-arm timers, re-check children.
            for key, task in state.open_tasks.items():
                if task["kind"] == "activity":
                    self._spawn(
                        self._run_activity(state.instance_id, state.execution_id, int(key), task["name"], task["input"])
                    )
                elif task["kind"] == "timer" and not task.get("cancelled"):
                    self._timers.arm(
                        state.instance_id, state.execution_id, int(key), h.parse_timestamp(task["fire_at"])
                    )
                elif task["kind"] == "suborch":
                    call = SubOrchestrationCall(int(key), task["name"], task["instance_id"], task["input"])
                    self._spawn(self._start_child(state, call))
            log.info("recovered %s (%s, %d open tasks)", state.instance_id, state.status, len(state.open_tasks))
            self._kick(state.instance_id)
        for instance_id in pending_ids - {r.instance_id for r in unfinished}:
            self._kick(instance_id)  # messages for finished or purged instances: the processor discards them

    # ================================================================== client operations

    async def start_new(self, name: str, instance_id: str | None, input_token: str | None) -> str:
        """Create an instance. `input_token` is the input as the extension stores it: JSON text."""
        if name not in self._orchestrators:
            raise UnknownOrchestrator(name)
        instance_id = instance_id or uuid.uuid4().hex
        # Insert first: a new id (the usual case) costs one write, not a read and a write. Only when the row
        # exists is it read: a finished instance is replaced, a live one refused.
        try:
            await self._create_instance(name, instance_id, input_token, parent=None)
            return instance_id
        except ResourceExistsError:
            pass
        existing = await self._record(instance_id)
        if existing is not None:
            if not existing.status.is_terminal:
                raise InstanceAlreadyExists(instance_id, existing.status)
            await self.purge(instance_id)
        try:
            await self._create_instance(name, instance_id, input_token, parent=None)
        except ResourceExistsError:  # a concurrent start with the same id won
            raise InstanceAlreadyExists(instance_id, "starting") from None
        return instance_id

    async def restart(self, instance_id: str, with_new_instance_id: bool) -> str:
        """Start the instance's orchestrator again with its original input; returns the id that runs it."""
        record = await self._require(instance_id)
        target = uuid.uuid4().hex if with_new_instance_id else instance_id
        return await self.start_new(record.name, target, record.input_token)

    async def raise_event(self, instance_id: str, name: str, input_text: str | None) -> None:
        record = await self._require(instance_id)
        if record.status.is_terminal:
            raise InstanceFinished(instance_id, record.status)
        await self._post(instance_id, {"kind": "event", "event": h.event_raised(self._clock.now(), name, input_text)})

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        record = await self._require(instance_id)
        if record.status.is_terminal:
            raise InstanceFinished(instance_id, record.status)
        await self._post(instance_id, {"kind": "terminate", "reason": reason})

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        record = await self._require(instance_id)
        if record.status.is_terminal:
            raise InstanceFinished(instance_id, record.status)
        await self._post(instance_id, {"kind": "suspend", "reason": reason})

    async def resume(self, instance_id: str, reason: str | None) -> None:
        record = await self._require(instance_id)
        if record.status.is_terminal:
            raise InstanceFinished(instance_id, record.status)
        await self._post(instance_id, {"kind": "resume", "reason": reason})

    async def get(self, instance_id: str, with_history: bool = False) -> InstanceState | None:
        """The instance as last checkpointed (a copy), or None."""
        cached = self._cache.get(instance_id)
        if cached is not None:
            return cached.committed()
        loaded = await self._store.load(instance_id, with_history=with_history)
        return loaded.state if loaded else None

    async def list(
        self,
        statuses: Iterable[RuntimeStatus] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        prefix: str | None = None,
    ) -> list[InstanceState]:
        return await self._store.query_records(
            statuses,
            h.format_timestamp(created_from) if created_from else None,
            h.format_timestamp(created_to) if created_to else None,
            prefix,
        )

    async def purge(self, instance_id: str) -> int:
        async with self._lock(instance_id):
            self._cache.pop(instance_id, None)
            self._inbox.pop(instance_id, None)
            return await self._store.purge(instance_id)

    async def purge_many(self, records: Iterable[InstanceState]) -> int:
        deleted = 0
        for record in records:
            deleted += await self.purge(record.instance_id)
        return deleted

    # ================================================================== waiting (tests, benchmarks)

    async def wait_until_idle(self) -> None:
        """Until no episode, activity or message is in flight (timers may still be armed)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(0)
            if self._busy == 0:
                return

    def next_timer_at(self) -> datetime | None:
        return self._timers.next_at()

    # ================================================================== internals: instances

    async def _record(self, instance_id: str) -> InstanceState | None:
        cached = self._cache.get(instance_id)
        if cached is not None:
            return InstanceState.from_json(cached.snapshot, [])
        loaded = await self._store.load(instance_id, with_history=False)
        return loaded.state if loaded else None

    async def _require(self, instance_id: str) -> InstanceState:
        record = await self._record(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        return record

    async def _create_instance(
        self, name: str, instance_id: str, input_token: str | None, parent: dict[str, Any] | None
    ) -> None:
        now = h.format_timestamp(self._clock.now())
        state = InstanceState(instance_id, name, uuid.uuid4().hex, now, now, input_token=input_token, parent=parent)
        written = await self._store.create(state)
        self._cache[instance_id] = _Cached(state, written.etag, snapshot=written.record_json)
        self._kick(instance_id)

    def _lock(self, instance_id: str) -> asyncio.Lock:
        lock = self._locks.get(instance_id)
        if lock is None:
            lock = self._locks[instance_id] = asyncio.Lock()
        return lock

    async def _post(self, instance_id: str, body: dict[str, Any]) -> None:
        """Persist a message from outside (event, terminate, suspend, resume), then wake the processor."""
        self._enter()
        try:
            message = await self._store.put_message(instance_id, body)
            self._inbox.setdefault(instance_id, []).append(message)
            self._kick(instance_id)
        finally:
            self._leave()

    def _deliver(self, instance_id: str, body: dict[str, Any]) -> None:
        """Queue a completion in memory only: activity results, timer firings, child results.

        Not persisting them halves the storage writes per activity. Nothing is lost in a crash: recovery
        re-runs open activities (at-least-once, as in Azure), re-arms timers and re-reads children's status.
        """
        self._inbox.setdefault(instance_id, []).append(memory_message(instance_id, body))
        self._kick(instance_id)

    def _kick(self, instance_id: str) -> None:
        if instance_id in self._draining or self._stopping:
            return
        self._draining.add(instance_id)
        self._spawn(self._drain(instance_id))

    async def _drain(self, instance_id: str) -> None:
        try:
            while not self._stopping:
                try:
                    async with self._lock(instance_id):
                        progressed = await self._step(instance_id)
                except (PayloadTooLarge, ConcurrentWriter) as exc:
                    # Not transient: retrying would loop. The instance stays as stored until fixed and restarted.
                    log.error("devhost stops processing %s: %s", instance_id, exc)
                    self._cache.pop(instance_id, None)
                    self._broken.add(instance_id)
                    return
                except StoreError as exc:
                    log.warning("checkpoint of %s failed, retrying: %s", instance_id, exc)
                    self._cache.pop(instance_id, None)  # reload the truth from storage
                    await asyncio.sleep(RETRY_DELAY_SECONDS)
                    continue
                except Exception:
                    log.exception("devhost failed while processing %s; it stays as stored until restart", instance_id)
                    self._cache.pop(instance_id, None)
                    self._broken.add(instance_id)
                    return
                if not progressed:
                    return
        finally:
            self._draining.discard(instance_id)
            cached = self._cache.get(instance_id)
            suspended = cached is not None and cached.state.status is RuntimeStatus.SUSPENDED
            if self._inbox.get(instance_id) and not suspended and instance_id not in self._broken:
                self._kick(instance_id)

    async def _load_cached(self, instance_id: str) -> _Cached | None:
        cached = self._cache.get(instance_id)
        if cached is None:
            loaded = await self._store.load(instance_id)
            if loaded is None:
                return None
            cached = self._cache[instance_id] = _Cached(loaded.state, loaded.etag)
            known = {m.key for m in self._inbox.get(instance_id, [])}
            self._inbox.setdefault(instance_id, []).extend(m for m in loaded.messages if m.key not in known)
        return cached

    async def _step(self, instance_id: str) -> bool:
        """One episode (or one control request) for the instance; False when there is nothing to do."""
        cached = await self._load_cached(instance_id)
        inbox = sorted(self._inbox.get(instance_id, []), key=lambda m: m.key)
        if cached is None:
            if inbox:
                await self._store.delete_messages(instance_id, [m.key for m in inbox if m.persisted])
            self._inbox.pop(instance_id, None)
            return False
        state = cached.state
        if state.status.is_terminal:
            if inbox:  # late results and events for a finished instance are dropped, as in Azure
                await self._store.delete_messages(instance_id, [m.key for m in inbox if m.persisted])
                self._forget_messages(instance_id, inbox)
            self._cache.pop(instance_id, None)
            return False

        now = self._clock.now()
        control = next_control(state, inbox)
        if control is not None:
            await self._apply_control(cached, control, now)
            return True
        if state.status is RuntimeStatus.SUSPENDED:
            return False

        consumed, batch = select_batch(state, inbox)
        if not batch and state.status is not RuntimeStatus.PENDING:
            if consumed:
                await self._store.delete_messages(instance_id, [m.key for m in consumed if m.persisted])
                self._forget_messages(instance_id, consumed)
            return bool(consumed)

        if len(state.history) < INLINE_REPLAY_EVENTS:
            effects = self._runner.run(state, batch, now)
        else:
            loop = asyncio.get_running_loop()
            effects = await loop.run_in_executor(self._orchestrator_pool, self._runner.run, state, batch, now)
        await self._checkpoint(cached, consumed, continued=effects.continued_as_new, now=now)
        await self._carry_out(state, effects)
        return True

    async def _checkpoint(self, cached: _Cached, consumed: list[StoredMessage], continued: bool, now: datetime) -> None:
        state = cached.state
        old_execution = state.execution_id
        if continued:
            # The new execution is part of the same checkpoint, so a crash cannot strand the instance.
            engine.start_new_execution(state, state.history[-2].get("Result"), now)
        try:
            written = await self._store.commit(state, cached.etag, [m.key for m in consumed if m.persisted])
        except Exception:
            self._cache.pop(state.instance_id, None)
            raise
        cached.etag = written.etag
        cached.mark_committed(written.record_json)
        self._forget_messages(state.instance_id, consumed)
        if continued:
            self._spawn(self._store.delete_execution_history(state.instance_id, old_execution))

    def _forget_messages(self, instance_id: str, messages: list[StoredMessage]) -> None:
        keys = {m.key for m in messages}
        self._inbox[instance_id] = [m for m in self._inbox.get(instance_id, []) if m.key not in keys]

    async def _apply_control(self, cached: _Cached, message: StoredMessage, now: datetime) -> None:
        state = cached.state
        kind, reason = message.body["kind"], message.body.get("reason")
        effects = engine.Effects()
        if kind == "terminate":
            effects = engine.terminate(state, reason, now)
        elif kind == "suspend" and state.status is RuntimeStatus.RUNNING:
            state.status = RuntimeStatus.SUSPENDED
            state.history.extend([h.execution_suspended(now, reason)])
        elif kind == "resume" and state.status is RuntimeStatus.SUSPENDED:
            state.status = RuntimeStatus.RUNNING
            state.history.extend([h.execution_resumed(now, reason)])
        state.last_updated_time = h.format_timestamp(now)
        written = await self._store.commit(state, cached.etag, [message.key])
        cached.etag = written.etag
        cached.mark_committed(written.record_json)
        self._forget_messages(state.instance_id, [message])
        await self._carry_out(state, effects)

    async def _carry_out(self, state: InstanceState, effects: engine.Effects) -> None:
        for call in effects.activities:
            self._spawn(self._run_activity(state.instance_id, state.execution_id, call.task_id, call.name, call.input))
        for timer in effects.timers:
            self._timers.arm(state.instance_id, state.execution_id, timer.task_id, timer.fire_at)
        if effects.cancelled_timers:
            self._timers.disarm(state.instance_id, set(effects.cancelled_timers))
        for call in effects.sub_orchestrations:
            await self._start_child(state, call)
        if effects.finished:
            log.info("%s %s: %s", state.name, state.instance_id, state.status)
            if state.parent:
                await self._notify_parent(state)

    # ================================================================== sub-orchestrations

    async def _start_child(self, parent: InstanceState, call: SubOrchestrationCall) -> None:
        link = {
            "instance_id": parent.instance_id,
            "execution_id": parent.execution_id,
            "task_id": call.task_id,
            "name": parent.name,
        }
        input_token = json.dumps(call.input)
        if call.name not in self._orchestrators:
            await self._post_to_parent(link, False, f"The function '{call.name}' is not an orchestrator function.")
            return
        existing = await self._record(call.instance_id)
        if existing is not None:
            if existing.parent == link:  # already started before a restart
                if existing.status.is_terminal:
                    await self._notify_parent(existing)
                return
            if not existing.status.is_terminal:
                await self._post_to_parent(link, False, f"An instance with id '{call.instance_id}' is already running.")
                return
            await self.purge(call.instance_id)
        try:
            await self._create_instance(call.name, call.instance_id, input_token, parent=link)
        except ResourceExistsError:
            log.info("child %s already exists", call.instance_id)

    async def _notify_parent(self, child: InstanceState) -> None:
        assert child.parent is not None
        if child.status is RuntimeStatus.COMPLETED:
            await self._post_to_parent(child.parent, True, child.output)
        else:
            reason = json.loads(child.output) if child.output else f"Sub-orchestration {child.status}"
            await self._post_to_parent(child.parent, False, reason)

    async def _post_to_parent(self, link: dict[str, Any], ok: bool, payload: str | None) -> None:
        now = self._clock.now()
        if ok:
            event = h.sub_orchestration_completed(now, link["task_id"], payload)
        else:
            event = h.sub_orchestration_failed(now, link["task_id"], str(payload), None)
        self._deliver(link["instance_id"], {"kind": "event", "execution_id": link["execution_id"], "event": event})

    # ================================================================== activities and timers

    async def _run_activity(
        self, instance_id: str, execution_id: str, task_id: int, name: str, input_text: str | None
    ) -> None:
        event = await self._workers.run(task_id, name, input_text)
        self._deliver(instance_id, {"kind": "event", "execution_id": execution_id, "event": event})

    def _timer_is_live(self, timer: ArmedTimer) -> bool:
        cached = self._cache.get(timer.instance_id)
        if cached is None:
            return True  # not in memory: let the processor decide
        task = cached.state.open_tasks.get(str(timer.timer_id))
        return (
            cached.state.execution_id == timer.execution_id
            and task is not None
            and task["kind"] == "timer"
            and not task.get("cancelled")
        )

    def _timer_fired(self, timer: ArmedTimer, now: datetime) -> None:
        event = h.timer_fired(now, timer.timer_id, h.format_timestamp(timer.fire_at))
        self._deliver(timer.instance_id, {"kind": "event", "execution_id": timer.execution_id, "event": event})

    # ================================================================== bookkeeping

    def _spawn(self, coroutine: Any) -> None:
        self._enter()
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("durable background task failed", exc_info=task.exception())
        self._leave()

    def _enter(self) -> None:
        self._busy += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()
