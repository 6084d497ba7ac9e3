"""Command bodies: the `sada classify` JSON Lines contract and `sada nlp eval`."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path

from nlp.cli import run_classify, run_eval
from nlp.keywords import KeywordClassifier
from nlp.model import Model
from nlp.policy import Router

from .conftest import DEPARTMENTS

DEPARTMENT_CODES = set(DEPARTMENTS.values())


def _check_record(record: dict[str, object]) -> None:
    assert record["category"] in DEPARTMENTS
    assert record["department"] == DEPARTMENTS[str(record["category"])]
    assert isinstance(record["confidence"], float) and 0.0 <= record["confidence"] <= 1.0
    assert isinstance(record["needs_review"], bool)
    assert record["priority"] in ("normal", "urgent")


def test_classify_contract(model: Model) -> None:
    lines = [
        '{"id": "a1", "text": "زباله هاي كوچه ما رو ۳ روزه نبردن"}',
        '{"id": 2, "text": "booye gaz miad too rahpele", "channel": "sms"}',
        "",
        "{broken json",
        '{"id": "no-text"}',
        '{"id": "num", "text": 42}',
        '["not", "an", "object"]',
        '{"text": "چاله بزرگ وسط خیابان"}',
    ]
    stdout = io.StringIO()
    assert run_classify(Router(model), io.StringIO("\n".join(lines) + "\n"), stdout) == 0
    out = stdout.getvalue().splitlines()
    assert len(out) == len(lines)
    records = [json.loads(line) for line in out]
    for record in records:
        _check_record(record)
    assert [r["id"] for r in records] == ["a1", 2, None, None, "no-text", "num", None, None]
    assert records[0]["category"] == "waste_collection" and "error" not in records[0]
    assert records[1]["priority"] == "urgent" and records[1]["channel"] == "sms"  # other fields echoed
    assert "text" not in records[1]
    for bad in records[2:7]:
        assert bad["needs_review"] is True and bad["error"]
    assert records[7]["category"] == "road_damage"


def test_classify_contract_with_keyword_fallback() -> None:
    stdout = io.StringIO()
    run_classify(
        Router(KeywordClassifier(DEPARTMENTS)), io.StringIO('{"id": 1, "text": "چاله"}\nnope\n'), stdout
    )
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [r["category"] for r in records] == ["road_damage", "general"]
    for record in records:
        _check_record(record)


def test_classify_streams_before_eof(model: Model) -> None:
    read_fd, write_fd = os.pipe()
    stdout = io.StringIO()
    with os.fdopen(read_fd, encoding="utf-8") as stdin, os.fdopen(write_fd, "w", encoding="utf-8") as writer:
        worker = threading.Thread(target=run_classify, args=(Router(model), stdin, stdout))
        worker.start()
        writer.write('{"id": 1, "text": "چراغ کوچه خاموشه"}\n{"id": 2, "text": "سگ ولگرد"}\n')
        writer.flush()
        deadline = time.monotonic() + 10
        while stdout.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        answered_before_eof = stdout.getvalue().count("\n")
    worker.join(timeout=10)
    assert answered_before_eof == 2
    assert not worker.is_alive()


def test_run_eval_prints_report(model: Model, tmp_path: Path) -> None:
    data = tmp_path / "eval.jsonl"
    rows = [
        {"text": "چاله بزرگ وسط خیابان", "category": "road_damage", "style": "colloquial"},
        {"text": "zobale haye kooche ro nabordan", "category": "waste_collection", "style": "finglish"},
        {"text": "اتوبوس خط ۱۲ نیم ساعت دیر میاد", "category": "public_transport"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = io.StringIO()
    report = run_eval(Router(model), data, out)
    assert report.examples == 3 and report.accuracy == 1.0
    assert report.finglish_examples == 1
    text = out.getvalue()
    assert "macro-F1" in text and "road_damage" in text and "coverage" in text
