"""Telegram and Bale bots through python-telegram-bot, mounted in our own aiohttp app.

Bale (bale.ai) speaks the Bot API at its own base URLs, so one adapter serves both; several bots
can be configured at once, each a channel of its own. We use PTB's `Bot` (requests, typed errors)
and `Update.de_json` (parsing), not its Application: the gateway is our only handler, and feeding
PTB's update queue would acknowledge Telegram before the message is committed.

Files citizens send (photos, voice notes, documents) are fetched afterwards, in the background
(`fetch_media`: `getFile`, then a capped download from `base_file_url`).

Webhook mode: Telegram POSTs each update to `/hooks/<name>/<secret>`; the path secret is checked
always and the `X-Telegram-Bot-Api-Secret-Token` header whenever it is sent (and required where
configured: Bale's support for it is unverified, protocols.md). Polling mode (development):
`getUpdates` long polling, the offset advanced only past committed updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.models import (
    Attachment,
    Button,
    GeoPoint,
    InboundMessage,
    Medium,
    OutboundMessage,
    SendError,
    SendResult,
)
from bot.toml_reader import ConfigError, Table
from channels import provider_config as cfg
from channels.base import MediaTooLarge, MediaUnavailable, OnInbound, RecipientBlocked
from channels.phone import maybe_mobile
from channels.ratelimit import RateLimiter
from channels.redaction import hide_secret
from channels.registry import BuildContext, Provider, ReadContext, Role
from channels.webhook import BadPayload, Guard, decode_json, ignored, read_body, refused

log = logging.getLogger(__name__)

# PTB 22.2+ warns whenever a time period is read as an int, even inside its own RetryAfter
# constructor; opting in to timedelta values (the documented switch) silences that for good.
os.environ.setdefault("PTB_TIMEDELTA", "true")

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"
BALE_BASE_URL = "https://tapi.bale.ai/bot"
BALE_FILE_URL = "https://tapi.bale.ai/file/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_UPDATE_BYTES = 256 * 1024
ALLOWED_UPDATES = ("message", "callback_query")

# Menu buttons go on a reply keyboard (under the input field) together with these two, which ask
# Telegram to share the citizen's own phone number (for SMS fallback) or location.
CONTACT_LABEL = "📱 ارسال شماره تلفن"
LOCATION_LABEL = "📍 ارسال موقعیت"
MENU_PREFIX = "menu:"


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds (PTB 22 warns when the int form is read; we take either)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def inbound_from_update(
    update: Update, channel: str, keyboard: Mapping[str, str] | None = None
) -> InboundMessage | None:
    """An update → our inbound message, or None for updates that carry nothing for us (pure)."""
    keyboard = keyboard or {}
    query = update.callback_query
    if query is not None:
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        return InboundMessage(
            channel=channel,
            address=str(chat),
            provider_message_id=f"cb:{query.id}",
            text="",
            received_at=datetime.now(UTC),
            display_name=query.from_user.full_name,
            button=query.data or None,
            meta={"callback_query_id": query.id},
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    if message.chat.type in ("group", "supergroup", "channel"):
        return None  # the service talks to citizens one to one
    text = message.text or message.caption or ""
    phone = None
    contact = message.contact
    # Only the sender's own number counts: a forwarded contact card is somebody else's.
    # Telegram sets `user_id` when the contact is a Telegram user; a card without it (typed in, or
    # shared from the address book) proves nothing, and linking on it would let a stranger answer
    # the owner's surveys.
    if contact is not None and contact.user_id is not None and contact.user_id == message.from_user.id:
        phone = maybe_mobile(contact.phone_number)
    location = None
    if message.location is not None:
        location = GeoPoint(latitude=message.location.latitude, longitude=message.location.longitude)
    attachments: list[Attachment] = []
    if message.photo:
        attachments.append(Attachment("photo", message.photo[-1].file_id, message.caption))
    for kind, item in (
        ("document", message.document),
        ("voice", message.voice),
        ("audio", message.audio),
        ("video", message.video),
    ):
        if item is not None:
            attachments.append(Attachment(kind, item.file_id, message.caption))
    if not (text or phone or location or attachments):
        return None  # stickers, service messages …
    return InboundMessage(
        channel=channel,
        address=str(message.chat.id),
        provider_message_id=f"{message.chat.id}:{message.message_id}",
        text=text,
        received_at=message.date,
        contact_phone=phone,
        display_name=message.from_user.full_name,
        location=location,
        attachments=tuple(attachments),
        button=keyboard.get(text.strip()) if text else None,
    )


def markup(
    buttons: Sequence[Button], *, contact_label: str = CONTACT_LABEL, location_label: str = LOCATION_LABEL
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Menu buttons → a reply keyboard with share-phone/location; others → inline buttons."""
    if not buttons:
        return None
    if all(b.data.startswith(MENU_PREFIX) for b in buttons):
        return ReplyKeyboardMarkup(
            [
                [KeyboardButton(b.label) for b in buttons],
                [
                    KeyboardButton(contact_label, request_contact=True),
                    KeyboardButton(location_label, request_location=True),
                ],
            ],
            resize_keyboard=True,
        )
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data[:64]) for b in buttons]])


