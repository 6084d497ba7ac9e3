"""Crash test: webhooks into a real `sada serve`, SIGKILLed mid-load and restarted; per provider.

    python bench/crash_test.py --store sqlite --messages 5000 --kills 3
    python bench/crash_test.py --store sqlite --provider melipayamak --messages 1000 --kills 3
    python bench/crash_test.py --store postgres --messages 5000 --kills 3   # needs PostgreSQL

A load generator plays the provider: it sends each citizen's message (each from its own number or
chat) to the channel's webhook on 127.0.0.1 in that provider's wire format and, like a real
provider, retries every message until it gets a 2xx. A fake of the provider's send API in this
process receives the replies (`--provider`): Kavenegar, which treats a repeated `localid` as the
same message (the first send is answered, no second SMS); Melipayamak and SMS.ir, which have no
idempotency key (every accepted request is an SMS); Telegram's Bot API (`sendMessage`, no key
either). SMS.ir receives no webhooks of its own, so its run feeds a generic SMS webhook that
replies through the SMS.ir account. Meanwhile the service is SIGKILLed whenever another share of
the messages has been acknowledged, and restarted at once.

At the end (after the outbox drains) the store and the fake are checked: every acknowledged
message has exactly one inbound row, a ticket, exactly one outbox reply marked sent, and its
sender got the reply; no ticket without its message; no message twice. Replies the provider was
asked to send more than once (a row sent but not yet marked sent when the process died, sent
again after its lease ran out) are counted per reply (recipient and text): those a key absorbed,
and those the citizen received more than once. Exit status 0 only when all of that holds and no
citizen got a reply twice (or no more than `--max-repeats`).
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


def chat_id(i: int) -> int:
    """A distinct Telegram chat per message."""
    return 700_000_000 + i


def message_text(i: int, rng: random.Random) -> str:
    """A plausible request; the number makes texts distinct."""
    return " ".join(rng.choice(WORDS) for _ in range(9)) + f" پلاک {i}"


PROVIDERS = ("kavenegar", "melipayamak", "smsir", "telegram")
TELEGRAM_TOKEN = "123456789:CRASH-TEST-telegram-token-abcdef"  # noqa: S105 - a test token
MELIPAYAMAK_PASSWORD = "crash-test-melipayamak-password"  # noqa: S105 - a test secret


@dataclass(frozen=True, slots=True)
class Accepted:
    """One send request a fake provider accepted."""

    recipient: str
    text: str
    delivered: bool  # False when the provider's idempotency key absorbed it (no second message)


class FakeProvider:
    """A provider's send API on 127.0.0.1: records every accepted request, per recipient and text."""

    name = "provider"
    routes: tuple[tuple[str, str], ...] = ()  # (method, path) served by `_send`

    def __init__(self) -> None:
        self.requests = 0
        self.accepted: list[Accepted] = []
        self._keys: dict[str, int] = {}  # idempotency key → message id (providers that have one)
        self._ids = itertools.count(1_000_000)
        self._runner: web.AppRunner | None = None
        self.port = free_port()

    @property
    def repeats(self) -> int:
        """Requests a provider's idempotency key absorbed (no second message)."""
        return sum(1 for a in self.accepted if not a.delivered)

    async def start(self) -> str:
        app = web.Application()
        for method, path in self.routes:
            app.router.add_route(method, path, self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    def _accept(self, recipient: str, text: str, key: str | None = None) -> int:
        """Record one accepted request; returns the provider's message id."""
        self.requests += 1
        if key is not None and key in self._keys:
            self.accepted.append(Accepted(recipient, text, delivered=False))
            return self._keys[key]
        message_id = next(self._ids)
        if key is not None:
            self._keys[key] = message_id
        self.accepted.append(Accepted(recipient, text, delivered=True))
        return message_id

    def replies(self) -> set[tuple[str, str]]:
        """Distinct (recipient, text) the citizens received."""
        return {(a.recipient, a.text) for a in self.accepted if a.delivered}

    def deliveries_per_receptor(self) -> Counter[str]:
        """Messages each recipient received (a repeat the key absorbed is not one)."""
        return Counter(a.recipient for a in self.accepted if a.delivered)

    def repeat_figures(self) -> dict[str, int]:
        """Replies sent more than once, counted per reply (recipient and text)."""
        requested = Counter((a.recipient, a.text) for a in self.accepted)
        delivered = Counter((a.recipient, a.text) for a in self.accepted if a.delivered)
        return {
            "replies_requested_more_than_once": sum(1 for n in requested.values() if n > 1),
            "replies_delivered_more_than_once": sum(1 for n in delivered.values() if n > 1),
            "extra_messages_delivered": sum(n - 1 for n in delivered.values()),
            "repeats_absorbed_by_provider_key": self.repeats,
        }


class FakeKavenegar(FakeProvider):
    """Kavenegar's `sms/send`: delivers each `localid` once (a repeat gets the first message id)."""

    name = "kavenegar"
    routes = (("POST", "/v1/{key}/sms/send.json"),)

    def __init__(self) -> None:
        super().__init__()
        self.delivered: dict[str, tuple[str, str, int]] = {}  # localid → (receptor, text, messageid)

    async def _send(self, request: web.Request) -> web.Response:
        if request.match_info["key"] != API_KEY:
            return web.json_response({"return": {"status": 401, "message": "bad key"}})
        form = await request.post()
        localid = str(form.get("localid", ""))
        receptor, message = str(form.get("receptor", "")), str(form.get("message", ""))
        messageid = self._accept(receptor, message, key=localid)
        self.delivered.setdefault(localid, (receptor, message, messageid))
        entry = {"messageid": messageid, "status": 1, "receptor": receptor, "message": message}
        return web.json_response({"return": {"status": 200, "message": "ok"}, "entries": [entry]})


class FakeMelipayamak(FakeProvider):
    """Melipayamak's REST `SendSMS`: no idempotency key, every accepted request is an SMS."""

    name = "melipayamak"
    routes = (("POST", "/api/SendSMS/SendSMS"),)

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("password") != MELIPAYAMAK_PASSWORD:
            return web.json_response({"Value": "0", "RetStatus": 0, "StrRetStatus": "InvalidUserPass"})
        message_id = self._accept(str(body.get("to", "")), str(body.get("text", "")))
        return web.json_response({"Value": str(message_id), "RetStatus": 1, "StrRetStatus": "Ok"})


class FakeSmsIr(FakeProvider):
    """SMS.ir's `v1/send/bulk`: no idempotency key (lineNumber, messageText, mobiles, sendDateTime)."""

    name = "smsir"
    routes = (("POST", "/v1/send/bulk"),)

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-KEY") != API_KEY:
            return web.json_response({"status": 0, "message": "invalid key", "data": None}, status=401)
        body = await request.json()
        mobiles = body.get("mobiles") or [""]
        message_id = self._accept(str(mobiles[0]), str(body.get("messageText", "")))
        data = {"packId": f"p{message_id}", "messageIds": [message_id], "cost": 1}
        return web.json_response({"status": 1, "message": "موفق", "data": data})


class FakeTelegram(FakeProvider):
    """The Bot API's `sendMessage`: no idempotency key, every accepted call is a message in the chat."""

    name = "telegram"
    routes = (("POST", "/bot{token}/{method}"), ("GET", "/bot{token}/{method}"))

    async def _send(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        if request.match_info["method"] != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        chat = str(params.get("chat_id", ""))
        message_id = self._accept(chat, str(params.get("text", "")))
        result = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
            "text": params.get("text", ""),
        }
        return web.json_response({"ok": True, "result": result})


def fake_provider(provider: str) -> FakeProvider:
    """The fake send API of `provider`."""
    fakes: dict[str, type[FakeProvider]] = {
        "kavenegar": FakeKavenegar,
        "melipayamak": FakeMelipayamak,
        "smsir": FakeSmsIr,
        "telegram": FakeTelegram,
    }
    return fakes[provider]()


@dataclass(frozen=True, slots=True)
class Wire:
    """How a provider delivers citizen message i to our webhook, and whom the reply goes to."""

    provider: str
    channel: str  # the channel receiving the webhooks (and owning the reply rows)

    def hook_url(self, base: str) -> str:
        return f"{base}/hooks/{self.channel}/{HOOK_SECRET}"

    def request(self, i: int, text: str) -> dict[str, Any]:
        """aiohttp request arguments (method, params/data/json, headers) for message i."""
        match self.provider:
            case "kavenegar":
                form = {"from": mobile(i), "to": "10004346", "message": text, "messageid": f"crash-{i}"}
                return {"method": "POST", "data": form}
            case "melipayamak":  # a GET forward without any message id (recognised by content)
                return {"method": "GET", "params": {"to": "50004001", "body": text, "from": mobile(i)}}
            case "smsir":  # a generic SMS gateway's webhook, replies through the SMS.ir account
                form = {"msisdn": mobile(i), "shortcode": "30007732", "content": text, "ref": f"crash-{i}"}
                return {"method": "POST", "data": form}
        update = {
            "update_id": i + 1,
            "message": {
                "message_id": i + 1,
                "date": int(time.time()),
                "chat": {"id": chat_id(i), "type": "private"},
                "from": {"id": chat_id(i), "is_bot": False, "first_name": "شهروند"},
                "text": text,
            },
        }
        return {"method": "POST", "json": update, "headers": {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}}

    def address(self, i: int) -> str:
        """Message i's sender as the store keeps it."""
        return str(chat_id(i)) if self.provider == "telegram" else "+98" + mobile(i)[1:]

    def recipient(self, i: int) -> str:
        """Message i's sender as the provider's send API sees the reply's recipient."""
        return str(chat_id(i)) if self.provider == "telegram" else mobile(i)


def wire_of(provider: str) -> Wire:
    return Wire(provider, "telegram" if provider == "telegram" else "sms")


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
    provider: str = "kavenegar"
    without_reply: list[str] = field(default_factory=list)
    repeats: dict[str, int] = field(default_factory=dict)
    max_repeats: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing lost or stored twice, every sender answered, and at most `max_repeats` citizens
        got their reply more than once (with the default 0: every sender exactly one message)."""
        repeated = self.repeats.get("replies_delivered_more_than_once", 0)
        return (
            not (
                self.lost
                or self.duplicated_inbound
                or self.without_ticket
                or self.orphan_tickets
                or self.replies_not_one
                or self.outbox_not_sent
                or self.without_reply
            )
            and (not self.deliveries_not_one if self.max_repeats == 0 else repeated <= self.max_repeats)
            and self.acked == self.messages
        )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "provider": self.provider,
            "messages": self.messages,
            "acknowledged": self.acked,
            "kills": self.kills,
            "lost": len(self.lost),
            "duplicated_inbound": len(self.duplicated_inbound),
            "acknowledged_without_ticket": len(self.without_ticket),
            "tickets_without_message": self.orphan_tickets,
            "senders_without_exactly_one_reply_row": len(self.replies_not_one),
            "outbox_rows_not_sent": self.outbox_not_sent,
            "senders_without_a_reply": len(self.without_reply),
            "senders_without_exactly_one_message": len(self.deliveries_not_one),
            "provider_send_requests": self.provider_requests,
            **self.repeats,
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
    wire: Wire | None = None,
) -> LoadResult:
    """Send every message until it gets a 2xx (or the deadline passes), `concurrency` at a time, in
    the wire format of `wire` (default Kavenegar); with several URLs (several processes), message i
    goes to URL i mod n."""
    urls = [urls] if isinstance(urls, str) else urls
    wire = wire or wire_of("kavenegar")
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
            args = wire.request(i, texts[i])
            delay = 0.05
            while time.monotonic() < deadline:
                result.attempts += 1
                try:
                    async with http.request(url=urls[i % len(urls)], **args) as resp:
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


async def wait_drained(store: Store, fake: FakeProvider, expected: int, limit: float) -> bool:
    """Until every expected reply reached the fake and no outbox row is pending or being sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with store.engine.connect() as conn:
            busy = await conn.scalar(
                text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
            )
        if not busy and len(fake.replies()) >= expected:
            return True
        await asyncio.sleep(0.5)
    return False


async def verify(
    store: Store,
    fake: FakeProvider,
    load: LoadResult,
    messages: int,
    kills: int,
    *,
    wire: Wire | None = None,
    max_repeats: int = 0,
) -> Verdict:
    """Compare what was acknowledged with what the store holds and what the provider delivered."""
    wire = wire or wire_of("kavenegar")
    async with store.engine.connect() as conn:
        inbound = (
            await conn.execute(
                text(
                    "SELECT i.address, m.ticket_id FROM inbound_messages m "
                    "JOIN identities i ON i.id = m.identity_id WHERE m.channel = :channel"
                ),
                {"channel": wire.channel},
            )
        ).all()
        tickets = set((await conn.execute(text("SELECT id FROM tickets"))).scalars())
        outbox = (
            await conn.execute(
                text("SELECT address, status FROM outbox WHERE channel = :channel"), {"channel": wire.channel}
            )
        ).all()
    # Every message comes from its own sender: per sender is per message.
    sender_of = {m: wire.address(int(m.split("-")[1])) for m in load.acked}
    per_sender = Counter(row[0] for row in inbound)
    ticket_of = {row[0]: row[1] for row in inbound}
    lost = sorted(m for m, s in sender_of.items() if per_sender[s] == 0)
    duplicated = sorted(s for s, n in per_sender.items() if n > 1)
    without_ticket = sorted(m for m, s in sender_of.items() if per_sender[s] and ticket_of[s] not in tickets)
    linked = {row[1] for row in inbound if row[1] is not None}
    replies = Counter(row[0] for row in outbox)
    replies_not_one = sorted(s for s in sender_of.values() if replies[s] != 1)
    deliveries = fake.deliveries_per_receptor()
    recipient_of = {m: wire.recipient(int(m.split("-")[1])) for m in load.acked}
    deliveries_not_one = sorted(r for r in recipient_of.values() if deliveries[r] != 1)
    without_reply = sorted(r for r in recipient_of.values() if deliveries[r] == 0)
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
        provider=wire.provider,
        without_reply=without_reply,
        repeats=fake.repeat_figures(),
        max_repeats=max_repeats,
        extra=extra,
    )


