"""Measuring a classifier on labelled examples, and a plain-text report of the result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from nlp.classification import Classifier
from nlp.dataset import Example

FINGLISH_STYLE = "finglish"


@dataclass(frozen=True, slots=True)
class ClassScores:
    """Precision, recall and F1 of one category, with its number of true examples."""

    category: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class StyleScores:
    """Accuracy and abstain figures of the examples of one writing style."""

    style: str
    examples: int
    accuracy: float
    covered_precision: float
    coverage: float


def _safe_div(a: float, b: float) -> float:
    return a / b if b else 0.0


def per_class_scores(truth: Sequence[str], predicted: Sequence[str]) -> tuple[ClassScores, ...]:
    """Scores for every category that occurs in `truth` or `predicted`."""
    labels = sorted(set(truth) | set(predicted))
    pairs = Counter(zip(truth, predicted, strict=True))
    true_count, pred_count = Counter(truth), Counter(predicted)
    rows = []
    for label in labels:
        tp = pairs[(label, label)]
        precision = _safe_div(tp, pred_count[label])
        recall = _safe_div(tp, true_count[label])
        f1 = _safe_div(2 * precision * recall, precision + recall)
        rows.append(ClassScores(label, precision, recall, f1, true_count[label]))
    return tuple(rows)


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean F1 over the categories present in `truth` (a wrong guess still costs precision)."""
    present = set(truth)
    scores = [s.f1 for s in per_class_scores(truth, predicted) if s.category in present]
    return _safe_div(sum(scores), len(scores))


def calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error of top-1 confidences (equal-width bins, weighted by size)."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [
            ok for c, ok in zip(confidences, correct, strict=True) if lo < c <= hi or (b == 0 and c == 0)
        ]
        if members:
            mean_conf = sum(c for c in confidences if lo < c <= hi or (b == 0 and c == 0)) / len(members)
            total += len(members) * abs(mean_conf - sum(members) / len(members))
    return _safe_div(total, len(confidences))


def _by_style(
    labelled: Sequence[Example], correct: Sequence[bool], review: Sequence[bool]
) -> tuple[StyleScores, ...]:
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(labelled):
        groups.setdefault(e.style or "-", []).append(i)
    rows = []
    for style, idx in sorted(groups.items()):
        kept = [i for i in idx if not review[i]]
        rows.append(
            StyleScores(
                style,
                len(idx),
                _safe_div(sum(correct[i] for i in idx), len(idx)),
                _safe_div(sum(correct[i] for i in kept), len(kept)),
                _safe_div(len(kept), len(idx)),
            )
        )
    return tuple(rows)


def precision_coverage_curve(
    confidences: Sequence[float], correct: Sequence[bool], thresholds: Sequence[float] | None = None
) -> tuple[tuple[float, float, float], ...]:
    """(threshold, precision, coverage) when only predictions with confidence ≥ threshold count."""
    steps = thresholds if thresholds is not None else [round(0.3 + 0.05 * i, 2) for i in range(14)]
    rows = []
    for t in steps:
        kept = [ok for c, ok in zip(confidences, correct, strict=True) if c >= t]
        rows.append((t, _safe_div(sum(kept), len(kept)), _safe_div(len(kept), len(confidences))))
    return tuple(rows)


def evaluate(classifier: Classifier, examples: Sequence[Example]) -> EvalReport:
    """Classify labelled examples in one batch and measure the result."""
    labelled = [e for e in examples if e.category]
    results = classifier.classify_many([e.text for e in labelled])
    truth = [e.category or "" for e in labelled]
    predicted = [r.category for r in results]
    kept = [(t, r.category) for t, r in zip(truth, results, strict=True) if not r.needs_review]
    confusions = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    fing = [i for i, e in enumerate(labelled) if e.style == FINGLISH_STYLE]
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    return EvalReport(
        examples=len(labelled),
        accuracy=_safe_div(sum(t == p for t, p in zip(truth, predicted, strict=True)), len(labelled)),
        macro_f1=macro_f1(truth, predicted),
        per_class=per_class_scores(truth, predicted),
        confusions=tuple(
            (t, p, n) for (t, p), n in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        covered_precision=_safe_div(sum(t == p for t, p in kept), len(kept)),
        coverage=_safe_div(len(kept), len(labelled)),
        finglish_examples=len(fing),
        finglish_macro_f1=macro_f1([truth[i] for i in fing], [predicted[i] for i in fing]) if fing else None,
        urgent=sum(r.priority == "urgent" for r in results),
        model_version=classifier.version,
        calibration_error=calibration_error([r.confidence for r in results], correct),
        by_style=_by_style(labelled, correct, [r.needs_review for r in results]),
        curve=precision_coverage_curve([r.confidence for r in results], correct),
    )


def format_report(report: EvalReport, *, confusions: int = 10) -> str:
    """A plain-text table of the report, for terminals and docs."""
    lines = [
        f"model {report.model_version} on {report.examples} examples",
        f"accuracy            {report.accuracy:.4f}",
        f"macro-F1            {report.macro_f1:.4f}",
        f"not abstained       precision {report.covered_precision:.4f}  coverage {report.coverage:.4f}",
    ]
    if report.finglish_macro_f1 is not None:
        lines.append(
            f"Finglish macro-F1   {report.finglish_macro_f1:.4f}  ({report.finglish_examples} examples)"
        )
    lines.append(f"calibration (ECE)   {report.calibration_error:.4f}")
    lines.append(f"urgent              {report.urgent}")
    lines.append("")
    width = max([len(s.category) for s in report.per_class] + [8])
    lines.append(f"{'category':<{width}}  precision  recall      F1  support")
    for s in report.per_class:
        lines.append(
            f"{s.category:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:6.3f}  {s.support:7d}"
        )
    if report.by_style:
        lines.append("")
        lines.append(f"{'style':<{width}}  examples  accuracy  not-abstained precision  coverage")
        for st in report.by_style:
            lines.append(
                f"{st.style:<{width}}  {st.examples:8d}  {st.accuracy:8.3f}  "
                f"{st.covered_precision:23.3f}  {st.coverage:8.3f}"
            )
    if report.curve:
        lines.append("")
        lines.append("confidence ≥   precision  coverage")
        for t, p, c in report.curve:
            lines.append(f"{t:12.2f}  {p:10.3f}  {c:8.3f}")
    if report.confusions:
        lines.append("")
        lines.append("top confusions (true → predicted: count)")
        for true, pred, n in report.confusions[:confusions]:
            lines.append(f"  {true} → {pred}: {n}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class EvalReport:
    """What `evaluate` measured. Rates are 0..1; `finglish_macro_f1` is None without Finglish examples."""

    examples: int
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScores, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (true, predicted, count), most frequent first
    covered_precision: float  # precision of predictions NOT flagged needs_review
    coverage: float  # share of messages not flagged needs_review
    finglish_examples: int
    finglish_macro_f1: float | None
    urgent: int
    model_version: str
    calibration_error: float = 0.0  # ECE: mean |confidence − accuracy| over 10 confidence bins
    by_style: tuple[StyleScores, ...] = ()
    # (confidence threshold, precision, coverage) of predictions with confidence ≥ threshold
    curve: tuple[tuple[float, float, float], ...] = ()
