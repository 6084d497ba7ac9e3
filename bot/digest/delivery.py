"""Sending digests: claim (recipient, day, medium) in the store first, then send, then settle.

Claiming before building means a restarted process, or a second one, finds the rows taken and
neither rebuilds nor resends. The claim is the only coordination needed between processes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import aiosmtplib

from bot.dates.clock import Clock
from bot.dates.workdays import WorkCalendar
from bot.digest.chart import render_chart
from bot.digest.figures import Digest, Limits, build_digest, jalali_key
from bot.digest.mail import build_email
from bot.digest.settings import DigestSettings, Recipient, SmtpSettings
from bot.digest.text import fit_text
from bot.digest.wording import Names, day_title
from bot.models import OutboundMessage, SendResult
from storage.digests import DigestDeliveryRepository
from storage.store import Store

if TYPE_CHECKING:
    from bot.config import AppConfig
    from channels.base import Channel

log = logging.getLogger(__name__)

EMAIL = "email"
SENT, SKIPPED, FAILED = "sent", "skipped", "failed"


class TextSender(Protocol):
    """A chat channel: sends text."""

    async def send(self, message: OutboundMessage) -> SendResult: ...


@runtime_checkable
class PhotoSender(Protocol):
    """A chat channel that can also send an image (Telegram, Bale)."""

    async def send_photo(self, address: str, photo: bytes, caption: str = "") -> SendResult: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one recipient's digest on one medium."""

    recipient: str
    medium: str
    status: str  # sent | skipped (already claimed) | failed
    error: str | None = None


class Mailer:
    """SMTP through aiosmtplib, configured by `[digest.smtp]`."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, digest: Digest, names: Names, to: str, chart: bytes | None) -> None:
        """Send one digest e-mail."""
        s = self.settings
        message = build_email(digest, names, sender=s.sender, to=to, chart=chart)
        await aiosmtplib.send(
            message,
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            start_tls=s.starttls,
            use_tls=s.tls,
            timeout=s.timeout,
        )


class DigestSender:
    """Builds each scope's digest at most once per run and delivers it to every recipient."""

    def __init__(
        self,
        store: Store,
        settings: DigestSettings,
        names: Names,
        calendar: WorkCalendar,
        clock: Clock,
        *,
        channels: Mapping[str, object],
    ) -> None:
        self._store = store
        self._settings = settings
        self._names = names
        self._calendar = calendar
        self._clock = clock
        self._channels = channels
        self._mailer = Mailer(settings.smtp) if settings.smtp else None
        self.limits = Limits(
            overdue=settings.overdue_limit,
            hotspot_min=settings.hotspot_min,
            hotspot_ratio=settings.hotspot_ratio,
            hotspots=settings.hotspot_limit,
            examples=settings.examples,
        )

    def recipients(self, only: str | None = None) -> list[Recipient]:
        """Configured recipients, or just the one named `only` (KeyError when unknown)."""
        if only is None:
            return list(self._settings.recipients)
        found = [r for r in self._settings.recipients if r.name == only]
        if not found:
            raise KeyError(only)
        return found

    async def deliver(self, day: date, *, only: str | None = None) -> list[Outcome]:
        """Send `day`'s digest to every recipient (or `only` one) that has not had it yet."""
        built: dict[str | None, tuple[Digest, bytes | None]] = {}

        async def composed(department: str | None) -> tuple[Digest, bytes | None]:
            if department not in built:
                digest = await build_digest(self._store, day, department, self._calendar, self.limits)
                chart = render_chart(digest, self._names) if self._settings.chart else None
                built[department] = (digest, chart)
            return built[department]

        outcomes: list[Outcome] = []
        for r in self.recipients(only):
            if r.chat_channel and r.chat_id:
                channel, chat_id = r.chat_channel, r.chat_id

                async def chat(
                    r: Recipient = r, channel: str = channel, chat_id: str = chat_id
                ) -> str | None:
                    digest, chart = await composed(r.department)
                    return await self._send_chat(channel, chat_id, digest, chart)

                outcomes.append(await self._once(r.name, day, channel[:16], chat))
            if r.email:
                email = r.email

                async def mail(r: Recipient = r, email: str = email) -> str | None:
                    if self._mailer is None:
                        raise RuntimeError("no SMTP server configured")
                    digest, chart = await composed(r.department)
                    await self._mailer.send(digest, self._names, email, chart)
                    return None

                outcomes.append(await self._once(r.name, day, EMAIL, mail))
        return outcomes

    async def _once(
        self, recipient: str, day: date, medium: str, send: Callable[[], Awaitable[str | None]]
    ) -> Outcome:
        key = jalali_key(day)
        async with self._store.transaction() as tx:
            claim = await DigestDeliveryRepository(tx.session).claim(
                recipient, key, medium, self._clock.now()
            )
        if claim is None:
            return Outcome(recipient, medium, SKIPPED)
        try:
            note = await send()
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried on the next run
            error = f"{type(exc).__name__}: {exc}"[:300]
            async with self._store.transaction() as tx:
                await DigestDeliveryRepository(tx.session).mark_failed(claim, error)
            log.warning("digest recipient=%s day=%s medium=%s failed: %s", recipient, key, medium, error)
            return Outcome(recipient, medium, FAILED, error)
        async with self._store.transaction() as tx:
            repo = DigestDeliveryRepository(tx.session)
            await repo.mark_sent(claim, self._clock.now())
            if note:
                await repo.note(claim, note)
        log.info("digest recipient=%s day=%s medium=%s sent", recipient, key, medium)
        return Outcome(recipient, medium, SENT, note)

    async def _send_chat(self, name: str, chat_id: str, digest: Digest, chart: bytes | None) -> str | None:
        """Text first (it is the digest); a chart that fails after it is noted, not resent with it."""
        channel = self._channels.get(name)
        if channel is None or not hasattr(channel, "send"):
            raise RuntimeError(f"no chat channel named {name!r}")
        text_sender: TextSender = channel  # type: ignore[assignment]
        await text_sender.send(
            OutboundMessage(channel=name, address=chat_id, text=fit_text(digest, self._names))
        )
        if chart is None or not isinstance(channel, PhotoSender):
            return None
        try:
            await channel.send_photo(chat_id, chart, caption=f"📊 {day_title(digest.day)}")
        except Exception as exc:  # noqa: BLE001 - the text went out; do not send it twice for a picture
            return f"chart not sent: {type(exc).__name__}"
        return None


def make_sender(
    config: AppConfig, store: Store, channels: Mapping[str, Channel], clock: Clock
) -> tuple[DigestSender, DigestSettings]:
    """The sender for this service, with `[digest]` as read (and checked) with the config."""
    settings = config.digest
    sender = DigestSender(store, settings, Names(config.taxonomy), config.calendar, clock, channels=channels)
    return sender, settings
