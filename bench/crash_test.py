"""Crash test: thousands of SMS webhooks into a real `sada serve`, SIGKILLed mid-load and restarted.

    python bench/crash_test.py --store sqlite --messages 5000 --kills 3
    python bench/crash_test.py --store postgres --messages 5000 --kills 3   # needs PostgreSQL

A load generator plays the SMS provider: it POSTs inbound SMS (each from its own number, each with
its own message id) to `/hooks/sms/<secret>` on 127.0.0.1 and, like a real provider, retries every
message until it gets a 2xx. A fake Kavenegar server in this process receives the replies and,
like Kavenegar, treats a repeated `localid` as the same message (the first send is answered, no
second SMS). Meanwhile the service is SIGKILLed whenever another share of the messages has been
acknowledged, and restarted at once. At the end (after the outbox drains) the store and the fake
are checked: every acknowledged message has exactly one inbound row, a ticket, exactly one
outbox reply marked sent and exactly one SMS delivered; no ticket without its message; no
message twice. Exit status 0 only when all of that holds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402 - after the path fix, so the repo's packages import

from storage.store import Store  # noqa: E402

PG_ADMIN_DSN = os.environ.get("SADA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
API_KEY = "CRASH-TEST-KAVENEGAR-KEY-0001"
HOOK_SECRET = "crash_test_secret_0123456789"  # noqa: S105 - a test secret
WORDS = (  # noqa: SIM905 - one Persian phrase reads better than a list
    "زباله کوچه خیابان چاله آسفالت چراغ برق آب فاضلاب درخت پارک جوی سگ ولگرد پل عابر "
    "ترافیک صدا مزاحم نور خاموش شکسته جمع نشده بوی بد خطرناک پیاده رو جدول سطل"
).split()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mobile(i: int) -> str:
    """A distinct Iranian mobile number per message (so the flood limit never applies)."""
    return f"0912{i:07d}"


def message_text(i: int, rng: random.Random) -> str:
    """A plausible request; the number makes texts distinct."""
    return " ".join(rng.choice(WORDS) for _ in range(9)) + f" پلاک {i}"


class FakeKavenegar:
    """Kavenegar's `sms/send` on 127.0.0.1: records every request, delivers each localid once."""

    def __init__(self) -> None:
        self.requests = 0
        self.delivered: dict[str, tuple[str, str, int]] = {}  # localid → (receptor, text, messageid)
        self.repeats = 0
        self._ids = itertools.count(1_000_000)
        self._runner: web.AppRunner | None = None
        self.port = free_port()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/{key}/sms/send.json", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, request: web.Request) -> web.Response:
        if request.match_info["key"] != API_KEY:
            return web.json_response({"return": {"status": 401, "message": "bad key"}})
        form = await request.post()
        self.requests += 1
        localid = str(form.get("localid", ""))
        receptor, message = str(form.get("receptor", "")), str(form.get("message", ""))
        if localid in self.delivered:
            self.repeats += 1
            _, _, messageid = self.delivered[localid]
        else:
            messageid = next(self._ids)
            self.delivered[localid] = (receptor, message, messageid)
        entry = {"messageid": messageid, "status": 1, "receptor": receptor, "message": message}
        return web.json_response({"return": {"status": 200, "message": "ok"}, "entries": [entry]})

    def deliveries_per_receptor(self) -> Counter[str]:
        return Counter(receptor for receptor, _, _ in self.delivered.values())


