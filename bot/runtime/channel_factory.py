"""The channels named in `[channels.<name>]`: read into typed specs at load, built at start.

Each `kind` belongs to a provider module in `channels/` that reads its own table and builds its
own channel (channels/registry.py finds them); this module does what every channel shares.
`read_channels` validates every table when the config is loaded (secrets come from environment
variables named by `<key>_env` and are resolved then, so a missing one stops start-up before
anything happens); `build_channels` turns the specs into channel objects when the service starts.
Channels that answer through another channel (`reply_via`, `fallback_sms`) come after the SMS
senders they name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.models import Medium
from bot.replies import MENU_BUTTONS
from bot.toml_reader import Table
from channels.base import Channel
from channels.registry import BuildContext, Provider, ReadContext, Role, kinds, providers, sender_kinds
from storage.channel_state import ChannelStateRepository
from storage.store import Store

log = logging.getLogger(__name__)


class StoreChannelState:
    """ChannelState kept in the store's `channel_state` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self, key: str) -> dict[str, Any] | None:
        async with self._store.transaction() as tx:
            return await ChannelStateRepository(tx.session).get(key)

    async def save(self, key: str, value: dict[str, Any]) -> None:
        async with self._store.transaction() as tx:
            await ChannelStateRepository(tx.session).put(key, value, datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One enabled `[channels.<name>]` table, validated; `settings` is its provider's frozen dataclass
    (secrets resolved, and kept out of its repr)."""

    name: str
    kind: str
    role: Role
    settings: Any

    @property
    def medium(self) -> Medium:
        """The medium of the channel's messages."""
        return self.role.medium

    @property
    def provider(self) -> Provider[Any]:
        """The provider that reads and builds this kind."""
        return providers()[self.kind]


def read_channels(table: Table) -> tuple[ChannelSpec, ...]:
    """Validate every `[channels.<name>]` table (secrets resolved); disabled ones are skipped.

    The specs come in build order: senders first, so relays and fallbacks can name them."""
    sections: dict[str, tuple[str, Table]] = {}
    for name in table:
        section = table.table(name, required=True)
        if not section.bool("enabled", True):
            continue  # a disabled channel's table may be half written: it is not read
        sections[name] = (section.choice("kind", kinds()), section)
    registry = providers()
    order = sorted(sections, key=lambda n: (registry[sections[n][0]].after_senders, n))
    specs: dict[str, ChannelSpec] = {}
    senders: dict[str, str] = {}
    for name in order:
        kind, section = sections[name]
        provider = registry[kind]
        settings = provider.read(section, ReadContext(name, kind, dict(senders), sender_kinds()))
        section.check_unknown()
        specs[name] = ChannelSpec(name, kind, provider.role, settings)
        if provider.role is Role.SENDER:
            senders[name] = kind
    return tuple(specs.values())


def chat_channel_names(specs: Sequence[ChannelSpec]) -> set[str]:
    """The configured channels that carry chat messages (and photos)."""
    return {spec.name for spec in specs if spec.medium is Medium.CHAT}


def build_channels(specs: Sequence[ChannelSpec], *, store: Store | None = None) -> dict[str, Channel]:
    """The channel objects for validated specs (`AppConfig.channels`), in their build order."""
    channels: dict[str, Channel] = {}
    state = StoreChannelState(store) if store is not None else None
    for spec in specs:
        context = BuildContext(spec.name, channels, state, MENU_BUTTONS)
        channels[spec.name] = spec.provider.build(spec.settings, context)
        log.info("channel %s (%s) configured", spec.name, spec.kind)
    return channels
