"""The statistical classifier: train, save/load, classify (implements the Classifier protocol).

Normalised text → word + char TF-IDF → linear SVM (one-vs-rest) → temperature-scaled
probabilities → abstain rule → department from the taxonomy, plus the urgency detector.
Training is deterministic: examples are sorted, folds and solver seeded, so the same data and
settings give the same weights and the same `version` (a hash of data + settings).
The regularisation strength, the temperature and the abstain rule are all chosen on
out-of-fold predictions of the training data (stratified k-fold); the held-out set is never seen.
"""

from __future__ import annotations

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
    choose_abstain_rule,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from nlp.classification import Classification, Priority
from nlp.dataset import Example, fingerprint, load_split
from nlp.features import Features, FeatureSettings
from nlp.finglish import DEFAULT_LEXICON_PATH
from nlp.normalizer import Normalizer
from nlp.urgency import UrgencyDetector

log = logging.getLogger(__name__)

MODEL_FORMAT = 2
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
    target_precision: float = 0.95  # out-of-fold precision of non-abstained predictions (issue 3)
    features: FeatureSettings = field(default_factory=FeatureSettings)

    def as_dict(self) -> dict[str, object]:
        """Plain-data form (for the artifact and the version hash)."""
        return asdict(self)


def expected_version(
    examples: Iterable[Example], extra_examples: Iterable[Example] = (), settings: TrainSettings | None = None
) -> str:
    """The version a model trained on these examples (and settings, and lexicon) will carry."""
    settings = settings or TrainSettings()
    # The Finglish lexicon shapes the normalised text the features are computed from, so an
    # edited lexicon must retrain the model too.
    lexicon = hashlib.sha256(DEFAULT_LEXICON_PATH.read_bytes()).hexdigest()[:12]
    return fingerprint(
        examples,
        {
            "format": MODEL_FORMAT,
            "extra": fingerprint(extra_examples),
            "settings": settings.as_dict(),
            "lexicon": lexicon,
        },
    )


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
        self._urgency = UrgencyDetector()

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
        """Calibrated class probabilities (rows follow `classes`) for normalised texts."""
        scores = self._features.transform(normalized) @ self._coef_t + self._intercept
        return softmax(np.asarray(scores), self.temperature)

    def classify(self, text: str) -> Classification:
        """Route one raw citizen message."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """Route a batch of raw messages (one vectorised pass: use this for throughput)."""
        normalized = self.normalizer.normalize_many(list(texts))
        return self.classify_normalized(normalized)

    def classify_normalized(self, normalized: Sequence[str]) -> list[Classification]:
        """Route already-normalised texts (when the caller has normalised them itself)."""
        if not normalized:
            return []
        probs = self.probabilities(normalized)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :TOP_K]
        results = []
        for row, text in enumerate(normalized):
            results.append(self._decide(text, probs[row], order[row]))
        return results

    def _decide(self, text: str, probs: np.ndarray, order: np.ndarray) -> Classification:
        urgency = self._urgency.detect(text, normalized=True)
        priority = Priority.URGENT if urgency.urgent else Priority.NORMAL
        reasons = tuple(str(r) for r in urgency.reasons)
        if not text.strip():
            # Nothing to read: a person decides, in the fallback category's department.
            return Classification(
                self.fallback_category, self._departments[self.fallback_category], 0.0, (),
                self._version, True, priority, reasons,
            )  # fmt: skip
        top = tuple((self.classes[i], round(float(probs[i]), 4)) for i in order)
        top1 = float(probs[order[0]])
        top2 = float(probs[order[1]]) if len(order) > 1 else 0.0
        category = top[0][0]
        return Classification(
            category=category,
            department=self._departments[category],
            confidence=round(top1, 4),
            top_k=top,
            model_version=self._version,
            needs_review=self.rule.abstains(top1, top2),
            priority=priority,
            urgent_reasons=reasons,
        )

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
    ) -> Model:
        """Read an artifact written by `save`; `departments` overrides the saved mapping."""
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
        )
        features = Features.from_state(settings, vocab, arrays)
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
        )


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
) -> Model:
    """Train a model on labelled examples plus (weighted) operator corrections; deterministic."""
    settings = settings or TrainSettings()
    base = [e for e in examples if e.category]
    extra = [e for e in extra_examples if e.category]
    unknown = sorted({e.category or "" for e in base + extra if e.category not in departments})
    if unknown:
        raise ModelError(f"examples with categories outside the taxonomy: {', '.join(map(str, unknown))}")
    version = expected_version(base, extra, settings)
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
    fit = choose_abstain_rule(probs, y, target_precision=settings.target_precision)

    features = Features.fit(settings.features, texts)
    fitted = _fit_linear(features.transform(texts), y, w, best_c, settings.seed)
    if progress:
        progress("final fit", 1, 1)
    info = {
        "examples": len(base),
        "extra_examples": len(extra),
        "features": features.size,
        "C": best_c,
        "cv_macro_f1_by_C": f1_by_c,
        "cv_macro_f1": round(float(f1_score(y, probs.argmax(axis=1), average="macro")), 4),
        "cv_ece_before": round(expected_calibration_error(raw_probs, y), 4),
        "cv_ece_after": round(expected_calibration_error(probs, y), 4),
        "cv_abstain_precision": round(fit.precision, 4),
        "cv_abstain_coverage": round(fit.coverage, 4),
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
    examples = load_split("train")
    wanted = expected_version(examples, extra, settings)
    if path.exists():
        try:
            model = Model.load(path, departments, normalizer=normalizer)
        except ModelError as exc:
            log.warning("retraining: %s", exc)
        else:
            if model.version == wanted:
                return model
            log.info("retraining: artifact %s is version %s, data gives %s", path, model.version, wanted)
    model = train(
        examples,
        departments,
        fallback_category=fallback_category,
        progress=progress,
        extra_examples=extra,
        settings=settings,
        normalizer=normalizer,
    )
    model.save(path)
    return model
