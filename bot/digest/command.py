"""`sada digest --date 1404-09-01 [--send] [--to NAME]`: print a day's digest, or send it now.

Printing shows each recipient's chat text (or the whole city's when no recipient is configured)
and changes nothing. `--send` delivers like the morning job does, so a digest already sent that
day is not sent again.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from bot.config import AppConfig
from bot.dates.clock import SystemClock
from bot.dates.jalali import to_tehran
from bot.digest.delivery import FAILED, make_sender
from bot.digest.figures import build_digest, parse_day
from bot.digest.text import fit_text
from bot.digest.wording import Names
from bot.runtime.channel_factory import build_channels
from storage.store import Store

EXIT_USAGE = 2
EXIT_FAILED = 1


def add_parser(subparsers: Any) -> None:
    """Add `digest` to the `sada` parser."""
    p = subparsers.add_parser("digest", help="print or send the managers' daily digest of one day")
    p.add_argument("--date", help="the Jalali day reported on, e.g. 1404-09-01 (default: yesterday)")
    p.add_argument("--send", action="store_true", help="deliver it (once per recipient and day)")
    p.add_argument("--to", metavar="NAME", help="only this recipient of [digest.recipients]")
    p.set_defaults(run=run)


async def run(args: argparse.Namespace, config: AppConfig) -> int:
    """Print or send; 0 when done, 1 when a delivery failed, 2 on bad arguments."""
    clock = SystemClock()
    try:
        day = parse_day(args.date) if args.date else to_tehran(clock.now()).date() - timedelta(days=1)
    except ValueError as exc:
        print(f"sada digest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    s = config.store
    store = Store.from_url(s.url, busy_timeout_ms=s.busy_timeout_ms, pool_size=s.pool_size)
    channels = build_channels(config.channels, store=store) if args.send else {}
    try:
        await store.ensure_ready()
        sender, settings = make_sender(config, store, channels, clock)
        try:
            recipients = sender.recipients(args.to)
        except KeyError:
            known = ", ".join(r.name for r in settings.recipients) or "none configured"
            print(f"sada digest: unknown recipient {args.to!r} (known: {known})", file=sys.stderr)
            return EXIT_USAGE
        if args.send:
            outcomes = await sender.deliver(day, only=args.to)
            for o in outcomes:
                print(f"{o.recipient}\t{o.medium}\t{o.status}" + (f"\t{o.error}" if o.error else ""))
            return EXIT_FAILED if any(o.status == FAILED for o in outcomes) else 0
        names = Names(config.taxonomy)
        scopes = [r.department for r in recipients] if recipients else [None]
        headers = [r.name for r in recipients] if recipients else ["city"]
        for header, scope in zip(headers, scopes, strict=True):
            digest = await build_digest(store, day, scope, config.calendar, sender.limits)
            print(f"--- {header} ---")
            print(fit_text(digest, names))
        return 0
    finally:
        for channel in channels.values():
            await channel.aclose()
        await store.aclose()