def children_of(pid: int) -> list[int]:
    """Child process ids (Linux /proc; empty if the process is gone)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class ServeProcess:
    """`sada serve` as a child process we can SIGKILL and start again."""

    config: Path
    port: int
    env: dict[str, str]
    log: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0
    workers: int = 1  # `serve --workers N`: healthy once every worker has answered

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(self.config),
                "serve",
                "--workers",
                str(self.workers),
                stdout=log,
                stderr=log,
                env=self.env,
            )
        await self.wait_healthy()

    async def wait_healthy(self, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        seen: set[int] = set()
        # A new connection each time: the kernel spreads connections over the workers' sockets.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.returncode is not None:
                    raise RuntimeError(f"sada serve exited with {self.proc.returncode}; see {self.log}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            seen.add(int((await resp.json()).get("worker", 0)))
                            if len(seen) >= self.workers:
                                return
                            continue
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"sada serve not healthy after {limit:.0f}s; see {self.log}")

    async def kill(self) -> None:
        """SIGKILL, like a power cut: with `--workers`, every worker first, then the supervisor."""
        assert self.proc is not None
        for pid in children_of(self.proc.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills += 1

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@dataclass
class LoadResult:
    acked: set[str] = field(default_factory=set)
    attempts: int = 0
    non_2xx: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    never_acked: set[str] = field(default_factory=set)
    seconds: float = 0.0


@dataclass
class Verdict:
    """What the store and the fake provider say after the run."""

    messages: int
    acked: int
    kills: int
    lost: list[str]
    duplicated_inbound: list[str]
    without_ticket: list[str]
    orphan_tickets: int
    replies_not_one: list[str]
    outbox_not_sent: int
    deliveries_not_one: list[str]
    provider_requests: int
    provider_repeats: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not (
                self.lost
                or self.duplicated_inbound
                or self.without_ticket
                or self.orphan_tickets
                or self.replies_not_one
                or self.outbox_not_sent
                or self.deliveries_not_one
            )
            and self.acked == self.messages
        )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "messages": self.messages,
            "acknowledged": self.acked,
            "kills": self.kills,
            "lost": len(self.lost),
            "duplicated_inbound": len(self.duplicated_inbound),
            "acknowledged_without_ticket": len(self.without_ticket),
            "tickets_without_message": self.orphan_tickets,
            "senders_without_exactly_one_reply_row": len(self.replies_not_one),
            "outbox_rows_not_sent": self.outbox_not_sent,
            "senders_without_exactly_one_sms": len(self.deliveries_not_one),
            "provider_send_requests": self.provider_requests,
            "provider_repeats_absorbed_by_localid": self.provider_repeats,
            **self.extra,
        }


async def generate(
    urls: str | list[str],
    messages: int,
    concurrency: int,
    on_ack: Any,
    *,
    deadline: float,
    seed: int = 7,
) -> LoadResult:
    """POST every message until it gets a 2xx (or the deadline passes), `concurrency` at a time;
    with several URLs (several processes), message i goes to URL i mod n."""
    urls = [urls] if isinstance(urls, str) else urls
    rng = random.Random(seed)
    texts = [message_text(i, rng) for i in range(messages)]
    result = LoadResult()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(messages):
        queue.put_nowait(i)
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=30)

    async def worker(http: aiohttp.ClientSession) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            message_id = f"crash-{i}"
            form = {"from": mobile(i), "to": "10004346", "message": texts[i], "messageid": message_id}
            delay = 0.05
            while time.monotonic() < deadline:
                result.attempts += 1
                try:
                    async with http.post(urls[i % len(urls)], data=form) as resp:
                        await resp.read()
                        if 200 <= resp.status < 300:
                            result.acked.add(message_id)
                            await on_ack(len(result.acked))
                            break
                        result.non_2xx[resp.status] += 1
                except (aiohttp.ClientError, TimeoutError):
                    result.connection_errors += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            else:
                result.never_acked.add(message_id)

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    result.seconds = time.monotonic() - started
    return result


async def wait_drained(store: Store, fake: FakeKavenegar, expected: int, limit: float) -> bool:
    """Until every expected reply reached the fake and no outbox row is pending or being sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with store.engine.connect() as conn:
            busy = await conn.scalar(
                text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
            )
        if not busy and len(fake.delivered) >= expected:
            return True
        await asyncio.sleep(0.5)
    return False


async def verify(store: Store, fake: FakeKavenegar, load: LoadResult, messages: int, kills: int) -> Verdict:
    """Compare what was acknowledged with what the store holds and what the provider delivered."""
    async with store.engine.connect() as conn:
        inbound = (
            await conn.execute(
                text("SELECT provider_message_id, ticket_id FROM inbound_messages WHERE channel = 'sms'")
            )
        ).all()
        tickets = set((await conn.execute(text("SELECT id FROM tickets"))).scalars())
        outbox = (await conn.execute(text("SELECT address, status FROM outbox WHERE channel = 'sms'"))).all()
    per_id = Counter(row[0] for row in inbound)
    ticket_of = {row[0]: row[1] for row in inbound}
    lost = sorted(m for m in load.acked if per_id[m] == 0)
    duplicated = sorted(m for m, n in per_id.items() if n > 1)
    without_ticket = sorted(m for m in load.acked if per_id[m] and ticket_of[m] not in tickets)
    linked = {row[1] for row in inbound if row[1] is not None}
    replies = Counter(row[0] for row in outbox)
    senders = {f"+98{mobile(int(m.split('-')[1]))[1:]}" for m in load.acked}
    replies_not_one = sorted(s for s in senders if replies[s] != 1)
    deliveries = fake.deliveries_per_receptor()
    deliveries_not_one = sorted(s for s in senders if deliveries["0" + s[3:]] != 1)
    # Near-duplicate reports join an open ticket: fewer tickets than messages is expected.
    extra = {
        "tickets": len(tickets),
        "inbound_rows": len(inbound),
        "joined_existing_ticket": len(inbound) - len(linked),
    }
    return Verdict(
        messages=messages,
        acked=len(load.acked),
        kills=kills,
        lost=lost,
        duplicated_inbound=duplicated,
        without_ticket=without_ticket,
        orphan_tickets=len(tickets - linked),
        replies_not_one=replies_not_one,
        outbox_not_sent=sum(1 for row in outbox if row[1] != "sent"),
        deliveries_not_one=deliveries_not_one,
        provider_requests=fake.requests,
        provider_repeats=fake.repeats,
        extra=extra,
    )


