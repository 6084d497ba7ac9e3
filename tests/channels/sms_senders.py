"""The send table: every SMS sender as the tests see it, one row per provider.

A row holds the provider's `[channels]` table in the test service (conftest.py builds the service
from the rows), its fake server — the documented send endpoint, refusing bad credentials and
misbehaving on cue (fakes.py serves every row on one server) — and what its sends and errors look
like (test_sms_sending.py runs every row). A new SMS provider adds one row here, and its webhook
payloads (if it receives) to test_sms_webhooks.py.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.channels.fakes import Call, ProviderFake

KAVENEGAR_KEY = "4B6A-KAVENEGAR-SECRET-KEY-0001"
SMSIR_KEY = "smsir-secret-api-key-424242"
MELI_PASSWORD = "meli-secret-password-77"

Handler = Callable[[web.Request, ProviderFake], Awaitable[web.Response]]


@dataclass(frozen=True)
class Failure:
    """A scripted answer of the fake (status and JSON body) and whether the send is worth retrying."""

    answer: tuple[int, Any]
    retryable: bool


@dataclass(frozen=True)
class SmsSender:
    """One SMS provider: its channel in the test service, its fake, what its sends look like."""

    kind: str
    channel: str  # the channel's name in the test service
    table: Mapping[str, Any]  # its `[channels.<channel>]` table; `base_url` (the fake) is added
    secrets: Mapping[str, str]  # the environment variables the table names → their values
    routes: tuple[tuple[str, str, Handler], ...]  # the fake: (method, path, handler)
    sent: Callable[[Call], tuple[str, str]]  # one accepted send at the fake → (receptor, text)
    request: Mapping[str, Any]  # what sending to TO with idempotency key "sada-17" puts on the wire
    failures: tuple[Failure, ...]  # scripted answers and how each send error is typed
    refused: tuple[Mapping[str, Any], str]  # a change naming WRONG_SECRET as its credential, the error


# --- Kavenegar: `{base}/v1/{API_KEY}/sms/{method}.json`, form fields, `return.status` -----------


async def kavenegar(request: web.Request, fake: ProviderFake) -> web.Response:
    if request.match_info["key"] != KAVENEGAR_KEY:
        return web.json_response(
            {"return": {"status": 403, "message": "invalid API key"}, "entries": None}, status=403
        )
    params = dict(request.query)
    if request.method == "POST":
        params.update({k: str(v) for k, v in (await request.post()).items()})
    method = request.match_info["method"]
    if method == "receive":
        entries, fake.server.inbox = fake.server.inbox, []
        return web.json_response({"return": {"status": 200, "message": "تایید شد"}, "entries": entries})
    if method != "send":
        return web.json_response(
            {"return": {"status": 404, "message": "method not found"}, "entries": None}, status=404
        )
    failure = await fake.script.override((500, {"return": {"status": 500, "message": "error"}}))
    if failure is not None:
        return failure
    if not params.get("receptor") or not params.get("message"):
        return web.json_response(
            {"return": {"status": 406, "message": "missing"}, "entries": None}, status=406
        )
    fake.calls.append(Call("send", params))
    entry = {
        "messageid": fake.server.next_id(),
        "message": params["message"],
        "status": 1,
        "statustext": "در صف ارسال",
        "sender": params.get("sender"),
        "receptor": params["receptor"],
        "date": int(time.time()),
        "cost": 120,
    }
    return web.json_response({"return": {"status": 200, "message": "تایید شد"}, "entries": [entry]})


# --- Melipayamak: `POST {base}/api/SendSMS/SendSMS`, JSON with the password, `RetStatus` ---------


async def melipayamak(request: web.Request, fake: ProviderFake) -> web.Response:
    body = await request.json()
    failure = await fake.script.override((500, {"Message": "error"}))
    if failure is not None:
        return failure
    if body.get("password") != MELI_PASSWORD:
        return web.json_response({"Value": "0", "RetStatus": 0, "StrRetStatus": "InvalidUserPass"})
    fake.calls.append(Call("SendSMS", body))
    return web.json_response({"Value": str(fake.server.next_id()), "RetStatus": 1, "StrRetStatus": "Ok"})


# --- SMS.ir: `POST {base}/v1/send/bulk`, `X-API-KEY`, `{"status": 1, "data": {"messageIds"}}` ----


async def smsir(request: web.Request, fake: ProviderFake) -> web.Response:
    if request.headers.get("X-API-KEY") != SMSIR_KEY:
        return web.json_response({"status": 0, "message": "invalid key", "data": None}, status=401)
    body = await request.json()
    failure = await fake.script.override((429, {"status": 0, "message": "throttled", "data": None}))
    if failure is not None:
        return failure
    fake.calls.append(Call("bulk", body))
    data = {"packId": "p1", "messageIds": [fake.server.next_id()], "cost": 1}
    return web.json_response({"status": 1, "message": "موفق", "data": data})


# --- Polled delivery reports and inbound (test_sms_both_ways.py) --------------------------------


async def melipayamak_deliveries(request: web.Request, fake: ProviderFake) -> web.Response:
    """GetDeliveries2: `{username, password, recId}` → `Value` = the delivery code."""
    body = await request.json()
    if body.get("password") != MELI_PASSWORD:
        return web.json_response({"Value": "0", "RetStatus": 0, "StrRetStatus": "InvalidUserPass"})
    rec_id = str(body.get("recId", ""))
    fake.lookups.append(Call("GetDeliveries2", body))
    value = fake.server.states.get(rec_id)
    return web.json_response(
        {"Value": "" if value is None else str(value), "RetStatus": 1, "StrRetStatus": "Ok"}
    )


async def smsir_report(request: web.Request, fake: ProviderFake) -> web.Response:
    """`GET /v1/send/{messageId}`: `data.deliveryState`, null until the operator reports."""
    if request.headers.get("X-API-KEY") != SMSIR_KEY:
        return web.json_response({"status": 0, "message": "invalid key", "data": None}, status=401)
    message_id = request.match_info["id"]
    if not message_id.isdigit():
        return web.json_response({"status": 0, "message": "bad id", "data": None}, status=400)
    fake.lookups.append(Call("report", {"id": message_id}))
    data = {
        "messageId": int(message_id),
        "mobile": 9121234567,
        "messageText": "...",
        "sendDateTime": int(time.time()),
        "lineNumber": 30007732,
        "cost": 1.0,
        "deliveryState": fake.server.states.get(message_id),
        "deliveryDateTime": None,
    }
    return web.json_response({"status": 1, "message": "موفق", "data": data})


async def smsir_live(request: web.Request, fake: ProviderFake) -> web.Response:
    """`GET /v1/receive/live?pageNumber&pageSize&sortByNewest`: the received messages list."""
    if request.headers.get("X-API-KEY") != SMSIR_KEY:
        return web.json_response({"status": 0, "message": "invalid key", "data": None}, status=401)
    if not {"pageNumber", "pageSize"} <= set(request.query):
        return web.json_response({"status": 0, "message": "paging missing", "data": None}, status=400)
    fake.lookups.append(Call("live", dict(request.query)))
    return web.json_response({"status": 1, "message": "موفق", "data": list(fake.server.live)})


SENDERS = (
    SmsSender(
        "kavenegar",
        channel="sms",
        table={
            "kind": "kavenegar",
            "api_key_env": "KAVENEGAR_KEY",
            "sender": "10004346",
            "webhook_secret_env": "HOOK_SECRET",
            "timeout_seconds": 1.0,
            "messages_per_second": 1000.0,
        },
        secrets={"KAVENEGAR_KEY": KAVENEGAR_KEY},
        routes=(("*", "/v1/{key}/sms/{method}.json", kavenegar),),
        sent=lambda call: (call.params["receptor"], call.params["message"]),
        # localid makes Kavenegar answer a repeated request with the first send.
        request={"receptor": "09121234567", "sender": "10004346", "localid": "17"},
        failures=(
            Failure((200, {"return": {"status": 418, "message": "اعتبار کافی نیست"}}), True),  # top up
            Failure((400, {"return": {"status": 412, "message": "sender invalid"}}), False),
            Failure((429, {"return": {"status": 429, "message": "slow down"}}), True),
            Failure((500, {"return": {"status": 500, "message": "error"}}), True),
        ),
        refused=({"api_key_env": "WRONG_SECRET"}, "return 403"),
    ),
    SmsSender(
        "melipayamak",
        channel="meli",
        table={
            "kind": "melipayamak",
            "username": "municipality",
            "password_env": "MELI_PASSWORD",
            "sender": "50004001",
            "webhook_secret_env": "HOOK_SECRET",
            "messages_per_second": 1000.0,
        },
        secrets={"MELI_PASSWORD": MELI_PASSWORD},
        routes=(
            ("POST", "/api/SendSMS/SendSMS", melipayamak),
            ("POST", "/api/SendSMS/GetDeliveries2", melipayamak_deliveries),
        ),
        sent=lambda call: (call.params["to"], call.params["text"]),
        request={"to": "09121234567", "from": "50004001", "username": "municipality"},
        failures=(Failure((500, {"Message": "An error has occurred."}), True),),
        refused=({"password_env": "WRONG_SECRET"}, "RetStatus 0"),
    ),
    SmsSender(
        "smsir",
        channel="smsir",
        table={
            "kind": "smsir",
            "api_key_env": "SMSIR_KEY",
            "line_number": "30007732",
            "messages_per_second": 1000.0,
        },
        secrets={"SMSIR_KEY": SMSIR_KEY},
        routes=(
            ("POST", "/v1/send/bulk", smsir),
            ("GET", "/v1/send/{id}", smsir_report),
            ("GET", "/v1/receive/live", smsir_live),
        ),
        sent=lambda call: (call.params["mobiles"][0], call.params["messageText"]),
        request={"mobiles": ["09121234567"], "lineNumber": 30007732, "sendDateTime": None},  # a number
        failures=(Failure((429, {"status": 0, "message": "throttled", "data": None}), True),),
        refused=({"api_key_env": "WRONG_SECRET"}, "status 0"),
    ),
)
