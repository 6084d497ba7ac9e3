"""Fake provider servers for `sada demo`, on 127.0.0.1: a Telegram Bot API and a Kavenegar account.

Demo-only and minimal: each speaks just the part of its documented wire format the demo's channels
use (the team's protocols notes: the Bot API's `/bot<TOKEN>/<METHOD>` with the `{"ok": …}`
envelope, unknown methods `{"ok": false, "error_code": 400}`; Kavenegar's
`/v1/<API_KEY>/sms/<method>.json` with success in `return.status`). Nothing here misbehaves on
purpose; the test suite has its own, fuller fakes. Every message Sada sends is handed to `on_sent`,
which is how the demo shows the citizen's side of the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message Sada handed to a fake provider: what the citizen's phone would show."""

    provider: str  # "telegram" | "kavenegar"
    address: str  # the chat id, or the receptor's mobile number as Kavenegar receives it
    text: str


OnSent = Callable[[Delivered], None]


class FakeServer:
    """An aiohttp app served on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        """The provider's routes."""
        raise NotImplementedError

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; returns the server's base URL."""
        # No access log (request paths hold the token or API key); a short drain on close.
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{HOST}:{port}"
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class FakeBotApi(FakeServer):
    """Telegram's Bot API for one bot: citizens `write()`, the channel long-polls `getUpdates`."""

    def __init__(self, token: str, on_sent: OnSent) -> None:
        super().__init__()
        self._token = token
        self._on_sent = on_sent
        self._updates: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._closing = False
        # Ids from the clock, so a demo run again on the same store (--dir) is not a redelivery.
        start = int(time.time())
        self._update_ids = itertools.count(start)
        self._message_ids = itertools.count(start)

    def app(self) -> web.Application:
        """`/bot<TOKEN>/<METHOD>`."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    def write(self, chat_id: int, first_name: str, text: str) -> None:
        """A citizen sends the bot a text in a private chat (delivered by the next getUpdates)."""
        user = {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "fa"}
        message = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "date": int(time.time()),
            "text": text,
        }
        self._updates.append({"update_id": next(self._update_ids), "message": message})
        self._arrived.set()

    async def close(self) -> None:
        """End any pending long poll, then stop listening."""
        self._closing = True
        self._arrived.set()
        await super().close()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        # python-telegram-bot posts forms (nested objects as JSON strings); others may post JSON.
        if request.content_type == "application/json":
            params: dict[str, Any] = await request.json()
        else:
            params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        method = request.match_info["method"]
        match method:
            case "getUpdates":
                result: Any = await self._get_updates(params)
            case "sendMessage":
                result = self._send_message(params)
            case "getMe":
                result = {"id": 1, "is_bot": True, "first_name": "Sada", "username": "sada_demo_bot"}
            case "deleteWebhook" | "setWebhook" | "answerCallbackQuery" | "editMessageReplyMarkup":
                result = True
            case _:
                description = f"Bad Request: method {method} not supported by the demo"
                return web.json_response(
                    {"ok": False, "error_code": 400, "description": description}, status=400
                )
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Updates from `offset` on; with none, wait up to `timeout` seconds (long polling)."""
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and not self._closing:
            self._arrived.clear()
            timeout = min(float(params.get("timeout") or 0), 50.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        return list(self._updates)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, text = str(params.get("chat_id", "")), str(params.get("text", ""))
        self._on_sent(Delivered("telegram", chat_id, text))
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "text": text,
        }


class FakeKavenegar(FakeServer):
    """A Kavenegar account with one line: `sms/send` from Sada, and push forwarding of inbound SMS
    to Sada's webhook (the URL an operator enters in Kavenegar's panel)."""

    def __init__(self, api_key: str, line: str, on_sent: OnSent) -> None:
        super().__init__()
        self._key = api_key
        self.line = line
        self._on_sent = on_sent
        self._ids = itertools.count(int(time.time()))
        self._client: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        """`/v1/<API_KEY>/sms/<method>.json`, GET or POST form."""
        app = web.Application()
        app.router.add_route("*", "/v1/{key}/sms/{method}.json", self._handle)
        return app

    async def forward(self, webhook_url: str, sender: str, text: str) -> int:
        """Push one inbound SMS to `webhook_url` as a form; returns the HTTP status Sada answered."""
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        form = {"from": sender, "to": self.line, "message": text, "messageid": str(next(self._ids))}
        async with self._client.post(webhook_url, data=form) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        """Close the forwarding client, then stop listening."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        await super().close()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["key"] != self._key:
            body = {"return": {"status": 403, "message": "invalid API key"}, "entries": None}
            return web.json_response(body, status=403)
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        method = request.match_info["method"]
        if method == "receive":  # inbound arrives by push forwarding here, so nothing is unread
            return web.json_response({"return": {"status": 200, "message": "تایید شد"}, "entries": []})
        if method != "send" or not params.get("receptor") or not params.get("message"):
            body = {"return": {"status": 400, "message": "not supported by the demo"}, "entries": None}
            return web.json_response(body, status=400)
        self._on_sent(Delivered("kavenegar", params["receptor"], params["message"]))
        entry = {
            "messageid": next(self._ids),
            "message": params["message"],
            "status": 1,
            "statustext": "در صف ارسال",
            "sender": params.get("sender", self.line),
            "receptor": params["receptor"],
            "date": int(time.time()),
            "cost": 120,
        }
        return web.json_response({"return": {"status": 200, "message": "تایید شد"}, "entries": [entry]})
