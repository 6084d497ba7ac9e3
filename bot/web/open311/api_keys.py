"""The API keys that may POST requests, each naming its client.

The environment variable `[open311] api_keys_env` names (default `SADA_OPEN311_KEYS`) holds one
entry or a comma-separated list; an entry is `name:key` (the name appears in the ticket's history)
or a bare key, whose client is then called `key-` and the first 8 hex digits of its SHA-256 (so
the history never holds the key). A key shorter than 16 characters, or an entry whose name is not
letters, digits, `.`, `_`, `-` (at most 40), is skipped with a warning that never shows the key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MIN_KEY_LENGTH = 16
_NAME = re.compile(r"[A-Za-z0-9._-]{1,40}")
_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces


@dataclass(frozen=True, slots=True)
class ApiClient:
    """A client allowed to POST: its name (shown in history) and its key (never shown)."""

    name: str
    key: str = field(repr=False)


def client_name(key: str) -> str:
    """The name of a client given by a bare key: derived from its hash, not from the key."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def parse_keys(text: str) -> tuple[ApiClient, ...]:
    """The clients of the variable's value; bad entries are skipped (logged by position only)."""
    clients: list[ApiClient] = []
    for position, raw in enumerate(text.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, key = entry.partition(":")
        if not sep:
            name, key = "", entry
        name, key = name.strip(), key.strip()
        if len(key) < MIN_KEY_LENGTH or not _KEY.fullmatch(key):
            log.warning(
                "open311 API key entry %d skipped: a key needs %d printable characters",
                position,
                MIN_KEY_LENGTH,
            )
            continue
        if sep and not _NAME.fullmatch(name):
            log.warning("open311 API key entry %d skipped: bad client name", position)
            continue
        clients.append(ApiClient(name or client_name(key), key))
    return tuple(clients)


class ApiKeys:
    """Looks a presented key up among the configured ones."""

    def __init__(self, clients: tuple[ApiClient, ...]) -> None:
        self._clients = clients

    @classmethod
    def from_environment(cls, env: Mapping[str, str], variable: str) -> ApiKeys:
        """The keys of `variable` in `env` (none when it is unset: every POST is refused)."""
        clients = parse_keys(env.get(variable, ""))
        if not clients:
            log.warning("open311: no API key in $%s; POST requests will be refused", variable)
        return cls(clients)

    def __len__(self) -> int:
        return len(self._clients)

    def client(self, presented: str) -> ApiClient | None:
        """The client whose key this is, or None; every key is compared, in constant time each."""
        found = None
        given = presented.encode("utf-8", "replace")
        for c in self._clients:
            if hmac.compare_digest(given, c.key.encode()):
                found = c
        return found
