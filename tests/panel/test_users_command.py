"""`sada users`: accounts from the command line, passwords from stdin or a prompt, never argv."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from bot.config import AppConfig
from bot.web.panel.passwords import verify_password
from bot.web.panel.users_command import add_parser
from storage.store import Store
from tests.conftest import make_config


async def _run(config: AppConfig, argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="sada")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return int(await args.run(args, config))


async def _user(config: AppConfig, username: str) -> object:
    store = Store.from_url(config.store.url)
    try:
        await store.ensure_ready()
        async with store.transaction() as tx:
            return await tx.users.by_username(username)
    finally:
        await store.aclose()


async def test_add_passwd_disable(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(store_url, tmp_path)
    assert (
        await _run(config, ["users", "add", "Sara", "--role", "operator"], monkeypatch, "first-password\n")
        == 0
    )
    user = await _user(config, "sara")
    assert user is not None and user.role == "operator" and user.active  # type: ignore[attr-defined]
    assert verify_password("first-password", user.password_hash)  # type: ignore[attr-defined]
    assert "first-password" not in capsys.readouterr().out
    assert (
        await _run(config, ["users", "add", "sara", "--role", "operator"], monkeypatch, "another-pass\n") == 1
    )
    assert await _run(config, ["users", "passwd", "sara"], monkeypatch, "second-password\n") == 0
    rekeyed = await _user(config, "sara")
    assert verify_password("second-password", rekeyed.password_hash)  # type: ignore[attr-defined]
    assert await _run(config, ["users", "disable", "sara"], monkeypatch) == 0
    assert not (await _user(config, "sara")).active  # type: ignore[attr-defined]
    assert await _run(config, ["users", "passwd", "nobody"], monkeypatch, "whatever-pass\n") == 1
    assert await _run(config, ["users", "list"], monkeypatch) == 0
    assert "sara\toperator\t-\tdisabled" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stdin", "error"),
    [
        (["users", "add", "ali", "--role", "staff"], "long-enough-pass\n", "need --department"),
        (["users", "add", "ali", "--role", "staff", "--department", "nope"], "long-enough-pass\n", "unknown"),
        (["users", "add", "ali", "--role", "operator"], "short\n", "at least 10"),
        (["users", "add", "a b", "--role", "operator"], "long-enough-pass\n", "invalid username"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_message(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    error: str,
) -> None:
    config = make_config(store_url, tmp_path)
    assert await _run(config, argv, monkeypatch, stdin) == 2
    assert error in capsys.readouterr().err
    assert await _user(config, "ali") is None


def test_there_is_no_password_option() -> None:
    parser = argparse.ArgumentParser(prog="sada")
    add_parser(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["users", "add", "ali", "--role", "operator", "--password", "x"])
