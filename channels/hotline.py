"""The 137 hotline: call transcripts in, replies to callers out by SMS.

Transcripts arrive two ways: POSTed to `/hotline/<name>/records` (one JSON object, a JSON array,
or NDJSON; `Authorization: Bearer <token>`), or appended by the call-centre system to an NDJSON
file or directory we follow (channels.hotline_feed). A record:

    {"call_id": "c-1", "caller": "09121234567", "started_at": "2026-11-22T10:00:00+03:30",
     "transcript": "...", "operator_id": "op-7", "asr_confidence": 0.82, "district": "6"}

`call_id`, `caller`, `started_at` (ISO 8601 with a zone) and `transcript` are required. The call
id is the message id, so a record delivered twice is one ticket. A speech-recognition confidence
below the configured threshold marks the request for operator review.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.models import InboundMessage, Medium, OutboundMessage, SendError, SendResult
from bot.toml_reader import ConfigError, Table
from channels import provider_config as cfg
from channels.base import Channel, ChannelState, OnInbound
from channels.hotline_feed import FeedFollower
from channels.phone import PhoneError, canonical_mobile
from channels.redaction import hide_secret
from channels.registry import BuildContext, Provider, ReadContext, Role
from channels.webhook import BadPayload, TooDeep, decode_json, read_body, refused, secret_matches

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 1024 * 1024
MAX_TRANSCRIPT = 10_000


def _text(record: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadPayload(f"missing {key}")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadPayload(f"{key} must be a string")
    return value.strip()


def parse_record(record: Any, channel: str, *, review_below: float) -> InboundMessage:
    """One transcript record → an inbound message (pure); raises BadPayload naming the problem."""
    if not isinstance(record, dict):
        raise BadPayload("a record must be a JSON object")
    call_id = _text(record, "call_id")
    caller = _text(record, "caller")
    started = _text(record, "started_at")
    transcript = _text(record, "transcript")
    assert call_id and caller and started and transcript  # noqa: S101 - required above
    try:
        address = canonical_mobile(caller)
    except PhoneError:
        raise BadPayload("caller is not an Iranian mobile number") from None
    try:
        started_at = datetime.fromisoformat(started)
    except ValueError:
        raise BadPayload("started_at is not an ISO 8601 time") from None
    if started_at.tzinfo is None:
        raise BadPayload("started_at needs a time zone")
    confidence: float | None = None
    if record.get("asr_confidence") is not None:
        raw = record["asr_confidence"]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
            raise BadPayload("asr_confidence must be a number from 0 to 1")
        confidence = float(raw)
    meta: dict[str, Any] = {
        "call_id": call_id,
        "needs_review": confidence is not None and confidence < review_below,
    }
    for key in ("operator_id", "district"):
        value = _text(record, key, required=False)
        if value is not None:
            meta[key] = value[:64]
    if confidence is not None:
        meta["asr_confidence"] = confidence
    return InboundMessage(
        channel=channel,
        address=address,
        provider_message_id=call_id[:200],
        text=transcript[:MAX_TRANSCRIPT],
        received_at=started_at,
        contact_phone=address,
        meta=meta,
    )


def split_batch(body: bytes) -> list[Any]:
    """A body holding one JSON object, a JSON array of them, or NDJSON → a list of decoded items.

    An NDJSON line that is not JSON becomes a BadPayload item, so its neighbours still count.
    """
    text = body.strip()
    if not text:
        raise BadPayload("empty body")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("body is not UTF-8") from None
    try:
        whole = decode_json(text)
    except TooDeep:
        raise
    except BadPayload:
        whole = None
        if b"\n" not in text:
            raise
    if whole is not None:
        return whole if isinstance(whole, list) else [whole]
    items: list[Any] = []
    for line in text.split(b"\n"):
        if line.strip():
            try:
                items.append(decode_json(line))
            except BadPayload as exc:
                items.append(exc)
    return items


class HotlineChannel:
    """The hotline feed (HTTP and/or file); replies go by SMS through `reply_via`."""

    medium = Medium.SMS

    def __init__(
        self,
        name: str,
        *,
        token: str | None,
        reply_via: Channel | None,
        review_below: float = 0.6,
        follow: FeedFollower | None = None,
    ) -> None:
        self.name = name
        self._token = token
        if token:
            hide_secret(token)
        self._via = reply_via
        self._review_below = review_below
        self._follow = follow

    def parse(self, record: Any) -> InboundMessage:
        """One decoded record → inbound message."""
        return parse_record(record, self.name, review_below=self._review_below)

    def routes(self, on_inbound: OnInbound) -> Sequence[web.RouteDef]:
        """`POST /hotline/<name>/records` when a token is configured."""
        if self._token is None:
            return []

        async def records(request: web.Request) -> web.StreamResponse:
            auth = request.headers.get("Authorization", "")
            presented = auth[7:] if auth[:7].lower() == "bearer " else None
            if not secret_matches(presented, self._token or ""):
                return web.json_response({"status": "error", "error": "bad or missing token"}, status=403)
            try:
                items = split_batch(await read_body(request, MAX_BATCH_BYTES))
            except BadPayload as exc:
                return refused(exc)
            return await self._store_batch(items, on_inbound)

        return [web.post(f"/hotline/{self.name}/records", records)]

    async def _store_batch(self, items: list[Any], on_inbound: OnInbound) -> web.Response:
        """Store every record that can be; each one that cannot is reported by its index.

        Records go in together (they share the group commits) and fail alone: a record that cannot
        be parsed is refused (400), one over the flood limit is refused as such, and one the store
        could not take makes the answer 503 so the sender retries the batch (idempotent on call id).
        `accepted` counts only records now committed."""
        refused: dict[int, str] = {}  # index → why
        parsed: list[tuple[int, InboundMessage]] = []
        for index, item in enumerate(items):
            try:
                if isinstance(item, BadPayload):
                    raise item
                parsed.append((index, self.parse(item)))
            except BadPayload as exc:
                refused[index] = str(exc)
        outcomes = await asyncio.gather(*(on_inbound(m) for _, m in parsed), return_exceptions=True)
        accepted = duplicates = 0
        unstored: list[int] = []
        for (index, _), outcome in zip(parsed, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error("channel=%s record not stored: %s", self.name, type(outcome).__name__)
                unstored.append(index)
            elif outcome.dropped:
                refused[index] = "flood limit: not stored"
            else:
                duplicates += outcome.duplicate
                accepted += not outcome.duplicate
        errors = [{"index": index, "error": refused[index]} for index in sorted(refused)]
        body: dict[str, object] = {"accepted": accepted, "duplicates": duplicates, "errors": errors}
        if unstored:
            body["unavailable"] = [{"index": index, "error": "not stored, try again"} for index in unstored]
            return web.json_response({"status": "unavailable", **body}, status=503)
        if errors:
            log.warning("channel=%s refused %d of %d records", self.name, len(errors), len(items))
            return web.json_response({"status": "error", **body}, status=400)
        return web.json_response({"status": "ok", **body})

    async def run(self, on_inbound: OnInbound) -> None:
        """Follow the configured NDJSON file or directory, if any."""
        if self._follow is None:
            return

        async def handle(line: bytes) -> None:
            await on_inbound(self.parse(decode_json(line)))

        await self._follow.run(handle)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Callers are answered by SMS through the `reply_via` channel."""
        if self._via is None:
            raise SendError(f"{self.name}: no reply_via SMS channel configured", retryable=False)
        return await self._via.send(message)

    async def aclose(self) -> None:
        """The SMS channel is closed by its own owner."""


