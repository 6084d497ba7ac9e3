"""What every web form handler reaches (the service, settings, templates, limits), and page rendering.

The templates get the panel's Jinja environment (Persian digits, Jalali dates, status names,
autoescape, a missing variable is an error) with this package's own templates folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, PackageLoader

from bot.web.panel.rendering import make_templates
from bot.web.panel.security import forwarded_address
from bot.web.webform.confirmations import Confirmations
from bot.web.webform.limits import Limits
from bot.web.webform.settings import WebformSettings

if TYPE_CHECKING:
    from bot.app import Sada

CSRF_COOKIE = "sada_form"
NEW_CSRF = web.RequestKey("webform_new_csrf", str)  # a token the browser gets with this response


@dataclass(frozen=True, slots=True)
class Webform:
    """The form's dependencies, built once by `setup_webform`."""

    sada: Sada
    settings: WebformSettings
    templates: Environment
    limits: Limits
    confirmations: Confirmations | None  # None: no SMS channel, so the form asks for no phone

    @property
    def sms_channel(self) -> str | None:
        """Where codes and updates go."""
        return self.confirmations.channel if self.confirmations else None


WEBFORM = web.AppKey("webform", Webform)


def webform_of(request: web.Request) -> Webform:
    """The web form serving this request."""
    return request.config_dict[WEBFORM]


def client_address(request: web.Request) -> str:
    """The citizen's address, read as the panel reads its users' (`[panel] trust_forwarded_for`)."""
    return forwarded_address(request, trust=webform_of(request).sada.config.panel.trust_forwarded_for)


def make_webform_templates() -> Environment:
    """The panel's environment, loading this package's templates."""
    env = make_templates()
    env.loader = PackageLoader("bot.web.webform", "templates")
    return env


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page of the form, with the form's CSRF token (the browser's cookie, or a new one it is given)."""
    form = webform_of(request)
    body = form.templates.get_template(template).render(
        path=form.settings.path,
        status_path=form.settings.status_path,
        csrf=csrf_token(request),
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def csrf_token(request: web.Request) -> str:
    """The CSRF token this page's forms carry: the browser's cookie, or the one it is being given."""
    return request.get(NEW_CSRF) or request.cookies.get(CSRF_COOKIE, "")