def write_config(
    folder: Path, store_url: str, port: int, provider_url: str, *, log_level: str = "WARNING"
) -> Path:
    """A config for `sada serve`: one Kavenegar SMS channel pointed at the fake, short leases."""
    config = folder / f"config-{port}.toml"
    config.write_text(
        f"""[service]
host = "127.0.0.1"
port = {port}
log_level = "{log_level}"
shutdown_timeout = 2.0

[store]
url = "{store_url}"

[nlp]
classifier = "keywords"

[outbox]
poll_interval_seconds = 0.2
lease_seconds = 3.0
backoff_base_seconds = 0.5
backoff_max_seconds = 2.0
max_attempts = 50

[flood]
max_messages = 20

[channels.sms]
kind = "kavenegar"
api_key_env = "CRASH_KAVENEGAR_KEY"
webhook_secret_env = "CRASH_SMS_SECRET"
sender = "10004346"
base_url = "{provider_url}"
messages_per_second = 5000.0
timeout_seconds = 5.0
""",
        encoding="utf-8",
    )
    return config


async def store_for(store: str, folder: Path) -> tuple[str, str | None]:
    """(database url, PostgreSQL database name to drop afterwards, or None) for "sqlite" or "postgres"."""
    if store == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'sada.db'}", None
    return await pg_database()


async def pg_database() -> tuple[str, str]:
    """A fresh PostgreSQL database: (sqlalchemy url, name)."""
    import asyncpg

    name = f"sada_crash_{os.getpid()}_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


async def drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def run_crash_test(
    store: str,
    *,
    messages: int,
    kills: int,
    concurrency: int = 32,
    folder: Path | None = None,
    time_limit: float = 900.0,
    workers: int = 1,
) -> Verdict:
    """One full run on `store` ("sqlite" or "postgres"); returns the verdict."""
    folder = folder or Path(tempfile.mkdtemp(prefix=f"sada-crash-{store}-"))
    store_url, pg_name = await store_for(store, folder)
    fake = FakeKavenegar()
    provider_url = await fake.start()
    port = free_port()
    env = dict(os.environ, CRASH_KAVENEGAR_KEY=API_KEY, CRASH_SMS_SECRET=HOOK_SECRET, PYTHONUNBUFFERED="1")
    config = write_config(folder, store_url, port, provider_url)
    serve = ServeProcess(config, port, env, folder / "serve.log", workers=workers)
    thresholds = [messages * (k + 1) // (kills + 1) for k in range(kills)]
    restarting = asyncio.Lock()
    db = Store.from_url(store_url)
    try:
        await serve.start()
        deadline = time.monotonic() + time_limit

        async def on_ack(acked: int) -> None:
            # Kill as soon as the next share of messages is acknowledged: other requests are in flight.
            if thresholds and acked >= thresholds[0] and not restarting.locked():
                async with restarting:
                    thresholds.pop(0)
                    await serve.kill()
                    await serve.start()

        url = f"http://127.0.0.1:{port}/hooks/sms/{HOOK_SECRET}"
        load = await generate(url, messages, concurrency, on_ack, deadline=deadline)
        drained = await wait_drained(db, fake, len(load.acked), limit=max(60.0, deadline - time.monotonic()))
        verdict = await verify(db, fake, load, messages, serve.kills)
        verdict.extra.update(
            {
                "store": store,
                "load_seconds": round(load.seconds, 1),
                "webhook_attempts": load.attempts,
                "non_2xx_answers": dict(load.non_2xx),
                "connection_errors": load.connection_errors,
                "outbox_drained": drained,
                "starts": serve.starts,
            }
        )
        return verdict
    finally:
        await serve.stop()
        await db.aclose()
        await fake.close()
        if pg_name is not None:
            await drop_pg_database(pg_name)


def main() -> int:
    """Run the crash test on the chosen stores and print one JSON verdict per store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds per store")
    parser.add_argument("--workers", type=int, default=1, help="`sada serve --workers N` (all killed)")
    args = parser.parse_args()
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    ok = True
    for store in stores:
        verdict = asyncio.run(
            run_crash_test(
                store,
                messages=args.messages,
                kills=args.kills,
                concurrency=args.concurrency,
                time_limit=args.time_limit,
                workers=args.workers,
            )
        )
        print(json.dumps(verdict.summary(), ensure_ascii=False), flush=True)
        ok = ok and verdict.ok and verdict.kills >= args.kills
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