_COMMON = """[service]
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
"""

_CHANNELS = {
    "kavenegar": """
[channels.sms]
kind = "kavenegar"
api_key_env = "CRASH_KAVENEGAR_KEY"
webhook_secret_env = "CRASH_SMS_SECRET"
sender = "10004346"
base_url = "{provider_url}"
messages_per_second = 5000.0
timeout_seconds = 5.0
""",
    "melipayamak": """
[channels.sms]
kind = "melipayamak"
username = "crash"
password_env = "CRASH_MELIPAYAMAK_PASSWORD"
webhook_secret_env = "CRASH_SMS_SECRET"
sender = "50004001"
base_url = "{provider_url}"
messages_per_second = 5000.0
timeout_seconds = 5.0
""",
    "smsir": """
[channels.smsir]
kind = "smsir"
api_key_env = "CRASH_KAVENEGAR_KEY"
line_number = "30007732"
base_url = "{provider_url}"
messages_per_second = 5000.0
timeout_seconds = 5.0

[channels.sms]
kind = "generic_sms"
webhook_secret_env = "CRASH_SMS_SECRET"
fields = {{ from = "msisdn", to = "shortcode", text = "content", id = "ref" }}
reply_via = "smsir"
""",
    "telegram": """
[channels.telegram]
kind = "telegram"
token_env = "CRASH_TELEGRAM_TOKEN"
webhook_secret_env = "CRASH_SMS_SECRET"
base_url = "{provider_url}/bot"
messages_per_second = 5000.0
chat_interval_seconds = 0.0
timeout_seconds = 5.0
""",
}


