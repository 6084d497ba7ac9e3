"""The whole config is read and checked before anything happens: a typo in any section stops
`sada serve` and `sada db upgrade` with exit 2 and the dotted key, before a database file exists."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import AppConfig, config_from_mapping
from bot.toml_reader import Table

ROOT = Path(__file__).resolve().parents[1]

# One typo per section that used to be kept raw and read only once the service was starting.
TYPOS = [
    ("[panel]\npage_sizee = 30\n", "panel.page_sizee"),
    ('[digest]\nsend_att = "07:30"\n', "digest.send_att"),
    ("[public]\nmin_tickts = 5\n", "public.min_tickts"),
    ("[flood]\nmax_mesages = 5\n", "flood.max_mesages"),
    ("[code_lookups]\nmax_mises = 5\n", "code_lookups.max_mises"),
    ('[channels.sms]\nkind = "fake"\nenabeld = true\n', "channels.sms.enabeld"),
    # A secret's environment variable is looked up when the file is read, not when the channel starts.
    (
        '[channels.tg]\nkind = "telegram"\nmode = "polling"\ntoken_env = "SADA_TEST_UNSET_TOKEN"\n',
        "channels.tg.token_env",
    ),
]


def _sada(tmp_path: Path, section: str, *command: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run `sada --config <file> <command>` in `tmp_path` with a SQLite store beside the file."""
    database = tmp_path / "sada.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{database}"\n'
        '[nlp]\nclassifier = "keywords"\n'
        "[service]\nport = 0\n" + section,
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADA_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    return proc, database


@pytest.mark.parametrize("command", [("db", "upgrade"), ("serve",)], ids=["db-upgrade", "serve"])
@pytest.mark.parametrize(("section", "key"), TYPOS, ids=[key for _, key in TYPOS])
def test_a_typo_in_any_section_stops_before_the_store_is_touched(
    tmp_path: Path, command: tuple[str, ...], section: str, key: str
) -> None:
    proc, database = _sada(tmp_path, section, *command)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"config: {key}:" in proc.stderr
    assert not database.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_the_config_holds_no_raw_table(tmp_path: Path) -> None:
    data = {
        "channels": {"chat": {"kind": "fake"}},
        "panel": {"page_size": 30},
        "digest": {"recipients": {"mayor": {"chat_channel": "chat", "chat_id": "1"}}},
        "public": {"min_tickets": 4},
        "flood": {"max_messages": 5},
        "code_lookups": {"max_misses": 5},
    }
    config = config_from_mapping(data, base_dir=tmp_path, env={})
    for field in dataclasses.fields(AppConfig):
        assert "Table" not in str(field.type), field.name
        assert not isinstance(getattr(config, field.name), Table), field.name


def test_channel_specs_keep_their_secrets_out_of_repr(tmp_path: Path) -> None:
    """Secrets are resolved at load into the specs, which a traceback or a debug line may print."""
    env = {"TG_TOKEN": "123456:token-value", "KN_KEY": "kavenegar-key-value", "HOOK": "h" * 24}
    data = {
        "channels": {
            "tg": {"kind": "telegram", "token_env": "TG_TOKEN", "webhook_secret_env": "HOOK"},
            "sms": {
                "kind": "kavenegar",
                "api_key_env": "KN_KEY",
                "sender": "1000",
                "webhook_secret_env": "HOOK",
            },
        }
    }
    config = config_from_mapping(data, base_dir=tmp_path, env=env)
    assert [spec.name for spec in config.channels] == ["sms", "tg"]  # senders first
    shown = repr(config.channels)
    for secret in env.values():
        assert secret not in shown
