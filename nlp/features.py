"""Feature extraction: TF-IDF over word n-grams and character n-grams of normalised text.

Word n-grams carry the vocabulary; character n-grams (within word boundaries) carry what words
miss: colloquial endings («خرابه», «نبردن»), ASR misspellings, imperfect Finglish
transliteration and ZWNJ/space variants. Both are stored as plain vocabularies and IDF arrays, so
an artifact is data (JSON + numpy), never a pickle. The arithmetic is sklearn's TF-IDF
(sublinear tf, smoothed idf, L2 rows); the transforms are our own because sklearn's Python loop
per n-gram dominated classification time (see nlp.chargrams).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from nlp.chargrams import Block, CharTfidf
from nlp.framing import strip_framing

_DIGITS = re.compile(r"\d+")


def feature_text(normalized: str, *, framing: bool = False) -> str:
    """What the vectorisers read: ZWNJ as space (spelling varies), every number as one token,
    and with `framing` the letter's formulas left out (nlp.framing)."""
    text = normalized.replace("\u200c", " ")
    if framing:
        text = strip_framing(text)
    return _DIGITS.sub("0", text)


@dataclass(frozen=True, slots=True)
class FeatureSettings:
    """Vectoriser settings; part of the model version."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 1  # cross-validation preferred keeping rare n-grams (misspellings recur)
    max_char_features: int = 120_000
    framing: bool = True  # leave greetings, forms of address and polite closings out (nlp.framing)

    def as_dict(self) -> dict[str, object]:
        """Plain-data form (for the artifact and the version hash)."""
        return asdict(self)


_WORD = re.compile(r"(?u)\b\w+\b")  # one-letter words count: «خ» is «خیابان»


def word_ngrams(text: str, n_max: int = 2) -> list[str]:
    """Word 1..n_max-grams of a feature text (what sklearn's word analyzer gives, faster)."""
    tokens = _WORD.findall(text.lower())
    if n_max >= 2:
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    else:
        grams = list(tokens)
    for n in range(3, n_max + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


class _Analyzer:
    """Word n-grams bound to settings (sklearn's vectoriser takes a callable)."""

    def __init__(self, settings: FeatureSettings) -> None:
        self.n_max = settings.word_ngrams[1]

    def __call__(self, text: str) -> list[str]:
        return word_ngrams(text, self.n_max)


def _fit_vocabulary(
    analyzer: _Analyzer, texts: Sequence[str], min_df: int, max_features: int | None
) -> tuple[dict[str, int], np.ndarray]:
    """(vocabulary, idf) as sklearn's TfidfVectorizer computes them (smooth idf, sublinear tf)."""
    vec = TfidfVectorizer(
        analyzer=analyzer, min_df=min_df, max_features=max_features, sublinear_tf=True, dtype=np.float32
    ).fit(texts)
    vocab = {k: int(v) for k, v in vec.vocabulary_.items()}
    return vocab, np.asarray(vec.idf_, dtype=np.float32)


def _tfidf(analyzer: _Analyzer, vocab: Mapping[str, int], idf: np.ndarray, texts: Sequence[str]) -> Block:
    """Sublinear-tf × idf rows, L2-normalised: sklearn's transform, minus its per-n-gram
    exception handling for unknown n-grams; counting is done by numpy over the whole batch."""
    per_doc = [analyzer(text) for text in texts]
    get = vocab.get
    cols = np.fromiter((get(g, -1) for grams in per_doc for g in grams), dtype=np.int64)
    docs = np.repeat(np.arange(len(texts)), [len(grams) for grams in per_doc])
    known = cols >= 0
    return Block.of(docs[known], cols[known], idf, len(texts))


class Features:
    """Fitted word + char TF-IDF; `transform` gives one L2-normalised row block per text."""

    def __init__(
        self,
        settings: FeatureSettings,
        word_vocab: Mapping[str, int],
        word_idf: np.ndarray,
        char: CharTfidf,
    ) -> None:
        self.settings = settings
        self._word_vocab = dict(word_vocab)
        self._word_idf = np.asarray(word_idf, dtype=np.float32)
        self._char = char
        self._analyzer = _Analyzer(settings)

    @classmethod
    def fit(cls, settings: FeatureSettings, normalized: Sequence[str]) -> Features:
        """Fit both vocabularies and IDF weights on normalised training texts."""
        texts = [feature_text(t, framing=settings.framing) for t in normalized]
        word_vocab, word_idf = _fit_vocabulary(_Analyzer(settings), texts, settings.min_df, None)
        char = CharTfidf.fit(
            texts, *settings.char_ngrams, min_df=settings.min_df, max_features=settings.max_char_features
        )
        return cls(settings, word_vocab, word_idf, char)

    def transform(self, normalized: Sequence[str]) -> sp.csr_matrix:
        """Sparse feature rows for normalised texts: word block, then char block."""
        texts = [feature_text(t, framing=self.settings.framing) for t in normalized]
        word = _tfidf(self._analyzer, self._word_vocab, self._word_idf, texts)
        char = self._char.block(texts)
        # One CSR matrix, each row its word entries then its char entries (what `hstack` gives):
        # built from arrays, as scipy's constructors and `hstack` cost more than the arithmetic.
        offset = len(self._word_vocab)
        order = np.argsort(np.concatenate([word.rows, char.rows]), kind="stable")
        indices = np.concatenate([word.cols, char.cols + offset])[order]
        data = np.concatenate([word.data, char.data])[order]
        indptr = np.concatenate([[0], np.cumsum(word.lengths + char.lengths)])
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), offset + self._char.size))

    @property
    def size(self) -> int:
        """Number of features."""
        return len(self._word_vocab) + self._char.size

    def state(self) -> tuple[dict[str, int], dict[str, np.ndarray]]:
        """(JSON-able word vocabulary, numpy arrays) for saving."""
        arrays = {"idf_word": self._word_idf, "char_hashes": self._char.hashes, "idf_char": self._char.idf}
        return dict(self._word_vocab), arrays

    @classmethod
    def from_state(
        cls,
        settings: FeatureSettings,
        word_vocab: Mapping[str, int],
        arrays: Mapping[str, np.ndarray],
    ) -> Features:
        """Rebuild from a saved word vocabulary and arrays."""
        char = CharTfidf(*settings.char_ngrams, arrays["char_hashes"], arrays["idf_char"])
        return cls(settings, word_vocab, arrays["idf_word"], char)