def write_config(
    folder: Path,
    store_url: str,
    port: int,
    provider_url: str,
    *,
    log_level: str = "WARNING",
    provider: str = "kavenegar",
) -> Path:
    """A config for `sada serve`: the provider's channel pointed at the fake, short leases."""
    config = folder / f"config-{port}.toml"
    values = {"port": port, "log_level": log_level, "store_url": store_url, "provider_url": provider_url}
    config.write_text(_COMMON.format(**values) + _CHANNELS[provider].format(**values), encoding="utf-8")
    return config


def service_env() -> dict[str, str]:
    """The environment `sada serve` reads its secrets from."""
    return dict(
        os.environ,
        CRASH_KAVENEGAR_KEY=API_KEY,
        CRASH_SMS_SECRET=HOOK_SECRET,
        CRASH_MELIPAYAMAK_PASSWORD=MELIPAYAMAK_PASSWORD,
        CRASH_TELEGRAM_TOKEN=TELEGRAM_TOKEN,
        PYTHONUNBUFFERED="1",
    )


async def store_for(store: str, folder: Path) -> tuple[str, str | None]:
    """(database url, PostgreSQL database name to drop afterwards, or None) for "sqlite" or "postgres"."""
    if store == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'sada.db'}", None
    return await pg_database()


