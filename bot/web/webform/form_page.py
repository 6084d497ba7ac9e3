"""The citizen's form (GET and POST on `[webform] path`): a request, its place, a photo, a phone.

A request sent here enters through the one front door, `Sada.inbound`, on the `web` sink channel
(channels/desk.py): its address and message id are `web:<hash of the form's token>`, so sending
the same form twice is a repeated delivery (one ticket), and the receipt page, at
`<path>receipt/<token>`, is found only by the browser that holds the token. The ticket exists
when the POST answers; the photo (metadata removed, bot/web/webform/photos.py) is then stored on
it, and a phone number, if given, is sent a one-time code (bot/web/webform/confirmations.py): it
hears nothing else until the code is typed.

Abuse guards, in order: the body cap (413, bot/web/webform/guards.py), the CSRF cookie (403), the
honeypot (a field people never see: filled, the sender is shown a receipt and nothing is created),
the request budgets when a photo came (429, bot/web/webform/limits.py: counted before the photo is
parsed, so a refused photo still costs its attempt), the fields and the photo (400, the form shown
again), then the budgets for a request without a photo.

Once the ticket exists the citizen always sees its code: the same form sent again (even at the same
moment) ends on the same receipt, and if storing the photo or opening the phone's confirmation fails,
a Persian page gives the tracking code and says what was not saved.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.intake.intent import IntentKind
from bot.intake.written_place import with_place
from bot.models import GeoPoint, InboundMessage
from bot.web.panel.forms import form_field, read_form
from bot.web.webform.confirmations import receipt_key
from bot.web.webform.context import client_address, render, webform_of
from bot.web.webform.guards import RETRY_AFTER, check_csrf, with_body_cap
from bot.web.webform.photos import BadPhoto, clean_photo
from channels.desk import WEB
from channels.phone import PhoneError, canonical_mobile
from nlp.letters import ascii_digits
from storage.web_photos import WebPhotoRepository

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_PLACE = 300
MIN_TEXT = 10
HONEYPOT = "website"  # hidden from people (CSS, aria-hidden, tabindex -1, no autocomplete)
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True, slots=True)
class Entered:
    """What the citizen typed (as typed, to show the form again) and the form's token."""

    text: str = ""
    place: str = ""
    phone: str = ""
    latitude: str = ""
    longitude: str = ""
    token: str = ""

    def message_text(self) -> str:
        """The request's text: the description, then the place if given apart."""
        return with_place(self.text, self.place)


@dataclass(frozen=True, slots=True)
class Photo:
    """An uploaded photo, metadata removed."""

    data: bytes
    content_type: str


def read_entered(form: Mapping[str, Any]) -> Entered:
    """The submitted fields, trimmed and capped."""
    return Entered(
        text=form_field(form, "text", MAX_TEXT).replace("\r\n", "\n"),
        place=form_field(form, "place", MAX_PLACE),
        phone=form_field(form, "phone", 40),
        latitude=ascii_digits(form_field(form, "latitude", 32)),
        longitude=ascii_digits(form_field(form, "longitude", 32)),
        token=form_field(form, "token", 64),
    )


def location_of(entered: Entered) -> tuple[GeoPoint | None, bool]:
    """(the browser's location, whether the fields were valid); both empty is no location."""
    if not entered.latitude and not entered.longitude:
        return None, True
    try:
        lat, lon = float(entered.latitude), float(entered.longitude)
    except ValueError:
        return None, False
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, False
    return GeoPoint(round(lat, 6), round(lon, 6)), True


def _read_upload(file: IO[bytes], limit: int) -> bytes:
    return file.read(limit + 1)


async def read_upload(form: Mapping[str, Any], limit: int) -> bytes:
    """The chosen photo's bytes (at most `limit` + 1), or b"" when none was chosen."""
    field = form.get("photo")
    if not isinstance(field, web.FileField):
        return b""
    return await asyncio.to_thread(_read_upload, field.file, limit)


async def read_photo(data: bytes, limit: int) -> tuple[Photo | None, str | None]:
    """(the photo without its metadata, or None when none was chosen; an error key when it cannot be
    taken)."""
    if not data:
        return None, None
    if len(data) > limit:
        return None, "photo_too_large"
    try:
        cleaned, content_type = await asyncio.to_thread(clean_photo, data)
    except BadPhoto:
        return None, "photo_type"
    return Photo(cleaned, content_type), None


async def form_page(request: web.Request) -> web.Response:
    """GET <path>: the empty form, with a new token."""
    return show_form(request, Entered(token=secrets.token_urlsafe(24)), {})


async def submit(request: web.Request) -> web.StreamResponse:
    """POST <path>: the request goes through `Sada.inbound`; then the photo and the phone's code."""
    request = with_body_cap(request)
    form = await read_form(request)
    try:
        return await _submit(request, form)
    finally:
        for value in form.values():  # uploads wait in temporary files until closed
            if isinstance(value, web.FileField):
                value.file.close()


