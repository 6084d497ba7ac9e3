"""User admin: role and department changes, last login, and the audit trail every change writes
(panel and `sada users`) in its own transaction, without a password or a hash in it."""

from __future__ import annotations

import argparse
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from bot.config import AppConfig
from bot.dates.jalali import jalali_datetime
from bot.web.panel.users_command import add_parser
from nlp.letters import persian_digits
from storage.store import Store
from storage.user_audit import AuditEntry, UserAuditRepository
from tests.conftest import START, make_config
from tests.panel.conftest import PASSWORD, Site


async def _audit(site: Site) -> list[AuditEntry]:
    async with site.sada.store.read() as tx:
        return list(reversed(await UserAuditRepository(tx.session).recent()))


async def test_an_admin_changes_role_and_department_and_it_is_audited(site: Site, clients: Any) -> None:
    adam = await clients("adam")
    olga = await clients("olga")  # logged in as an operator: sees every ticket
    assert (await olga.get("/panel/tickets")).status == 200
    response = await adam.post("/panel/users/olga", {"role": "staff", "department": "waste"})
    assert response.status == 303 and response.headers["Location"] == "/panel/users?done=user_saved"
    async with site.sada.store.read() as tx:
        user = await tx.users.by_username("olga")
    assert user is not None and (user.role, user.department) == ("staff", "waste")
    # The change applies to her open session at once: no more triage queue.
    assert (await olga.get("/panel/triage")).status == 403
    [entry] = await _audit(site)
    assert (entry.actor, entry.username, entry.action) == ("adam", "olga", "role_changed")
    assert entry.data == {
        "from_role": "operator",
        "to_role": "staff",
        "from_department": None,
        "to_department": "waste",
    }
    # Saving the same values again changes nothing and writes nothing.
    await adam.post("/panel/users/olga", {"role": "staff", "department": "waste"})
    assert len(await _audit(site)) == 1


async def test_bad_role_changes_are_refused(site: Site, clients: Any) -> None:
    adam = await clients("adam")
    staff_without_department = await adam.post("/panel/users/olga", {"role": "staff", "department": ""})
    assert staff_without_department.status == 400
    unknown = await adam.post("/panel/users/olga", {"role": "root"})
    assert unknown.status == 400
    elsewhere = await adam.post("/panel/users/olga", {"role": "staff", "department": "nowhere"})
    assert elsewhere.status == 400
    myself = await adam.post("/panel/users/adam", {"role": "operator"})
    assert myself.status == 400 and "نقش خودتان را نمی‌توانید تغییر دهید" in await myself.text()
    assert (await adam.post("/panel/users/nobody", {"role": "operator"})).status == 404
    assert await _audit(site) == []
    olga = await clients("olga")
    assert (await olga.post("/panel/users/wasim", {"role": "admin"})).status == 403
    assert (await olga.get("/panel/users/audit")).status == 403


async def test_every_panel_change_is_audited_without_secrets(site: Site, clients: Any) -> None:
    adam = await clients("adam")
    added = await adam.post(
        "/panel/users",
        {
            "username": "nima",
            "display_name": "نیما",
            "role": "staff",
            "department": "waste",
            "password": "x" * 12,
        },
    )
    assert added.status == 303
    await adam.post("/panel/users/nima", {"active": "0"})
    await adam.post("/panel/users/nima", {"active": "1"})
    await adam.post("/panel/users/nima", {"password": "a-brand-new-password"})
    entries = await _audit(site)
    assert [e.action for e in entries] == ["added", "disabled", "enabled", "password_reset"]
    assert all(e.actor == "adam" and e.username == "nima" for e in entries)
    assert entries[0].data == {"role": "staff", "department": "waste"}
    stored = json.dumps([e.data for e in entries])
    async with site.sada.store.read() as tx:
        nima = await tx.users.by_username("nima")
    assert nima is not None
    assert (
        "a-brand-new-password" not in stored and nima.password_hash not in stored and "scrypt" not in stored
    )


