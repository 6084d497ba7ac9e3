"""`sada retention --days N`: anonymise contact details of tickets finished more than N days ago.

Statistics survive (storage/retention.py says exactly what goes and what stays). Safe to run
again and from cron on any one machine; it commits in one transaction.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from bot.config import AppConfig
from storage.retention import RetentionReport, RetentionRepository
from storage.store import Store

log = logging.getLogger(__name__)


async def anonymise(store: Store, *, days: int, now: datetime | None = None) -> RetentionReport:
    """Anonymise what was finished before `now - days`."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    async with store.transaction() as tx:
        report = await RetentionRepository(tx.session).anonymise(cutoff)
    log.warning("retention: anonymised before %s: %s", cutoff.isoformat(), asdict(report))
    return report


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `retention`."""
    parser = sub.add_parser("retention", help="anonymise contact details of long-closed tickets")
    parser.add_argument(
        "--days", type=int, required=True, help="tickets finished more than this many days ago"
    )
    parser.set_defaults(run=_run)


async def _run(args: argparse.Namespace, config: AppConfig) -> int:
    if args.days < 1:
        print("sada retention: --days must be at least 1")
        return 2
    store = Store.from_url(config.store.url, busy_timeout_ms=config.store.busy_timeout_ms)
    try:
        await store.ensure_ready()
        report = await anonymise(store, days=args.days)
    finally:
        await store.aclose()
    print(json.dumps(asdict(report)))
    return 0
