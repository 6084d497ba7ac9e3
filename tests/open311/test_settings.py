"""`[open311]`: defaults, bounds, unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.toml_reader import ConfigError, Table
from bot.web.open311.settings import MAX_RESULTS, Open311Settings, read_open311_settings


def _read(data: dict[str, object], tmp_path: Path) -> Open311Settings:
    return read_open311_settings(Table(data, "open311", base_dir=tmp_path, env={}))


def test_defaults(tmp_path: Path) -> None:
    s = _read({}, tmp_path)
    assert s == Open311Settings()
    assert s.enabled and s.api_keys_env == "SADA_OPEN311_KEYS" and s.max_results == MAX_RESULTS == 1000
    assert s.contact and s.key_service


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"max_results": 1001}, "open311.max_results"),
        ({"max_results": 0}, "open311.max_results"),
        ({"requests_per_minute": 0}, "open311.requests_per_minute"),
        ({"posts_per_minute": "many"}, "open311.posts_per_minute"),
        ({"api_key": "x"}, "open311.api_key"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _read(data, tmp_path)
    assert key in str(raised.value)
