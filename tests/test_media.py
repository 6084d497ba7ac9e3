"""Photos and voice notes: stored as pending rows with the message, fetched afterwards through the
fake Bot API over real HTTP (getFile + download), capped, sniffed, retried, removed by retention,
and a voice note with no text is a ticket for an operator (optionally heard by a fake recogniser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import Sada
from bot.cli.retention import anonymise
from bot.dates.clock import ManualClock
from bot.intake.understanding import correction_examples
from bot.jobs.media_fetch import LEASE
from bot.jobs.speech import HttpSpeech
from bot.models import EventKind, InboundMessage, TicketStatus
from channels.fake import FakeChannel
from channels.telegram import TelegramChannel
from storage.media import MediaRepository, NewMedia, sniff
from storage.tables import MediaRow
from tests.channels import updates as u
from tests.channels.fakes import FakeBotApi, start
from tests.conftest import START, existing, make_config
from tests.media_samples import jpeg, ogg_opus, png

TOKEN = "123456789:AAmedia-TEST-token-abcdefghij"
SECRET = "hook_secret_media_0123456789"
RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "یه چاله بزرگ وسط خیابان ولیعصر نزدیک پارک ملت افتاده خطرناکه"
HEARD = "زباله های کوچه ما سه روزه جمع نشده لطفا رسیدگی کنید"


def voice(update_id: int, file_id: str = "voice-1", uid: int = 42) -> dict[str, Any]:
    note = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": 1, "mime_type": "audio/ogg"}
    return u.message(update_id, 80 + update_id, voice=note, uid=uid)


def photo(update_id: int, caption: str | None, file_id: str = "large-file-id") -> dict[str, Any]:
    update = u.photo(update_id, caption)
    update["message"]["photo"][-1]["file_id"] = file_id
    return update


@dataclass
class Rig:
    sada: Sada
    api: FakeBotApi
    bot: TelegramChannel
    clock: ManualClock

    async def send(self, update: dict[str, Any]) -> Any:
        message = self.bot.parse(update)
        assert isinstance(message, InboundMessage)
        result = await self.sada.inbound(message)
        await self.sada.dispatcher.drain()
        return result

    async def rows(self) -> list[MediaRow]:
        async with self.sada.store.read() as tx:
            return list(await tx.session.scalars(select(MediaRow).order_by(MediaRow.id)))

    async def ticket(self, code: str) -> Any:
        async with self.sada.store.read() as tx:
            return await tx.tickets.by_code(code)


@asynccontextmanager
async def rig(store_url: str, tmp_path: Path, **media: Any) -> AsyncIterator[Rig]:
    api = FakeBotApi(TOKEN)
    url = await api.start()
    bot = TelegramChannel(
        "tg", token=TOKEN, secret=SECRET, base_url=url, base_file_url=api.file_url(), chat_interval=0.0
    )
    clock = ManualClock(START)
    config = make_config(store_url, tmp_path, media=media)
    sada = Sada(config, channels={"tg": bot, "sms": FakeChannel("sms")}, clock=clock)
    await sada.start(background_tasks=False)
    try:
        yield Rig(sada, api, bot, clock)
    finally:
        await sada.stop()
        await api.close()


async def test_a_photo_is_fetched_after_its_ticket_and_its_type_read_from_the_bytes(
    store_url: str, tmp_path: Path
) -> None:
    async with rig(store_url, tmp_path) as r:
        picture = jpeg()
        r.api.files["large-file-id"] = picture
        result = await r.send(photo(1, RUBBISH))
        assert result.ticket_code
        # The ticket and the pending row exist before anything is fetched: the ticket never waits.
        [row] = await r.rows()
        assert (row.status, row.kind, row.data, row.attempts) == ("pending", "photo", None, 0)
        ticket = await r.ticket(result.ticket_code)
        assert row.ticket_id == ticket.id and row.inbound_id is not None
        assert [c.method for c in r.api.calls].count("getFile") == 0
        assert await r.sada.media.drain() == 1
        [row] = await r.rows()
        assert (row.status, row.content_type, row.size) == ("stored", "image/jpeg", len(picture))
        assert row.data == picture and row.attempts == 1 and row.stored_at == START
        assert r.api.downloads == ["files/large-file-id"]
        # The fake serves it as application/octet-stream: the type came from the bytes.


async def test_a_voice_note_without_text_is_a_ticket_for_an_operator_and_the_citizen_is_told(
    store_url: str, tmp_path: Path
) -> None:
    async with rig(store_url, tmp_path) as r:
        r.api.files["voice-1"] = ogg_opus()
        r.api.files["voice-2"] = ogg_opus()
        first = await r.send(voice(1))
        second = await r.send(voice(2, "voice-2", uid=43))
        assert first.ticket_code and second.ticket_code and first.ticket_code != second.ticket_code
        ticket = await r.ticket(first.ticket_code)
        assert ticket.needs_review and ticket.category == "general"
        assert ticket.status is TicketStatus.REGISTERED
        assert ticket.model_version == "voice" and ticket.text == ""
        [told] = r.api.sent("42")
        assert "پیام صوتی شما رسید" in told["text"] and "کارشناس" in told["text"]
        assert "بنویسید" not in told["text"]  # no longer "please write"
        await r.sada.media.drain()
        assert [(m.kind, m.status, m.content_type) for m in await r.rows()] == [
            ("voice", "stored", "audio/ogg"),
            ("voice", "stored", "audio/ogg"),
        ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (jpeg(), "image/jpeg"),
        (png(), "image/png"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (ogg_opus(0.1), "audio/ogg"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + b"\x00" * 8, "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"<html><script>alert(1)</script>", "application/octet-stream"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_type_is_sniffed_from_magic_bytes(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


async def test_a_file_over_the_cap_is_not_kept(store_url: str, tmp_path: Path) -> None:
    async with rig(store_url, tmp_path, max_bytes=2048) as r:
        big = jpeg(400, 300, (10, 200, 30)) + b"\x00" * 4096
        r.api.files["large-file-id"] = big  # getFile says how big: not even downloaded
        r.api.files["liar"] = big
        r.api.file_sizes["liar"] = 100  # getFile says small: the download stops at the cap
        await r.send(photo(1, RUBBISH))
        await r.send(photo(2, POTHOLE, "liar"))
        await r.sada.media.drain()
        rows = await r.rows()
        assert [(m.status, m.data, m.size) for m in rows] == [("too_large", None, None)] * 2
        assert r.api.downloads == ["files/liar"]


async def test_a_failed_fetch_is_retried_with_back_off_then_given_up(store_url: str, tmp_path: Path) -> None:
    async with rig(store_url, tmp_path, attempts=3, backoff_base_seconds=30) as r:
        r.api.files["large-file-id"] = jpeg()
        r.api.file_script.fail_next((500, {"ok": False}), (503, {"ok": False}))
        await r.send(photo(1, RUBBISH))
        assert await r.sada.media.run_once() == 0
        [row] = await r.rows()
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "tg: download 500")
        assert row.next_attempt_at is not None
        assert await r.sada.media.run_once() == 0  # not due yet: nothing claimed
        r.clock.advance(timedelta(seconds=31))
        assert await r.sada.media.run_once() == 0  # 503: again, 60 s later
        r.clock.advance(timedelta(seconds=59))
        assert await r.sada.media.run_once() == 0
        r.clock.advance(timedelta(seconds=2))
        assert await r.sada.media.run_once() == 1
        [row] = await r.rows()
        assert (row.status, row.attempts, row.last_error) == ("stored", 3, None)
        # A file the provider no longer has fails at once; one that keeps failing fails after N tries.
        r.api.file_script.fail_next(*[(500, {"ok": False})] * 3)
        r.api.files["other"] = png()
        await r.send(photo(2, POTHOLE, "other"))
        for _ in range(3):
            await r.sada.media.run_once()
            r.clock.advance(timedelta(hours=1))
        assert [(m.status, m.attempts) for m in await r.rows()][1] == ("failed", 3)


async def test_pending_files_survive_a_crash_and_a_lost_claim_is_taken_again(
    store_url: str, tmp_path: Path
) -> None:
    async with rig(store_url, tmp_path) as r:
        r.api.files["large-file-id"] = jpeg()
        await r.send(photo(1, RUBBISH))
        # A process claims the file and dies before settling it.
        async with r.sada.store.transaction() as tx:
            [claim] = await MediaRepository(tx.session).claim(limit=5, now=r.clock.now(), lease=LEASE)
        assert await r.sada.media.run_once() == 0  # leased: nobody else takes it meanwhile
        r.clock.advance(LEASE + timedelta(seconds=1))
        assert await r.sada.media.run_once() == 1
        # The dead process's late answer cannot overwrite the claim that settled it.
        async with r.sada.store.transaction() as tx:
            assert not await MediaRepository(tx.session).stored(claim, b"stale", "image/png", r.clock.now())
        [row] = await r.rows()
        assert (row.status, row.attempts, row.content_type) == ("stored", 2, "image/jpeg")
    # A restart finds what was left pending (here: the fetcher never ran before the stop).
    async with rig(store_url, tmp_path) as r:
        r.api.files["again"] = png()
        await r.send(photo(2, POTHOLE, "again"))
    async with rig(store_url, tmp_path) as r:
        r.api.files["again"] = png()
        assert await r.sada.media.drain() == 1
        assert [m.status for m in await r.rows()] == ["stored", "stored"]


async def test_a_channel_that_cannot_fetch_files_fails_them_and_disabled_media_keeps_no_rows(
    store_url: str, tmp_path: Path
) -> None:
    async with rig(store_url, tmp_path) as r:
        async with r.sada.store.transaction() as tx:
            await MediaRepository(tx.session).add_pending([NewMedia(None, None, "sms", "x", "photo")], START)
        assert await r.sada.media.drain() == 1
        [row] = await r.rows()
        assert (row.status, row.last_error) == ("failed", "the channel cannot fetch files")
    async with rig(store_url, tmp_path / "off", enabled=False) as r:
        r.api.files["large-file-id"] = jpeg()
        result = await r.send(photo(1, RUBBISH))
        assert result.ticket_code and len(await r.rows()) == 1  # only the earlier one
        async with r.sada.store.read() as tx:
            ticket = await tx.tickets.by_code(result.ticket_code)
            assert ticket is not None
            created = [e for e in await tx.tickets.events(ticket.id) if e.kind is EventKind.CREATED]
        assert created[0].data["attachments"] == ["large-file-id"]  # still named in the history


async def test_retention_removes_the_files_and_transcripts_of_anonymised_tickets(
    store_url: str, tmp_path: Path
) -> None:
    async with rig(store_url, tmp_path) as r:
        r.api.files["large-file-id"] = jpeg()
        r.api.files["pending"] = png()
        done = await r.send(photo(1, RUBBISH))
        live = await r.send(photo(2, POTHOLE, "pending"))
        await r.sada.media.drain()
        late = await r.send(voice(3, "late", uid=44))  # never fetched before retention
        async with r.sada.store.transaction() as tx:
            await MediaRepository(tx.session).set_transcript((await r.rows())[1].id, "متن")
            for code in (done.ticket_code, late.ticket_code):
                ticket = await existing(tx, code)
                await r.sada.lifecycle.change_status(
                    tx, ticket, TicketStatus.REJECTED, actor="test", note="تکراری"
                )
        r.clock.advance(timedelta(days=400))
        report = await anonymise(r.sada.store, days=365, now=r.clock.now())
        assert report.media == 2
        rows = await r.rows()
        gone = [m for m in rows if m.ticket_id != (await r.ticket(live.ticket_code)).id]
        assert [(m.status, m.data, m.transcript) for m in gone] == [("refused", None, None)] * 2
        assert all(m.reference == f"anon-{m.id}" for m in gone)
        kept = [m for m in rows if m not in gone]
        assert [(m.status, m.transcript) for m in kept] == [("stored", "متن")] and kept[0].data
        assert await r.sada.media.drain() == 0  # the late one is never fetched now
        assert (await anonymise(r.sada.store, days=365, now=r.clock.now())).media == 0


@asynccontextmanager
async def fake_whisper(answers: list[tuple[int, Any]]) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A whisper.cpp-style server: POST /inference (multipart `file`) → {"text": ...}."""
    received: list[dict[str, Any]] = []

    async def inference(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        received.append(
            {"bytes": upload.file.read(), "type": upload.content_type, "format": form["response_format"]}
        )
        status, body = answers.pop(0) if answers else (200, {"text": HEARD})
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/inference", inference)
    server = await start(app)
    try:
        yield str(server.make_url("/inference")), received
    finally:
        await server.close()


async def test_speech_recognition_keeps_a_transcript_and_classifies_an_unclassified_voice_ticket(
    store_url: str, tmp_path: Path
) -> None:
    async with fake_whisper([]) as (url, received), rig(store_url, tmp_path, speech_url=url) as r:
        assert isinstance(r.sada.media.speech, HttpSpeech)
        audio = ogg_opus()
        r.api.files["voice-1"] = audio
        result = await r.send(voice(1))
        await r.sada.media.drain()
        assert received == [{"bytes": audio, "type": "audio/ogg", "format": "json"}]
        [row] = await r.rows()
        assert row.transcript == HEARD
        ticket = await r.ticket(result.ticket_code)
        assert (ticket.category, ticket.department, ticket.needs_review) == (
            "waste_collection",
            "waste",
            False,
        )
        async with r.sada.store.read() as tx:
            events = await tx.tickets.events(ticket.id)
        [moved] = [e for e in events if e.kind is EventKind.RECLASSIFIED]
        assert moved.actor == "speech" and moved.data["to_category"] == "waste_collection"


async def test_speech_leaves_a_ticket_an_operator_classified_and_survives_a_failing_engine(
    store_url: str, tmp_path: Path
) -> None:
    async with (
        fake_whisper([(500, {"error": "busy"})]) as (url, _),
        rig(store_url, tmp_path, speech_url=url) as r,
    ):
        r.api.files["voice-1"] = ogg_opus()
        r.api.files["voice-2"] = ogg_opus()
        failing = await r.send(voice(1))
        await r.sada.media.drain()  # the engine answers 500: the file is kept, no transcript
        [row] = await r.rows()
        assert (row.status, row.transcript) == ("stored", None)
        assert (await r.ticket(failing.ticket_code)).needs_review
        classified = await r.send(voice(2, "voice-2", uid=43))
        async with r.sada.store.transaction() as tx:
            ticket = await existing(tx, classified.ticket_code)
            await r.sada.lifecycle.reclassify(tx, ticket, "road_damage", actor="olga", reason="شنیدم")
        await r.sada.media.drain()
        ticket = await r.ticket(classified.ticket_code)
        assert ticket.category == "road_damage"  # the operator's choice stands
        assert (await r.rows())[1].transcript == HEARD  # the transcript is kept all the same


async def test_a_file_path_that_is_not_a_download_from_the_bot_api_is_refused(
    store_url: str, tmp_path: Path
) -> None:
    """PTB keeps a `file_path` naming a local file as it is (local Bot API servers): we never read
    the disk for a provider, nor climb out of its file URL."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"%PDF- not for the bot")
    async with rig(store_url, tmp_path) as r:
        for file_id, path in (("local", str(secret)), ("climb", "files/../../bot/getMe")):
            r.api.files[file_id] = b"unused"
            r.api.file_paths[file_id] = path
        await r.send(photo(1, RUBBISH, "local"))
        await r.send(photo(2, POTHOLE, "climb"))
        await r.sada.media.drain()
        rows = await r.rows()
        assert [(m.status, m.data) for m in rows] == [("failed", None)] * 2
        assert {m.last_error for m in rows} == {"tg: getFile gave no downloadable path"}
        assert r.api.downloads == []


def test_a_ticket_without_words_is_no_training_example() -> None:
    departments = {"waste_collection": "waste"}
    examples = correction_examples([("", "waste_collection"), (RUBBISH, "waste_collection")], departments)
    assert [e.text for e in examples] == [RUBBISH]


async def test_a_photo_without_words_joins_the_senders_open_report_however_old(
    store_url: str, tmp_path: Path
) -> None:
    """An operator's free reply asks for a photo; days later the citizen sends just the photo. It
    goes to their open report (history, media store, fetched like any other), and they are told
    which ticket took it. With no open report they are asked to write the problem first."""
    async with rig(store_url, tmp_path) as r:
        picture = jpeg()
        r.api.files["later-photo"] = picture
        first = await r.send(u.message(1, 81, text=RUBBISH))
        assert first.ticket_code
        r.clock.advance(timedelta(days=5))
        joined = await r.send(photo(2, None, file_id="later-photo"))
        assert (joined.intent, joined.ticket_code) == ("attachment", first.ticket_code)
        ticket = await r.ticket(first.ticket_code)
        [row] = await r.rows()
        assert (row.ticket_id, row.status, row.kind) == (ticket.id, "pending", "photo")
        assert await r.sada.media.drain() == 1
        [row] = await r.rows()
        assert row.data == picture
        async with r.sada.store.read() as tx:
            events = await tx.tickets.events(ticket.id)
        assert any(e.kind is EventKind.MESSAGE_IN and e.data.get("attachments") for e in events)
        told = [c.params["text"] for c in r.api.calls if c.method == "sendMessage"]
        assert "فایل شما به درخواست" in told[-1]

        # The report is closed: a photo alone no longer joins it, and nothing is stored for it.
        async with r.sada.store.transaction() as tx:
            await r.sada.lifecycle.change_status(
                tx, ticket, TicketStatus.REJECTED, actor="operator:test", note="تکراری است"
            )
        await r.sada.dispatcher.drain()
        alone = await r.send(photo(3, None, file_id="orphan-photo"))
        assert (alone.intent, alone.ticket_code) == ("attachment", None)
        assert len(await r.rows()) == 1
        told = [c.params["text"] for c in r.api.calls if c.method == "sendMessage"]
        assert "لطفاً مشکل را با نشانی بنویسید" in told[-1]


async def test_the_fetcher_is_woken_by_a_stored_message_with_files_only(
    store_url: str, tmp_path: Path
) -> None:
    # Words only: replies are due, files are not (the fetcher's own poll still runs); a photo wakes
    # it at once. Through the same door as production: the channel's parse, then Sada.inbound.
    async with rig(store_url, tmp_path) as r:
        woken: list[str] = []
        outbox_wake, media_wake = r.sada.dispatcher.wake, r.sada.media.wake

        def outbox() -> None:
            woken.append("outbox")
            outbox_wake()

        def media() -> None:
            woken.append("media")
            media_wake()

        r.sada.dispatcher.wake = outbox  # type: ignore[method-assign]
        r.sada.media.wake = media  # type: ignore[method-assign]
        assert (await r.send(u.text(1, 1, POTHOLE))).ticket_code
        assert woken == ["outbox"]
        r.api.files["large-file-id"] = jpeg()
        assert (await r.send(photo(2, RUBBISH, file_id="large-file-id"))).ticket_code
        assert woken == ["outbox", "outbox", "media"]
        assert await r.sada.media.drain() == 1
