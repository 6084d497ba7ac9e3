"""Data loading: shipped splits, arbitrary JSON Lines, counts and fingerprints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp.dataset import DatasetError, Example, counts, fingerprint, load_jsonl, load_split
from nlp.letters import fold

from .conftest import DEPARTMENTS


def test_load_jsonl_optional_fields(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"text": "چاله", "category": "road_damage", "channel": "sms", "style": "colloquial"}\n'
        "\n"
        '{"text": "salam", "id": 7}\n',
        encoding="utf-8",
    )
    assert load_jsonl(path) == [
        Example("چاله", "road_damage", "sms", "colloquial"),
        Example("salam", None, None, None),
    ]


@pytest.mark.parametrize("bad", ["{not json", '{"category": "x"}', '{"text": ""}', "[1, 2]"])
def test_load_jsonl_rejects_bad_lines_with_location(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n' + bad + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2"):
        load_jsonl(path)


def test_shipped_splits_cover_the_taxonomy() -> None:
    train, heldout = counts(load_split("train")), counts(load_split("heldout"))
    assert set(train) == set(DEPARTMENTS) and set(heldout) == set(DEPARTMENTS)
    assert min(train.values()) >= 80 and min(heldout.values()) >= 20


def test_heldout_does_not_leak_into_train() -> None:
    train = {e.text.strip() for e in load_split("train")}
    assert not [e.text for e in load_split("heldout") if e.text.strip() in train]


def test_dev_set_is_realistic_and_covers_the_taxonomy() -> None:
    dev = load_split("dev")
    per_category = counts(dev)
    assert set(per_category) == set(DEPARTMENTS)
    assert min(per_category.values()) >= 20 and len(dev) >= 340
    styles = Counter(e.style for e in dev)
    # The registers real citizens write in, not only the channel styles of the team's own text.
    assert min(styles["letter"], styles["reporter"], styles["multi_issue"]) >= 60


def test_dev_set_shares_no_message_with_train_or_heldout() -> None:
    """Exact or near copies (same words, light edits) would make dev figures optimistic."""
    others = [_words(e.text) for e in load_split("train") + load_split("heldout")]
    for example in load_split("dev"):
        words = _words(example.text)
        near = [o for o in others if len(words & o) / max(1, len(words | o)) > 0.8]
        assert not near, example.text


def _words(text: str) -> set[str]:
    return set(fold(text).split())


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        load_split("test")


def test_fingerprint_ignores_order_but_not_labels() -> None:
    a, b = Example("چاله", "road_damage"), Example("زباله", "waste_collection")
    assert fingerprint([a, b]) == fingerprint([b, a])
    assert fingerprint([a, b]) != fingerprint([a, Example("زباله", "street_cleaning")])
    assert fingerprint([a], {"C": 1}) != fingerprint([a], {"C": 2})
