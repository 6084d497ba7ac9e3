"""Precision and recall of near-duplicate joining on the labelled pair set.

    python bench/duplicates_eval.py                          # the shipped pair set, configured threshold
    python bench/duplicates_eval.py --pairs FILE --threshold 75 --config sada.toml

Each pair `{"a", "b", "category", "same", "kind"}` is scored through the production path:
`bot.intake.understanding.Understander` normalises both texts (hazm `Normalizer`) and locates them
(`Gazetteer.locate`), `a` becomes an open ticket (`Understander.duplicate_pool`, with the store's
district filter of `open_similar`: a ticket in another known district is never a candidate) and `b`
the new report (`Understander.duplicate_of` with the threshold). Only the classifier is fixed: both
messages get the pair's category, as the pair set states. A join is a positive; `same` is the
truth. Prints precision, recall and F1 of joining, per kind, and every wrong decision.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.intake.understanding import Understander, Understanding  # noqa: E402
from nlp.calibration import AbstainRule  # noqa: E402
from nlp.classification import Ranking  # noqa: E402
from nlp.duplicates import DuplicateCandidate  # noqa: E402
from nlp.normalizer import Normalizer  # noqa: E402
from nlp.places import Gazetteer  # noqa: E402
from storage.tickets import DuplicateRow  # noqa: E402

DEFAULT_PAIRS = Path(__file__).resolve().parents[1] / "nlp" / "data" / "dev_pairs" / "duplicate_pairs.jsonl"
BLIND_PAIRS = DEFAULT_PAIRS.with_name("blind_pairs.jsonl")  # written without sight of the rules


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled pair: is `b` (a new report) the same problem as `a` (an open ticket)?"""

    a: str
    b: str
    category: str
    same: bool
    kind: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What the production path did with one pair."""

    pair: Pair
    joined: bool
    score: float | None


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and F1 of joining, with the counts they come from."""

    true_pos: int
    false_pos: int
    false_neg: int
    true_neg: int

    @property
    def precision(self) -> float:
        joined = self.true_pos + self.false_pos
        return self.true_pos / joined if joined else 1.0

    @property
    def recall(self) -> float:
        same = self.true_pos + self.false_neg
        return self.true_pos / same if same else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


class _PairCategory:
    """The classifier stand-in (a Scorer): every text gets the category its pair states."""

    version = "pair-set"
    rule = AbstainRule(0.0, 0.0)
    fallback_category = "general"

    def __init__(self, categories: dict[str, str], normalizer: Normalizer) -> None:
        self._normalizer = normalizer
        self._categories = {normalizer.normalize(t): c for t, c in categories.items()}
        self.departments = {c: c for c in [*categories.values(), self.fallback_category]}

    def normalize_many(self, texts: Sequence[str]) -> list[str]:
        return [self._normalizer.normalize(t) for t in texts]

    def classify_normalized(self, normalized: Sequence[str]) -> list[Ranking]:
        return [Ranking(((self._categories[t], 1.0),)) for t in normalized]


def load_pairs(path: Path = DEFAULT_PAIRS) -> list[Pair]:
    """The pair set (JSON Lines)."""
    with path.open(encoding="utf-8") as fh:
        return [Pair(**json.loads(line)) for line in fh if line.strip()]


def _categories(pairs: Sequence[Pair]) -> dict[str, str]:
    categories: dict[str, str] = {}
    for pair in pairs:
        for text in (pair.a, pair.b):
            if categories.setdefault(text, pair.category) != pair.category:
                raise ValueError(f"one text, two categories in the pair set: {text!r}")
    return categories


def decide(pairs: Sequence[Pair], threshold: float, normalizer: Normalizer | None = None) -> list[Decision]:
    """Score every pair through `Understander` (normalise, locate, pool, duplicate_of)."""
    classifier = _PairCategory(_categories(pairs), normalizer or Normalizer())
    nlp = Understander(classifier, gazetteer=Gazetteer.load())
    texts = sorted({t for p in pairs for t in (p.a, p.b)})
    found = dict(zip(texts, nlp.understand_many(texts), strict=True))
    return [_decide(nlp, found[p.a], found[p.b], p, threshold) for p in pairs]


def _decide(
    nlp: Understander, ticket: Understanding, new: Understanding, pair: Pair, threshold: float
) -> Decision:
    row = DuplicateRow(1, ticket.normalized, ticket.district, ticket.place)
    # storage.tickets.open_similar: a new report with a district sees tickets of that district or none.
    visible = new.district is None or ticket.district in (None, new.district)
    joined = nlp.duplicate_of(new, nlp.duplicate_pool(pair.category, [row] if visible else []), threshold)
    # The score alone, for the error listing (threshold 0: whatever the pair scores).
    report = DuplicateCandidate("new", new.normalized, pair.category, new.district, new.place)
    match = nlp.duplicate_pool(pair.category, [row]).best(report, threshold=0.0)
    return Decision(pair, joined is not None, match[1] if match else None)


def scores(decisions: Sequence[Decision]) -> Scores:
    """Counts of the four outcomes."""
    tally = Counter((d.joined, d.pair.same) for d in decisions)
    return Scores(tally[True, True], tally[True, False], tally[False, True], tally[False, False])


def _report(decisions: Sequence[Decision], threshold: float) -> str:
    total = scores(decisions)
    lines = [
        f"pairs {len(decisions)} (same {total.true_pos + total.false_neg}), threshold {threshold:g}",
        f"precision {total.precision:.3f}  recall {total.recall:.3f}  F1 {total.f1:.3f}  "
        f"(joined {total.true_pos + total.false_pos}: {total.true_pos} right, {total.false_pos} wrong; "
        f"missed {total.false_neg})",
        "",
        "by kind (label: joined / pairs):",
    ]
    kinds = sorted({(d.pair.kind, d.pair.same) for d in decisions})
    for kind, same in kinds:
        group = [d for d in decisions if d.pair.kind == kind and d.pair.same == same]
        joined = sum(d.joined for d in group)
        lines.append(f"  {kind:<28} same={str(same):<5} {joined:>3} / {len(group)}")
    for title, wrong in (
        ("wrong joins (different problems joined)", [d for d in decisions if d.joined and not d.pair.same]),
        ("missed joins (same problem kept apart)", [d for d in decisions if not d.joined and d.pair.same]),
    ):
        lines += ["", f"{title}: {len(wrong)}"]
        for d in wrong:
            score = "-" if d.score is None else f"{d.score:.1f}"
            lines += [
                f"  [{d.pair.category} / {d.pair.kind}] score {score}",
                f"    a: {d.pair.a}",
                f"    b: {d.pair.b}",
            ]
    return "\n".join(lines)


def _threshold(args: argparse.Namespace) -> float:
    if args.threshold is not None:
        return float(args.threshold)
    from bot.config import load_config

    return load_config(args.config).gateway.duplicate_threshold


def main(argv: Sequence[str] | None = None) -> int:
    """Score the pair set and print the figures and the errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="pair set (JSON Lines)")
    parser.add_argument("--config", type=Path, help="sada config file whose [gateway] threshold to use")
    parser.add_argument("--threshold", type=float, help="join threshold (default: the configured one)")
    args = parser.parse_args(argv)
    threshold = _threshold(args)
    print(_report(decide(load_pairs(args.pairs), threshold), threshold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