async def _submit(request: web.Request, form: Mapping[str, Any]) -> web.StreamResponse:
    check_csrf(request, form)
    wf = webform_of(request)
    address = client_address(request)
    entered = read_entered(form)
    if not TOKEN.fullmatch(entered.token):
        raise web.HTTPBadRequest(reason="form token missing")
    if form_field(form, HONEYPOT):
        if not wf.limits.take_request(address):
            raise web.HTTPTooManyRequests(headers=RETRY_AFTER)
        log.info("webform honeypot field filled: nothing created")
        return render(request, "received.html")
    errors: dict[str, str] = {}
    if len(entered.text) < MIN_TEXT:
        errors["text"] = "text_short"
    location, location_ok = location_of(entered)
    if not location_ok:
        errors["location"] = "bad_location"
    mobile = None
    if entered.phone and wf.sms_channel is not None:
        try:
            mobile = canonical_mobile(entered.phone)
        except PhoneError:
            errors["phone"] = "bad_phone"
    upload = await read_upload(form, wf.settings.max_photo_bytes)
    counted = False
    if upload:  # parsing costs CPU: the attempt is paid for first, whatever the photo turns out to be
        if not wf.limits.take_request(address):
            raise web.HTTPTooManyRequests(headers=RETRY_AFTER)
        counted = True
    photo, photo_error = await read_photo(upload, wf.settings.max_photo_bytes)
    if photo_error:
        errors["photo"] = photo_error
    if errors:
        return show_form(request, entered, errors, status=413 if photo_error == "photo_too_large" else 400)
    if not counted and not wf.limits.take_request(address):
        raise web.HTTPTooManyRequests(headers=RETRY_AFTER)
    key = receipt_key(entered.token)
    sada = wf.sada
    result = await sada.inbound(
        InboundMessage(
            channel=WEB,
            address=f"web:{key}",
            provider_message_id=f"web:{key}",
            text=entered.message_text(),
            received_at=sada.clock.now(),
            location=location,
        )
    )
    if result.dropped:
        raise web.HTTPTooManyRequests(headers=RETRY_AFTER)
    if result.intent != IntentKind.NEW_REQUEST or result.ticket_code is None:
        log.info("webform message not taken as a request: intent=%s", result.intent)
        return show_form(request, entered, {"text": "not_a_request"}, status=422)
    code = result.ticket_code
    try:
        await _after(request, entered, code, photo, mobile)
    except IntegrityError:
        # The same form, sent again at the same moment, stored the same photo or phone first.
        log.info("webform form sent twice at once: the receipt of the first")
    except Exception as exc:  # noqa: BLE001 - the ticket exists: the citizen must still get its code
        # The exception's class and where it was raised, never its message: a driver's message may
        # quote the values it was given (the phone number, the text).
        log.error(
            "webform ticket %s filed, but storing its photo or phone failed: %s at %s",
            code,
            type(exc).__name__,
            raised_at(exc),
        )
        return render(
            request,
            "after_failed.html",
            status=500,
            code=code,
            token=entered.token,
            photo=photo is not None,
            phone=mobile is not None,
        )
    raise web.HTTPSeeOther(f"{wf.settings.path}receipt/{entered.token}")


async def _after(
    request: web.Request, entered: Entered, code: str, photo: Photo | None, mobile: str | None
) -> None:
    """Store the photo on the ticket and send the phone its first code (once per form token)."""
    wf = webform_of(request)
    sada = wf.sada
    key = receipt_key(entered.token)
    confirmations = wf.confirmations
    async with sada.store.transaction() as tx:
        ticket = await tx.tickets.by_code(code)
        if ticket is None:  # the pipeline just returned its code
            raise LookupError("the ticket the pipeline returned is not in the store")
        if photo is not None:
            await WebPhotoRepository(tx.session).attach(
                ticket_id=ticket.id,
                channel=WEB,
                reference=f"web:{key}",
                data=photo.data,
                content_type=photo.content_type,
                at=sada.clock.now(),
            )
        if confirmations is not None and mobile is not None:
            await confirmations.start(tx, entered.token, ticket.id, mobile)
    sada.dispatcher.wake()
    log.info("webform ticket=%s photo=%s phone=%s", ticket.id, photo is not None, mobile is not None)


def raised_at(exc: BaseException) -> str:
    """Where `exc` was raised: the last frames' file names and lines (no message, no values)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)) or "?"


def show_form(
    request: web.Request, entered: Entered, errors: Mapping[str, str], *, status: int = 200
) -> web.Response:
    """The form, with what was typed and what is wrong with it."""
    wf = webform_of(request)
    return render(
        request,
        "form.html",
        status=status,
        form=entered,
        errors=errors,
        phone_field=wf.sms_channel is not None,
        max_photo_mb=max(1, wf.settings.max_photo_bytes // (1024 * 1024)),
        honeypot=HONEYPOT,
    )
