"""`sada demo`: the whole system in a minute, on this machine only.

It runs the real service (`bot.app.serve`: HTTP, panel, pipeline, outbox, channels) on a throw-away
SQLite store, with its Telegram and SMS channels pointed (`base_url`) at fake providers on
127.0.0.1 (bot/cli/demo_providers.py). It seeds a panel account, lets a handful of citizens write —
through the fake Bot API, which the Telegram channel polls, and as SMS that the fake Kavenegar
pushes to Sada's own webhook — and prints every answer the fakes receive. Then it keeps serving
until Ctrl+C or SIGTERM (`--once`: it stops by itself after the traffic).

The rest of the configuration (classifier, taxonomy, calendar, event loop …) is the one `--config`
names, so the demo uses the same classifier model as `sada serve`. The panel password is printed
once on the terminal and never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import re
import secrets
import signal
import socket
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import check_listen_address, serve
from bot.cli.demo_providers import HOST, Delivered, FakeBotApi, FakeKavenegar
from bot.config import AppConfig, config_from_mapping
from bot.dates.clock import SystemClock
from bot.web.panel.passwords import hash_password_async
from nlp.letters import persian_digits
from storage.store import Store

TELEGRAM, SMS = "telegram", "sms"
SMS_LINE = "10004346"
USERNAME, ROLE = "demo", "operator"
REPLY_TIMEOUT = 30.0  # seconds to wait for Sada's answer to one message
CODE = re.compile(r"[0-9۰-۹]{10}")
INDENT = " " * 30


@dataclass(frozen=True, slots=True)
class Say:
    """One citizen message: on which channel, from whom, and what (`{code}`: the tracking code
    Sada gave in its answer to the first message)."""

    channel: str
    address: str  # Telegram chat id, or the mobile number as the SMS provider forwards it
    name: str
    text: str


TRAFFIC: tuple[Say, ...] = (
    Say(
        TELEGRAM,
        "1001",
        "مریم",
        "سلام وقت بخیر، چراغ برق سر کوچه ما از پریشب خاموشه، شبا خیلی تاریکه آدم می‌ترسه رد شه",
    ),
    Say(SMS, "09121110001", "", "سلام آقا سه روزه آشغالای کوچه بهار رو نبردن، بوش کل محل رو برداشته"),
    Say(
        TELEGRAM,
        "1002",
        "رضا",
        "یه چاله گنده وسط خیابون آزادی افتاده نزدیک پمپ بنزین، دیشب یه موتوری افتاد توش",
    ),
    Say(SMS, "09351110002", "", "فوری!! بوی دود و سوختگی از انبار پشت مدرسه میاد، دود سیاه داره بلند میشه"),
    Say(TELEGRAM, "1001", "مریم", "سلام دوباره، درخواستم به کجا رسید؟ کد پیگیریش {code} بود"),
)


def add_parser(subparsers: Any) -> None:
    """Add `demo` to the `sada` parser."""
    demo = subparsers.add_parser(
        "demo", help="see it work: the service with fake providers on 127.0.0.1, a panel account, citizens"
    )
    demo.add_argument("--port", type=int, default=0, help="the service's port (default: a free one)")
    demo.add_argument(
        "--dir", help="keep the demo's store in this folder (default: a temporary one, deleted)"
    )
    demo.add_argument("--once", action="store_true", help="stop after the citizens' messages are answered")
    demo.set_defaults(run=run)


async def run(args: argparse.Namespace, config: AppConfig) -> int:
    """Carry out `sada demo`."""
    if not 0 <= args.port <= 65535:
        print(f"sada demo: --port must be 0-65535, got {args.port}", file=sys.stderr)
        return 2
    if args.dir:
        directory = _folder(args.dir)
        return await Demo(config, directory, port=args.port, once=args.once).run(kept=True)
    with tempfile.TemporaryDirectory(prefix="sada-demo-") as tmp:
        return await Demo(config, Path(tmp), port=args.port, once=args.once).run(kept=False)


def _folder(path: str) -> Path:
    folder = Path(path).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def demo_config(
    base: AppConfig, directory: Path, *, port: int, telegram_url: str, kavenegar_url: str, env: dict[str, str]
) -> AppConfig:
    """`base` with the demo's store, address, channels and panel; no digest."""
    channels = {
        TELEGRAM: {
            "kind": "telegram",
            "mode": "polling",
            "token_env": "SADA_DEMO_TELEGRAM_TOKEN",
            "base_url": f"{telegram_url}/bot",
            "base_file_url": f"{telegram_url}/file/bot",
            "poll_timeout_seconds": 10,
        },
        SMS: {
            "kind": "kavenegar",
            "api_key_env": "SADA_DEMO_KAVENEGAR_KEY",
            "sender": SMS_LINE,
            "webhook_secret_env": "SADA_DEMO_SMS_SECRET",
            "base_url": kavenegar_url,
        },
    }
    # Read like any config file, so the channels are checked and built exactly as configured ones.
    own = config_from_mapping({"channels": channels}, base_dir=directory, env=env)
    service = dataclasses.replace(base.service, host=HOST, port=port, workers=1)
    url = f"sqlite+aiosqlite:///{directory / 'demo.db'}"
    store = dataclasses.replace(base.store, url=url, echo=False)
    return dataclasses.replace(
        base, service=service, store=store, channels=own.channels, panel=own.panel, digest=own.digest
    )


