"""Ingest benchmark: sustained SMS webhooks per second end to end, against a real `sada serve`.

    python bench/ingest_bench.py --store sqlite --seconds 20
    python bench/ingest_bench.py --store postgres --seconds 20
    python bench/ingest_bench.py --store sqlite --classifier model   # the production classifier
    python bench/ingest_bench.py --rss-model          # RSS with the trained model loaded

End to end means: the webhook is accepted, the message is a durable ticket with its reply queued
in the outbox (committed), and only then the 2xx. A closed loop of `--concurrency` clients keeps
that many webhooks in flight for `--seconds`; each latency is measured by the client. In the
same run, on the same kind of database, a bare baseline is measured the same way: a minimal
aiohttp handler (its own process) that inserts one row per request. The ratio of the two is what
the service costs over "just store it". RSS is read from /proc for the service process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bench.crash_test import (  # noqa: E402
    API_KEY,
    HOOK_SECRET,
    FakeKavenegar,
    ServeProcess,
    children_of,
    drop_pg_database,
    free_port,
    message_text,
    store_for,
    write_config,
)
from storage.engine import make_engine  # noqa: E402


@dataclass(frozen=True)
class Run:
    """One measured load."""

    target: str
    store: str
    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float


async def closed_loop(
    url: str, *, seconds: float, concurrency: int, warmup: float, label: str, store: str
) -> Run:
    """`concurrency` clients, each POSTing one new SMS after the other; latencies after the warm-up."""
    rng = random.Random(11)
    counter = iter(range(10_000_000))
    latencies: list[float] = []
    errors = 0
    start = time.monotonic()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal errors
        while (now := time.monotonic()) < stop_at:
            i = next(counter)
            form = {
                "from": f"0913{i:07d}",
                "to": "10004346",
                "message": message_text(i, rng),
                "messageid": f"{label}-{i}",
            }
            t0 = time.perf_counter()
            try:
                async with http.post(url, data=form) as resp:
                    await resp.read()
                    ok = 200 <= resp.status < 300
            except aiohttp.ClientError:
                ok = False
            elapsed = time.perf_counter() - t0
            if now >= measure_from:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    measured = max(time.monotonic() - measure_from, 1e-9)
    latencies.sort()
    return Run(
        target=label,
        store=store,
        requests=len(latencies),
        errors=errors,
        seconds=round(measured, 1),
        per_second=round(len(latencies) / measured, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 1) if latencies else float("nan"),
        p99_ms=round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else float("nan"),
    )


# --- the bare baseline: one aiohttp handler, one INSERT per request ------------------------------


def baseline_app(store_url: str) -> web.Application:
    """POST form → INSERT one row → 200. Nothing else."""
    engine = make_engine(store_url, pool_size=10)
    app = web.Application()

    async def setup(_app: web.Application) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, sender TEXT, "
                    "body TEXT, message_id TEXT UNIQUE)"
                    if store_url.startswith("sqlite")
                    else "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGSERIAL PRIMARY KEY, sender TEXT, "
                    "body TEXT, message_id TEXT UNIQUE)"
                )
            )

    async def close(_app: web.Application) -> None:
        await engine.dispose()

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO bench_baseline (sender, body, message_id) VALUES (:s, :b, :m)"),
                {"s": str(form.get("from")), "b": str(form.get("message")), "m": str(form.get("messageid"))},
            )
        return web.json_response({"status": "ok"})

    app.on_startup.append(setup)
    app.on_cleanup.append(close)
    app.router.add_post("/hook", handle)
    app.router.add_get("/healthz", lambda _r: _ok())
    return app


async def _ok() -> web.Response:
    return web.json_response({"status": "ok"})


async def start_baseline(store_url: str, folder: Path) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    log = (folder / "baseline.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--baseline-server", store_url, "--port", str(port), stdout=log, stderr=log
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return proc, port
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError("baseline server did not start")


def use_model(config: Path) -> None:
    """Switch a bench config from the keyword baseline to the trained model (the production default)."""
    model = Path(__file__).parents[1].absolute() / "var" / "nlp-model.zip"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'classifier = "keywords"', f'classifier = "model"\nmodel_path = "{model}"'
        ),
        encoding="utf-8",
    )


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def bench_store(
    store: str,
    *,
    seconds: float,
    concurrency: int,
    warmup: float,
    classifier: str = "keywords",
    workers: int = 1,
) -> dict[str, object]:
    """Sada then the baseline on one kind of database; returns both runs, the ratio and RSS."""
    folder = Path(tempfile.mkdtemp(prefix=f"sada-ingest-{store}-"))
    store_url, pg_name = await store_for(store, folder)
    fake = FakeKavenegar()
    provider_url = await fake.start()
    port = free_port()
    env = dict(os.environ, CRASH_KAVENEGAR_KEY=API_KEY, CRASH_SMS_SECRET=HOOK_SECRET)
    config = write_config(folder, store_url, port, provider_url)
    if classifier == "model":
        use_model(config)
    serve = ServeProcess(config, port, env, folder / "serve.log", workers=workers)
    try:
        await serve.start()
        assert serve.proc is not None
        url = f"http://127.0.0.1:{port}/hooks/sms/{HOOK_SECRET}"
        sada = await closed_loop(
            url, seconds=seconds, concurrency=concurrency, warmup=warmup, label="sada", store=store
        )
        rss = rss_tree_mb(serve.proc.pid)
        await serve.stop()
        proc, bport = await start_baseline(store_url, folder)
        try:
            bare = await closed_loop(
                f"http://127.0.0.1:{bport}/hook",
                seconds=seconds,
                concurrency=concurrency,
                warmup=warmup,
                label="baseline",
                store=store,
            )
        finally:
            proc.terminate()
            await proc.wait()
    finally:
        await serve.stop()
        await fake.close()
        if pg_name is not None:
            await drop_pg_database(pg_name)
    return {
        "sada": asdict(sada),
        "baseline": asdict(bare),
        "ratio": round(sada.per_second / bare.per_second, 2) if bare.per_second else None,
        "classifier": classifier,
        "workers": workers,
        "service_rss_mb": rss,
    }


async def rss_with_model(messages: int = 300) -> dict[str, object]:
    """RSS of `sada serve` with `[nlp] classifier = "model"` after some traffic."""
    folder = Path(tempfile.mkdtemp(prefix="sada-rss-"))
    fake = FakeKavenegar()
    provider_url = await fake.start()
    port = free_port()
    config = write_config(folder, f"sqlite+aiosqlite:///{folder / 'sada.db'}", port, provider_url)
    use_model(config)
    env = dict(os.environ, CRASH_KAVENEGAR_KEY=API_KEY, CRASH_SMS_SECRET=HOOK_SECRET)
    serve = ServeProcess(config, port, env, folder / "serve.log")
    try:
        await serve.start()
        assert serve.proc is not None
        idle = rss_mb(serve.proc.pid)
        url = f"http://127.0.0.1:{port}/hooks/sms/{HOOK_SECRET}"
        run = await closed_loop(url, seconds=10, concurrency=16, warmup=0, label="rss", store="sqlite")
        return {"rss_idle_mb": idle, "rss_after_load_mb": rss_mb(serve.proc.pid), "load": asdict(run)}
    finally:
        await serve.stop()
        await fake.close()


def rss_tree_mb(pid: int) -> float:
    """RSS of a process plus its children (`serve --workers N`: the supervisor and its workers)."""
    return round(rss_mb(pid) + sum(rss_mb(k) for k in children_of(pid)), 1)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(int(mem) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--classifier",
        choices=("keywords", "model"),
        default="keywords",
        help="the keyword baseline (default, cheapest) or the trained model (production default)",
    )
    parser.add_argument("--workers", type=int, default=1, help="`sada serve --workers N`")
    parser.add_argument("--rss-model", action="store_true", help="only measure RSS with the trained model")
    parser.add_argument("--baseline-server", metavar="STORE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        web.run_app(baseline_app(args.baseline_server), host="127.0.0.1", port=args.port, print=None)
        return 0
    print(json.dumps({"machine": machine()}))
    if args.rss_model:
        print(json.dumps({"rss_model": asyncio.run(rss_with_model())}), flush=True)
        return 0
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    for store in stores:
        result = asyncio.run(
            bench_store(
                store,
                seconds=args.seconds,
                concurrency=args.concurrency,
                warmup=args.warmup,
                classifier=args.classifier,
                workers=args.workers,
            )
        )
        print(json.dumps({store: result}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
