"""The per-conversation limiter waits exactly as long as Teams' windows require, per conversation."""

from __future__ import annotations

from bot.rate_limit import ConversationRateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def test_eighth_send_in_a_second_waits_for_the_window() -> None:
    time = FakeTime()
    limiter = ConversationRateLimiter(clock=time.clock, sleep=time.sleep)
    for _ in range(7):
        await limiter.acquire("a:1")
    assert time.slept == []
    await limiter.acquire("a:1")  # 7 per 1 s: waits until the first send leaves the window
    assert time.slept == [1.0]


async def test_conversations_do_not_share_a_budget() -> None:
    time = FakeTime()
    limiter = ConversationRateLimiter(clock=time.clock, sleep=time.sleep)
    for conversation in ("a:1", "a:2", "a:3"):
        for _ in range(7):
            await limiter.acquire(conversation)
    assert time.slept == []


async def test_thirty_second_window_applies_to_steady_senders() -> None:
    time = FakeTime()
    limiter = ConversationRateLimiter(limits=((60, 30.0),), clock=time.clock, sleep=time.sleep)
    for _ in range(60):
        await limiter.acquire("a:1")
        time.now += 0.1  # 10 per second: under a 1 s limit, over the 30 s one after 6 s
    await limiter.acquire("a:1")
    assert time.slept == [24.0]
