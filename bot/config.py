"""The service's configuration: one frozen settings object per component, read from TOML.

`load_config` reads the whole file at once, each section through the reader its component owns
(`read_panel_settings`, `read_digest_settings`, `read_public_settings`, `flood_settings`,
`code_lookup_settings`, `read_channels`, and the readers below); `AppConfig` holds only typed
settings, never a raw table. Precedence: environment (for secrets, named by `<key>_env`) over file
over default. Every missing or invalid value, unknown key or unset environment variable raises
`ConfigError` naming its dotted key before anything starts: no file is created, no store migrated
and no model trained until the whole config is valid. `bot/toml_reader.py` holds the typed TOML
reading (`Table`, `ConfigError`) the readers share.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.dates.workdays import WorkCalendar, jalali_day, official_holidays
from bot.digest.settings import DigestSettings, read_digest_settings
from bot.intake.code_lookups import CodeLookupSettings, code_lookup_settings
from bot.intake.flood import FloodSettings, flood_settings
from bot.runtime.channel_factory import ChannelSpec, chat_channel_names, read_channels
from bot.runtime.event_loop import EVENT_LOOPS
from bot.taxonomy import Taxonomy, default_taxonomy_data, read_taxonomy
from bot.toml_reader import ConfigError, Table, environment
from bot.web.public_stats import PublicSettings, read_public_settings

if TYPE_CHECKING:
    from bot.web.open311.settings import Open311Settings
    from bot.web.panel.settings import PanelSettings
    from bot.web.webform.settings import WebformSettings


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """The HTTP service."""

    host: str
    port: int
    public_url: str
    shutdown_timeout: float
    log_level: str
    timezone: str
    workers: int = 1
    event_loop: str = "uvloop"
    # A connection must deliver a request's headers within this many seconds of opening (or of its
    # previous response); an idle keep-alive connection is closed after it too.
    header_timeout: float = 15.0
    # Once the headers are in, the whole body must arrive within this many seconds (answer: 408).
    body_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where the request store lives."""

    url: str
    busy_timeout_ms: int
    pool_size: int
    echo: bool


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """How intake decides what a message is."""

    fallback_category: str
    duplicate_window_hours: int
    duplicate_threshold: float
    min_request_letters: int


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """How queued replies are delivered."""

    poll_interval: float
    batch_size: int
    max_attempts: int
    backoff_base: float
    backoff_max: float
    lease_seconds: float


@dataclass(frozen=True, slots=True)
class SurveySettings:
    """The "is it fixed?" question after resolution."""

    close_after_days: float
    check_interval: float


@dataclass(frozen=True, slots=True)
class NlpSettings:
    """The classifier and its artifacts."""

    classifier: str
    model_path: Path
    gazetteer_path: Path | None
    retrain_interval_minutes: float = 0.0  # 0: retrain only at start-up and from the panel
    retrain_tolerance: float = 0.005  # how much lower a candidate's macro-F1 may be and still pass
    reload_check_seconds: float = 30.0  # how often each process looks for a model accepted elsewhere
    # False: the model decides on its first stage alone, never asking the sentence encoder (about
    # half of the service's CPU per message; docs/OPERATIONS.md "The classifier's second stage").
    second_stage: bool = True


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """[media]: fetching the photos, voice notes and documents citizens send (bot/jobs/media_fetch.py)."""

    enabled: bool = True
    max_bytes: int = 10 * 1024 * 1024  # a larger file is not kept (status too_large)
    attempts: int = 5  # fetch attempts before a file is given up (status failed)
    backoff_base: float = 30.0  # seconds before the 2nd attempt, doubling after each failure
    backoff_max: float = 3600.0
    poll_interval: float = 5.0  # how often each process looks for files to fetch
    speech_url: str | None = None  # a speech recognition server (whisper.cpp `/inference` style)
    speech_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class AppConfig:
    """Everything `sada` needs, section by section."""

    source: Path | None
    service: ServiceSettings
    store: StoreSettings
    gateway: GatewaySettings
    outbox: OutboxSettings
    survey: SurveySettings
    nlp: NlpSettings
    calendar: WorkCalendar
    taxonomy: Taxonomy
    channels: tuple[ChannelSpec, ...]  # enabled ones, in build order (bot/runtime/channel_factory.py)
    panel: PanelSettings
    digest: DigestSettings
    public: PublicSettings
    flood: FloodSettings
    code_lookups: CodeLookupSettings
    open311: Open311Settings
    webform: WebformSettings
    media: MediaSettings = MediaSettings()  # noqa: RUF009 - frozen, shared safely


