"""The providers: every channel kind is declared once, by its own module, and found here.

A provider module in `channels/` holds one module-level `PROVIDER = Provider(...)`: the kinds it
serves, its role, how to read its `[channels.<name>]` table into a frozen settings dataclass (when
the config is loaded, so a mistake stops start-up with its dotted key), and how to build its
channel from those settings (when the service starts). `providers()` imports the modules of this
package and collects their `PROVIDER`s, so a new provider is one new module and no list to edit.

What every channel shares (`enabled`, `kind`, the order senders-first, unknown keys) is done by
bot/runtime/channel_factory.py; reading helpers every provider uses are in channels/provider_config.py.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from bot.models import Button, Medium
from bot.toml_reader import ConfigError, Table
from channels.base import Channel, ChannelState


class Role(StrEnum):
    """What a provider's channels do; senders are read and built before the channels naming them."""

    CHAT = "chat"  # a messenger bot
    SENDER = "sender"  # an SMS account that sends (and may receive); others may reply through it
    RELAY = "relay"  # receives only; replies go out through the sender its table names (reply_via)

    @property
    def medium(self) -> Medium:
        """The medium of the channel's messages."""
        return Medium.CHAT if self is Role.CHAT else Medium.SMS


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What a provider's reader knows besides its table: the channel and the senders read so far."""

    name: str
    kind: str
    senders: Mapping[str, str]  # enabled SMS senders already read: channel name → kind
    sender_kinds: tuple[str, ...]  # every sender kind, for the error message

    def sender(self, t: Table, key: str) -> str:
        """The value of `key`, which must name an enabled sender channel (`reply_via`, `fallback_sms`)."""
        name = t.str(key)
        if name not in self.senders:
            kinds = "/".join(self.sender_kinds)
            raise ConfigError(t.dotted(key), f"must name an enabled {kinds} channel, got {name!r}")
        return name


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a provider's builder gets besides its settings."""

    name: str
    channels: Mapping[str, Channel]  # built so far: every sender is built before a channel naming it
    state: ChannelState | None  # durable per-channel state in the store (None: built without one)
    keyboard: Sequence[Button]  # the menu chat channels show

    def dotted(self, key: str) -> str:
        """The dotted config key of this channel's `key`, for a ConfigError."""
        return f"channels.{self.name}.{key}"


@dataclass(frozen=True, slots=True)
class Provider[S]:
    """One provider: its kinds, its role, its table reader and its channel builder."""

    kinds: tuple[str, ...]
    role: Role
    read: Callable[[Table, ReadContext], S]  # the table → settings (frozen; secrets hidden from repr)
    build: Callable[[S, BuildContext], Channel]
    names_sender: bool = False  # its table may name a sender (as relays do): read after the senders

    @property
    def after_senders(self) -> bool:
        """Whether its channels are read and built after the senders."""
        return self.names_sender or self.role is Role.RELAY


@cache
def providers() -> Mapping[str, Provider[Any]]:
    """Every kind → its provider, found in the modules of this package.

    Ordered by role (chat, sender, relay), then by module name: the order `kind` errors list them in."""
    return discover(Path(__file__).parent, __package__ or "channels")


def discover(folder: Path, package: str) -> dict[str, Provider[Any]]:
    """The `PROVIDER`s of the modules in `folder` (the package `package`), by kind; a kind declared
    twice is an error."""
    found: list[tuple[int, str, Provider[Any]]] = []
    roles = list(Role)
    for module in pkgutil.iter_modules([str(folder)]):
        provider = getattr(importlib.import_module(f"{package}.{module.name}"), "PROVIDER", None)
        if isinstance(provider, Provider):
            found.append((roles.index(provider.role), module.name, provider))
    by_kind: dict[str, Provider[Any]] = {}
    for _, module_name, provider in sorted(found, key=lambda f: f[:2]):
        for kind in provider.kinds:
            if kind in by_kind:
                raise ValueError(
                    f"channel kind {kind!r} is declared twice (again in {package}.{module_name})"
                )
            by_kind[kind] = provider
    return by_kind


def kinds() -> tuple[str, ...]:
    """Every configurable `kind`."""
    return tuple(providers())


def sender_kinds() -> tuple[str, ...]:
    """The kinds `reply_via` and `fallback_sms` may name."""
    return tuple(kind for kind, provider in providers().items() if provider.role is Role.SENDER)
