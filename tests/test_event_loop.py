"""bot/runtime/event_loop.py: commands run on uvloop when asked for and installed, else on asyncio."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from bot.runtime import event_loop


async def _which() -> str:
    await asyncio.sleep(0)
    return event_loop.loop_name()


def test_uvloop_is_used_when_asked_for() -> None:
    assert event_loop.run(_which(), "uvloop") == "uvloop"


def test_asyncio_is_used_when_asked_for() -> None:
    assert event_loop.run(_which(), "asyncio") == "asyncio"


def test_without_uvloop_installed_it_falls_back_to_asyncio_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` now raises ImportError
    with caplog.at_level(logging.WARNING, logger="bot.runtime.event_loop"):
        assert event_loop.run(_which(), "uvloop") == "asyncio"
    assert "uvloop is not installed" in caplog.text


def test_an_unknown_loop_is_refused() -> None:
    coro = _which()
    with pytest.raises(ValueError, match="unknown event loop"):
        event_loop.run(coro, "trio")
    coro.close()
