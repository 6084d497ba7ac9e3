"""Keeps secrets out of log lines written by libraries we do not control.

httpx logs every request URL at INFO, and a Bot API URL contains the bot token
(`/bot<TOKEN>/sendMessage`); python-telegram-bot logs the base URL at DEBUG; aiohttp's access log
shows webhook paths, which contain the secret segment. A logging filter on those loggers rewrites
each record with the secrets replaced by ***.
"""

from __future__ import annotations

import logging

# Loggers that may print a URL or path carrying a token or webhook secret.
LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.client",
)


class SecretFilter(logging.Filter):
    """Replaces every registered secret in a record's message (and drops its args)."""

    def __init__(self) -> None:
        super().__init__("sada-secrets")
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        """Hide `secret` from now on (very short strings are ignored: they would mangle logs)."""
        if len(secret) >= 6:
            self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "***")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = SecretFilter()


def hide_secret(secret: str) -> None:
    """Register `secret` and make sure the library loggers carry the filter."""
    _FILTER.add(secret)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
