"""The operator and department web panel (server-rendered, Persian, right-to-left)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import Sada


def setup_panel(app: web.Application, sada: Sada) -> None:
    """Mount the panel's routes on the service's aiohttp application (none yet)."""
