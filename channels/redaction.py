"""Keeps secrets and phone numbers out of every log record, whoever writes it.

httpx logs every request URL at INFO, and a Bot API URL contains the bot token
(`/bot<TOKEN>/sendMessage`); python-telegram-bot logs the base URL at DEBUG; aiohttp logs a
malformed request with a traceback whose text quotes the request line, and a webhook's path holds
its secret segment. A filter on a few named loggers misses all of these: a logger's filters do not
see records of its child loggers, and a record's traceback is not its message.

So redaction happens where every record is made: a log-record factory (installed once, by
`hide_secret` or `install`) formats each new record's message with its arguments at once and keeps
only the cleaned text (registered secrets → ***, Iranian mobile numbers masked); a traceback that
holds either is replaced by its cleaned text (the exception object is dropped). Every logger and
every handler, including ones added later (pytest's, an operator's), sees only the cleaned record.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

# 09121234567, +989121234567, 989121234567, 00989121234567 (not inside a longer run of digits).
_MOBILE = re.compile(r"(?<![\d+])(?:\+98|0098|98|0)9\d{9}(?!\d)")


def _mask_mobile(match: re.Match[str]) -> str:
    number = match.group(0)
    return number[:-7] + "***" + number[-4:]


class SecretFilter(logging.Filter):
    """Cleans records: registered secrets become ***, mobile numbers are masked (0912***4567).

    The record factory below runs it on every record; it can also sit on a handler."""

    def __init__(self) -> None:
        super().__init__("sada-secrets")
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._formatter = logging.Formatter()

    def add(self, secret: str) -> None:
        """Hide `secret` from now on (very short strings are ignored: they would mangle logs)."""
        if len(secret) >= 6:
            with self._lock:
                self._secrets = self._secrets | {secret}

    def clean(self, text: str) -> str:
        """`text` without registered secrets and with mobile numbers masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return _MOBILE.sub(_mask_mobile, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception as exc:  # noqa: BLE001 - a call whose arguments do not fit its format
            # logging would print the raw arguments to stderr: say it in the line instead.
            message = f"{record.msg!s} (log arguments did not fit: {type(exc).__name__})"
        # Fixed once formatted: what was checked is what every handler prints, even if an
        # argument would print differently later.
        record.msg, record.args = self.clean(message), None
        if record.exc_info and not record.exc_text:
            try:
                record.exc_text = self._formatter.formatException(record.exc_info)
            except Exception:  # noqa: BLE001 - an exception that cannot print itself
                record.exc_info, record.exc_text = None, "(traceback not printable)"
        if record.exc_text:
            cleaned = self.clean(record.exc_text)
            if cleaned != record.exc_text:
                # The exception object still holds the secret: handlers get the cleaned text only.
                record.exc_info, record.exc_text = None, cleaned
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


_FILTER = SecretFilter()
_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Make every log record from now on pass through the filter (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def cleaned_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(cleaned_record)
        _installed = True


def hide_secret(secret: str) -> None:
    """Register `secret`: no log record made from now on will show it."""
    _FILTER.add(secret)
    install()
