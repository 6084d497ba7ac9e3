"""The second stage: a sentence-encoder head asked only about what the first stage is unsure of."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from nlp.calibration import AbstainRule
from nlp.dataset import load_split
from nlp.encoder import DEFAULT_CACHE_PATH, MAX_TOKENS, CachedEncoder, E5Encoder, SentenceEncoder
from nlp.model import Model, ModelError
from nlp.normalizer import Normalizer
from nlp.policy import Router
from nlp.second_stage import SecondStage, fit_head

from .conftest import DEPARTMENTS

# The production encoder (nlp.encoder.load_encoder): e5, a message's first MAX_TOKENS tokens.
SHIPPED = E5Encoder(max_tokens=MAX_TOKENS)


class _Refuses:
    """An encoder that must not be needed: every vector has to come from the shipped table (texts
    cut as the production encoder cuts them: the table is keyed by what the engine reads)."""

    name = SHIPPED.name
    engine = SHIPPED.engine
    prepare = staticmethod(SHIPPED.prepare)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"{len(texts)} texts have no shipped vector: run `sada nlp embeddings`")


class _Recording:
    """The real encoder, remembering what it was asked."""

    def __init__(self, inner: SentenceEncoder) -> None:
        self.inner = inner
        self.asked: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self.inner.encode(texts)


def test_the_shipped_vectors_cover_training_and_dev(normalizer: Normalizer) -> None:
    """Training embeds every training message: a stale table would cost minutes at each start."""
    texts = normalizer.normalize_many([e.text for split in ("train", "dev") for e in load_split(split)])
    vectors = CachedEncoder(_Refuses(), DEFAULT_CACHE_PATH).encode(texts)
    assert vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=0.01)


def test_the_production_model_has_a_second_stage(model: Model) -> None:
    assert model.second_stage is not None
    assert model.second_stage.encoder == SHIPPED.name
    assert 0.0 < model.second_stage.weight < 1.0


@pytest.fixture(scope="module")
def recorded(trained: tuple[Model, str, Path]) -> tuple[Model, _Recording]:
    """The session's model loaded again with a recording encoder."""
    encoder = _Recording(E5Encoder(max_tokens=MAX_TOKENS))
    return Model.load(trained[2], DEPARTMENTS, encoder=encoder), encoder


def test_only_unsure_or_general_messages_reach_the_encoder(recorded: tuple[Model, _Recording]) -> None:
    model, encoder = recorded
    stage = model.second_stage
    assert stage is not None
    normalized = model.normalizer.normalize_many([e.text for e in load_split("heldout")[::4]])
    first = model.probabilities(normalized)
    unsure = (first.max(axis=1) < stage.route_rule.min_confidence) | (
        first.argmax(axis=1) == model.classes.index(model.fallback_category)
    )
    encoder.asked.clear()
    final, routed = model.final_probabilities(normalized)
    assert routed.tolist() == unsure.tolist() and 0 < routed.sum() < len(normalized)
    assert encoder.asked == [t for t, r in zip(normalized, routed, strict=True) if r]
    # Confident first-stage answers are left exactly as they were; re-asked ones move.
    assert np.array_equal(final[~routed], first[~routed])
    assert not np.allclose(final[routed], first[routed])


class _Broken:
    """The shipped encoder's name, but an engine that fails (a bad build, a missing weights file)."""

    name = SHIPPED.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise OSError("engine failed to load")


def test_a_broken_engine_leaves_routing_to_the_first_stage(trained: tuple[Model, str, Path]) -> None:
    texts = [e.text for e in load_split("heldout")[::6]]
    broken = Model.load(trained[2], DEPARTMENTS, encoder=_Broken())
    alone = Model.load(trained[2], DEPARTMENTS, second_stage=False)
    assert [r.category for r in Router(broken).classify_many(texts)] == [
        r.category for r in Router(alone).classify_many(texts)
    ]


def test_an_artifact_fitted_for_another_encoder_is_refused(trained: tuple[Model, str, Path]) -> None:
    class Other(_Broken):
        name = "another/encoder"

    with pytest.raises(ModelError, match="another/encoder"):
        Model.load(trained[2], DEPARTMENTS, encoder=Other())


def test_a_head_fitted_on_two_classes_still_tells_them_apart() -> None:
    rng = np.random.default_rng(7)
    vectors = np.vstack([rng.normal(1.0, 0.3, (20, 4)), rng.normal(-1.0, 0.3, (20, 4))])
    y = np.array([0] * 20 + [2] * 20)
    coef, intercept = fit_head(vectors, y, np.ones(len(y)), classes=3, seed=1)
    probs = SecondStage(coef, intercept, 0.5, AbstainRule(0.8, 0.0), 0, "x").probabilities(vectors)
    assert probs.argmax(axis=1).tolist() == y.tolist()
    assert probs[:, 1].max() < 1e-6


def test_second_stage_off_never_asks_the_encoder_even_after_a_swap(
    recorded: tuple[Model, _Recording], trained: tuple[Model, str, Path]
) -> None:
    """`[nlp] second_stage = false`: the understander serves the first stage alone, also for a
    model a retrain swaps in, and decides as a model loaded without its second stage does."""
    from bot.intake.understanding import Understander

    model, encoder = recorded
    texts = [e.text for e in load_split("heldout")[::4]]
    alone = Model.load(trained[2], DEPARTMENTS, second_stage=False)
    expected = [r.category for r in Router(alone).classify_many(texts)]
    understander = Understander(model, second_stage=False)
    encoder.asked.clear()
    assert [u.classification.category for u in understander.understand_many(texts)] == expected
    understander.swap(model)
    assert [u.classification.category for u in understander.understand_many(texts)] == expected
    assert encoder.asked == []
    # The model itself keeps its second stage (the understander served a copy).
    Understander(model).understand_many(texts)
    assert encoder.asked
