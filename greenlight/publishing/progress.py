"""Progress of a publication, reported to every request waiting for it.

`Progress` and `ProgressSink` are the request's own (`greenlight.requests.progress`): a publication's progress is
its waiting requests' progress. Sinks are obtained per waiting request from `progress_for(tenant_id, request_id)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from greenlight.requests.progress import Progress, ProgressSink

log = logging.getLogger(__name__)

__all__ = ["Fanout", "NoProgress", "Progress", "ProgressFactory", "ProgressSink", "ThreadReporter", "percent_of"]

ProgressFactory = Callable[[str, str], ProgressSink]

# Where the publish stages sit in a request's 0..100: approval is done by then; publishing fills 10..95.
STAGE_RANGES = {"Verifying": (10, 15), "Downloading": (15, 45), "Uploading": (45, 90), "Assigning": (90, 95)}


def percent_of(stage: str, fraction: float) -> int:
    low, high = STAGE_RANGES.get(stage, (0, 100))
    return int(low + (high - low) * min(max(fraction, 0.0), 1.0))


class NoProgress:
    async def report(self, progress: Progress) -> None:
        return None


class Fanout:
    """One report → every waiting request's sink. A failing sink is logged, never fails the publication."""

    def __init__(self, sinks: Sequence[ProgressSink]) -> None:
        self._sinks = list(sinks)
        self._last: tuple[str, int | None] | None = None

    async def report(self, progress: Progress) -> None:
        if (progress.stage, progress.percent) == self._last:
            return  # the same figure twice says nothing new
        self._last = (progress.stage, progress.percent)
        results = await asyncio.gather(*(s.report(progress) for s in self._sinks), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("a progress sink failed: %s", result)


class ThreadReporter:
    """Lets blocking code in a worker thread report to an async sink on the event loop (fire and forget)."""

    def __init__(self, sink: ProgressSink, loop: asyncio.AbstractEventLoop, stage: str, message: str) -> None:
        self._sink = sink
        self._loop = loop
        self._stage = stage
        self._message = message
        self._last = -1

    def fraction(self, done: float) -> None:
        percent = percent_of(self._stage, done)
        if percent == self._last:
            return
        self._last = percent
        progress = Progress(self._stage, percent, self._message)
        asyncio.run_coroutine_threadsafe(self._sink.report(progress), self._loop)
