"""Passwords, panel settings, the search box and the role table, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import config_from_mapping
from bot.dates.jalali import jalali_date
from bot.toml_reader import ConfigError
from bot.web.panel.passwords import hash_password, verify_password
from bot.web.panel.roles import ROLE_PERMISSIONS, Permission
from bot.web.panel.search import BadFilter, SearchTerms, parse_filter, parse_search, read_date
from storage.users import ROLES


def test_passwords_are_salted_scrypt_and_verify() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", None)
    for broken in ("", "md5$x", "scrypt$1$2$3", "scrypt$16384$8$1$!!$??", first.replace("scrypt", "bcrypt")):
        assert not verify_password("correct horse", broken)


def _panel(tmp_path: Path, **values: object) -> object:
    config = config_from_mapping({"panel": values}, base_dir=tmp_path, env={})
    return config.panel


def test_panel_settings_defaults_and_errors_name_the_key(tmp_path: Path) -> None:
    settings = _panel(tmp_path)
    assert settings.cookie_secure is False and settings.login_max_failures == 5  # type: ignore[attr-defined]
    assert _panel(tmp_path, session_hours=2).session_lifetime.total_seconds() == 7200  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"panel\.session_hours"):
        _panel(tmp_path, session_hours="long")
    with pytest.raises(ConfigError, match=r"panel\.cookie_secure"):
        _panel(tmp_path, cookie_secure="yes")
    with pytest.raises(ConfigError, match=r"panel\.cookie_secur\b.*unknown key"):
        _panel(tmp_path, cookie_secur=True)


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("", SearchTerms()),
        ("2484367539", SearchTerms(code="2484367539")),
        ("۲۴۸۴۳۶۷۵۳۹", SearchTerms(code="2484367539")),
        ("09121234567", SearchTerms(phone="+989121234567")),
        ("+98 912 123 4567", SearchTerms(phone="+989121234567")),
        ("۰۹۱۲-۱۲۳-۴۵۶۷", SearchTerms(phone="+989121234567")),
        ("2484367538", SearchTerms(texts=("2484367538",))),  # wrong check digit: not a code
        ("زباله", SearchTerms(texts=("زباله",))),
        ("زباله ي", SearchTerms(texts=("زباله ي", "زباله ی"))),  # Arabic yeh also searched as Persian
    ],
)
def test_search_box_tells_codes_phones_and_words_apart(query: str, terms: SearchTerms) -> None:
    assert parse_search(query) == terms


def test_filter_rejects_unknown_values_and_bad_dates() -> None:
    allowed = {"status": ["referred"], "category": ["waste_collection"], "department": ["waste"]}
    flt = parse_filter({"status": "referred", "from": "۱۴۰۵/۰۹/۰۱", "to": "1405/09/01"}, allowed)
    assert flt.status == "referred"
    assert flt.created_before is not None and flt.created_from is not None
    assert (flt.created_before - flt.created_from).days == 1
    with pytest.raises(BadFilter) as bad:
        parse_filter({"status": "gone"}, allowed)
    assert bad.value.key == "status"
    with pytest.raises(BadFilter):
        parse_filter({"to": "1405/13/40"}, allowed)
    with pytest.raises(BadFilter) as both:  # every field it cannot use, not just the first
        parse_filter({"status": "gone", "from": "1405/09/10", "to": "1405/09/01"}, allowed)
    assert both.value.errors == {"status": "unknown_choice", "to": "date_order"}


@pytest.mark.parametrize(
    ("text", "jalali", "gregorian"),
    [
        ("1405-09-15", "۱۴۰۵/۰۹/۱۵", False),
        ("۱۴۰۵/۰۹/۱۵", "۱۴۰۵/۰۹/۱۵", False),
        ("1405/9/1", "۱۴۰۵/۰۹/۰۱", False),
        ("2026-12-01", "۱۴۰۵/۰۹/۱۰", True),
        ("۲۰۲۶/۱۲/۰۱", "۱۴۰۵/۰۹/۱۰", True),
        (" 2026.12.06 ", "۱۴۰۵/۰۹/۱۵", True),
    ],
)
def test_dates_are_jalali_unless_the_year_can_only_be_gregorian(
    text: str, jalali: str, gregorian: bool
) -> None:
    read = read_date(text)
    assert (jalali_date(read.start), read.gregorian) == (jalali, gregorian)
    assert read.start.hour == 0 and str(read.start.tzinfo) == "Asia/Tehran"


@pytest.mark.parametrize(
    "text", ["", "yesterday", "1405-13-01", "2026-02-30", "0405-01-01", "1405-09", "14050915"]
)
def test_dates_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        read_date(text)


def test_role_table() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLES)
    staff, manager = ROLE_PERMISSIONS["staff"], ROLE_PERMISSIONS["manager"]
    assert Permission.VIEW_ALL not in staff and Permission.RECLASSIFY not in staff
    assert {Permission.CHANGE_STATUS, Permission.NOTE} <= staff
    # Managers read, may retrain the model, hand tickets to people and record a phone request;
    # they change no ticket's category, status or department themselves.
    assert not manager - {
        Permission.VIEW_ALL,
        Permission.VIEW_TRIAGE,
        Permission.RETRAIN_MODEL,
        Permission.ASSIGN,
        Permission.INTAKE,
    }
    assert ROLE_PERMISSIONS["admin"] >= {Permission.MANAGE_USERS}
