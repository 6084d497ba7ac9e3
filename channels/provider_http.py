"""The outbound HTTP client every SMS provider adapter shares.

It turns transport trouble into typed SendErrors (timeouts, connection errors, 429 and 5xx are
retryable) and never lets a secret into an error message: provider URLs carry API keys
(Kavenegar puts one in the path), so errors are built from status codes, never from URLs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.models import SendError
from channels.redaction import hide_secret


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A provider's HTTP answer, body decoded as JSON when it is JSON."""

    status: int
    body: Any
    retry_after: float | None

    @property
    def is_json_object(self) -> bool:
        return isinstance(self.body, dict)


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class ProviderHttp:
    """One connection pool per provider channel, created lazily on the running loop."""

    def __init__(self, provider: str, *, timeout: float, secrets: Sequence[str] = ()) -> None:
        self._provider = provider
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._secrets = tuple(s for s in secrets if s)
        for secret in self._secrets:
            hide_secret(secret)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=False)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        """Call the provider; raises retryable SendError for timeouts, connection errors, 429, 5xx."""
        try:
            async with self._client().request(
                method, url, params=params, data=data, json=json_body, headers=headers
            ) as response:
                text = await response.text(errors="replace")
                status, retry_after = response.status, _retry_after(response.headers)
        except TimeoutError:
            raise SendError(f"{self._provider}: timed out", retryable=True) from None
        except aiohttp.ClientError as exc:
            # The exception's text can include the URL (and so an API key): keep only its type.
            raise SendError(f"{self._provider}: {type(exc).__name__}", retryable=True) from None
        except OSError as exc:
            raise SendError(f"{self._provider}: {type(exc).__name__}", retryable=True) from None
        try:
            body: Any = json.loads(text) if text.strip() else None
        except ValueError:
            body = text
        if status == 429:
            raise SendError(f"{self._provider}: HTTP 429", retryable=True, retry_after=retry_after)
        if status >= 500:
            raise SendError(f"{self._provider}: HTTP {status}", retryable=True, retry_after=retry_after)
        return HttpReply(status=status, body=body, retry_after=retry_after)

    def safe(self, text: str) -> str:
        """Provider-supplied text with our secrets removed, shortened for an error message."""
        return redact(text, self._secrets)[:200]

    async def aclose(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            # Let aiohttp close its transports before the loop goes away.
            await asyncio.sleep(0)
