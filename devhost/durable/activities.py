"""The activity worker pool: bounded, off the event loop for sync functions, encoded as the Python worker does."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

import devhost
from devhost.durable import history as h
from devhost.durable.clock import Clock
from devhost.durable.history import Event
from devhost.function_index import IndexedFunction


class ActivityWorkers:
    """At most `max_concurrent` activities at once: sync ones in a thread pool, async ones on the loop."""

    def __init__(self, functions: dict[str, IndexedFunction], max_concurrent: int, clock: Clock) -> None:
        self._functions = functions
        self._clock = clock
        self._slots = asyncio.Semaphore(max_concurrent)
        self._pool = ThreadPoolExecutor(max_concurrent, thread_name_prefix="activity")

    async def run(self, task_id: int, name: str, input_text: str | None) -> Event:
        """Run one activity; its result or failure comes back as the TaskCompleted / TaskFailed event."""
        function = self._functions.get(name)
        async with self._slots:
            try:
                if function is None:
                    raise LookupError(
                        f"The function '{name}' doesn't exist, is disabled, or is not an activity function."
                    )
                result = await self._invoke(function, input_text)
                return h.task_completed(self._clock.now(), task_id, result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - an activity's failure is data for the orchestrator
                reason = f"Activity function '{name}' failed: {type(exc).__name__}: {exc}"
                return h.task_failed(self._clock.now(), task_id, reason, user_traceback(exc))

    async def _invoke(self, function: IndexedFunction, input_text: str | None) -> str | None:
        # The worker's converter decodes the input and encodes the result exactly as in Azure (reference §3).
        argument = ActivityTriggerConverter.decode(meta.Datum(type="string", value=input_text), trigger_metadata=None)
        kwargs = {function.trigger_param: argument}
        if function.is_async:
            value = await function.user_function(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            value = await loop.run_in_executor(self._pool, functools.partial(function.user_function, **kwargs))
        return ActivityTriggerConverter.encode(value, expected_type=None).value

    def shutdown(self) -> None:
        # Running sync activities cannot be interrupted; their results are simply never delivered.
        self._pool.shutdown(wait=False, cancel_futures=True)


def user_traceback(exc: BaseException) -> str:
    """The activity's traceback without devhost's and the thread pool's frames (what the worker would report)."""
    summary = traceback.TracebackException.from_exception(exc)
    frames = [f for f in summary.stack if not f.filename.startswith(_HOST_FRAMES)]
    summary.stack = traceback.StackSummary.from_list(frames)
    return "".join(summary.format())


_HOST_FRAMES = tuple(
    str(Path(module.__file__).resolve().parent) + os.sep for module in (devhost, concurrent.futures, asyncio)
)
