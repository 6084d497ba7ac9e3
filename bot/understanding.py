"""The bot's view of nlp/: normalise once, classify, locate, and score near-duplicates.

The heavy objects (hazm normaliser, trained model, gazetteer) are built once per process by
`load_understander` and shared by every request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.classification import Classification, Classifier
from nlp.dataset import Example
from nlp.duplicates import DuplicateCandidate, DuplicatePool
from nlp.letters import fold
from nlp.places import DEFAULT_GAZETTEER_PATH, Gazetteer
from storage.tickets import DuplicateRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Understanding:
    """What nlp made of one message."""

    normalized: str
    classification: Classification
    district: str | None = None
    place: str | None = None


class Understander:
    """Holds the process-wide nlp objects behind one `understand` call."""

    def __init__(
        self,
        classifier: Classifier,
        *,
        normalize: Callable[[str], str] = fold,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        self.classifier = classifier
        self._normalize = normalize
        self._gazetteer = gazetteer
        # A trained model can take text the caller already normalised: normalise only once.
        self._classify_normalized = getattr(classifier, "classify_normalized", None)

    def understand(self, text: str) -> Understanding:
        """Normalise, classify and locate one message."""
        return self.understand_many([text])[0]

    def understand_many(self, texts: Sequence[str]) -> list[Understanding]:
        """`understand` for a batch: a trained model classifies the whole batch in one call."""
        normalized = [self._normalize(text) for text in texts]
        if self._classify_normalized is not None:
            classifications = self._classify_normalized(normalized)
        else:
            classifications = self.classifier.classify_many(texts)
        found: list[Understanding] = []
        for text, norm, classification in zip(texts, normalized, classifications, strict=True):
            location = self._gazetteer.locate(text) if self._gazetteer else None
            found.append(
                Understanding(
                    normalized=norm,
                    classification=classification,
                    district=location.district if location else None,
                    place=(location.place or location.text) if location else None,
                )
            )
        return found

    @staticmethod
    def duplicate_pool(category: str, rows: Sequence[DuplicateRow]) -> DuplicatePool:
        """Open tickets of `category` (newest first) ready to score new reports against."""
        return DuplicatePool(
            DuplicateCandidate(str(r.id), r.normalized_text, category, r.district, r.place) for r in rows
        )

    @staticmethod
    def duplicate_of(found: Understanding, pool: DuplicatePool, threshold: float) -> int | None:
        """Id of the ticket in `pool` this message repeats (similar text, same place), if any."""
        new = DuplicateCandidate(
            "new", found.normalized, found.classification.category, found.district, found.place
        )
        match = pool.best(new, threshold=threshold)
        return int(match[0]) if match else None


def load_understander(
    kind: str,
    departments: dict[str, str],
    *,
    model_path: Path,
    gazetteer_path: Path | None,
    fallback_category: str,
    corrections: Sequence[tuple[str, str]] = (),
) -> Understander:
    """Build the configured classifier (training it if the artifact is missing or stale)."""
    from nlp.keywords import KeywordClassifier

    gazetteer = Gazetteer.load(gazetteer_path or DEFAULT_GAZETTEER_PATH)
    if kind == "keywords":
        return Understander(
            KeywordClassifier(departments, fallback_category=fallback_category), gazetteer=gazetteer
        )
    from nlp.model import load_or_train
    from nlp.normalizer import Normalizer

    normalizer = Normalizer()
    extra = [
        Example(text=text, category=category, channel="correction")
        for text, category in corrections
        if category in departments
    ]
    model = load_or_train(
        model_path, departments, extra, fallback_category=fallback_category, normalizer=normalizer
    )
    log.info("classifier %s loaded (%d operator corrections)", model.version, len(extra))
    return Understander(model, normalize=normalizer.normalize, gazetteer=gazetteer)
