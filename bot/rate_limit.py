"""Teams' per-conversation send limits, kept in-process so proactive bursts wait instead of collecting 429s.

Limits per bot per conversation (docs: bots/how-to/rate-limit): 7 per second, 8 per 2 s, 60 per 30 s,
1800 per hour. The window state lives in this worker process only; a 429 that still happens (other workers,
other instances) is handled by the notifier's retry with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

TEAMS_CONVERSATION_LIMITS: tuple[tuple[int, float], ...] = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))


class ConversationRateLimiter:
    def __init__(
        self,
        limits: Sequence[tuple[int, float]] = TEAMS_CONVERSATION_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = tuple(limits)
        self._horizon = max(window for _, window in self._limits)
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _delay(self, history: deque[float], now: float) -> float:
        """How long until one more send fits every window (0 when it fits now)."""
        while history and now - history[0] >= self._horizon:
            history.popleft()
        wait = 0.0
        for count, window in self._limits:
            recent = [t for t in history if now - t < window]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + window - now)
        return wait

    async def acquire(self, conversation_id: str) -> None:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            history = self._sent.setdefault(conversation_id, deque())
            while (delay := self._delay(history, self._clock())) > 0:
                await self._sleep(delay)
            history.append(self._clock())
