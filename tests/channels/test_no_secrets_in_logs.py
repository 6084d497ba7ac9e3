"""No token, API key, password or webhook secret appears in any log line, whatever happens."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.models import OutboundMessage
from tests.channels import updates as u
from tests.channels.conftest import HOOK_SECRET, HOTLINE_TOKEN, RUBBISH, SECRETS, ServiceFactory


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
    svc.sms.kavenegar_script.fail_next((500, {"return": {"status": 500, "message": "x"}}), 3.0)
    svc.sms.melipayamak_script.fail_next((500, {"Message": "x"}))
    svc.sms.smsir_script.fail_next((429, {"status": 0, "message": "throttled", "data": None}))
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
    await channel.run(svc.sada.gateway.receive)  # type: ignore[attr-defined]
    [call] = [c for c in svc.bot_api.calls if c.method == "setWebhook"]
    assert call.params["url"] == f"https://sada.example.ir/hooks/telegram/{HOOK_SECRET}"
    assert call.params["secret_token"] == HOOK_SECRET
    assert not [r for r in caplog.records if any(s in r.getMessage() for s in SECRETS)]
