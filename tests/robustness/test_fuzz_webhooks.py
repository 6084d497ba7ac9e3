"""Hostile HTTP against every route of the real service (every channel kind configured at once):
random bodies, content types, encodings, query strings and secrets (oversized bodies are
refused with 413 in tests/channels/test_webhook.py). The answer is never a 5xx
(the 503 of a store outage is not staged here), and the service still works afterwards.

The requests go through `Sada.web_app()` over real HTTP on 127.0.0.1 (aiohttp's test server), so
they take the production path: route → channel parser → flood limit → group commit → gateway.
Examples per route: `SADA_FUZZ_WEBHOOK_EXAMPLES` (default 1,000; 10,000 per pure parser are in
test_fuzz_parsers.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Sada
from bot.config import config_from_mapping
from bot.dates.clock import ManualClock
from tests.conftest import START
from tests.robustness.test_fuzz_parsers import JSON, TEXT

EXAMPLES = int(os.environ.get("SADA_FUZZ_WEBHOOK_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() in ("1", "true", "yes"),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)
SECRET = "fuzz-secret-0123456789"
TOKEN = "fuzz-hotline-token-0123456789"
ENV = {
    "T_TOKEN": "123456:TEST-telegram-token",
    "B_TOKEN": "654321:TEST-bale-token",
    "SECRET": SECRET,
    "KAVE_KEY": "kave-key",
    "MELI_PASSWORD": "meli-password",
    "SMSIR_KEY": "smsir-key",
    "HOTLINE_TOKEN": TOKEN,
}
NOWHERE = "http://127.0.0.1:9"  # discard port: nothing is sent in these tests (no workers)

ROUTES = [
    ("POST", f"/hooks/telegram/{SECRET}"),
    ("POST", f"/hooks/bale/{SECRET}"),
    ("POST", f"/hooks/sms/{SECRET}"),
    ("GET", f"/hooks/sms/{SECRET}"),
    ("POST", f"/hooks/sms/{SECRET}/status"),
    ("GET", f"/hooks/meli/{SECRET}"),
    ("POST", f"/hooks/meli/{SECRET}"),
    ("POST", f"/hooks/gateway2/{SECRET}"),
    ("POST", "/hotline/hotline/records"),
    ("POST", "/panel/login"),
    ("GET", "/public/stats.json"),
    ("POST", "/hooks/sms/not-the-secret"),
]
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=windows-1256",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain; charset=utf-16",
        "application/x-ndjson",
        "application/octet-stream",
        "text/html",
        "",
        "application/json; charset=latin-1",
        "x/\u00e9",
    ]
)
FORM_FIELDS = st.dictionaries(
    st.sampled_from(["from", "to", "message", "messageid", "text", "body", "msisdn", "content", "ref", "id"])
    | st.text(max_size=8),
    TEXT,
    max_size=6,
)
TELEGRAM_UPDATES = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=-(2**63), max_value=2**63)},
    optional={
        "message": st.fixed_dictionaries(
            {},
            optional={
                "message_id": st.integers() | TEXT,
                "date": st.integers() | st.floats(allow_nan=True) | TEXT,
                "chat": st.dictionaries(st.sampled_from(["id", "type", "first_name"]), JSON, max_size=3),
                "from": st.dictionaries(st.sampled_from(["id", "is_bot", "first_name"]), JSON, max_size=3),
                "text": TEXT | JSON,
                "contact": JSON,
                "location": JSON,
            },
        ),
        "callback_query": JSON,
    },
)


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


BODIES = (
    st.binary(max_size=2048)
    | JSON.map(_encode)
    | TELEGRAM_UPDATES.map(_encode)
    | FORM_FIELDS.map(lambda f: "&".join(f"{k}={v}" for k, v in f.items()).encode("utf-8", "surrogatepass"))
    | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "X-Telegram-Bot-Api-Secret-Token": st.sampled_from([SECRET, "wrong", ""]),
        "Authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer wrong", "Basic xyz", "Bearer "]),
        "Content-Encoding": st.sampled_from(["gzip", "br", "identity"]),
    },
)
QUERIES = st.dictionaries(
    st.sampled_from(["from", "to", "body", "message", "messageid", "status", "localid"])
    | st.text(max_size=6),
    st.text(max_size=40),
    max_size=4,
)


def _config(tmp_path: Path, store_url: str) -> Any:
    data: dict[str, Any] = {
        "store": {"url": store_url},
        "nlp": {"classifier": "keywords"},
        "channels": {
            "telegram": {
                "kind": "telegram",
                "token_env": "T_TOKEN",
                "webhook_secret_env": "SECRET",
                "base_url": NOWHERE,
            },
            "bale": {
                "kind": "bale",
                "token_env": "B_TOKEN",
                "webhook_secret_env": "SECRET",
                "base_url": NOWHERE,
            },
            "sms": {
                "kind": "kavenegar",
                "api_key_env": "KAVE_KEY",
                "webhook_secret_env": "SECRET",
                "sender": "10004346",
                "base_url": NOWHERE,
            },
            "meli": {
                "kind": "melipayamak",
                "username": "fuzz",
                "password_env": "MELI_PASSWORD",
                "sender": "50004001",
                "webhook_secret_env": "SECRET",
                "base_url": NOWHERE,
            },
            "smsir": {
                "kind": "smsir",
                "api_key_env": "SMSIR_KEY",
                "line_number": "30007732",
                "base_url": NOWHERE,
            },
            "gateway2": {
                "kind": "generic_sms",
                "webhook_secret_env": "SECRET",
                "fields": {"from": "msisdn", "to": "shortcode", "text": "content", "id": "ref"},
                "reply_via": "smsir",
            },
            "hotline": {"kind": "hotline", "token_env": "HOTLINE_TOKEN", "reply_via": "sms"},
        },
        "flood": {"max_messages": 1_000_000},
    }
    return config_from_mapping(data, base_dir=tmp_path, env=ENV)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    # HTTP-level fuzzing is about the routes and parsers, not the dialect: SQLite only.
    store_url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    sada = Sada(_config(tmp_path, store_url), clock=ManualClock(START))
    await sada.start(background_tasks=False)
    client = TestClient(TestServer(sada.web_app(), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await sada.stop()


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p.split(SECRET)[0]}" for m, p in ROUTES])
@FUZZ
@given(body=BODIES, content_type=CONTENT_TYPES, headers=HEADERS, query=QUERIES)
async def test_no_request_gets_a_5xx(
    service: TestClient[Any, Any],
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    query: dict[str, str],
) -> None:
    sent = dict(headers)
    if content_type:
        sent["Content-Type"] = content_type
    async with service.request(method, path, data=body, headers=sent, params=query) as response:
        await response.read()
        # A broken service would answer 5xx to everything after: every example checks it is alive.
        assert response.status < 500, (response.status, body[:200], content_type, headers, query)
