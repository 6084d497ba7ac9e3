"""Send pacing on a virtual clock: N per second overall, a gap per recipient, retry-after."""

from __future__ import annotations

import asyncio

from channels.ratelimit import RateLimiter


class VirtualTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def _times(limiter: RateLimiter, vt: VirtualTime, keys: list[str]) -> list[float]:
    times = []
    for key in keys:
        await limiter.acquire(key)
        times.append(round(vt.now, 6))
    return times


async def test_overall_rate_is_capped() -> None:
    vt = VirtualTime()
    limiter = RateLimiter(30, clock=vt.clock, sleep=vt.sleep)
    times = await _times(limiter, vt, [str(i) for i in range(61)])
    assert times[-1] >= 2.0 - 1e-6  # 61 messages at 30/s take two seconds
    assert all(b - a >= 1 / 30 - 1e-5 for a, b in zip(times, times[1:], strict=False))


async def test_one_per_second_per_chat_while_other_chats_go_on() -> None:
    vt = VirtualTime()
    limiter = RateLimiter(30, 1.0, clock=vt.clock, sleep=vt.sleep)
    times = await _times(limiter, vt, ["a", "a", "a"])
    assert times == [0.0, 1.0, 2.0]
    await limiter.acquire("b")
    assert vt.now - times[-1] < 0.1


async def test_retry_after_holds_everyone_back() -> None:
    vt = VirtualTime()
    limiter = RateLimiter(None, clock=vt.clock, sleep=vt.sleep)
    await limiter.acquire()
    limiter.defer(5)
    await limiter.acquire("x")
    assert vt.now >= 5
