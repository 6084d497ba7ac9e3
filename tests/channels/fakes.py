"""Fake provider servers speaking the documented wire formats, on 127.0.0.1 (aiohttp apps).

Each records what it received and can be told to misbehave: answer 429 with a retry-after,
500, a provider-level error, or answer slowly (past the client's timeout).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    """One request a fake received."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class Script:
    """Queued misbehaviour: each `fail_next` entry answers one request instead of the normal reply."""

    def __init__(self) -> None:
        self._queue: deque[tuple[int, Any] | float] = deque()
        self.flaky_every: int | None = None
        self._count = itertools.count(1)

    def fail_next(self, *answers: tuple[int, Any] | float) -> None:
        """(status, JSON body) answers, or a float: sleep that long before answering normally."""
        self._queue.extend(answers)

    async def override(self, flaky: tuple[int, Any]) -> web.Response | None:
        n = next(self._count)
        if self._queue:
            answer = self._queue.popleft()
            if isinstance(answer, float):
                await asyncio.sleep(answer)
                return None
            status, body = answer
            return web.json_response(body, status=status)
        if self.flaky_every and n % self.flaky_every == 0:
            return web.json_response(flaky[1], status=flaky[0])
        return None


async def start(app: web.Application) -> TestServer:
    """Serve `app` on a free port of 127.0.0.1."""
    # No access log: the fakes are the providers' side, whose logs are not ours to police.
    server = TestServer(app, host="127.0.0.1", access_log=None)
    await server.start_server()
    return server


class FakeBotApi:
    """The Telegram/Bale Bot API: `/bot<TOKEN>/<METHOD>`, form or JSON parameters."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.script = Script()
        self.updates: list[dict[str, Any]] = []
        self.blocked: set[str] = set()
        self._ids = itertools.count(100)
        self.server: TestServer | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    async def start(self) -> str:
        self.server = await start(self.app())
        return str(self.server.make_url("/bot"))

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def sent(self, chat_id: str | None = None) -> list[dict[str, Any]]:
        """sendMessage parameters received (reply_markup decoded)."""
        out = []
        for call in self.calls:
            if call.method == "sendMessage" and (chat_id is None or str(call.params["chat_id"]) == chat_id):
                params = dict(call.params)
                if isinstance(params.get("reply_markup"), str):
                    params["reply_markup"] = json.loads(params["reply_markup"])
                out.append(params)
        return out

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        if method == "sendMessage":
            failure = await self.script.override(
                (
                    429,
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1},
                    },
                )
            )
            if failure is not None:
                return failure
            if str(params.get("chat_id")) in self.blocked:
                return web.json_response(
                    {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                    status=403,
                )
        self.calls.append(Call(method, params))
        result = self._result(method, params)
        if result is None:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": f"Bad Request: method {method} not found"},
                status=400,
            )
        return web.json_response({"ok": True, "result": result})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        now = int(time.time())
        match method:
            case "getMe":
                return {"id": 1, "is_bot": True, "first_name": "Sada", "username": "sada_bot"}
            case "getUpdates":
                updates, self.updates = self.updates, []
                offset = int(params.get("offset") or 0)
                return [u for u in updates if u["update_id"] >= offset]
            case "setWebhook" | "deleteWebhook" | "answerCallbackQuery" | "editMessageReplyMarkup":
                return True
            case "sendMessage" | "sendPhoto":
                chat = int(params["chat_id"])
                return {
                    "message_id": next(self._ids),
                    "date": now,
                    "chat": {"id": chat, "type": "private"},
                    "text": params.get("text", ""),
                }
            case "getFile":
                return {"file_id": params.get("file_id"), "file_unique_id": "u1", "file_path": "photos/1.jpg"}
        return None


class FakeSmsProviders:
    """Kavenegar, Melipayamak and SMS.ir on one server, each at its documented path."""

    def __init__(self, *, kavenegar_key: str, smsir_key: str, melipayamak_password: str) -> None:
        self.kavenegar_key = kavenegar_key
        self.smsir_key = smsir_key
        self.melipayamak_password = melipayamak_password
        self.kavenegar: list[Call] = []
        self.melipayamak: list[Call] = []
        self.smsir: list[Call] = []
        self.inbox: list[dict[str, Any]] = []  # what Kavenegar's sms/receive returns next
        self.kavenegar_script = Script()
        self.melipayamak_script = Script()
        self.smsir_script = Script()
        self._ids = itertools.count(5000)
        self.server: TestServer | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1/{key}/sms/{method}.json", self._kavenegar)
        app.router.add_post("/api/SendSMS/SendSMS", self._melipayamak)
        app.router.add_post("/v1/send/bulk", self._smsir)
        return app

    async def start(self) -> str:
        self.server = await start(self.app())
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def texts(self) -> list[tuple[str, str, str]]:
        """(provider, receptor, text) of every accepted send, in order."""
        out = [
            ("kavenegar", c.params["receptor"], c.params["message"])
            for c in self.kavenegar
            if "message" in c.params
        ]
        out += [("melipayamak", c.params["to"], c.params["text"]) for c in self.melipayamak]
        out += [("smsir", c.params["mobiles"][0], c.params["messageText"]) for c in self.smsir]
        return sorted(out, key=lambda t: t[0])

    async def _kavenegar(self, request: web.Request) -> web.Response:
        if request.match_info["key"] != self.kavenegar_key:
            return web.json_response(
                {"return": {"status": 403, "message": "invalid API key"}, "entries": None}, status=403
            )
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        method = request.match_info["method"]
        if method == "receive":
            entries, self.inbox = self.inbox, []
            return web.json_response({"return": {"status": 200, "message": "تایید شد"}, "entries": entries})
        if method != "send":
            return web.json_response(
                {"return": {"status": 404, "message": "method not found"}, "entries": None}, status=404
            )
        failure = await self.kavenegar_script.override((500, {"return": {"status": 500, "message": "error"}}))
        if failure is not None:
            return failure
        if not params.get("receptor") or not params.get("message"):
            return web.json_response(
                {"return": {"status": 406, "message": "missing"}, "entries": None}, status=406
            )
        self.kavenegar.append(Call("send", params))
        entry = {
            "messageid": next(self._ids),
            "message": params["message"],
            "status": 1,
            "statustext": "در صف ارسال",
            "sender": params.get("sender"),
            "receptor": params["receptor"],
            "date": int(time.time()),
            "cost": 120,
        }
        return web.json_response({"return": {"status": 200, "message": "تایید شد"}, "entries": [entry]})

    async def _melipayamak(self, request: web.Request) -> web.Response:
        body = await request.json()
        failure = await self.melipayamak_script.override((500, {"Message": "error"}))
        if failure is not None:
            return failure
        if body.get("password") != self.melipayamak_password:
            return web.json_response({"Value": "0", "RetStatus": 0, "StrRetStatus": "InvalidUserPass"})
        self.melipayamak.append(Call("SendSMS", body))
        return web.json_response({"Value": str(next(self._ids)), "RetStatus": 1, "StrRetStatus": "Ok"})

    async def _smsir(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-KEY") != self.smsir_key:
            return web.json_response({"status": 0, "message": "invalid key", "data": None}, status=401)
        body = await request.json()
        failure = await self.smsir_script.override((429, {"status": 0, "message": "throttled", "data": None}))
        if failure is not None:
            return failure
        self.smsir.append(Call("bulk", body))
        return web.json_response(
            {
                "status": 1,
                "message": "موفق",
                "data": {"packId": "p1", "messageIds": [next(self._ids)], "cost": 1},
            }
        )