class TelegramChannel:
    """One Telegram or Bale bot."""

    medium = Medium.CHAT

    def __init__(
        self,
        name: str,
        *,
        token: str,
        secret: str | None,
        mode: str = "webhook",
        base_url: str = TELEGRAM_BASE_URL,
        base_file_url: str = TELEGRAM_FILE_URL,
        require_secret_header: bool = True,
        send_secret_header: bool = True,
        webhook_url: str | None = None,
        keyboard: Sequence[Button] = (),
        fallback_sms: str | None = None,
        messages_per_second: float = 30.0,
        chat_interval: float = 1.0,
        timeout: float = 15.0,
        poll_timeout: int = 30,
    ) -> None:
        if mode not in ("webhook", "polling"):
            raise ValueError(f"unknown mode {mode!r}")
        hide_secret(token)  # before Bot() logs its base URL
        if secret:
            hide_secret(secret)
        self.name = name
        self.mode = mode
        self.fallback_sms = fallback_sms
        self._secret = secret
        self._send_header = send_secret_header
        self._webhook_url = webhook_url
        self._guard = (
            Guard(secret, header=SECRET_HEADER, require_header=require_secret_header) if secret else None
        )
        self._keyboard = {b.label: b.data for b in keyboard}
        self.limiter = RateLimiter(messages_per_second, chat_interval)
        self._poll_timeout = poll_timeout
        request = HTTPXRequest(connection_pool_size=16, read_timeout=timeout, connect_timeout=timeout)
        polling = HTTPXRequest(read_timeout=poll_timeout + timeout, connect_timeout=timeout)
        self._requests = (request, polling)
        self.bot = Bot(
            token,
            base_url=base_url,
            base_file_url=base_file_url,
            request=request,
            get_updates_request=polling,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._timeout = timeout
        self._downloads: aiohttp.ClientSession | None = None

    # --- inbound -------------------------------------------------------------------------------

    def parse(self, data: object) -> InboundMessage | None:
        """A decoded update body → inbound message (raises BadPayload for what is not an update)."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise BadPayload("not a Telegram update")
        try:
            update = Update.de_json(data, self.bot)
            # Mapping can fail too on a structurally odd update (e.g. "chat": null): still a 400.
            return inbound_from_update(update, self.name, self._keyboard)
        # OverflowError/OSError: a "date" beyond what the platform's time_t holds (found by fuzzing).
        # RecursionError: nesting no update has (decode_json refuses it first; this is the backstop).
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,
            OSError,
            RecursionError,
        ) as exc:
            raise BadPayload(f"malformed update ({type(exc).__name__})") from None

    def routes(self, on_inbound: OnInbound) -> Sequence[web.RouteDef]:
        """The webhook route (none in polling mode)."""
        if self.mode != "webhook" or self._guard is None:
            return []
        guard = self._guard

        async def webhook(request: web.Request) -> web.StreamResponse:
            guard.check(request)
            try:
                message = self.parse(decode_json(await read_body(request, MAX_UPDATE_BYTES)))
            except BadPayload as exc:
                log.warning("channel=%s refused an update: %s", self.name, exc)
                return refused(exc)
            if message is None:
                return ignored("nothing for us in this update")
            try:
                result = await on_inbound(message)
            except Exception as exc:  # not committed: a non-2xx makes Telegram deliver it again
                log.error("channel=%s update not stored: %s", self.name, type(exc).__name__)
                return web.json_response({"status": "unavailable"}, status=503)
            if result.dropped:  # 2xx all the same: a redelivery would be dropped again
                return ignored("flood limit: not stored")
            self._answer_callback(message)
            return web.json_response({"status": "ok"})

        return [web.post(f"/hooks/{self.name}/{{secret}}", webhook)]

    def _answer_callback(self, message: InboundMessage) -> None:
        """Stop the button's spinner; best effort, off the webhook's path."""
        query_id = message.meta.get("callback_query_id")
        if not query_id:
            return

        async def answer() -> None:
            with contextlib.suppress(TelegramError):
                await self.bot.answer_callback_query(str(query_id))

        task = asyncio.create_task(answer())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, on_inbound: OnInbound) -> None:
        """Webhook mode: register the webhook if a URL is configured. Polling mode: poll forever."""
        if self.mode == "webhook":
            if self._webhook_url and self._secret:
                try:
                    await self.register_webhook()
                except TelegramError as exc:  # the service still answers a webhook set earlier
                    log.error("channel=%s setWebhook failed: %s", self.name, type(exc).__name__)
            return
        with contextlib.suppress(TelegramError):
            await self.bot.delete_webhook()
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self._poll_timeout, allowed_updates=list(ALLOWED_UPDATES)
                )
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except TelegramError as exc:  # network trouble, a bad token, a webhook set elsewhere
                log.warning("channel=%s getUpdates failed: %s", self.name, type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            for update in updates:
                message = inbound_from_update(update, self.name, self._keyboard)
                if message is not None:
                    try:
                        await on_inbound(message)
                    except Exception as exc:  # keep the offset: the update comes again
                        log.error("channel=%s update not stored: %s", self.name, type(exc).__name__)
                        await asyncio.sleep(backoff)
                        break
                    self._answer_callback(message)
                offset = update.update_id + 1

    async def register_webhook(self) -> None:
        """Tell the platform where to POST updates (`setWebhook`)."""
        assert self._webhook_url and self._secret  # noqa: S101 - run() checked both
        url = f"{self._webhook_url.rstrip('/')}/hooks/{self.name}/{self._secret}"
        await self.bot.set_webhook(
            url,
            secret_token=self._secret if self._send_header else None,
            allowed_updates=list(ALLOWED_UPDATES),
        )
        log.info("channel=%s webhook registered", self.name)

    # --- outbound ------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one text, paced to ≤ 30 messages/s per bot and ≤ 1 message/s per chat."""
        address = message.address
        chat_id: int | str = int(address) if address.lstrip("-").isdigit() else address
        await self.limiter.acquire(message.address)
        with self._send_errors():
            sent = await self.bot.send_message(
                chat_id, message.text[:MAX_TEXT], reply_markup=markup(message.buttons)
            )
        return SendResult(provider_message_id=str(sent.message_id))

    async def send_photo(self, address: str, photo: bytes, caption: str = "") -> SendResult:
        """Send one PNG/JPEG image with an optional caption (paced like text; same errors as `send`)."""
        chat_id: int | str = int(address) if address.lstrip("-").isdigit() else address
        await self.limiter.acquire(address)
        with self._send_errors():
            image = InputFile(photo, filename="chart.png")  # the name gives Telegram the image type
            sent = await self.bot.send_photo(chat_id, image, caption=caption[:MAX_CAPTION] or None)
        return SendResult(provider_message_id=str(sent.message_id))

    # --- media ---------------------------------------------------------------------------------

    async def fetch_media(self, reference: str, max_bytes: int) -> bytes:
        """The bytes of a file a citizen sent (`getFile`, then the download), at most `max_bytes`.

        The download must come from this bot's own file URL: PTB keeps a `file_path` that names a
        local file as it is (local Bot API servers), and we never read the disk for a provider.
        Raises MediaTooLarge (the size `getFile` reports, or the bytes streamed past the cap: the
        download stops there) or MediaUnavailable (retryable for 429, 5xx and network trouble)."""
        try:
            info = await self.bot.get_file(reference)
        except RetryAfter:
            raise MediaUnavailable(f"{self.name}: getFile 429", retryable=True) from None
        except BadRequest as exc:  # unknown file id, or "file is too big" (over the Bot API's 20 MB)
            if "too big" in str(exc).lower():
                raise MediaTooLarge(f"{self.name}: the Bot API refuses files this big") from None
            raise MediaUnavailable(f"{self.name}: getFile 400", retryable=False) from None
        except (Forbidden, InvalidToken):
            raise MediaUnavailable(f"{self.name}: getFile refused", retryable=False) from None
        except NetworkError as exc:
            raise MediaUnavailable(f"{self.name}: getFile {type(exc).__name__}", retryable=True) from None
        except TelegramError as exc:
            raise MediaUnavailable(f"{self.name}: getFile {type(exc).__name__}", retryable=False) from None
        if info.file_size is not None and info.file_size > max_bytes:
            raise MediaTooLarge(f"{self.name}: {info.file_size} bytes is over the cap")
        url = info.file_path or ""
        prefix = self.bot.base_file_url + "/"
        if not url.startswith(prefix) or ".." in url[len(prefix) :].split("/"):
            raise MediaUnavailable(f"{self.name}: getFile gave no downloadable path", retryable=False)
        return await self._download(url, max_bytes)

    async def _download(self, url: str, max_bytes: int) -> bytes:
        """GET `url`, stopping past `max_bytes`; errors never quote the URL (it holds the token)."""
        if self._downloads is None:
            self._downloads = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=max(self._timeout * 4, 60.0), sock_connect=self._timeout)
            )
        try:
            async with self._downloads.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    retryable = response.status == 429 or response.status >= 500
                    raise MediaUnavailable(f"{self.name}: download {response.status}", retryable=retryable)
                if (response.content_length or 0) > max_bytes:
                    raise MediaTooLarge(f"{self.name}: {response.content_length} bytes is over the cap")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > max_bytes:
                        raise MediaTooLarge(f"{self.name}: the download passed the cap")
                return bytes(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(f"{self.name}: download {type(exc).__name__}", retryable=True) from None

    @contextlib.contextmanager
    def _send_errors(self) -> Iterator[None]:
        """Bot API errors → SendError (retryable or not) / RecipientBlocked."""
        try:
            yield
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            self.limiter.defer(seconds)
            raise SendError(
                f"{self.name}: 429 retry after {seconds:g}s", retryable=True, retry_after=seconds
            ) from None
        except Forbidden:
            raise RecipientBlocked(f"{self.name}: 403 the citizen blocked the bot") from None
        except InvalidToken:
            raise SendError(f"{self.name}: token rejected", retryable=False) from None
        except (BadRequest, ChatMigrated) as exc:
            raise SendError(f"{self.name}: 400 {type(exc).__name__}", retryable=False) from None
        except NetworkError as exc:  # timeouts, 5xx, connection errors
            raise SendError(f"{self.name}: {type(exc).__name__}", retryable=True) from None
        except TelegramError as exc:
            raise SendError(f"{self.name}: {type(exc).__name__}", retryable=False) from None

    async def aclose(self) -> None:
        """Let pending callback answers finish, then close the HTTP clients."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        # The Bot is never initialize()d (that would call getMe at start-up): close its requests.
        for request in self._requests:
            with contextlib.suppress(Exception):
                await request.shutdown()
        if self._downloads is not None:
            await self._downloads.close()
            self._downloads = None


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """`kind = "telegram"` or `"bale"` (the same Bot API)."""

    token: str = field(repr=False)
    secret: str | None = field(repr=False)
    mode: str
    base_url: str
    base_file_url: str
    require_secret_header: bool
    send_secret_header: bool
    webhook_url: str | None
    fallback_sms: str | None
    messages_per_second: float
    chat_interval: float
    timeout: float
    poll_timeout: int


# kind → (base URL, file URL, whether the secret header is required and sent)
_DEFAULTS = {
    "telegram": (TELEGRAM_BASE_URL, TELEGRAM_FILE_URL, True),
    "bale": (BALE_BASE_URL, BALE_FILE_URL, False),
}


def read(t: Table, ctx: ReadContext) -> TelegramSettings:
    """`[channels.<name>]` with `kind = "telegram"` or `"bale"`."""
    base_url, file_url, header = _DEFAULTS[ctx.kind]
    mode = t.choice("mode", ("webhook", "polling"), "webhook")
    secret = cfg.webhook_secret(t)
    if mode == "webhook" and secret is None:
        raise ConfigError(t.dotted("webhook_secret_env"), "missing (required in webhook mode)")
    public_url = t.str("public_url", "").rstrip("/") or None
    if public_url and not public_url.startswith("https://"):
        raise ConfigError(t.dotted("public_url"), "must start with https:// (Telegram and Bale require it)")
    return TelegramSettings(
        token=cfg.secret(t, "token"),
        secret=secret,
        mode=mode,
        base_url=cfg.url(t, base_url),
        base_file_url=cfg.url(t, file_url, key="base_file_url"),
        require_secret_header=t.bool("require_secret_header", header),
        send_secret_header=t.bool("send_secret_header", header),
        webhook_url=public_url,
        fallback_sms=ctx.sender(t, "fallback_sms") if t.has("fallback_sms") else None,
        messages_per_second=t.float("messages_per_second", 30.0, minimum=0.1),
        chat_interval=t.float("chat_interval_seconds", 1.0, minimum=0),
        timeout=cfg.timeout(t),
        poll_timeout=t.int("poll_timeout_seconds", 30, minimum=0, maximum=50),
    )


def build(s: TelegramSettings, ctx: BuildContext) -> TelegramChannel:
    """The bot for read settings, showing the menu keyboard."""
    return TelegramChannel(
        ctx.name,
        token=s.token,
        secret=s.secret,
        mode=s.mode,
        base_url=s.base_url,
        base_file_url=s.base_file_url,
        require_secret_header=s.require_secret_header,
        send_secret_header=s.send_secret_header,
        webhook_url=s.webhook_url,
        keyboard=ctx.keyboard,
        fallback_sms=s.fallback_sms,
        messages_per_second=s.messages_per_second,
        chat_interval=s.chat_interval,
        timeout=s.timeout,
        poll_timeout=s.poll_timeout,
    )


# Telegram bots may fall back to an SMS sender (`fallback_sms`), so they are read after senders.
PROVIDER = Provider(("telegram", "bale"), Role.CHAT, read, build, names_sender=True)
