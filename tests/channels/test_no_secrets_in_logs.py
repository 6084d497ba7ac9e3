"""No token, API key, password or webhook secret appears in any log line, whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.models import OutboundMessage
from tests.channels import updates as u
from tests.channels.conftest import HOOK_SECRET, HOTLINE_TOKEN, RUBBISH, SECRETS, TG_TOKEN, ServiceFactory
from tests.channels.sms_senders import SENDERS


async def test_no_secret_in_any_log_line(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    svc = await make_service()
    header = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
    # Inbound on every channel, including refused and forged requests.
    await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH), headers=header)
    await svc.client.post(f"/hooks/bale/{HOOK_SECRET}", json=u.text(2, 11, RUBBISH, uid=43))
    await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", data=b"{broken", headers=header)
    await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=u.text(3, 12, RUBBISH), headers={})
    await svc.client.get(
        f"/hooks/sms/{HOOK_SECRET}", params={"from": "09121234567", "message": RUBBISH, "messageid": "1"}
    )
    await svc.client.get(
        f"/hooks/meli/{HOOK_SECRET}", params={"to": "5000", "body": RUBBISH, "from": "09350000000"}
    )
    await svc.client.post(
        f"/hooks/gateway2/{HOOK_SECRET}", data={"msisdn": "09360000000", "content": RUBBISH}
    )
    await svc.client.post(
        "/hotline/hotline/records",
        json={"call_id": "x"},
        headers={"Authorization": f"Bearer {HOTLINE_TOKEN}"},
    )
    await svc.client.post(
        "/hotline/hotline/records", json={"call_id": "x"}, headers={"Authorization": "Bearer nope"}
    )
    # Outbound with failures on every provider: 429, 500, timeouts, rejected keys.
    svc.bot_api.script.fail_next(
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 1},
            },
        )
    )
    for sender in SENDERS:  # every SMS provider answers its own error once, Kavenegar also times out
        svc.sms.fakes[sender.kind].script.fail_next(sender.failures[-1].answer)
    svc.sms.fakes["kavenegar"].script.fail_next(3.0)
    async with svc.store.transaction() as tx:
        await tx.outbox.enqueue(
            OutboundMessage("telegram", "999", "x"), ticket_id=None, priority=0, at=svc.clock.now()
        )
    for _ in range(4):
        await svc.drain()
        svc.clock.advance(timedelta(minutes=10))
    sent_by_provider = len(svc.sms.texts()) + len(svc.bot_api.sent()) + len(svc.bale_api.sent())
    assert sent_by_provider >= 5  # the flows really ran
    lines = [record.getMessage() for record in caplog.records]
    lines += [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    assert any(
        r.name == "httpx" or r.name.startswith("telegram") for r in caplog.records
    )  # library logs were captured
    for secret in SECRETS:
        leaked = [line for line in lines if secret in line]
        assert not leaked, (secret[:4], leaked[:2])
    # Full phone numbers and message bodies stay out of INFO and above.
    loud = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith(("bot", "channels"))
    ]
    assert not [line for line in loud if "09121234567" in line or "+989121234567" in line or RUBBISH in line]


async def test_webhook_registration_uses_the_secret_without_logging_it(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    svc = await make_service(telegram={"public_url": "https://sada.example.ir"})
    channel = svc.sada.channels["telegram"]
    await channel.run(svc.sada.inbound)  # type: ignore[attr-defined]
    [call] = [c for c in svc.bot_api.calls if c.method == "setWebhook"]
    assert call.params["url"] == f"https://sada.example.ir/hooks/telegram/{HOOK_SECRET}"
    assert call.params["secret_token"] == HOOK_SECRET
    assert not [r for r in caplog.records if any(s in r.getMessage() for s in SECRETS)]


async def raw_exchange(host: str, port: int, data: bytes) -> bytes:
    """Send bytes on a fresh connection, half-close it, and read what comes back."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_bad_requests_on_every_webhook_leave_no_secret_in_any_log_record(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the production app (`Sada.web_app()`): every route that holds a secret gets bodies
    it cannot decode, broken JSON, oversized and truncated bodies and broken HTTP; no record, with
    its arguments and traceback, holds a secret."""
    caplog.set_level(logging.DEBUG)
    svc = await make_service()
    client = TestClient(TestServer(svc.sada.web_app(), host="127.0.0.1"))
    await client.start_server()
    try:
        routes = [
            (r.method, r.resource.canonical.replace("{secret}", HOOK_SECRET))
            for r in client.app.router.routes()
            if r.resource is not None and "{secret}" in r.resource.canonical and r.method in ("GET", "POST")
        ]
        kinds = {path.split("/")[2] for _, path in routes}
        assert kinds == {"telegram", "bale", "sms", "meli", "gateway2"}, kinds  # every webhook kind
        routes.append(("POST", "/hotline/hotline/records"))
        auth = {
            "Authorization": f"Bearer {HOTLINE_TOKEN}",
            "X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET,
            "Connection": "close",  # a refused body may leave the connection unusable
        }
        statuses: list[int] = []
        for method, path in routes:
            if method == "GET":
                statuses.append((await client.get(path, params={"from": "x"})).status)
                continue
            for body, headers in (
                (b"this is not gzip", {"Content-Encoding": "gzip", "Content-Type": "application/json"}),
                (b"{broken", {"Content-Type": "application/json"}),
                (b"x" * (70 * 1024), {"Content-Type": "application/x-www-form-urlencoded"}),
            ):
                response = await client.post(path, data=body, headers={**auth, **headers})
                statuses.append(response.status)
            host, port = "127.0.0.1", client.port or 0
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {HOTLINE_TOKEN}\r\n"
            await raw_exchange(host, port, (head + "Content-Length: 50\r\n\r\n{").encode())
            await raw_exchange(host, port, (head + "Bad Header\x01: y\r\n\r\n").encode())
            await raw_exchange(host, port, f"POST {path} HTTP/9.9\r\nHost: x\r\n\r\n".encode())
        assert statuses and all(400 <= s < 500 for s in statuses), statuses
    finally:
        await client.close()
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [formatter.format(record) for record in caplog.records]
    assert any(r.name == "bot.app" for r in caplog.records)  # the unreadable bodies were logged
    assert any(r.name.startswith("aiohttp") for r in caplog.records)  # so was broken HTTP
    for secret in SECRETS:
        leaked = [line[:200] for line in lines if secret in line]
        assert not leaked, (secret[:4], leaked[:3])


async def test_any_logger_any_handler_gets_records_without_secrets_or_numbers(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only the libraries we know of: a logger nobody configured, a secret passed as an
    argument or inside an exception's text, and a mobile number, all come out cleaned."""
    caplog.set_level(logging.DEBUG)
    await make_service(only=("telegram", "sms"))  # registers the webhook secret and the token
    stray = logging.getLogger("some.library.deep.child")
    stray.debug("calling %s with %s", f"https://api.example/bot{TG_TOKEN}/x", {"phone": "09121234567"})
    try:
        raise RuntimeError(f"bad path /hooks/telegram/{HOOK_SECRET}")
    except RuntimeError:
        stray.exception("request failed")
    formatter = logging.Formatter("%(message)s")
    lines = [formatter.format(r) for r in caplog.records if r.name == stray.name]
    assert len(lines) == 2
    assert "bot***/x" in lines[0] and "0912***4567" in lines[0]
    assert "/hooks/telegram/***" in lines[1] and "RuntimeError" in lines[1]
    assert not [line for line in lines if TG_TOKEN in line or HOOK_SECRET in line or "09121234567" in line]
