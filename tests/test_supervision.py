"""bot.runtime.supervision: a background loop that crashes is logged and started again after a back-off;
one that returns is not; stopping waits for the graceful ones and cancels the rest at once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runtime.supervision import Supervisor


async def test_a_crashing_loop_is_started_again_with_a_growing_back_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []
    done = asyncio.Event()

    async def flaky() -> None:
        starts.append(loop.time())
        if len(starts) <= 3:
            raise RuntimeError(f"bug number {len(starts)}")
        done.set()
        await asyncio.Event().wait()  # then runs until cancelled

    supervisor = Supervisor(first_delay=0.05, max_delay=10)
    with caplog.at_level(logging.ERROR, logger="bot.runtime.supervision"):
        supervisor.start("poller", flaky)
        await asyncio.wait_for(done.wait(), 5)
    await supervisor.stop()
    assert supervisor.restarts == {"poller": 3}
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2  # 1×, 2×, 4× the first delay
    assert "background task poller crashed" in caplog.text and "bug number 3" in caplog.text


async def test_a_loop_that_returns_is_not_started_again() -> None:
    calls = 0

    async def nothing_to_do() -> None:
        nonlocal calls
        calls += 1

    supervisor = Supervisor(first_delay=0.01)
    supervisor.start("digest", nothing_to_do)
    await asyncio.sleep(0.1)
    await supervisor.stop()
    assert calls == 1 and supervisor.restarts == {}


async def test_stop_waits_for_graceful_loops_and_cancels_the_rest_and_the_resting() -> None:
    stopping = asyncio.Event()
    finished: list[str] = []

    async def graceful() -> None:
        await stopping.wait()
        await asyncio.sleep(0.05)  # finishing its current step
        finished.append("outbox")

    async def forever() -> None:
        await asyncio.Event().wait()

    async def broken() -> None:
        raise RuntimeError("always")

    supervisor = Supervisor(first_delay=3600)  # a restart would be an hour away
    supervisor.start("outbox", graceful)
    supervisor.start("telegram", forever)
    supervisor.start("sms", broken)
    await asyncio.sleep(0.05)
    stopping.set()
    await asyncio.wait_for(supervisor.stop(graceful=("outbox", "sms")), 5)
    assert finished == ["outbox"]  # waited for, not cancelled
    assert supervisor.restarts == {"sms": 1}  # resting when stopped: cancelled, not awaited an hour
