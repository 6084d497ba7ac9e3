"""The classifier's second opinion for the messages its first stage is unsure of.

The first stage (n-gram TF-IDF + linear SVM) is fast and right on most messages. Where it abstains
or says `general` — on real text, mostly long letters whose problem is named in words it never
saw — a logistic-regression head over a frozen sentence encoder's vectors (nlp.encoder) gives a
second distribution, and the two are averaged (the weight is a training setting). Only
those messages pay for the encoder (tens of milliseconds each); the rest never touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from nlp.calibration import AbstainRule, softmax

HEAD_C = 10.0  # inverse regularisation of the head (chosen on the development set)


@dataclass(frozen=True, slots=True)
class SecondStage:
    """A fitted head, its weight, and the first-stage rule that sends a message to it."""

    coef: np.ndarray  # (classes, dimensions)
    intercept: np.ndarray  # (classes,)
    weight: float
    route_rule: AbstainRule
    fallback: int  # index of the fallback class: a first-stage `general` is always re-asked
    encoder: str

    def routed(self, probs: np.ndarray) -> np.ndarray:
        """Rows of first-stage probabilities that the second stage re-examines."""
        ordered = np.sort(probs, axis=1)
        top1, top2 = ordered[:, -1], ordered[:, -2]
        unsure = (top1 < self.route_rule.min_confidence) | ((top1 - top2) < self.route_rule.min_margin)
        return np.asarray(unsure | (probs.argmax(axis=1) == self.fallback))

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """The head's class probabilities for encoder vectors."""
        return softmax(vectors @ self.coef.T + self.intercept)

    def fuse(self, first: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """The weighted average of first-stage probabilities and the head's."""
        return (1.0 - self.weight) * first + self.weight * self.probabilities(vectors)


def fit_head(
    vectors: np.ndarray, y: np.ndarray, weights: np.ndarray, classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) of a multinomial logistic regression on encoder vectors."""
    clf = LogisticRegression(C=HEAD_C, max_iter=3000, random_state=seed)
    clf.fit(vectors, y, sample_weight=weights)
    coef = np.zeros((classes, vectors.shape[1]), dtype=np.float32)
    intercept = np.full(classes, -1e4, dtype=np.float32)  # a class the head never saw stays unlikely
    if len(clf.classes_) == 2:
        # A binary fit has one row for the second class's log-odds: as a softmax, ±half of it.
        rows, offsets = np.vstack([-clf.coef_, clf.coef_]) / 2, np.array([-1, 1]) * clf.intercept_ / 2
    else:
        rows, offsets = clf.coef_, clf.intercept_
    coef[clf.classes_] = rows
    intercept[clf.classes_] = offsets
    return coef, intercept
