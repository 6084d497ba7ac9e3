"""The `[webform]` table."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.toml_reader import ConfigError, Table

MIB = 1024 * 1024
_PATH = re.compile(r"/[a-z0-9_-]+(?:/[a-z0-9_-]+)*/")


@dataclass(frozen=True, slots=True)
class WebformSettings:
    """Where the citizen web form is served, which SMS channel confirms phones and sends updates, and
    the form's abuse limits (counted in each process: see docs/WEBFORM.md)."""

    enabled: bool = True
    path: str = "/r/"
    sms_channel: str | None = None  # None: the first SMS-capable channel; with none, no phone field
    max_body_bytes: int = 10 * MIB  # a larger request body is refused (413) before it is read
    max_photo_bytes: int = 8 * MIB  # a larger photo is refused with the form shown again
    per_address_minute: int = 5  # requests sent from one client address within a minute
    per_address_hour: int = 30  # … and within an hour
    global_minute: int = 120  # requests sent by everyone within a minute (status-page misses count apart)
    status_misses_per_address: int = 5  # unknown tracking codes one address may ask within 10 minutes
    global_status_misses_minute: int = 60  # unknown tracking codes asked by everyone within a minute
    phone_codes_hour: int = 5  # one-time codes sent to one phone number within an hour (all requests)
    phone_codes_day: int = 10  # … and within a day
    code_minutes: int = 10  # how long a one-time code is valid
    code_attempts: int = 5  # wrong codes before the confirmation is locked
    code_sends: int = 3  # codes sent for one request (the first one and the resends)
    resend_seconds: int = 60  # how long after a code another one may be asked for

    @property
    def status_path(self) -> str:
        """The status page (`path` + "status")."""
        return self.path + "status"


def read_webform_settings(t: Table) -> WebformSettings:
    """Validate `[webform]` (ConfigError names a bad key)."""
    path = t.str("path", "/r/")
    if not _PATH.fullmatch(path) or path.startswith(("/panel/", "/hooks/", "/healthz/")):
        raise ConfigError(t.dotted("path"), f"must look like /r/ (lower-case, not the panel's), got {path!r}")
    s = WebformSettings(
        enabled=t.bool("enabled", True),
        path=path,
        sms_channel=t.str("sms_channel", "").strip() or None,
        max_body_bytes=t.int("max_body_bytes", 10 * MIB, minimum=64 * 1024, maximum=100 * MIB),
        max_photo_bytes=t.int("max_photo_bytes", 8 * MIB, minimum=1024, maximum=100 * MIB),
        per_address_minute=t.int("per_address_minute", 5, minimum=1),
        per_address_hour=t.int("per_address_hour", 30, minimum=1),
        global_minute=t.int("global_minute", 120, minimum=1),
        status_misses_per_address=t.int("status_misses_per_address", 5, minimum=1),
        global_status_misses_minute=t.int("global_status_misses_minute", 60, minimum=1),
        phone_codes_hour=t.int("phone_codes_hour", 5, minimum=1, maximum=100),
        phone_codes_day=t.int("phone_codes_day", 10, minimum=1, maximum=1000),
        code_minutes=t.int("code_minutes", 10, minimum=1, maximum=60),
        code_attempts=t.int("code_attempts", 5, minimum=1, maximum=20),
        code_sends=t.int("code_sends", 3, minimum=1, maximum=10),
        resend_seconds=t.int("resend_seconds", 60, minimum=0, maximum=3600),
    )
    t.check_unknown()
    if s.max_photo_bytes > s.max_body_bytes:
        raise ConfigError(t.dotted("max_photo_bytes"), "must not be larger than max_body_bytes")
    return s
