"""Builds the channels named in `[channels.<name>]`, each from its own config table."""

from __future__ import annotations

import logging

from bot.settings import Table
from channels.base import Channel
from channels.fake import FakeChannel

log = logging.getLogger(__name__)

KINDS = ("fake",)


def build_channels(table: Table) -> dict[str, Channel]:
    """Channels named in `[channels.<name>]`, validated; disabled ones are skipped."""
    channels: dict[str, Channel] = {}
    for name in table:
        section = table.table(name, required=True)
        if not section.bool("enabled", True):
            section.check_unknown()
            continue
        kind = section.choice("kind", KINDS)
        channels[name] = FakeChannel(name)
        section.check_unknown()
        log.info("channel %s (%s) configured", name, kind)
    return channels
