"""POST requests: a client's service request enters through `Sada.inbound`, like every channel's.

Order of refusals, each before anything is stored: 413 (body over the cap), 400 (not UTF-8
url-encoded form), 403 (no or wrong api_key), 429 (the key's window is full), 400 (no
service_code, no location, bad lat/long/phone/description), 404 (unknown service_code).

With a phone the request arrives on the SMS channel the panel's intake uses (replies reach the
citizen by SMS; the ticket's channel is recorded as `open311`), else on the `open311` sink. After
the pipeline: in one transaction a note naming the API client (and the media link, never fetched)
and, when the classifier chose another category, a reclassification to the client's service_code
by the client.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.intake.intent import IntentKind, detect
from bot.intake.written_place import with_place
from bot.lifecycle import LifecycleError
from bot.models import GeoPoint, InboundMessage, Ticket
from bot.web.open311.api_keys import ApiClient
from bot.web.open311.context import Open311, open311_of
from bot.web.open311.formats import Many, error, fmt_of, respond
from bot.web.open311.wording import (
    ACTOR_PREFIX,
    RECLASSIFY_REASON,
    intake_note,
    media_note,
    service_notice,
)
from bot.web.panel.intake_page import sms_channel
from bot.web.rate_limits import retry_after
from channels.desk import OPEN311
from channels.phone import PhoneError, canonical_mobile

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a 4,000-letter Persian description is ~24 KB percent-encoded
MAX_FIELDS = 100
MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300
MAX_URL = 2000


class Refused(Exception):
    """The request is refused with this status and description (nothing was stored)."""

    def __init__(self, status: int, description: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A valid POST: what goes into the pipeline."""

    service_code: str
    text: str
    location: GeoPoint | None
    mobile: str | None
    display_name: str | None
    media_url: str | None


