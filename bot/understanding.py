"""The bot's view of nlp/: normalise once, classify, locate, and score near-duplicates.

The heavy objects (hazm normaliser, trained model, gazetteer) are built once per process by
`load_understander` and shared by every request.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nlp.classification import Classification, Classifier
from nlp.dataset import Example
from nlp.duplicates import DuplicateCandidate, DuplicatePool
from nlp.letters import fold
from nlp.places import DEFAULT_GAZETTEER_PATH, Gazetteer
from storage.tickets import DuplicateRow

if TYPE_CHECKING:
    from nlp.model import Model, TrainSettings
    from nlp.normalizer import Normalizer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Understanding:
    """What nlp made of one message."""

    normalized: str
    classification: Classification
    district: str | None = None
    place: str | None = None


class _Serving(NamedTuple):
    """The classifier in service and its fast entry point, swapped together."""

    classifier: Classifier
    classify_normalized: Callable[[Sequence[str]], list[Classification]] | None


def _serving(classifier: Classifier) -> _Serving:
    # A trained model can take text the caller already normalised: normalise only once.
    return _Serving(classifier, getattr(classifier, "classify_normalized", None))


class Understander:
    """Holds the process-wide nlp objects behind one `understand` call."""

    def __init__(
        self,
        classifier: Classifier,
        *,
        normalize: Callable[[str], str] = fold,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        self._serving = _serving(classifier)
        self._normalize = normalize
        self._gazetteer = gazetteer

    @property
    def classifier(self) -> Classifier:
        """The classifier in service now."""
        return self._serving.classifier

    def swap(self, classifier: Classifier) -> None:
        """Put another classifier in service: one assignment, so a batch being understood keeps the
        one it started with and the next batch gets the new one."""
        self._serving = _serving(classifier)

    def understand(self, text: str) -> Understanding:
        """Normalise, classify and locate one message."""
        return self.understand_many([text])[0]

    def understand_many(self, texts: Sequence[str]) -> list[Understanding]:
        """`understand` for a batch: a trained model classifies the whole batch in one call."""
        serving = self._serving
        normalized = [self._normalize(text) for text in texts]
        if serving.classify_normalized is not None:
            classifications = serving.classify_normalized(normalized)
        else:
            classifications = serving.classifier.classify_many(texts)
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


@functools.cache
def shared_normalizer() -> Normalizer:
    """The process's normaliser: building one takes seconds, and it keeps no state between calls,
    so every understander and every model of the process (a retrained one too) shares it."""
    from nlp.normalizer import Normalizer

    return Normalizer()


def correction_examples(
    corrections: Iterable[tuple[str, str]], departments: Mapping[str, str]
) -> list[Example]:
    """Operator corrections (text, category) as training examples; unknown categories are dropped."""
    return [
        Example(text=text, category=category, channel="correction")
        for text, category in corrections
        if category in departments
    ]


def shipped_version(corrections: Iterable[Example] = (), settings: TrainSettings | None = None) -> str:
    """The version the service's trainer (`nlp.model.train_shipped`) gives for the shipped data
    plus `corrections`. Without corrections it is the "base" a retrain row records: an artifact
    accepted on another base (the shipped data, lexicons or settings changed since) is not
    trusted at start-up."""
    from nlp.model import shipped_version as version_of

    return version_of(list(corrections), settings)


def load_understander(
    kind: str,
    departments: dict[str, str],
    *,
    model_path: Path,
    gazetteer_path: Path | None,
    fallback_category: str,
    corrections: Sequence[tuple[str, str]] = (),
    vetted: Mapping[str, str] | None = None,
    settings: TrainSettings | None = None,
) -> Understander:
    """Build the configured classifier.

    The artifact at `model_path` is used as it is when a retrain (or an earlier start) accepted it
    on today's shipped data (`vetted`: accepted version → base version): corrections made since
    reach the model only through the retrain job, which checks the candidate before it serves.
    Otherwise it is loaded if it matches the shipped data + corrections, else trained and saved."""
    from nlp.keywords import KeywordClassifier

    gazetteer = Gazetteer.load(gazetteer_path or DEFAULT_GAZETTEER_PATH)
    if kind == "keywords":
        return Understander(
            KeywordClassifier(departments, fallback_category=fallback_category), gazetteer=gazetteer
        )
    from nlp.model import load_or_train

    normalizer = shared_normalizer()
    extra = correction_examples(corrections, departments)
    model = _vetted_artifact(model_path, departments, vetted or {}, settings, normalizer)
    if model is not None:
        log.info(
            "classifier %s loaded (accepted by a retrain; %d operator corrections)", model.version, len(extra)
        )
    else:
        model = load_or_train(
            model_path,
            departments,
            extra,
            fallback_category=fallback_category,
            normalizer=normalizer,
            settings=settings,
        )
        log.info("classifier %s loaded (%d operator corrections)", model.version, len(extra))
    return Understander(model, normalize=normalizer.normalize, gazetteer=gazetteer)


def _vetted_artifact(
    path: Path,
    departments: Mapping[str, str],
    vetted: Mapping[str, str],
    settings: TrainSettings | None,
    normalizer: Normalizer,
) -> Model | None:
    from nlp.model import Model, ModelError

    if not vetted or not path.exists():
        return None
    try:
        model = Model.load(path, departments, normalizer=normalizer)
    except ModelError as exc:
        log.warning("model artifact not used: %s", exc)
        return None
    base = vetted.get(model.version)
    return model if base is not None and base == shipped_version((), settings) else None
