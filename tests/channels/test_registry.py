"""channels/registry.py: providers are found in their own modules, in role order, each kind once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import config_from_mapping
from bot.toml_reader import ConfigError
from channels.registry import Provider, Role, discover, kinds, providers, sender_kinds

PROBE = """
from channels.registry import Provider, Role

def read(t, ctx):
    return t.str("colour", "grey")

def build(settings, ctx):
    raise NotImplementedError

PROVIDER = Provider(("{kind}",), Role.{role}, read, build)
"""


def _package(root: Path, name: str, modules: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for module, text in modules.items():
        (folder / f"{module}.py").write_text(text)
    return folder


def test_a_module_declaring_a_provider_is_found_without_a_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = _package(
        tmp_path,
        "probe_channels",
        {
            "pigeon": PROBE.format(kind="pigeon", role="RELAY"),
            "smoke": PROBE.format(kind="smoke", role="CHAT"),
            "courier": PROBE.format(kind="courier", role="SENDER"),
            "helpers": "X = 1\n",  # no PROVIDER: not a provider
        },
    )
    found = discover(folder, "probe_channels")
    assert list(found) == ["smoke", "courier", "pigeon"]  # chat, sender, relay
    assert all(isinstance(p, Provider) for p in found.values())


def test_a_kind_declared_twice_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = PROBE.format(kind="pigeon", role="SENDER")
    folder = _package(tmp_path, "probe_twice", {"a": probe, "b": probe})
    with pytest.raises(ValueError, match="'pigeon' is declared twice"):
        discover(folder, "probe_twice")


def test_the_real_providers_come_in_role_order_and_each_module_declares_its_own() -> None:
    roles = [providers()[kind].role for kind in kinds()]
    assert roles == sorted(roles, key=list(Role).index)
    assert set(sender_kinds()) == {k for k, p in providers().items() if p.role is Role.SENDER}
    for kind, provider in providers().items():
        assert provider.read.__module__ == provider.build.__module__, kind


def test_a_wrong_kind_lists_every_registered_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"channels": {"x": {"kind": "pigeon"}}}, base_dir=tmp_path, env={})
    assert info.value.key == "channels.x.kind"
    assert f"must be one of {', '.join(kinds())}, got 'pigeon'" in str(info.value)
    assert kinds()[:3] == ("fake", "telegram", "bale")  # the order the list had before the registry
