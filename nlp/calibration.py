"""Probabilities that mean something, and the rule that turns low ones into "ask a person".

Both are fitted on out-of-fold predictions of the training set (cross-validation), never on the
held-out set: a temperature that rescales the linear model's scores (one parameter, so it cannot
over-fit a few thousand examples), and an abstain rule (confidence threshold plus top-two margin)
chosen as the widest-coverage rule whose out-of-fold precision reaches a target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of scores divided by the temperature."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = softmax(scores, temperature)[np.arange(len(y)), y]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising negative log-likelihood (log-grid, then golden-section)."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 60))
    best = min(grid, key=lambda t: _nll(scores, y, float(t)))
    lo, hi = np.log(best) - 0.15, np.log(best) + 0.15
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if _nll(scores, y, float(np.exp(a))) < _nll(scores, y, float(np.exp(b))):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-1 probability: mean |confidence − accuracy| over equal-width bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - correct[mask].mean())
    return float(ece)


@dataclass(frozen=True, slots=True)
class AbstainRule:
    """Flag for review when confidence < min_confidence or top1 − top2 < min_margin."""

    min_confidence: float
    min_margin: float

    def abstains(self, top1: float, top2: float) -> bool:
        """True when a person should confirm the prediction."""
        return top1 < self.min_confidence or (top1 - top2) < self.min_margin


@dataclass(frozen=True, slots=True)
class RuleFit:
    """The chosen rule and its out-of-fold precision and coverage."""

    rule: AbstainRule
    precision: float
    coverage: float


def choose_abstain_rule(probs: np.ndarray, y: np.ndarray, *, target_precision: float = 0.97) -> RuleFit:
    """Widest-coverage rule on a grid whose precision on (probs, y) reaches target_precision.

    If no rule reaches the target, the most precise rule (a weak model then flags most messages,
    which is the honest outcome).
    """
    ordered = np.sort(probs, axis=1)
    top1, top2 = ordered[:, -1], ordered[:, -2]
    correct = probs.argmax(axis=1) == y
    fits: list[RuleFit] = []
    for conf in np.round(np.arange(0.20, 0.951, 0.025), 3):
        for margin in np.round(np.arange(0.0, 0.501, 0.025), 3):
            kept = (top1 >= conf) & ((top1 - top2) >= margin)
            # A rule judged on a handful of messages says nothing about its precision.
            if kept.sum() < max(5, 0.01 * len(y)):
                continue
            fits.append(
                RuleFit(
                    AbstainRule(float(conf), float(margin)), float(correct[kept].mean()), float(kept.mean())
                )
            )
    good = [f for f in fits if f.precision >= target_precision]
    if good:
        # Widest coverage; among equals the loosest rule (lowest thresholds), for stability.
        return max(good, key=lambda f: (f.coverage, -f.rule.min_confidence, -f.rule.min_margin))
    return max(fits, key=lambda f: (f.precision, f.coverage))
