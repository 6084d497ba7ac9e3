"""At DEBUG, with the logging set up as `sada serve` sets it up, no log line holds personal data.

Real traffic goes through the production doors: a Telegram webhook and an SMS webhook into the
service with real channel adapters (tests/channels), replies out to the fake providers, and a
panel login over real HTTP (tests/panel). Every record that reaches the root logger is formatted
with its arguments and traceback, and searched for the phone number, the message texts, the
password, the CSRF token and the session cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from bot.cli.main import configure_logging
from tests.channels import updates as u
from tests.channels.conftest import (  # noqa: F401 - make_service is a fixture
    HOOK_SECRET,
    POTHOLE,
    RUBBISH,
    ServiceFactory,
    make_service,
)
from tests.panel.conftest import PASSWORD, Client, running_site

PHONE = "09121234567"
PHONE_FORMS = (PHONE, "+989121234567", "989121234567", "9121234567")


@pytest.fixture
def production_logging() -> Iterator[None]:
    """`configure_logging("DEBUG")` as the CLI calls it; the logging state is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    configure_logging("DEBUG")
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def formatted(records: list[logging.LogRecord]) -> list[str]:
    """Each record as a handler would write it: message with its arguments, then any traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in records]


def leaks(lines: list[str], needles: dict[str, str]) -> dict[str, list[str]]:
    """For each kind of personal data, the lines that hold it (cut short for the report)."""
    found: dict[str, list[str]] = {}
    for what, needle in needles.items():
        hits = [line[:160] for line in lines if needle in line]
        if hits:
            found[what] = hits[:3]
    return found


def text_forms(name: str, text: str) -> dict[str, str]:
    """A text as it may appear: raw, URL-encoded, or a distinctive part of it."""
    return {
        name: text,
        f"{name} (url-encoded)": quote_plus(text),
        f"{name} (%-encoded)": quote(text),
        f"{name} (a part)": text.split()[3],
    }


async def test_debug_logs_of_real_traffic_hold_no_personal_data(
    production_logging: None,
    make_service: ServiceFactory,  # noqa: F811
    store_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    # A citizen writes on Telegram and shares their number; another texts the SMS line.
    svc = await make_service(only=("telegram", "sms"))
    header = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
    for update in (u.text(1, 10, RUBBISH), u.contact(2, "+989121234567")):
        response = await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=update, headers=header)
        assert response.status == 200, await response.text()
    response = await svc.client.post(
        f"/hooks/sms/{HOOK_SECRET}",
        data={"from": PHONE, "to": "10004346", "message": POTHOLE, "messageid": "77"},
    )
    assert response.status == 200, await response.text()
    await svc.drain()
    assert svc.bot_api.sent() and svc.sms.texts()  # the replies really went out
    # A staff member logs in to the panel.
    async with running_site(store_url, tmp_path / "panel") as site:
        client = Client(site)
        try:
            response = await client.login("olga")
            assert response.status == 303
            session = next(c.value for c in client.http.cookie_jar if c.value)
            csrf = client.csrf
        finally:
            await client.close()
    assert csrf and session
    lines = formatted(caplog.records)
    # DEBUG still says what happened (without the data).
    assert any(
        r.levelno == logging.DEBUG and r.name.startswith(("bot.", "channels.")) for r in caplog.records
    )
    needles = {f"phone {p}": p for p in PHONE_FORMS}
    needles |= text_forms("telegram text", RUBBISH) | text_forms("sms text", POTHOLE)
    needles |= {"telegram sender's name": u.user()["last_name"]}
    needles |= {"password": PASSWORD, "csrf token": csrf, "session cookie": session}
    assert leaks(lines, needles) == {}
