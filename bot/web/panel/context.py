"""What every panel handler reaches: the service, settings, templates and sessions, via typed keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.panel.roles import Principal
from bot.web.panel.sessions import Sessions
from bot.web.panel.settings import PanelSettings

if TYPE_CHECKING:
    from jinja2 import Environment

    from bot.app import Sada


@dataclass(frozen=True, slots=True)
class Panel:
    """The panel's dependencies, built once by `setup_panel`."""

    sada: Sada
    settings: PanelSettings
    templates: Environment
    sessions: Sessions


PANEL = web.AppKey("panel", Panel)
PRINCIPAL = web.RequestKey("principal", Principal)


def panel_of(request: web.Request) -> Panel:
    """The panel serving this request."""
    return request.config_dict[PANEL]


def principal_of(request: web.Request) -> Principal:
    """The logged-in user (the auth middleware guarantees one on every non-public route)."""
    return request[PRINCIPAL]
