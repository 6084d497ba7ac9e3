"""Bad config stops start-up with the dotted key; good config gives each component its section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import config_from_mapping, load_config
from bot.toml_reader import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _load(data: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    return config_from_mapping(data, base_dir=Path("/srv/sada"), env=env or {})


def test_example_config_is_complete_and_valid() -> None:
    config = load_config(ROOT / "config.example.toml", env={})
    assert set(config.taxonomy.categories) == {
        "waste_collection",
        "street_cleaning",
        "construction_debris",
        "green_space",
        "road_damage",
        "surface_water",
        "snow_ice",
        "street_lighting",
        "traffic",
        "public_transport",
        "building_violation",
        "sidewalk_obstruction",
        "stray_animals",
        "fire_safety",
        "social_harm",
        "noise_pollution",
        "general",
    }
    assert config.taxonomy.categories["fire_safety"].sla_days == 0
    assert config.taxonomy.department_of("street_lighting") == "lighting"
    # The SQLite file sits beside the config file, not wherever sada was started from.
    assert config.store.url == f"sqlite+aiosqlite:///{ROOT / 'var' / 'sada.db'}"


def test_defaults_without_a_file_use_the_shipped_taxonomy() -> None:
    config = _load({})
    assert len(config.taxonomy.categories) == 17
    assert config.outbox.max_attempts == 8 and config.calendar.days_off == (4,)
    assert config.service.event_loop == "uvloop"


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"outbox": {"max_attempts": 0}}, "outbox.max_attempts", "at least 1"),
        ({"outbox": {"max_attempts": "3"}}, "outbox.max_attempts", "expected an integer"),
        ({"outbox": {"max_attempts": True}}, "outbox.max_attempts", "boolean"),
        ({"service": {"port": 70000}}, "service.port", "at most 65535"),
        ({"service": {"prot": 8080}}, "service.prot", "unknown key"),
        ({"service": {"workers": 0}}, "service.workers", "at least 1"),
        ({"service": {"workers": 2, "port": 0}}, "service.workers", "fixed service.port"),
        ({"service": {"event_loop": "trio"}}, "service.event_loop", "must be one of"),
        ({"servcie": {}}, "servcie", "unknown section"),
        ({"store": {"url": "mysql://x"}}, "store.url", "must start with"),
        ({"store": {"url_env": "SADA_DB"}}, "store.url_env", "SADA_DB is not set"),
        ({"gateway": {"fallback_category": "nope"}}, "gateway.fallback_category", "unknown category"),
        ({"nlp": {"classifier": "magic"}}, "nlp.classifier", "must be one of"),
        ({"calendar": {"days_off": ["caturday"]}}, "calendar.days_off", "unknown weekday"),
        (
            {
                "taxonomy": {
                    "departments": {"a": "A"},
                    "categories": {"x": {"name": "X", "department": "b", "sla_days": 1}},
                }
            },
            "taxonomy.categories.x.department",
            "unknown department",
        ),
        (
            {"taxonomy": {"departments": {"a": "A"}, "categories": {"x": {"name": "X", "department": "a"}}}},
            "taxonomy.categories.x.sla_days",
            "missing",
        ),
        ({"channels": {"demo": {"kind": "carrier-pigeon"}}}, "channels.demo.kind", "must be one of"),
        ({"code_lookups": {"max_mises": 3}}, "code_lookups.max_mises", "unknown key"),
        ({"code_lookups": {"max_misses": 0}}, "code_lookups.max_misses", "at least 1"),
        ({"panel": {"page_size": 2}}, "panel.page_size", "at least 5"),
        ({"digest": {"send_at": "7am"}}, "digest.send_at", "expected HH:MM"),
        (
            {"digest": {"recipients": {"mayor": {"chat_channel": "tg", "chat_id": "1"}}}},
            "digest.recipients.mayor.chat_channel",
            "no Telegram/Bale channel named 'tg'",
        ),
        ({"public": {"min_tickets": 2}}, "public.min_tickets", "at least 3"),
        ({"flood": {"window_seconds": 0}}, "flood.window_seconds", "at least 1"),
        ({"channels": {"sms": {"kind": "smsir", "line_number": "1"}}}, "channels.sms.api_key_env", "missing"),
    ],
)
def test_invalid_values_name_their_dotted_key(data: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(data)
    assert info.value.key == key
    assert problem in str(info.value)
    assert str(info.value).startswith(f"config: {key}:")


def test_secret_comes_from_the_named_environment_variable() -> None:
    config = _load({"store": {"url_env": "SADA_DB"}}, env={"SADA_DB": "postgresql+asyncpg://u:p@h/db"})
    assert config.store.url == "postgresql+asyncpg://u:p@h/db"


def test_broken_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[store\nurl = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid UTF-8 TOML"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml", env={})


def test_cli_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[outbox]\nbatch_size = -1\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "db", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "config: outbox.batch_size: must be at least 1, got -1" in proc.stderr