async def pg_database(prefix: str = "sada_crash") -> tuple[str, str]:
    """A fresh PostgreSQL database: (sqlalchemy url, name); its name starts with `prefix`."""
    import asyncpg

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
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
    provider: str = "kavenegar",
    max_repeats: int = 0,
) -> Verdict:
    """One full run on `store` ("sqlite" or "postgres") against `provider`; returns the verdict."""
    folder = folder or Path(tempfile.mkdtemp(prefix=f"sada-crash-{store}-"))
    store_url, pg_name = await store_for(store, folder)
    fake = fake_provider(provider)
    wire = wire_of(provider)
    provider_url = await fake.start()
    port = free_port()
    config = write_config(folder, store_url, port, provider_url, provider=provider)
    serve = ServeProcess(config, port, service_env(), folder / "serve.log", workers=workers)
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

        url = wire.hook_url(f"http://127.0.0.1:{port}")
        load = await generate(url, messages, concurrency, on_ack, deadline=deadline, wire=wire)
        drained = await wait_drained(db, fake, len(load.acked), limit=max(60.0, deadline - time.monotonic()))
        verdict = await verify(db, fake, load, messages, serve.kills, wire=wire, max_repeats=max_repeats)
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
    """Run the crash test on the chosen stores and providers; print one JSON verdict per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--provider", choices=(*PROVIDERS, "all"), default="kavenegar", help="whose wire format and send API"
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--workers", type=int, default=1, help="`sada serve --workers N` (all killed)")
    parser.add_argument(
        "--max-repeats",
        type=int,
        default=0,
        help="citizens who may get a reply twice before the run counts as failed (at-least-once providers)",
    )
    args = parser.parse_args()
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    providers = PROVIDERS if args.provider == "all" else (args.provider,)
    ok = True
    for store in stores:
        for provider in providers:
            verdict = asyncio.run(
                run_crash_test(
                    store,
                    messages=args.messages,
                    kills=args.kills,
                    concurrency=args.concurrency,
                    time_limit=args.time_limit,
                    workers=args.workers,
                    provider=provider,
                    max_repeats=args.max_repeats,
                )
            )
            print(json.dumps(verdict.summary(), ensure_ascii=False), flush=True)
            ok = ok and verdict.ok and verdict.kills >= args.kills
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
