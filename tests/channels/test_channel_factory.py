"""`[channels.<name>]` tables: every kind builds, mistakes name their dotted key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import config_from_mapping
from bot.models import Medium
from bot.runtime.channel_factory import build_channels
from bot.toml_reader import ConfigError
from channels.generic_sms import GenericSmsChannel
from channels.hotline import HotlineChannel
from channels.registry import kinds
from channels.sms import SmsChannel
from channels.telegram import BALE_BASE_URL, TelegramChannel
from storage.store import Store
from tests.channels.conftest import ENV, channel_tables
from tests.channels.sms_senders import SENDERS


def _build(
    tmp_path: Path, tables: dict[str, Any], env: dict[str, str] = ENV, store: Store | None = None
) -> Any:
    config = config_from_mapping({"channels": tables}, base_dir=tmp_path, env=env)
    return build_channels(config.channels, store=store)


async def test_every_kind_builds(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    tables = channel_tables("https://t.example/bot", "https://b.example/bot", "https://sms.example", tmp_path)
    tables["bale"].pop("base_url")
    specs = config_from_mapping({"channels": tables}, base_dir=tmp_path, env=ENV).channels
    channels: dict[str, Any] = build_channels(specs, store=store)
    assert {spec.kind for spec in specs} == set(kinds()) - {"fake"}  # every kind but the in-memory one
    classes = {name: type(ch) for name, ch in channels.items()}
    senders = {sender.channel: sender.kind for sender in SENDERS}
    assert {name: cls for name, cls in classes.items() if name not in senders} == {
        "telegram": TelegramChannel,
        "bale": TelegramChannel,
        "gateway2": GenericSmsChannel,
        "hotline": HotlineChannel,
    }
    # Each row of the send table builds its own provider's SmsChannel.
    assert {name: classes[name].provider for name in senders} == senders
    assert all(issubclass(classes[name], SmsChannel) for name in senders)
    assert [spec.kind for spec in specs] == [tables[name]["kind"] for name in channels]
    assert channels["bale"].bot.base_url.startswith(BALE_BASE_URL)
    assert channels["hotline"].medium is Medium.SMS and channels["telegram"].fallback_sms == "sms"
    for channel in channels.values():
        await channel.aclose()
    await store.aclose()


BASE = {"kind": "kavenegar", "api_key_env": "KAVENEGAR_KEY", "sender": "1000"}


@pytest.mark.parametrize(
    ("tables", "key", "problem"),
    [
        (
            {"x": {"kind": "telegram", "token_env": "NOPE", "webhook_secret_env": "HOOK_SECRET"}},
            "channels.x.token_env",
            "not set",
        ),
        ({"x": {"kind": "telegram", "token_env": "TG_TOKEN"}}, "channels.x.webhook_secret_env", "missing"),
        (
            {"x": {"kind": "telegram", "token_env": "TG_TOKEN", "webhook_secret_env": "TG_TOKEN"}},
            "channels.x.webhook_secret_env",
            "16-256",
        ),
        (
            {
                "x": {
                    "kind": "telegram",
                    "token_env": "TG_TOKEN",
                    "mode": "push",
                    "webhook_secret_env": "HOOK_SECRET",
                }
            },
            "channels.x.mode",
            "one of",
        ),
        (
            {
                "x": {
                    "kind": "telegram",
                    "token_env": "TG_TOKEN",
                    "webhook_secret_env": "HOOK_SECRET",
                    "public_url": "http://a",
                }
            },
            "channels.x.public_url",
            "https",
        ),
        (
            {
                "x": {
                    "kind": "telegram",
                    "token_env": "TG_TOKEN",
                    "webhook_secret_env": "HOOK_SECRET",
                    "fallback_sms": "nope",
                }
            },
            "channels.x.fallback_sms",
            "must name",
        ),
        ({"x": {**BASE, "base_url": "ftp://x"}}, "channels.x.base_url", "http"),
        ({"x": {**BASE, "sender": ""}}, "channels.x.sender", "empty"),
        ({"x": {**BASE, "max_parts": 0}}, "channels.x.max_parts", "at least 1"),
        ({"x": {**BASE, "colour": "red"}}, "channels.x.colour", "unknown key"),
        ({"x": {"kind": "kavenegar", "sender": "1"}}, "channels.x.api_key_env", "missing"),
        (
            {"x": {"kind": "melipayamak", "password_env": "MELI_PASSWORD", "sender": "1"}},
            "channels.x.username",
            "missing",
        ),
        (
            {"x": {"kind": "generic_sms", "webhook_secret_env": "HOOK_SECRET", "fields": {"from": "a"}}},
            "channels.x.fields.text",
            "missing",
        ),
        (
            {"x": {"kind": "generic_sms", "fields": {"from": "a", "text": "b"}, "reply_via": "y"}},
            "channels.x.webhook_secret_env",
            "missing",
        ),
        ({"x": {"kind": "hotline", "reply_via": "y"}}, "channels.x.token_env", "missing"),
        (
            {"y": BASE, "x": {"kind": "hotline", "token_env": "HOTLINE_TOKEN", "reply_via": "z"}},
            "channels.x.reply_via",
            "must name",
        ),
        (
            {"y": BASE, "x": {"kind": "hotline", "reply_via": "y", "follow": "feed"}},
            "channels.x.follow",
            "needs the store",
        ),
    ],
)
def test_mistakes_name_their_dotted_key(
    tmp_path: Path, tables: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _build(tmp_path, tables)
    assert info.value.key == key, str(info.value)
    assert problem in str(info.value)


def test_disabled_channels_are_skipped(tmp_path: Path) -> None:
    assert _build(tmp_path, {"x": {"kind": "smsir", "enabled": False}}) == {}
