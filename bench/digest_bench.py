"""How long the daily digest takes on a large SQLite store.

    python bench/digest_bench.py                       # 1,000,000 tickets in a temporary file
    python bench/digest_bench.py --tickets 200000 --db digest.db --keep

Creates the schema through the real migrations, then bulk-inserts tickets spread over two years
(about 1,370 a day), one `classified` event per ticket, a `status_changed` event for each resolved
one, corrections, reopenings and survey answers, with Python's sqlite3 `executemany` (the ORM
would take minutes). Then builds the digest of the last day for the whole city and for one
department, and renders its text and chart, timing each. Target (issue 6): digest < 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import config_from_mapping  # noqa: E402
from bot.dates.jalali import to_tehran  # noqa: E402
from bot.digest.chart import render_chart  # noqa: E402
from bot.digest.figures import build_digest  # noqa: E402
from bot.digest.text import fit_text  # noqa: E402
from bot.digest.wording import Names  # noqa: E402
from storage.store import Store  # noqa: E402

CHANNELS = ("telegram", "bale", "sms", "hotline")
STATUSES_OPEN = ("registered", "referred", "in_progress", "reopened")
DAYS = 730
FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(FORMAT)


def generate(path: Path, tickets: int, end: datetime, seed: int = 6) -> None:
    """Bulk-insert `tickets` tickets created over the `DAYS` days before `end`."""
    config = config_from_mapping({}, base_dir=Path("."), env={})
    categories = [(code, c.department, c.sla_days) for code, c in config.taxonomy.categories.items()]
    districts = [f"منطقه {i}" for i in range(1, 23)]
    rnd = random.Random(seed)
    start = end - timedelta(days=DAYS)
    span = (end - start).total_seconds()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        "INSERT INTO citizens (id, display_name, phone, created_at) VALUES (1, NULL, NULL, ?)", (ts(start),)
    )
    batch = 50_000
    next_id = 1
    while next_id <= tickets:
        rows, events, surveys = [], [], []
        for tid in range(next_id, min(next_id + batch, tickets + 1)):
            created = start + timedelta(seconds=span * (tid - 1) / tickets + rnd.random() * 30)
            category, department, sla = rnd.choice(categories)
            due = created + timedelta(days=max(sla, 0.1) * 1.2)
            age = (end - created).days
            resolved = rnd.random() < (0.95 if age > 14 else 0.5)
            resolved_at = created + timedelta(hours=rnd.expovariate(1 / 40)) if resolved else None
            if resolved_at is not None and resolved_at >= end:
                resolved, resolved_at = False, None
            status = (
                "closed" if resolved and age > 7 else "resolved" if resolved else rnd.choice(STATUSES_OPEN)
            )
            district = rnd.choice(districts) if rnd.random() < 0.7 else None
            rows.append(
                (
                    tid,
                    f"{tid:010d}",
                    1,
                    rnd.choice(CHANNELS),
                    "متن درخواست شهروند",
                    "متن درخواست شهروند",
                    category,
                    department,
                    0.8,
                    "bench",
                    "[]",
                    False,
                    "normal",
                    status,
                    district,
                    None,
                    None,
                    None,
                    None,
                    ts(created),
                    ts(created),
                    ts(due),
                    ts(resolved_at) if resolved_at else None,
                    None,
                )
            )
            events.append(
                (tid, "classified", ts(created), "model:bench", json.dumps({"needs_review": False}))
            )
            if resolved_at is not None:
                events.append(
                    (
                        tid,
                        "status_changed",
                        ts(resolved_at),
                        "user:op",
                        json.dumps({"from": "in_progress", "to": "resolved"}),
                    )
                )
                if rnd.random() < 0.3:
                    answer = "fixed" if rnd.random() < 0.8 else "not_fixed"
                    at = resolved_at + timedelta(hours=3)
                    surveys.append(
                        (tid, 1, "answered", answer, ts(resolved_at), ts(at + timedelta(days=3)), ts(at))
                    )
            if rnd.random() < 0.04:
                other = rnd.choice(categories)[0]
                events.append(
                    (
                        tid,
                        "reclassified",
                        ts(created + timedelta(hours=1)),
                        "user:op",
                        json.dumps({"from_category": category, "to_category": other}),
                    )
                )
        db.executemany(f"INSERT INTO tickets VALUES ({','.join('?' * 24)})", rows)  # noqa: S608 - placeholders only
        db.executemany(
            "INSERT INTO ticket_events (ticket_id, kind, at, actor, data) VALUES (?,?,?,?,?)", events
        )
        db.executemany(
            "INSERT INTO surveys (ticket_id, identity_id, status, answer, asked_at, expires_at, answered_at)"
            " VALUES (?,?,?,?,?,?,?)",
            surveys,
        )
        db.commit()
        next_id += batch
    db.execute("ANALYZE")
    db.commit()
    db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "digest-bench.db"
        end = datetime(2025, 11, 22, 20, 30, tzinfo=UTC)  # 1404-09-02 00:00 Tehran
        day = to_tehran(end).date() - timedelta(days=1)
        store = Store.from_url(f"sqlite+aiosqlite:///{path}")
        if not (args.keep and path.exists()):
            path.unlink(missing_ok=True)
            await store.ensure_ready()
            started = time.perf_counter()
            generate(path, args.tickets, end)
            print(f"generated {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        config = config_from_mapping({}, base_dir=Path("."), env={})
        names = Names(config.taxonomy)
        try:
            for scope in (None, "waste"):
                started = time.perf_counter()
                digest = await build_digest(store, day, scope, config.calendar)
                built = time.perf_counter() - started
                started = time.perf_counter()
                text = fit_text(digest, names)
                chart = render_chart(digest, names)
                rendered = time.perf_counter() - started
                print(
                    f"scope={scope or 'city'}: digest built in {built:.2f} s, text+chart in {rendered:.2f} s "
                    f"(new={digest.new}, backlog={digest.backlog}, overdue={digest.overdue_total}, "
                    f"{len(text)} chars, {len(chart) // 1024} KB PNG)"
                )
        finally:
            await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
