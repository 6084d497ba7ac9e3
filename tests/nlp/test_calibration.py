"""Temperature scaling, ECE and the abstain-rule search."""

from __future__ import annotations

import numpy as np

from nlp.calibration import (
    AbstainRule,
    choose_abstain_rule,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from nlp.evaluation import calibration_error


def _synthetic(temperature: float, n: int = 4000, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose labels are drawn from softmax(scores / temperature): that T is the right one."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 3, size=(n, k))
    probs = softmax(scores, temperature)
    y = np.array([rng.choice(k, p=p) for p in probs])
    return scores, y


def test_fit_temperature_recovers_truth() -> None:
    scores, y = _synthetic(2.5)
    assert abs(fit_temperature(scores, y) - 2.5) < 0.3


def test_temperature_improves_ece_of_overconfident_scores() -> None:
    scores, y = _synthetic(3.0)
    before = expected_calibration_error(softmax(scores), y)
    after = expected_calibration_error(softmax(scores, fit_temperature(scores, y)), y)
    assert after < before / 2 and after < 0.03


def test_abstain_rule() -> None:
    rule = AbstainRule(min_confidence=0.6, min_margin=0.2)
    assert rule.abstains(0.55, 0.1)  # low confidence
    assert rule.abstains(0.65, 0.5)  # close second
    assert not rule.abstains(0.8, 0.1)


def test_choose_abstain_rule_reaches_target_precision() -> None:
    scores, y = _synthetic(1.0)
    probs = softmax(scores)
    fit = choose_abstain_rule(probs, y, target_precision=0.95)
    kept = np.array([not fit.rule.abstains(*sorted(p)[-1:-3:-1]) for p in probs])
    assert fit.precision >= 0.95
    assert (probs.argmax(axis=1)[kept] == y[kept]).mean() >= 0.95
    assert abs(kept.mean() - fit.coverage) < 1e-9
    # Asking for more precision can only cost coverage.
    assert choose_abstain_rule(probs, y, target_precision=0.99).coverage <= fit.coverage


def test_report_calibration_error_matches_numpy_ece() -> None:
    scores, y = _synthetic(1.0, n=500)
    probs = softmax(scores)
    correct = (probs.argmax(axis=1) == y).tolist()
    ours = calibration_error(probs.max(axis=1).tolist(), correct)
    assert abs(ours - expected_calibration_error(probs, y)) < 1e-9
    assert calibration_error([1.0, 1.0], [True, False]) == 0.5
