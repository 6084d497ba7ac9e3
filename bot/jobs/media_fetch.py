"""Fetching the files citizens send, after their message is stored: the ticket never waits.

The gateway writes a pending `media` row for each file in the transaction that stores the message
(a crash cannot lose one). This job, run by every process, claims due rows with a lease
(storage.media), fetches each through its channel (`channels.base.MediaSource`: Telegram and Bale
`getFile`), sniffs the type from the bytes and stores them, or retries with back-off, or gives up:
`too_large` past the cap (nothing kept), `failed` after the configured attempts or a final error.

A stored voice note goes to speech recognition when a city runs it ([media] speech_url): the
transcript is kept with the file and shown on the ticket page, and a ticket that is still waiting
for an operator in the fallback category is classified from it through the operators' own
reclassify path (actor `speech`), if the classifier is sure of a category.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.config import MediaSettings
from bot.dates.clock import Clock
from bot.intake.understanding import Understander
from bot.jobs.speech import SpeechError, SpeechRecognizer
from bot.lifecycle import Lifecycle
from bot.models import OPEN_STATUSES
from channels.base import Channel, MediaSource, MediaTooLarge, MediaUnavailable
from storage.media import FAILED, TOO_LARGE, MediaClaim, MediaRepository, sniff
from storage.store import Store

log = logging.getLogger(__name__)

BATCH = 8  # files claimed per pass (fetched one after the other: a pass stays short)
LEASE = timedelta(minutes=10)  # a claimed file is retried by anyone if not settled within this
SPEECH_ACTOR = "speech"


def backoff(settings: MediaSettings, attempts: int) -> float:
    """Seconds before the attempt after `attempts` failed ones."""
    return float(min(settings.backoff_base * 2 ** max(attempts - 1, 0), settings.backoff_max))


class MediaFetcher:
    """Claims pending files, fetches, sniffs and stores them; safe with several processes."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        settings: MediaSettings,
        clock: Clock,
        *,
        lifecycle: Lifecycle | None = None,
        understander: Understander | None = None,
        fallback_category: str = "general",
        speech: SpeechRecognizer | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self._clock = clock
        self._life = lifecycle
        self._nlp = understander
        self._fallback = fallback_category
        self.speech = speech
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def bind(self, understander: Understander) -> None:
        """The classifier for transcripts (built by `Sada.start`)."""
        self._nlp = understander

    def wake(self) -> None:
        """A message with files was committed: look now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Fetch what is due; returns how many files were settled (stored or given up)."""
        now = self._clock.now()
        # Woken after every stored group, mostly of words only: look before taking the write lock
        # (on SQLite a claim queues behind intake's group commits for nothing).
        async with self._store.read() as tx:
            if not await MediaRepository(tx.session).any_due(now):
                return 0
        async with self._store.transaction() as tx:
            claims = await MediaRepository(tx.session).claim(limit=BATCH, now=now, lease=LEASE)
        settled = 0
        for claim in claims:
            settled += await self._fetch(claim)
        return settled

    async def drain(self) -> int:
        """Fetch until nothing is due now (tests, the CLI)."""
        total = 0
        while done := await self.run_once():
            total += done
        return total

    async def _fetch(self, claim: MediaClaim) -> int:
        channel = self._channels.get(claim.channel)
        if not isinstance(channel, MediaSource):
            async with self._store.transaction() as tx:
                await MediaRepository(tx.session).give_up(claim, FAILED, "the channel cannot fetch files")
            log.warning("media=%s channel=%s cannot fetch files", claim.id, claim.channel)
            return 1
        try:
            data = await channel.fetch_media(claim.reference, self._settings.max_bytes)
        except MediaTooLarge as exc:
            return await self._give_up(claim, TOO_LARGE, str(exc))
        except MediaUnavailable as exc:
            if not exc.retryable or claim.attempts >= self._settings.attempts:
                return await self._give_up(claim, FAILED, str(exc))
            at = self._clock.now() + timedelta(seconds=backoff(self._settings, claim.attempts))
            async with self._store.transaction() as tx:
                await MediaRepository(tx.session).retry(claim, at, str(exc))
            log.info("media=%s attempt %d failed, retrying: %s", claim.id, claim.attempts, exc)
            return 0
        except Exception as exc:  # noqa: BLE001 - an adapter's bug must not stop the other files
            log.exception("media=%s fetch raised", claim.id)
            return await self._give_up(claim, FAILED, f"unexpected {type(exc).__name__}")
        if len(data) > self._settings.max_bytes:  # an adapter that ignored the cap
            return await self._give_up(claim, TOO_LARGE, "over the cap")
        content_type = sniff(data)
        async with self._store.transaction() as tx:
            kept = await MediaRepository(tx.session).stored(claim, data, content_type, self._clock.now())
        if not kept:
            log.info("media=%s claim lost: another process settled it", claim.id)
            return 0
        log.info("media=%s stored kind=%s type=%s bytes=%d", claim.id, claim.kind, content_type, len(data))
        if self.speech is not None and claim.kind in ("voice", "audio") and content_type.startswith("audio/"):
            await self._transcribe(claim, data, content_type)
        return 1

    async def _give_up(self, claim: MediaClaim, status: str, error: str) -> int:
        async with self._store.transaction() as tx:
            done = await MediaRepository(tx.session).give_up(claim, status, error)
        log.warning("media=%s %s: %s", claim.id, status, error)
        return 1 if done else 0

    async def _transcribe(self, claim: MediaClaim, data: bytes, content_type: str) -> None:
        """Keep what the recogniser heard; classify a still-unclassified ticket from it."""
        assert self.speech is not None  # noqa: S101 - the caller checked
        try:
            text = await self.speech.transcribe(data, content_type)
        except SpeechError as exc:
            log.warning("media=%s speech recognition failed: %s", claim.id, exc)
            return
        if not text:
            return
        found = None
        if self._nlp is not None:
            try:
                found = (await asyncio.to_thread(self._nlp.understand_many, [text]))[0]
            except Exception:  # noqa: BLE001 - the transcript is still worth keeping
                log.exception("media=%s classifying the transcript failed", claim.id)
        async with self._store.transaction() as tx:
            await MediaRepository(tx.session).set_transcript(claim.id, text)
            if found is None or claim.ticket_id is None or self._life is None:
                return
            decided = found.classification
            if decided.needs_review or decided.category == self._fallback:
                return  # unsure: the operator reads the transcript
            ticket = await tx.tickets.get(claim.ticket_id, for_update=True)
            if (
                ticket is None
                or not ticket.needs_review
                or ticket.category != self._fallback
                or ticket.status not in OPEN_STATUSES
            ):
                return  # an operator got there first
            await self._life.reclassify(
                tx,
                ticket,
                decided.category,
                actor=SPEECH_ACTOR,
                reason="دسته از متن پیام صوتی (تشخیص گفتار) تعیین شد",
                department=decided.department,
            )
            log.info("ticket=%s classified from its voice note: %s", ticket.id, decided.category)

    async def run(self) -> None:
        """Fetch every `poll_interval` seconds (or when woken) until stopped."""
        while not self._stopping.is_set():
            try:
                while await self.run_once() and not self._stopping.is_set():
                    pass
            except Exception:
                log.exception("media pass failed")
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_interval)
            self._wake.clear()

    def stop(self) -> None:
        """Return from `run()` after the current file."""
        self._stopping.set()
        self._wake.set()

    async def aclose(self) -> None:
        if self.speech is not None:
            await self.speech.aclose()