async def test_the_audit_refuses_a_secret(site: Site) -> None:
    async with site.sada.store.transaction() as tx:
        audit = UserAuditRepository(tx.session)
        with pytest.raises(ValueError, match="never holds a password"):
            await audit.record(START, "adam", "olga", "password_reset", {"password_hash": "x"})
        with pytest.raises(ValueError, match="unknown audit action"):
            await audit.record(START, "adam", "olga", "deleted")
    async with site.sada.store.read() as tx:
        assert await UserAuditRepository(tx.session).count() == 0


async def test_the_audit_and_its_change_share_one_transaction(site: Site) -> None:
    """A change whose audit row cannot be written is not made either (and the other way round)."""
    with pytest.raises(IntegrityError):
        async with site.sada.store.transaction() as tx:
            await tx.users.set_role("olga", "manager", None)
            await UserAuditRepository(tx.session).record(START, "adam", "olga", "role_changed", {})
            await tx.users.add("wasim", "dup", "operator", None, "h", START)  # unique username: fails
    async with site.sada.store.read() as tx:
        olga = await tx.users.by_username("olga")
        assert await UserAuditRepository(tx.session).count() == 0
    assert olga is not None and olga.role == "operator"


async def test_last_login_is_shown_and_the_audit_view_is_jalali(site: Site, clients: Any) -> None:
    site.clock.advance(timedelta(minutes=90))
    wasim = await clients("wasim")
    assert wasim.csrf
    adam = await clients("adam")
    page = await (await adam.get("/panel/users")).text()
    async with site.sada.store.read() as tx:
        user = await tx.users.by_username("wasim")
        never = await tx.users.by_username("cyrus")
    assert user is not None and user.last_login_at == site.clock.now()
    assert never is not None and never.last_login_at is None
    row = page[page.index('id="u-wasim"') :]
    row = row[: row.index("</tr>")]
    assert jalali_datetime(site.clock.now()) in row
    cyrus = page[page.index('id="u-cyrus"') :]
    assert "هرگز" in cyrus[: cyrus.index("</tr>")]
    # A wrong password is not a login.
    failed = await clients()
    await failed.login("cyrus", "not-" + PASSWORD)
    async with site.sada.store.read() as tx:
        still = await tx.users.by_username("cyrus")
    assert still is not None and still.last_login_at is None
    await adam.post("/panel/users/wasim", {"role": "staff", "department": "civil_works"})
    audit = await (await adam.get("/panel/users/audit")).text()
    assert jalali_datetime(site.clock.now()) in audit and persian_digits("1") in audit
    assert "تغییر نقش یا واحد" in audit and "سازمان مدیریت پسماند" in audit
    only = await (await adam.get("/panel/users/audit?user=olga")).text()
    assert "هنوز تغییری ثبت نشده است" in only


async def _cli(config: AppConfig, argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="sada")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return int(await args.run(args, config))


async def test_the_cli_writes_the_audit_as_cli(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(store_url, tmp_path)
    run = _cli
    assert (
        await run(config, ["users", "add", "sara", "--role", "operator"], monkeypatch, "first-password\n")
        == 0
    )
    assert (
        await run(config, ["users", "role", "sara", "--role", "staff", "--department", "waste"], monkeypatch)
        == 0
    )
    assert await run(config, ["users", "role", "sara", "--role", "staff"], monkeypatch) == 2  # staff need one
    assert await run(config, ["users", "passwd", "sara"], monkeypatch, "second-password\n") == 0
    assert await run(config, ["users", "disable", "sara"], monkeypatch) == 0
    assert await run(config, ["users", "disable", "sara"], monkeypatch) == 0  # already: no entry
    assert await run(config, ["users", "enable", "sara"], monkeypatch) == 0
    store = Store.from_url(config.store.url)
    try:
        await store.ensure_ready()
        async with store.read() as tx:
            entries = list(reversed(await UserAuditRepository(tx.session).recent()))
            sara = await tx.users.by_username("sara")
    finally:
        await store.aclose()
    assert sara is not None and (sara.role, sara.department) == ("staff", "waste")
    assert [(e.actor, e.action) for e in entries] == [
        ("cli", "added"),
        ("cli", "role_changed"),
        ("cli", "password_reset"),
        ("cli", "disabled"),
        ("cli", "enabled"),
    ]
    assert entries[1].data["to_department"] == "waste"
    stored = json.dumps([e.data for e in entries])
    assert "password" not in stored and sara.password_hash not in stored
