"""The understanding step's policy: one set of safety and routing rules for every scorer.

A scorer (`nlp.classification.Scorer`: the trained model, the keyword classifier) only ranks
categories. `Router` puts a scorer behind the rules that must not depend on which one is in
service, in the spirit of Rasa's fallback classifier (a component after the classifier):

- urgency: danger named in the text (`nlp.urgency`) makes the decision urgent, whatever the
  category, so the citizen is told to call 125. It reads the full normal form (`nlp.normalizer`:
  folding, Finglish transliterated, hazm) whatever form the scorer reads: the keyword table only
  folds, and «boo-ye gaz miad» must be a gas leak with it too;
- fallback: no text, no ranking, or a tie at the top goes to the fallback category for a person;
- abstain: a top probability the scorer's own calibrated rule does not trust is kept but flagged
  `needs_review`, so the ticket reaches its department and an operator confirms it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from nlp.classification import Classification, Priority, Ranking, Scorer
from nlp.normalizer import Normalizer  # cheap: hazm is imported when a Normalizer is built
from nlp.urgency import UrgencyDetector


class Router:
    """A scorer behind the policy: implements `nlp.classification.Classifier`."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        urgency: UrgencyDetector | None = None,
        normalizer: Normalizer | None = None,
    ) -> None:
        """`normalizer`: the process's, for scorers that do not normalise fully (when not given,
        one shared by the whole process, built on first use: hazm's is slow to build)."""
        self.scorer = scorer
        self._urgency = urgency or UrgencyDetector()
        self._normalizer = normalizer

    @property
    def version(self) -> str:
        """The scorer's version (a decision does not change it)."""
        return self.scorer.version

    def classify(self, text: str) -> Classification:
        """Route one raw citizen message."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """Route a batch of raw messages (the scorer normalises them once)."""
        return self.classify_normalized(self.scorer.normalize_many(list(texts)))

    def classify_normalized(self, normalized: Sequence[str]) -> list[Classification]:
        """Route texts already normalised by the scorer's `normalize_many`."""
        if not normalized:
            return []
        rankings = self.scorer.classify_normalized(normalized)
        forms = self.urgency_forms(normalized)
        return [
            self.decide(text, ranking, form)
            for text, ranking, form in zip(normalized, rankings, forms, strict=True)
        ]

    def urgency_forms(self, normalized: Sequence[str]) -> list[str]:
        """The full normal form of texts in the scorer's form: what urgency reads for every scorer.

        Normalising starts with the same folding the keyword table does and is idempotent (both
        checked on every shipped message), so it can be applied to any scorer's form. A scorer that
        normalises with a `Normalizer` (the trained model) has the full form already: not redone."""
        if isinstance(getattr(self.scorer, "normalizer", None), Normalizer):
            return list(normalized)
        normalizer = self._normalizer or _shared_normalizer()
        return normalizer.normalize_many(list(normalized))

    def decide(self, normalized: str, ranking: Ranking, urgency_form: str | None = None) -> Classification:
        """The decision for one normalised text and its ranking; urgency reads `urgency_form`
        (`urgency_forms`), or the text itself when it is already in the full normal form."""
        scorer = self.scorer
        urgency = self._urgency.detect(normalized if urgency_form is None else urgency_form, normalized=True)
        priority = Priority.URGENT if urgency.urgent else Priority.NORMAL
        reasons = tuple(str(r) for r in urgency.reasons)
        ranked = ranking.ranked if normalized.strip() else ()
        top_k = tuple((c, round(p, 4)) for c, p in ranked)
        top1 = ranked[0][1] if ranked else 0.0
        top2 = ranked[1][1] if len(ranked) > 1 else 0.0
        if not ranked or (len(ranked) > 1 and top1 == top2):
            # Nothing to go on, or nothing to choose between: a person decides, in the fallback
            # category's department.
            category, confidence, needs_review = scorer.fallback_category, 0.0, True
        else:
            category, confidence = ranked[0][0], round(top1, 4)
            needs_review = scorer.rule.abstains(top1, top2)
        return Classification(
            category=category,
            department=scorer.departments[category],
            confidence=confidence,
            top_k=top_k,
            model_version=scorer.version,
            needs_review=needs_review,
            priority=priority,
            urgent_reasons=reasons,
        )


@functools.cache
def _shared_normalizer() -> Normalizer:
    """One normaliser per process for routers built without one (hazm loads its word lists once)."""
    return Normalizer()
