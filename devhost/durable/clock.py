"""Injectable clocks: the real UTC clock for serving, a virtual one that tests move by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current UTC time (timezone-aware)."""

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Return when `when` is reached (never, if None) or as soon as `wake` is set."""


class RealClock:
    """Wall-clock time. Long waits are capped so a clock jump on the host cannot strand a timer."""

    max_nap_seconds = 30.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        timeout = self.max_nap_seconds
        if when is not None:
            timeout = min(timeout, max(0.0, (when - self.now()).total_seconds()))
        try:
            await asyncio.wait_for(wake.wait(), timeout=timeout)
        except TimeoutError:
            pass


class VirtualClock:
    """Time that moves only when `advance` / `set` is called, so a 72-hour timer fires in milliseconds."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        return self.set(self._now + delta)

    def set(self, when: datetime) -> datetime:
        if when < self._now:
            raise ValueError("time only moves forward")
        self._now = when
        self._moved.set()
        return self._now

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        while when is None or self._now < when:
            self._moved.clear()
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(self._moved.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if wake.is_set():
                return