_TOP_LEVEL = {
    "service",
    "store",
    "gateway",
    "outbox",
    "survey",
    "nlp",
    "calendar",
    "taxonomy",
    "channels",
    "panel",
    "digest",
    "public",
    "flood",
    "code_lookups",
    "media",
    "open311",
    "webform",
}


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read `path` (or only defaults when None) and validate every section."""
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError("(file)", f"cannot read {path}: {exc.strerror}") from exc
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("(file)", f"{path} is not valid UTF-8 TOML: {exc}") from exc
        base_dir = path.resolve().parent
    return config_from_mapping(data, base_dir=base_dir, env=env, source=path)


def config_from_mapping(
    data: Mapping[str, Any],
    *,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> AppConfig:
    """Validate an already-parsed config mapping."""
    # Imported here: the `bot.web.panel` package's __init__ imports modules that import this one.
    from bot.web.open311.settings import read_open311_settings
    from bot.web.panel.settings import read_panel_settings
    from bot.web.webform.settings import read_webform_settings

    env = environment() if env is None else env
    root = Table(data, "", base_dir=base_dir, env=env)
    for key in root:
        if key not in _TOP_LEVEL:
            raise ConfigError(key, "unknown section")
    taxonomy_data = data.get("taxonomy") or default_taxonomy_data()
    taxonomy = read_taxonomy(Table(taxonomy_data, "taxonomy", base_dir=base_dir, env=env))
    channels = read_channels(root.table("channels"))
    config = AppConfig(
        source=source,
        service=_service(root.table("service")),
        store=_store(root.table("store"), env),
        gateway=_gateway(root.table("gateway"), taxonomy),
        outbox=_outbox(root.table("outbox")),
        survey=_survey(root.table("survey")),
        nlp=_nlp(root.table("nlp")),
        calendar=_calendar(root.table("calendar")),
        taxonomy=taxonomy,
        channels=channels,
        panel=read_panel_settings(root.table("panel")),
        digest=read_digest_settings(root.table("digest"), taxonomy, chat_channel_names(channels)),
        public=read_public_settings(root.table("public")),
        flood=flood_settings(root.table("flood")),
        code_lookups=code_lookup_settings(root.table("code_lookups")),
        media=_media(root.table("media")),
        open311=read_open311_settings(root.table("open311")),
        webform=read_webform_settings(root.table("webform")),
    )
    return config


def _service(t: Table) -> ServiceSettings:
    s = ServiceSettings(
        host=t.str("host", "127.0.0.1"),
        port=t.int("port", 8080, minimum=0, maximum=65535),
        public_url=t.str("public_url", "").rstrip("/"),
        shutdown_timeout=t.float("shutdown_timeout", 10.0, minimum=0),
        log_level=t.choice("log_level", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        timezone=t.choice("timezone", ("Asia/Tehran",), "Asia/Tehran"),
        workers=t.int("workers", 1, minimum=1, maximum=64),
        event_loop=t.choice("event_loop", EVENT_LOOPS, "uvloop"),
        header_timeout=t.float("header_timeout_seconds", 15.0, minimum=0.1, maximum=3600),
        body_timeout=t.float("body_timeout_seconds", 30.0, minimum=0.1, maximum=3600),
    )
    t.check_unknown()
    if s.workers > 1 and s.port == 0:
        raise ConfigError("service.workers", "several workers need a fixed service.port (not 0)")
    return s


def _store(t: Table, env: Mapping[str, str]) -> StoreSettings:
    url = t.secret("url") or "" if t.has("url_env") else t.str("url", "sqlite+aiosqlite:///sada.db")
    url = _anchor_sqlite_path(url, t.base_dir)
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(t.dotted("url"), "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    s = StoreSettings(
        url=url,
        busy_timeout_ms=t.int("busy_timeout_ms", 5000, minimum=0),
        pool_size=t.int("pool_size", 10, minimum=1, maximum=200),
        echo=t.bool("echo", False),
    )
    t.check_unknown()
    return s


def _anchor_sqlite_path(url: str, base_dir: Path) -> str:
    """Relative SQLite paths are taken from the config file's folder, not the current directory."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(base_dir / url[len(prefix) :])
    return url


