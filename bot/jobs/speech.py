"""Speech recognition for voice notes: optional, behind one small interface.

Sada ships no recogniser. A city that runs one (a whisper.cpp server, or Vosk behind a small HTTP
wrapper) names it in `[media] speech_url`; `HttpSpeech` posts the audio there as whisper.cpp's
server expects (`POST /inference`, multipart `file`, `response_format=json`) and reads `{"text": …}`.
Anything else that can turn audio into text implements `SpeechRecognizer`.
"""

from __future__ import annotations

import logging
from typing import Protocol

import aiohttp

log = logging.getLogger(__name__)

MAX_TRANSCRIPT = 10_000


class SpeechError(Exception):
    """The recogniser could not be reached or gave no usable answer."""


class SpeechRecognizer(Protocol):
    """Turns a voice note into text (Persian)."""

    async def transcribe(self, audio: bytes, content_type: str) -> str:
        """The words heard ("" for none); raises SpeechError when the engine fails."""
        ...

    async def aclose(self) -> None: ...


_EXTENSIONS = {"audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a"}


class HttpSpeech:
    """A whisper.cpp-style HTTP server: multipart `file` in, `{"text": ...}` out."""

    def __init__(self, url: str, *, timeout: float = 60.0, language: str = "fa") -> None:
        self._url = url
        self._timeout = timeout
        self._language = language
        self._session: aiohttp.ClientSession | None = None

    async def transcribe(self, audio: bytes, content_type: str) -> str:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        form = aiohttp.FormData()
        form.add_field(
            "file", audio, filename=f"voice.{_EXTENSIONS.get(content_type, 'bin')}", content_type=content_type
        )
        form.add_field("response_format", "json")
        form.add_field("language", self._language)
        form.add_field("temperature", "0.0")
        try:
            async with self._session.post(self._url, data=form) as response:
                if response.status != 200:
                    raise SpeechError(f"speech server answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SpeechError(f"speech server: {type(exc).__name__}") from None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise SpeechError("speech server gave no text")
        return text.strip()[:MAX_TRANSCRIPT]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
