"""The `[open311]` table."""

from __future__ import annotations

from dataclasses import dataclass

from bot.toml_reader import Table

# The spec's "first 1000 requests" bound; a deployment may lower it, never raise it.
MAX_RESULTS = 1000

CONTACT = "برای پرسش درباره این رابط با روابط عمومی شهرداری تماس بگیرید."
KEY_SERVICE = "کلید ثبت درخواست را روابط عمومی شهرداری می‌دهد؛ خواندن درخواست‌ها کلید نمی‌خواهد."


@dataclass(frozen=True, slots=True)
class Open311Settings:
    """Whether the GeoReport v2 API is served, where its API keys come from, and its limits."""

    enabled: bool = True
    api_keys_env: str = "SADA_OPEN311_KEYS"
    # Sliding one-minute windows, counted by each `serve` process for itself.
    requests_per_minute: int = 120  # every call from one client address
    posts_per_minute: int = 30  # POST requests under one API key
    max_results: int = MAX_RESULTS
    contact: str = CONTACT
    key_service: str = KEY_SERVICE


def read_open311_settings(t: Table) -> Open311Settings:
    """Validate `[open311]` (ConfigError names a bad key)."""
    s = Open311Settings(
        enabled=t.bool("enabled", True),
        api_keys_env=t.str("api_keys_env", "SADA_OPEN311_KEYS"),
        requests_per_minute=t.int("requests_per_minute", 120, minimum=1, maximum=100_000),
        posts_per_minute=t.int("posts_per_minute", 30, minimum=1, maximum=100_000),
        max_results=t.int("max_results", MAX_RESULTS, minimum=1, maximum=MAX_RESULTS),
        contact=t.str("contact", CONTACT).strip() or CONTACT,
        key_service=t.str("key_service", KEY_SERVICE).strip() or KEY_SERVICE,
    )
    t.check_unknown()
    return s
