"""The bot's view of nlp/: normalise once, classify, locate, and score near-duplicates.

The heavy objects (hazm normaliser, trained model, gazetteer) are built once per process by
`load_understander` and shared by every request. `build_classifier` is the one place the
configured classifier is chosen and built (the service and the CLI both call it); the policy every
classifier answers to (urgency, abstain, fallback) is `nlp.policy.Router`, applied here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.taxonomy import check_reachable
from nlp.classification import Classification, Scorer
from nlp.dataset import Example, load_split
from nlp.duplicates import DuplicateCandidate, DuplicatePool, WarmPools
from nlp.places import DEFAULT_GAZETTEER_PATH, Gazetteer
from nlp.policy import Router
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


class Understander:
    """Holds the process-wide nlp objects behind one `understand` call: the scorer in service
    behind the policy (`nlp.policy.Router`: urgency, abstain, fallback), and the gazetteer."""

    def __init__(
        self, classifier: Scorer, *, gazetteer: Gazetteer | None = None, second_stage: bool = True
    ) -> None:
        """`second_stage=False` (`[nlp] second_stage`): every model put in service, now or by a
        later `swap`, decides on its first stage alone."""
        # Urgency reads the full normal form whatever the scorer reads (nlp.policy): the router
        # normalises with the process's normaliser, built here rather than on a first message.
        self._normalizer = shared_normalizer()
        self._second_stage = second_stage
        self._router = Router(self._served(classifier), normalizer=self._normalizer)
        self._gazetteer = gazetteer
        self._pools = WarmPools()

    @property
    def classifier(self) -> Scorer:
        """The scorer in service now."""
        return self._router.scorer

    def swap(self, classifier: Scorer) -> None:
        """Put another scorer in service: one assignment, so a batch being understood keeps the
        one it started with and the next batch gets the new one."""
        self._router = Router(self._served(classifier), normalizer=self._normalizer)

    def _served(self, classifier: Scorer) -> Scorer:
        from nlp.model import Model

        if not self._second_stage and isinstance(classifier, Model):
            return classifier.first_stage_only()
        return classifier

    def understand(self, text: str) -> Understanding:
        """Normalise, classify and locate one message."""
        return self.understand_many([text])[0]

    def understand_many(self, texts: Sequence[str]) -> list[Understanding]:
        """`understand` for a batch: normalised once, classified in one call."""
        router = self._router
        normalized = router.scorer.normalize_many(texts)
        classifications = router.classify_normalized(normalized)
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

    def open_pool(self, category: str, district: str | None, rows: Sequence[DuplicateRow]) -> DuplicatePool:
        """`duplicate_pool(category, rows)` for the open tickets of (category, district), from a pool
        kept between calls: only tickets not seen before (or whose text or place changed) are
        profiled, and tickets missing from `rows` are dropped. The pool returned is the batch's
        own: `add_newest` on it (a ticket the batch opens) does not reach the kept pool."""
        return self._pools.pool(
            (category, district),
            [DuplicateCandidate(str(r.id), r.normalized_text, category, r.district, r.place) for r in rows],
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
    """Operator corrections (text, category) as training examples; unknown categories are dropped,
    and so are tickets without words (a voice note an operator listened to and classified)."""
    return [
        Example(text=text, category=category, channel="correction")
        for text, category in corrections
        if category in departments and text.strip()
    ]


def shipped_version(corrections: Iterable[Example] = (), settings: TrainSettings | None = None) -> str:
    """The version the service's trainer (`nlp.model.train_shipped`) gives for the shipped data
    plus `corrections`. Without corrections it is the "base" a retrain row records: an artifact
    accepted on another base (the shipped data, lexicons or settings changed since) is not
    trusted at start-up."""
    from nlp.model import shipped_version as version_of

    return version_of(list(corrections), settings)


def check_classifier_reaches(
    kind: str, departments: Mapping[str, str], fallback_category: str, corrected: Iterable[str] = ()
) -> None:
    """ConfigError naming the first taxonomy category the `kind` classifier can never choose: no
    keyword (keywords), no training example or operator correction (model), and not the fallback."""
    if kind == "keywords":
        from nlp.keywords import KeywordClassifier

        reachable = set(KeywordClassifier(departments, fallback_category=fallback_category).categories)
    else:
        reachable = {e.category or "" for e in load_split("train")} | set(corrected)
    check_reachable(departments, reachable | {fallback_category}, classifier=kind)


def build_classifier(
    kind: str,
    departments: Mapping[str, str],
    *,
    model_path: Path,
    fallback_category: str,
    corrections: Sequence[tuple[str, str]] = (),
    vetted: Mapping[str, str] | None = None,
    settings: TrainSettings | None = None,
    saved_as_is: bool = False,
) -> Scorer:
    """The configured scorer (`[nlp] classifier`), for the service and the CLI alike.

    First, every category of the taxonomy must be reachable by it (ConfigError otherwise). The
    keyword classifier is built from its table. For the model, the artifact at `model_path` is used
    as it is when a retrain (or an earlier start) accepted it on today's shipped data (`vetted`:
    accepted version → base version): corrections made since reach the model only through the
    retrain job, which checks the candidate before it serves. With `saved_as_is` (the CLI, which
    cannot judge the store's retrains) any readable artifact is used as it is. Otherwise it is
    loaded if it matches the shipped data + corrections, else trained and saved."""
    check_classifier_reaches(kind, departments, fallback_category, (c for _, c in corrections))
    if kind == "keywords":
        from nlp.keywords import KeywordClassifier

        return KeywordClassifier(departments, fallback_category=fallback_category)
    from nlp.model import load_or_train

    normalizer = shared_normalizer()
    extra = correction_examples(corrections, departments)
    model = (
        _saved_artifact(model_path, departments, normalizer)
        if saved_as_is
        else _vetted_artifact(model_path, departments, vetted or {}, settings, normalizer)
    )
    if model is not None:
        log.info("classifier %s loaded as saved (%d operator corrections)", model.version, len(extra))
        return model
    model = load_or_train(
        model_path,
        departments,
        extra,
        fallback_category=fallback_category,
        normalizer=normalizer,
        settings=settings,
    )
    log.info("classifier %s loaded (%d operator corrections)", model.version, len(extra))
    return model


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
    second_stage: bool = True,
) -> Understander:
    """The service's understander: the configured scorer (`build_classifier`) and the gazetteer;
    `second_stage=False` serves the model's first stage alone."""
    classifier = build_classifier(
        kind,
        departments,
        model_path=model_path,
        fallback_category=fallback_category,
        corrections=corrections,
        vetted=vetted,
        settings=settings,
    )
    gazetteer = Gazetteer.load(gazetteer_path or DEFAULT_GAZETTEER_PATH)
    return Understander(classifier, gazetteer=gazetteer, second_stage=second_stage)


def _saved_artifact(path: Path, departments: Mapping[str, str], normalizer: Normalizer) -> Model | None:
    from nlp.model import Model, ModelError

    if not path.exists():
        return None
    try:
        return Model.load(path, departments, normalizer=normalizer)
    except ModelError as exc:
        # An artifact of an older format, say: train afresh.
        log.warning("retraining: %s", exc)
        return None


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
