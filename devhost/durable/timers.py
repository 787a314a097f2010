"""Durable timers: a heap of deadlines watched by one task that sleeps on the injectable clock."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from devhost.durable.clock import Clock


@dataclass(order=True)
class ArmedTimer:
    fire_at: datetime
    instance_id: str = field(compare=False)
    execution_id: str = field(compare=False)
    timer_id: int = field(compare=False)


class TimerService:
    def __init__(
        self,
        clock: Clock,
        is_live: Callable[[ArmedTimer], bool],
        fire: Callable[[ArmedTimer, datetime], None],
    ) -> None:
        self._clock = clock
        self._is_live = is_live  # False for timers cancelled or superseded since they were armed
        self._fire = fire
        self._heap: list[ArmedTimer] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="durable-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def arm(self, instance_id: str, execution_id: str, timer_id: int, fire_at: datetime) -> None:
        heapq.heappush(self._heap, ArmedTimer(fire_at, instance_id, execution_id, timer_id))
        self._wake.set()

    def disarm(self, instance_id: str, timer_ids: set[int]) -> None:
        kept = [t for t in self._heap if not (t.instance_id == instance_id and t.timer_id in timer_ids)]
        if len(kept) != len(self._heap):
            heapq.heapify(kept)
            self._heap = kept
            self._wake.set()

    def next_at(self) -> datetime | None:
        live = [t for t in self._heap if self._is_live(t)]
        return min(live).fire_at if live else None

    async def _loop(self) -> None:
        while True:
            now = self._clock.now()
            while self._heap and self._heap[0].fire_at <= now:
                timer = heapq.heappop(self._heap)
                if self._is_live(timer):
                    self._fire(timer, now)
            self._wake.clear()
            await self._clock.sleep_until(self._heap[0].fire_at if self._heap else None, self._wake)
