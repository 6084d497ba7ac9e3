"""Real `sada serve` processes on 127.0.0.1 (harness: bench/crash_test.py).

- crash: SMS webhooks under load, the process SIGKILLed three times and restarted; afterwards every
  acknowledged message has exactly one ticket and exactly one reply delivered, none twice.
- two processes on one PostgreSQL database: both take webhooks and both run the outbox; no reply
  is ever sent twice (the fake provider sees each outbox id once: no repeat to absorb).

The full-size crash test (5,000 messages) is `python bench/crash_test.py`; this one is bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from bench.crash_test import (
    API_KEY,
    HOOK_SECRET,
    FakeKavenegar,
    ServeProcess,
    children_of,
    free_port,
    generate,
    run_crash_test,
    verify,
    wait_drained,
    write_config,
)
from storage.store import Store

CRASH_MESSAGES = int(os.environ.get("SADA_CRASH_MESSAGES", "400"))


async def _no_op(_acked: int) -> None:
    return None


async def test_sigkill_under_load_loses_and_duplicates_nothing(store_url: str, tmp_path: Path) -> None:
    store = "sqlite" if store_url.startswith("sqlite") else "postgres"
    verdict = await run_crash_test(store, messages=CRASH_MESSAGES, kills=3, folder=tmp_path, time_limit=150)
    summary = verdict.summary()
    assert verdict.kills == 3, summary
    assert verdict.acked == CRASH_MESSAGES, summary
    assert verdict.lost == [] and verdict.duplicated_inbound == [], summary
    assert verdict.without_ticket == [] and verdict.orphan_tickets == 0, summary
    assert verdict.replies_not_one == [] and verdict.deliveries_not_one == [], summary
    assert verdict.outbox_not_sent == 0, summary


@pytest.mark.postgres
async def test_two_processes_on_postgresql_never_send_a_reply_twice(store_url: str, tmp_path: Path) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database")
    fake = FakeKavenegar()
    provider_url = await fake.start()
    env = dict(os.environ, CRASH_KAVENEGAR_KEY=API_KEY, CRASH_SMS_SECRET=HOOK_SECRET)
    processes = []
    for n in range(2):
        port = free_port()
        config = write_config(tmp_path, store_url, port, provider_url, log_level="INFO")
        processes.append(ServeProcess(config, port, env, tmp_path / f"serve-{n}.log"))
    db = Store.from_url(store_url)
    try:
        for process in processes:  # one after the other: the first creates the schema
            await process.start()
        urls = [f"http://127.0.0.1:{p.port}/hooks/sms/{HOOK_SECRET}" for p in processes]
        load = await generate(urls, 600, 24, _no_op, deadline=time.monotonic() + 120)
        assert len(load.acked) == 600
        assert await wait_drained(db, fake, 600, limit=60)
        verdict = await verify(db, fake, load, 600, kills=0)
        assert verdict.ok, verdict.summary()
        assert fake.repeats == 0, "an outbox row was sent by both processes"
        assert fake.requests == 600
    finally:
        await asyncio.gather(*(p.stop() for p in processes))
        await db.aclose()
        await fake.close()
    # Both processes really delivered: each log names the outbox rows it sent.
    sent = [p.log.read_text(encoding="utf-8").count(" sent") for p in processes]
    assert all(n > 0 for n in sent), sent
    assert sum(sent) == 600, sent


async def test_serve_with_two_workers_shares_one_port_and_sends_each_reply_once(
    store_url: str, tmp_path: Path
) -> None:
    """`sada serve --workers 2`: both workers answer on one port; 400 webhooks give 400 tickets'
    worth of intake and exactly one reply each; killing the supervisor takes its workers along."""
    fake = FakeKavenegar()
    provider_url = await fake.start()
    env = dict(os.environ, CRASH_KAVENEGAR_KEY=API_KEY, CRASH_SMS_SECRET=HOOK_SECRET)
    port = free_port()
    config = write_config(tmp_path, store_url, port, provider_url, log_level="INFO")
    serve = ServeProcess(config, port, env, tmp_path / "serve.log", workers=2)
    db = Store.from_url(store_url)
    try:
        await serve.start()  # returns once /healthz was answered by worker 0 and by worker 1
        url = f"http://127.0.0.1:{port}/hooks/sms/{HOOK_SECRET}"
        load = await generate([url], 400, 24, _no_op, deadline=time.monotonic() + 120)
        assert len(load.acked) == 400
        assert await wait_drained(db, fake, 400, limit=60)
        verdict = await verify(db, fake, load, 400, kills=0)
        assert verdict.ok, verdict.summary()
        assert fake.repeats == 0, "an outbox row was sent by both workers"
        assert fake.requests == 400
        assert serve.proc is not None
        workers = children_of(serve.proc.pid)
        assert len(workers) == 2
        serve.proc.send_signal(signal.SIGKILL)  # the supervisor alone: it cannot forward anything
        await serve.proc.wait()
        assert await asyncio.to_thread(_all_gone, workers, 10.0), "a worker outlived its supervisor"
    finally:
        await serve.stop()
        await db.aclose()
        await fake.close()


async def test_a_dead_worker_stops_the_service_and_sigterm_stops_it_cleanly(
    store_url: str, tmp_path: Path
) -> None:
    """Half a service is worse than none: a worker's death ends the supervisor with an error (for
    systemd to restart everything); SIGTERM ends it with 0 once every worker has drained."""
    env = dict(os.environ, CRASH_KAVENEGAR_KEY=API_KEY, CRASH_SMS_SECRET=HOOK_SECRET)
    runs = []
    for n in range(2):
        port = free_port()
        config = write_config(tmp_path, store_url, port, "http://127.0.0.1:9", log_level="INFO")
        runs.append(ServeProcess(config, port, env, tmp_path / f"serve-{n}.log", workers=2))
    crashed, stopped = runs
    try:
        await crashed.start()
        assert crashed.proc is not None
        first, second = children_of(crashed.proc.pid)
        os.kill(second, signal.SIGKILL)
        assert await asyncio.wait_for(crashed.proc.wait(), 30) != 0
        assert await asyncio.to_thread(_all_gone, [first, second], 10.0)

        await stopped.start()
        assert stopped.proc is not None
        workers = children_of(stopped.proc.pid)
        stopped.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(stopped.proc.wait(), 30) == 0
        assert await asyncio.to_thread(_all_gone, workers, 10.0)
        assert "2 workers serving" in (tmp_path / "serve-1.log").read_text(encoding="utf-8")
    finally:
        for run in runs:
            await run.stop()


def _all_gone(pids: list[int], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
