"""Labelled examples: the shipped train/held-out splits and any JSON Lines file."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
SPLITS = ("train", "heldout", "dev")


class DatasetError(ValueError):
    """A data file line that is not a usable example (path and line number in the message)."""


@dataclass(frozen=True, slots=True)
class Example:
    """One citizen message; `category` is None in unlabelled files."""

    text: str
    category: str | None = None
    channel: str | None = None
    style: str | None = None


def _parse_line(line: str, where: str) -> Example | None:
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: invalid JSON ({exc.msg})") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
        raise DatasetError(f"{where}: no text")

    def opt(key: str) -> str | None:
        value = obj.get(key)
        return value if isinstance(value, str) and value else None

    return Example(obj["text"], opt("category"), opt("channel"), opt("style"))


def load_jsonl(path: Path | str) -> list[Example]:
    """Examples of one JSON Lines file (`text` required; category, channel, style optional)."""
    path = Path(path)
    examples = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            example = _parse_line(line, f"{path}:{number}")
            if example is not None:
                examples.append(example)
    return examples


def load_split(split: str, *, data_dir: Path = DATA_DIR) -> list[Example]:
    """All examples of a shipped split ("train", "heldout" or "dev"), files in name order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    examples: list[Example] = []
    for path in sorted((data_dir / split).glob("*.jsonl")):
        examples.extend(load_jsonl(path))
    return examples


def counts(examples: Iterable[Example]) -> dict[str, int]:
    """Examples per category, sorted by category code."""
    tally = Counter(e.category or "?" for e in examples)
    return dict(sorted(tally.items()))


def fingerprint(examples: Iterable[Example], extra: Mapping[str, object] | None = None) -> str:
    """A short content hash of labelled examples (order-insensitive) plus settings."""
    lines = sorted(json.dumps([e.text, e.category], ensure_ascii=False) for e in examples)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    digest.update(json.dumps(extra or {}, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:12]