def follower(path: Any, state: ChannelState, name: str, interval: float) -> FeedFollower:
    """The feed follower for channel `name` (its positions live under `hotline:<name>`)."""
    return FeedFollower(path, state, f"hotline:{name}", interval=interval)


@dataclass(frozen=True, slots=True)
class HotlineSettings:
    """`kind = "hotline"`: the 137 call centre's records, pushed (token) or followed from a file."""

    token: str | None = field(repr=False)
    reply_via: str
    review_below: float
    follow: Path | None
    follow_interval: float


def read(t: Table, ctx: ReadContext) -> HotlineSettings:
    """`[channels.<name>]` with `kind = "hotline"`."""
    token = cfg.optional_secret(t, "token")
    follow = t.path_value("follow") if t.has("follow") else None
    interval = t.float("follow_interval_seconds", 1.0, minimum=0.05) if follow is not None else 1.0
    if token is None and follow is None:
        raise ConfigError(t.dotted("token_env"), "missing (or set follow = <file or directory>)")
    return HotlineSettings(
        token=token,
        reply_via=ctx.sender(t, "reply_via"),
        review_below=t.float("review_below", 0.6, minimum=0, maximum=1),
        follow=follow,
        follow_interval=interval,
    )


def build(s: HotlineSettings, ctx: BuildContext) -> HotlineChannel:
    """The channel for read settings; `reply_via` is built already, a feed needs the store."""
    feed = None
    if s.follow is not None:
        if ctx.state is None:
            raise ConfigError(
                ctx.dotted("follow"), "following a feed needs the store (build_channels(..., store=))"
            )
        feed = follower(s.follow, ctx.state, ctx.name, s.follow_interval)
    return HotlineChannel(
        ctx.name,
        token=s.token,
        reply_via=ctx.channels[s.reply_via],
        review_below=s.review_below,
        follow=feed,
    )


PROVIDER = Provider(("hotline",), Role.RELAY, read, build)