async def read_body(request: web.Request) -> dict[str, str]:
    """The url-encoded form (a repeated field keeps its first value); Refused 413/400."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, f"request body over {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(16 * 1024):  # a chunked body has no length to check
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"request body over {MAX_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if request.content_type == "multipart/form-data":
        raise Refused(400, "send application/x-www-form-urlencoded")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the body must be UTF-8 application/x-www-form-urlencoded") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def authorised(api: Open311, form: Mapping[str, str], query: Mapping[str, str]) -> ApiClient:
    """The client whose api_key this is; Refused 403, or 429 when its window is full."""
    key = form.get("api_key") or query.get("api_key") or ""
    client = api.keys.client(key) if key else None
    if client is None:
        raise Refused(403, "missing or invalid api_key")
    wait = api.per_key.hit(client.name, api.monotonic())
    if wait:
        raise Refused(429, "too many requests under this api_key", {"Retry-After": retry_after(wait)})
    return client


def _coordinate(raw: str, name: str, bound: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise Refused(400, f"{name} is not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise Refused(400, f"{name} is out of range")
    return value


def new_request(api: Open311, form: Mapping[str, str]) -> NewRequest:
    """The valid request in `form`; Refused 400/404 otherwise."""
    taxonomy = api.sada.config.taxonomy
    code = form.get("service_code", "").strip()
    if not code:
        raise Refused(400, "service_code is required")
    lat, lon = form.get("lat", "").strip(), form.get("long", "").strip()
    address = " ".join(form.get("address_string", "").split())
    location = None
    if lat or lon:
        if not (lat and lon):
            raise Refused(400, "lat and long must be sent together")
        location = GeoPoint(_coordinate(lat, "lat", 90), _coordinate(lon, "long", 180))
    if location is None and not address:
        raise Refused(400, "a location is required: lat and long, or address_string")
    if len(address) > MAX_ADDRESS:
        raise Refused(400, f"address_string over {MAX_ADDRESS} characters")
    description = form.get("description", "").replace("\r\n", "\n").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Refused(400, f"description over {MAX_DESCRIPTION} characters")
    category = taxonomy.categories.get(code)
    if category is None:
        raise Refused(404, f"service_code {code[:64]!r} not found")
    mobile = None
    if form.get("phone", "").strip():
        try:
            mobile = canonical_mobile(form["phone"])
        except PhoneError:
            raise Refused(400, "phone is not an Iranian mobile number") from None
    # The pipeline reads words: with no description the service's name stands for them, and before
    # words that alone would not read as a request («تست», «سلام») the service's name comes first.
    text = with_place(description or category.name, address)
    letters = api.sada.config.gateway.min_request_letters
    if (
        detect(text, button=None, survey_open=False, min_request_letters=letters).kind
        != IntentKind.NEW_REQUEST
    ):
        text = f"{category.name}: {text}"
    name = " ".join(f"{form.get('first_name', '')} {form.get('last_name', '')}".split())[:200] or None
    media = form.get("media_url", "").strip()
    if media and (len(media) > MAX_URL or not media.startswith(("http://", "https://"))):
        raise Refused(400, "media_url must be an http(s) URL")
    return NewRequest(code, text, location, mobile, name, media or None)


async def post_request(request: web.Request) -> web.Response:
    """POST /open311/v2/requests.{fmt}"""
    api = open311_of(request)
    fmt = fmt_of(request)
    try:
        form = await read_body(request)
        client = authorised(api, form, request.query)
        wanted = new_request(api, form)
    except Refused as refused:
        return error(fmt, refused.status, refused.description, headers=refused.headers)
    sada = api.sada
    channel = sms_channel(sada, sada.config.panel.intake_sms_channel) if wanted.mobile else None
    token = secrets.token_urlsafe(18)
    actor = ACTOR_PREFIX + client.name
    meta: dict[str, Any] = {"operator": actor}
    if channel is not None:
        meta["intake_channel"] = "open311"
    message = InboundMessage(
        channel=channel or OPEN311,
        address=wanted.mobile if channel is not None and wanted.mobile else f"{OPEN311}:{token}",
        provider_message_id=f"{OPEN311}:{token}",
        text=wanted.text,
        received_at=sada.clock.now(),
        contact_phone=wanted.mobile,
        display_name=wanted.display_name,
        location=wanted.location,
        meta=meta,
    )
    try:
        result = await sada.inbound(message)
    except Exception as exc:  # not committed: the client may retry
        log.warning("open311 POST client=%s not stored: %s", client.name, type(exc).__name__)
        return error(fmt, 503, "temporarily unavailable; try again")
    if result.dropped:
        return error(fmt, 429, "too many requests from this citizen", headers={"Retry-After": "60"})
    if result.intent != IntentKind.NEW_REQUEST or result.ticket_code is None:
        log.info("open311 POST client=%s not a new request: intent=%s", client.name, result.intent)
        return error(fmt, 400, "the description does not read as a new request; describe the problem")
    ticket: Ticket | None = None
    try:
        ticket = await _after(api, result.ticket_code, wanted, actor, client, joined=result.duplicate)
    except Exception as exc:  # the request is committed and has its code: answer it, log the gap
        log.warning("open311 follow-up failed ticket=%s: %s", result.ticket_code, type(exc).__name__)
    sada.dispatcher.wake()
    log.info(
        "open311 POST client=%s ticket=%s channel=%s joined=%s",
        client.name,
        result.ticket_code,
        message.channel,
        result.duplicate,
    )
    notice = None
    if ticket is not None:
        department = sada.config.taxonomy.departments.get(ticket.department, ticket.department)
        notice = service_notice(department, ticket.due_at)
    body = Many("request", [{"service_request_id": result.ticket_code, "service_notice": notice}])
    return respond(fmt, "service_requests", body)


async def _after(
    api: Open311, code: str, wanted: NewRequest, actor: str, client: ApiClient, *, joined: bool
) -> Ticket:
    """Name the client in the history, keep the media link, apply the client's service_code (not on
    a ticket the request joined: that one is another citizen's). Returns (department, due_at)."""
    sada = api.sada
    life = sada.lifecycle
    async with sada.store.transaction() as tx:
        found = await tx.tickets.by_code(code)
        assert found is not None  # noqa: S101 - the pipeline just returned its code
        ticket = await tx.tickets.get(found.id, for_update=True)
        assert ticket is not None  # noqa: S101 - tickets are never deleted
        await life.add_note(tx, ticket, actor=actor, text=intake_note(client.name))
        if wanted.media_url:
            await life.add_note(tx, ticket, actor=actor, text=media_note(wanted.media_url))
        if not joined and wanted.service_code != ticket.category:
            try:
                ticket = await life.reclassify(
                    tx, ticket, wanted.service_code, actor=actor, reason=RECLASSIFY_REASON
                )
            except LifecycleError as exc:
                log.info("open311 reclassify refused ticket=%s: %s", code, exc)
        return ticket
