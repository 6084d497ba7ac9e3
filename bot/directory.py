"""Which medium a channel speaks and where a reporter's replies go."""

from __future__ import annotations

from collections.abc import Mapping

from bot.models import Identity, Medium


class ChannelDirectory:
    """Channel name → medium, and reply routes (e.g. hotline callers are answered by SMS)."""

    def __init__(self, media: Mapping[str, Medium], reply_routes: Mapping[str, str] | None = None) -> None:
        self._media = dict(media)
        self._routes = dict(reply_routes or {})

    def medium(self, channel: str) -> Medium:
        """How texts on `channel` are shown; unknown channels named sms… are SMS, others chat."""
        if channel in self._media:
            return self._media[channel]
        return Medium.SMS if channel.startswith(("sms", "hotline")) else Medium.CHAT

    def route(self, identity: Identity) -> tuple[str, str]:
        """(channel, address) to write to this identity."""
        return self._routes.get(identity.channel, identity.channel), identity.address
