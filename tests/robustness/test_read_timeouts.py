"""A client that sends its request one byte at a time is cut off within the configured bounds.

Real sockets against `Sada.web_app()` on 127.0.0.1 with `[service] header_timeout_seconds` and
`body_timeout_seconds` set to 1 s. The client sends a byte, then waits up to a quarter of a second
for the server to answer or hang up, and so on: an idle timer would never fire at that pace, only a
bound on the whole header (or body) phase does. A client that was not cut off after 40 bytes
(~10 s, ten times the bound) fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from tests.robustness.conftest import HOOK, HookedFactory

BOUNDS = {"header_timeout_seconds": 1.0, "body_timeout_seconds": 1.0}
PACE = 0.25  # seconds between bytes
GIVE_UP_AFTER = 40  # bytes


@dataclass
class Outcome:
    sent: int  # bytes the client got out before the server answered or hung up
    answer: bytes  # what the server sent back
    closed: bool  # the server closed the connection


async def trickle(port: int, prefix: bytes, slow: bytes) -> Outcome:
    """Send `prefix` at once, then `slow` one byte per PACE until the server answers or closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent, answer, closed = 0, b"", False
    try:
        writer.write(prefix)
        await writer.drain()
        for byte in slow[:GIVE_UP_AFTER]:
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            try:
                chunk = await asyncio.wait_for(reader.read(65536), PACE)
            except TimeoutError:
                continue
            answer += chunk
            # The server spoke or hung up: read whatever else it says until it closes.
            with contextlib.suppress(TimeoutError):
                while chunk:
                    chunk = await asyncio.wait_for(reader.read(65536), 5)
                    answer += chunk
                closed = True
            break
    except ConnectionError:
        closed = True
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return Outcome(sent, answer, closed)


async def test_headers_sent_one_byte_at_a_time_are_cut_off(hooked: HookedFactory) -> None:
    h = await hooked(service=BOUNDS)
    request = f"POST {HOOK} HTTP/1.1\r\nHost: sada\r\nX-Padding: {'a' * 200}\r\n\r\n".encode()
    outcome = await trickle(h.client.port or 0, b"", request)
    assert outcome.closed, f"still open after {outcome.sent} header bytes"
    assert outcome.answer == b""  # no request was ever complete, so there is nothing to answer


async def test_a_body_sent_one_byte_at_a_time_is_cut_off(hooked: HookedFactory) -> None:
    h = await hooked(service=BOUNDS)
    body = b"from=09120000001&to=10004346&messageid=1&message=" + b"a" * 200
    head = (
        f"POST {HOOK} HTTP/1.1\r\nHost: sada\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    outcome = await trickle(h.client.port or 0, head, body)
    assert outcome.closed, f"still open after {outcome.sent} body bytes"
    assert outcome.answer.startswith(b"HTTP/1.1 408"), outcome.answer[:80]
    assert await h.ticket_count() == 0


async def test_ordinary_clients_are_not_affected_by_the_bounds(hooked: HookedFactory) -> None:
    # Bounds of a few seconds: short, yet not so short that a loaded test machine trips them.
    h = await hooked(service={"header_timeout_seconds": 5.0, "body_timeout_seconds": 5.0})
    # Two webhooks on one kept-alive connection, and a form body that arrives in one piece.
    texts = ("یه چاله بزرگ وسط خیابان ولیعصر افتاده", "سه روزه زباله های کوچه شهید رضایی جمع نشده")
    for n, text in enumerate(texts):
        status, answer = await h.sms(f"0912000000{n}", text, f"m{n}")
        assert status == 200, answer
    assert await h.ticket_count() == 2