async def seed_account(config: AppConfig, password: str) -> None:
    """Create (or, in a kept folder, reset) the demo's panel account on the demo's store."""
    password_hash = await hash_password_async(password)
    store = Store.from_url(config.store.url, busy_timeout_ms=config.store.busy_timeout_ms)
    try:
        await store.ensure_ready()
        async with store.transaction() as tx:
            if await tx.users.by_username(USERNAME) is None:
                await tx.users.add(USERNAME, "اپراتور نمایشی", ROLE, None, password_hash, SystemClock().now())
            else:
                await tx.users.set_password_hash(USERNAME, password_hash)
    finally:
        await store.aclose()


def out(line: str = "") -> None:
    """One line on the terminal, at once (the demo is watched as it happens)."""
    print(line, flush=True)


def show(arrow: str, who: str, text: str) -> None:
    """One line of the conversation (continuation lines indented under the text)."""
    lines = text.strip().splitlines() or [""]
    out(f"{arrow} {who:27} {lines[0]}")
    for line in lines[1:]:
        out(f"{INDENT}{line}")


class Conversation:
    """What the fake providers received from Sada, printed as it arrives and kept per address."""

    def __init__(self) -> None:
        self.received: dict[str, list[str]] = defaultdict(list)
        self._arrived = asyncio.Event()

    def deliver(self, message: Delivered) -> None:
        """A fake provider got a message from Sada (`on_sent` of bot.cli.demo_providers)."""
        channel = "Telegram" if message.provider == "telegram" else "SMS"
        show("←", f"{channel} to {message.address}", message.text)
        self.received[message.address].append(message.text)
        self._arrived.set()

    async def next_answer(self, address: str, seen: int) -> str | None:
        """The first message to `address` after the `seen` ones it had, or None after REPLY_TIMEOUT."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_TIMEOUT
        while len(self.received[address]) <= seen:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                return None
        return self.received[address][seen]


class Demo:
    """One `sada demo` run in `directory`."""

    def __init__(self, config: AppConfig, directory: Path, *, port: int, once: bool) -> None:
        self.base = config
        self.directory = directory
        self.port = port or free_port()
        self.once = once
        self.conversation = Conversation()
        self.env = {
            "SADA_DEMO_TELEGRAM_TOKEN": f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}",
            "SADA_DEMO_KAVENEGAR_KEY": secrets.token_hex(20),
            "SADA_DEMO_SMS_SECRET": secrets.token_urlsafe(24),
        }
        self.bot_api = FakeBotApi(self.env["SADA_DEMO_TELEGRAM_TOKEN"], self.conversation.deliver)
        self.kavenegar = FakeKavenegar(
            self.env["SADA_DEMO_KAVENEGAR_KEY"], SMS_LINE, self.conversation.deliver
        )
        self.url = f"http://{HOST}:{self.port}"

    async def run(self, *, kept: bool) -> int:
        """Start the fakes and the service, drive the traffic, serve until stopped."""
        traffic: asyncio.Task[bool] | None = None
        try:
            telegram_url, kavenegar_url = await self.bot_api.start(), await self.kavenegar.start()
            config = demo_config(
                self.base,
                self.directory,
                port=self.port,
                telegram_url=telegram_url,
                kavenegar_url=kavenegar_url,
                env=self.env,
            )
            check_listen_address(config.service, shared=False)  # a taken --port: one line, exit 2
            password = secrets.token_urlsafe(12)
            await seed_account(config, password)
            out("sada demo: the real service with fake providers, everything on 127.0.0.1")
            out(f"  store            {self.directory} ({'kept' if kept else 'deleted on exit'})")
            out(f"  fake Telegram    {telegram_url}/bot…  (channel {TELEGRAM!r} polls getUpdates)")
            out(f"  fake Kavenegar   {kavenegar_url}/v1/…/sms/send.json  (channel {SMS!r} sends)")
            out("starting the service (the first run on a machine trains the classifier, ~25 s) …")
            server = asyncio.create_task(serve(config))
            traffic = asyncio.create_task(self._traffic(server, password))
            await asyncio.wait({server, traffic}, return_when=asyncio.FIRST_COMPLETED)
            answered = traffic.done() and self._outcome(traffic)
            if traffic.done() and self.once and not server.done():
                out("--once: stopping the service")
                signal.raise_signal(signal.SIGTERM)  # the same clean stop as Ctrl+C
            await server  # returns once SIGINT/SIGTERM has drained it; raises if it could not start
            out("sada demo: stopped")
            return 0 if answered or not self.once else 1
        finally:
            if traffic is not None and not traffic.done():
                traffic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await traffic
            await self.bot_api.close()
            await self.kavenegar.close()

    @staticmethod
    def _outcome(traffic: asyncio.Task[bool]) -> bool:
        """Whether the finished traffic task had every message answered (its failure is printed)."""
        error = traffic.exception()
        if error is not None:
            print(f"sada demo: the citizens' messages stopped: {error!r}", file=sys.stderr, flush=True)
            return False
        return traffic.result()

    async def _traffic(self, server: asyncio.Task[None], password: str) -> bool:
        """Wait for the service, print where it is, let the citizens write; True if all were answered."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            health = await self._wait_healthy(http, server)
            if health is None:
                return False
            out(f"\n  panel    {self.url}/panel/")
            out(f"  login    {USERNAME}   password {password}   ({ROLE}; shown only here)")
            out(f"  health   {self.url}/healthz  {json.dumps(health, ensure_ascii=False)}")
            out("\nCitizens write (→) and their phones receive Sada's answers (←):")
            answered = await self._citizens_write()
        total = len(TRAFFIC)
        out(f"\n{answered} of {total} messages answered. The tickets are in the panel: {self.url}/panel/")
        if not self.once:
            out("Change a ticket's status there and the citizen's notification shows up here.")
            out("The service keeps running; Ctrl+C stops it.")
        return answered == total

    async def _wait_healthy(
        self, http: aiohttp.ClientSession, server: asyncio.Task[None]
    ) -> dict[str, Any] | None:
        """/healthz's answer once it is 200; None if the service stopped first."""
        while not server.done():
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        body: dict[str, Any] = await response.json()
                        return body
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        return None

    async def _citizens_write(self) -> int:
        """Send TRAFFIC one message at a time, each after the previous one was answered."""
        webhook = f"{self.url}/hooks/{SMS}/{self.env['SADA_DEMO_SMS_SECRET']}"
        first_code: str | None = None
        answered = 0
        for say in TRAFFIC:
            text = say.text
            if "{code}" in text:
                if first_code is None:
                    continue
                text = text.format(code=persian_digits(first_code))
            seen = len(self.conversation.received[say.address])
            if say.channel == TELEGRAM:
                show("→", f"Telegram {say.name} (chat {say.address})", text)
                self.bot_api.write(int(say.address), say.name, text)
            else:
                show("→", f"SMS from {say.address}", text)
                try:
                    status = await self.kavenegar.forward(webhook, say.address, text)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    out(f"{INDENT}(the SMS webhook could not be reached: {exc!r})")
                    continue
                if status != 200:
                    out(f"{INDENT}(Sada answered the SMS webhook with HTTP {status})")
                    continue
            answer = await self.conversation.next_answer(say.address, seen)
            if answer is None:
                out(f"{INDENT}(no answer within {REPLY_TIMEOUT:.0f} s)")
                continue
            answered += 1
            found = CODE.search(answer)
            if first_code is None and found:
                first_code = found.group()
        return answered