def _gateway(t: Table, taxonomy: Taxonomy) -> GatewaySettings:
    s = GatewaySettings(
        fallback_category=t.str("fallback_category", "general"),
        duplicate_window_hours=t.int("duplicate_window_hours", 72, minimum=0),
        duplicate_threshold=t.float("duplicate_threshold", 80.0, minimum=0, maximum=100),
        min_request_letters=t.int("min_request_letters", 6, minimum=1),
    )
    if s.fallback_category not in taxonomy.categories:
        raise ConfigError(t.dotted("fallback_category"), f"unknown category {s.fallback_category!r}")
    t.check_unknown()
    return s


def _outbox(t: Table) -> OutboxSettings:
    s = OutboxSettings(
        poll_interval=t.float("poll_interval_seconds", 1.0, minimum=0.01),
        batch_size=t.int("batch_size", 50, minimum=1, maximum=1000),
        max_attempts=t.int("max_attempts", 8, minimum=1),
        backoff_base=t.float("backoff_base_seconds", 2.0, minimum=0),
        backoff_max=t.float("backoff_max_seconds", 600.0, minimum=0),
        lease_seconds=t.float("lease_seconds", 60.0, minimum=1),
    )
    t.check_unknown()
    return s


def _media(t: Table) -> MediaSettings:
    speech_url = t.str("speech_url", "").strip() or None
    if speech_url is not None and not speech_url.startswith(("http://", "https://")):
        raise ConfigError(t.dotted("speech_url"), "must start with http:// or https://")
    s = MediaSettings(
        enabled=t.bool("enabled", True),
        max_bytes=t.int("max_bytes", 10 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024),
        attempts=t.int("attempts", 5, minimum=1, maximum=100),
        backoff_base=t.float("backoff_base_seconds", 30.0, minimum=0),
        backoff_max=t.float("backoff_max_seconds", 3600.0, minimum=0),
        poll_interval=t.float("poll_interval_seconds", 5.0, minimum=0.01),
        speech_url=speech_url,
        speech_timeout=t.float("speech_timeout_seconds", 60.0, minimum=1, maximum=3600),
    )
    t.check_unknown()
    return s


def _survey(t: Table) -> SurveySettings:
    s = SurveySettings(
        close_after_days=t.float("close_after_days", 3.0, minimum=0),
        check_interval=t.float("check_interval_seconds", 300.0, minimum=0.01),
    )
    t.check_unknown()
    return s


def _nlp(t: Table) -> NlpSettings:
    s = NlpSettings(
        classifier=t.choice("classifier", ("model", "keywords"), "model"),
        model_path=t.path_value("model_path", "var/nlp-model.zip"),
        gazetteer_path=t.path_value("gazetteer_path") if t.has("gazetteer_path") else None,
        retrain_interval_minutes=t.float("retrain_interval_minutes", 0.0, minimum=0),
        retrain_tolerance=t.float("retrain_tolerance", 0.005, minimum=0, maximum=0.1),
        reload_check_seconds=t.float("reload_check_seconds", 30.0, minimum=1),
        second_stage=t.bool("second_stage", True),
    )
    t.check_unknown()
    return s


_WEEKDAYS = {
    "saturday": 5,
    "sunday": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
}


def _weekdays(t: Table, key: str, default: list[str]) -> tuple[int, ...]:
    days: set[int] = set()
    for name in t.strings(key, default):
        if name.lower() not in _WEEKDAYS:
            raise ConfigError(t.dotted(key), f"unknown weekday {name!r}")
        days.add(_WEEKDAYS[name.lower()])
    return tuple(sorted(days))


def _calendar(t: Table) -> WorkCalendar:
    days_off = _weekdays(t, "days_off", ["friday"])
    half_days = _weekdays(t, "half_days", [])
    if set(days_off) & set(half_days):
        raise ConfigError(t.dotted("half_days"), "a weekday cannot be both off and a half day")
    years: dict[int, list[str]] = {}
    listed = t.table("holidays")
    for key in listed:
        if not (key.isdigit() and 1300 < int(key) < 1500):
            raise ConfigError(listed.dotted(key), "expected a Jalali year such as 1405")
        days = listed.strings(key)
        for month_day in days:
            try:
                jalali_day(int(key), month_day)
            except ValueError:
                raise ConfigError(listed.dotted(key), f"not a Jalali MM-DD of {key}: {month_day!r}") from None
        years[int(key)] = days
    t.check_unknown()
    return WorkCalendar(days_off=days_off, half_days=half_days, holidays=official_holidays(years))
