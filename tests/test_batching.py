"""bot.runtime.batching.Batcher: concurrent submits share batches, each caller gets its own result, and no
item is ever left in the queue with no lane to take it."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime.batching import Batcher


async def test_concurrent_submits_share_batches_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    async def handle(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        await asyncio.sleep(0.01)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(handle, max_batch=4)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)), return_exceptions=True)
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        0,
        "odd 1",
        20,
        "odd 3",
        40,
        "odd 5",
        60,
        "odd 7",
        80,
        "odd 9",
    ]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # queued while the first ran: batched


async def test_a_submit_as_the_lane_finishes_is_not_stranded() -> None:
    """The lane's last batch and another task's submit are woken in the same loop iteration,
    lane first: the lane finds the queue empty and ends, then the submit comes. The submit
    must start a new lane (it used to see the ending one as still running, and waited forever:
    this stalled the outbox's settling, and with it every reply, in a crash-test run)."""
    gate = asyncio.Event()

    async def handle(items: list[str]) -> list[str]:
        await gate.wait()  # the lane waits on the gate first...
        return [f"done {i}" for i in items]

    batcher: Batcher[str, str] = Batcher(handle, max_batch=10)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0)  # the lane is now inside handle, waiting on the gate

    async def late() -> str:
        await gate.wait()  # ...this task second: it runs right after the lane's last step
        return await batcher.submit("b")

    second = asyncio.create_task(late())
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.wait_for(first, 2) == "done a"
    assert await asyncio.wait_for(second, 2) == "done b"


async def test_when_handle_raises_every_caller_of_that_batch_gets_the_error_and_the_next_batch_runs() -> None:
    calls = 0

    async def handle(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("store down")
        return items

    batcher: Batcher[int, int] = Batcher(handle)
    first = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in first)
    assert await batcher.submit(3) == 3


async def test_a_cancelled_caller_does_not_cancel_the_batch() -> None:
    release = asyncio.Event()
    handled: list[list[int]] = []

    async def handle(items: list[int]) -> list[int]:
        await release.wait()
        handled.append(items)
        return items

    batcher: Batcher[int, int] = Batcher(handle)
    impatient = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    release.set()
    assert await asyncio.wait_for(batcher.submit(2), 2) == 2
    assert handled == [[1], [2]]


async def test_with_several_lanes_an_items_key_waits_for_the_batch_holding_that_key() -> None:
    """Two lanes: while the batch holding a sender's first message is handled, that sender's
    second message waits (another sender's goes ahead in the second lane), then follows."""
    gate = asyncio.Event()
    order: list[str] = []

    async def handle(items: list[tuple[str, str]]) -> list[str]:
        if ("ali", "request") in items:
            await gate.wait()
        order.extend(text for _, text in items)
        return [text for _, text in items]

    batcher: Batcher[tuple[str, str], str] = Batcher(handle, lanes=2, key=lambda item: item[0])
    first = asyncio.create_task(batcher.submit(("ali", "request")))
    await asyncio.sleep(0)  # the first batch is being handled
    query = asyncio.create_task(batcher.submit(("ali", "status")))
    other = asyncio.create_task(batcher.submit(("sara", "hello")))
    assert await asyncio.wait_for(other, 2) == "hello"  # not held up by ali's batch
    await asyncio.sleep(0.05)
    assert not query.done()  # ali's status waits for ali's request
    gate.set()
    assert await asyncio.wait_for(asyncio.gather(first, query), 2) == ["request", "status"]
    assert order == ["hello", "request", "status"]
