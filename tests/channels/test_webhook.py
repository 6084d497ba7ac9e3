"""The shared webhook plumbing on a real aiohttp app: guard, caps, decoding, answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.models import InboundMessage, ReceiveResult
from channels.webhook import BadPayload, Guard, inbound_handler, pick, secret_matches

SECRET = "s3cret_path_segment_0001"


def parse(fields: dict[str, str]) -> InboundMessage | None:
    if fields.get("kind") == "ping":
        return None
    text = pick(fields, ("text", "body"))
    if text is None:
        raise BadPayload("missing text")
    from datetime import UTC, datetime

    return InboundMessage("t", "a", fields.get("id", "1"), text, datetime.now(UTC))


async def _client(
    received: list[InboundMessage], *, fail: bool = False, **guard: Any
) -> TestClient[Any, Any]:
    async def on_inbound(message: InboundMessage) -> ReceiveResult:
        if fail:
            raise ConnectionError("store down")
        received.append(message)
        return ReceiveResult(intent="new_request", duplicate=False)

    app = web.Application()
    handler = inbound_handler("t", Guard(SECRET, **guard), parse, on_inbound, max_bytes=1024)
    app.router.add_route("*", "/hook/{secret}", handler)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_guard_body_cap_and_decoding() -> None:
    received: list[InboundMessage] = []
    client = await _client(received, header="X-Token", allowed_ips=frozenset({"127.0.0.1"}))
    try:
        assert (await client.post(f"/hook/{SECRET}", data={"text": "سلام"})).status == 200
        assert (await client.post(f"/hook/{SECRET}", json={"body": "درود", "id": 2})).status == 200
        assert (await client.get(f"/hook/{SECRET}", params={"text": "query"})).status == 200
        assert [m.text for m in received] == ["سلام", "درود", "query"]
        assert (await client.post("/hook/wrong", data={"text": "x"})).status == 404
        assert (
            await client.post(f"/hook/{SECRET}", data={"text": "x"}, headers={"X-Token": "no"})
        ).status == 403
        assert (await client.post(f"/hook/{SECRET}", data={"kind": "ping"})).status == 200  # ignored
        assert (await client.post(f"/hook/{SECRET}", data={"other": "x"})).status == 400
        big = await client.post(f"/hook/{SECRET}", data={"text": "x" * 2000})
        assert big.status == 413
        broken = await client.post(
            f"/hook/{SECRET}", data=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert broken.status == 400 and (await broken.json())["error"] == "malformed JSON"
        assert len(received) == 3
    finally:
        await client.close()


async def test_source_ip_allow_list_and_store_outage() -> None:
    client = await _client([], allowed_ips=frozenset({"10.0.0.1"}))
    try:
        assert (await client.post(f"/hook/{SECRET}", data={"text": "x"})).status == 403
    finally:
        await client.close()
    client = await _client([], fail=True)
    try:
        # Not committed: 503, so the provider delivers it again.
        assert (await client.post(f"/hook/{SECRET}", data={"text": "x"})).status == 503
    finally:
        await client.close()


def test_secret_comparison() -> None:
    assert secret_matches("abc", "abc") and not secret_matches("abd", "abc")
    assert not secret_matches(None, "abc") and not secret_matches("", "") and not secret_matches("x", "")
