"""Fake provider servers speaking the documented wire formats, on 127.0.0.1 (aiohttp apps).

The SMS providers' endpoints are rows of the send table (sms_senders.py), served together by
`FakeSmsProviders`. Each fake records what it received and can be told to misbehave: answer 429
with a retry-after, 500, a provider-level error, or answer slowly (past the client's timeout).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.test_utils import TestServer

if TYPE_CHECKING:
    from tests.channels.sms_senders import Handler, SmsSender


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
        # Files citizens "sent": file_id → bytes, served by getFile + `/file/bot<TOKEN>/<file_path>`;
        # `file_script` makes downloads misbehave, `file_sizes` makes getFile report another size.
        self.files: dict[str, bytes] = {}
        self.file_sizes: dict[str, int] = {}
        self.file_paths: dict[str, str] = {}  # file_id → the file_path getFile answers (default files/<id>)
        self.file_script = Script()
        self.downloads: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    def file_url(self) -> str:
        """The `base_file_url` of this fake (after `start`)."""
        assert self.server is not None
        return str(self.server.make_url("/file/bot"))

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        failure = await self.file_script.override((500, {"ok": False}))
        if failure is not None:
            return failure
        file_id = path.removeprefix("files/")
        if not path.startswith("files/") or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

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
                file_id = str(params.get("file_id"))
                if file_id in self.files:
                    size = self.file_sizes.get(file_id, len(self.files[file_id]))
                    return {
                        "file_id": file_id,
                        "file_unique_id": f"u-{file_id}",
                        "file_size": size,
                        "file_path": self.file_paths.get(file_id, f"files/{file_id}"),
                    }
                return {"file_id": params.get("file_id"), "file_unique_id": "u1", "file_path": "photos/1.jpg"}
        return None


@dataclass
class ProviderFake:
    """One SMS provider's side of the fake server: what it accepted, and its misbehaviour script."""

    server: FakeSmsProviders
    calls: list[Call] = field(default_factory=list)
    script: Script = field(default_factory=Script)
    lookups: list[Call] = field(default_factory=list)  # status and receive requests (not sends)


class FakeSmsProviders:
    """Every SMS sender of the send table (sms_senders.py) on one server, each at its documented path."""

    def __init__(self, senders: Sequence[SmsSender]) -> None:
        self.senders = tuple(senders)
        self.fakes = {sender.kind: ProviderFake(self) for sender in self.senders}
        self.inbox: list[dict[str, Any]] = []  # what a polled provider (Kavenegar's sms/receive) returns next
        self.live: list[dict[str, Any]] = []  # SMS.ir's receive/live list (it stays until cleared)
        self.states: dict[str, Any] = {}  # message id → the delivery code a status lookup answers
        self._ids = itertools.count(5000)
        self.server: TestServer | None = None

    def __getattr__(self, name: str) -> Any:
        """`<kind>_script` and `<kind>` (its accepted calls), as the tests have long called them."""
        fakes = self.__dict__.get("fakes", {})
        if name.endswith("_script") and name.removesuffix("_script") in fakes:
            return fakes[name.removesuffix("_script")].script
        if name in fakes:
            return fakes[name].calls
        raise AttributeError(name)

    def next_id(self) -> int:
        """A provider message id, unique across the providers."""
        return next(self._ids)

    def app(self) -> web.Application:
        app = web.Application()
        for sender in self.senders:
            for method, path, handler in sender.routes:
                app.router.add_route(method, path, _bound(handler, self.fakes[sender.kind]))
        return app

    async def start(self) -> str:
        self.server = await start(self.app())
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def texts(self) -> list[tuple[str, str, str]]:
        """(provider, receptor, text) of every accepted send, by provider, in order."""
        out = [
            (sender.kind, *sender.sent(call))
            for sender in self.senders
            for call in self.fakes[sender.kind].calls
        ]
        return sorted(out, key=lambda t: t[0])


def _bound(handler: Handler, fake: ProviderFake) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        return await handler(request, fake)

    return handle
