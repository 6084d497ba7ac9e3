"""Character n-gram TF-IDF computed with numpy over a whole batch, no Python loop per n-gram.

Same features as sklearn's `TfidfVectorizer(analyzer="char_wb", sublinear_tf=True)`: the
n-grams of each space-padded word, counted, `1 + log(count)` times a smoothed IDF, rows
L2-normalised. The difference is how n-grams are found: each one is a 64-bit FNV-1a hash of its
code points, computed for every position of the batch at once, and the vocabulary is a sorted
array of hashes (binary search instead of a dict lookup per n-gram). Building ~300 Python
strings per message was the slowest step of classification; this is ~20× faster.
A 64-bit hash collision among a few hundred thousand n-grams is vanishingly unlikely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


def _l2_normalize(data: np.ndarray, lengths: np.ndarray) -> None:
    """Scale, in place, the runs of `data` (one run per row, `lengths` long) to unit L2 norm."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    norms = np.sqrt(np.bincount(rows, weights=np.square(data, dtype=np.float64), minlength=len(lengths)))
    norms[norms == 0.0] = 1.0
    data /= np.repeat(norms, lengths).astype(data.dtype, copy=False)


@dataclass(frozen=True, slots=True)
class Block:
    """L2-normalised sublinear TF-IDF rows as arrays, entries sorted by (row, column): what a CSR
    matrix holds, without building one (scipy's constructors cost more than the arithmetic for a
    message or a group; `nlp.features` stacks the word and char blocks into one matrix)."""

    rows: np.ndarray  # int64, the document of each entry
    cols: np.ndarray  # int64
    data: np.ndarray  # float32
    lengths: np.ndarray  # int64, entries per document

    @classmethod
    def of(cls, docs: np.ndarray, cols: np.ndarray, idf: np.ndarray, n_docs: int) -> Block:
        """Rows from every known (document, column) occurrence: counted, `1 + log(count)` times
        the IDF, L2-normalised (the arithmetic and order of sklearn's transform, in float32)."""
        width = max(len(idf), 1)
        keys, counts = np.unique(docs * width + cols, return_counts=True)
        rows, cols = np.divmod(keys, width)
        data = (np.log(counts.astype(np.float32)) + 1.0) * idf[cols]
        lengths = np.bincount(rows, minlength=n_docs)
        _l2_normalize(data, lengths)
        return cls(rows, cols, data, lengths)

    def matrix(self, width: int) -> sp.csr_matrix:
        """The block as a CSR matrix `width` columns wide."""
        indptr = np.concatenate([[0], np.cumsum(self.lengths)])
        return sp.csr_matrix((self.data, self.cols, indptr), shape=(len(self.lengths), width))


# Words whose known n-gram columns are remembered (`CharTfidf.block`) before the memo starts over.
WORD_MEMO = 50_000

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_SEP = 0  # code point between documents; never inside a normalised text
_SPACE = 32


def gram_hash(gram: str) -> int:
    """The hash of one n-gram as `ngram_hashes` computes it (for tests and inspection)."""
    h = (int(_FNV_OFFSET) ^ len(gram)) * int(_FNV_PRIME) % 2**64
    for ch in gram:
        h = ((h ^ ord(ch)) * int(_FNV_PRIME)) % 2**64
    return h


def _padded(text: str) -> str:
    words = text.lower().split()
    return " " + " ".join(words) + " " if words else ""


def ngram_hashes(texts: Sequence[str], n_min: int, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(document index, n-gram hash) of every char_wb n-gram occurrence in `texts`."""
    docs = [_padded(t) for t in texts]
    joined = "\x00".join(docs) + "\x00"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(d) + 1 for d in docs), dtype=np.int64, count=len(docs))
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    size = len(codes)
    is_space = np.concatenate([[0], np.cumsum(codes == _SPACE)])
    is_sep = np.concatenate([[0], np.cumsum(codes == _SEP)])
    doc_parts, hash_parts = [], []
    with np.errstate(over="ignore"):
        for n in range(n_min, n_max + 1):
            if size < n:
                break
            starts = np.arange(size - n + 1)
            # Valid: no document separator inside, no space strictly inside (spaces may pad the ends).
            valid = (is_sep[starts + n] - is_sep[starts] == 0) & (
                is_space[starts + n - 1] - is_space[starts + 1] == 0
            )
            h = np.full(len(starts), (_FNV_OFFSET ^ np.uint64(n)) * _FNV_PRIME, dtype=np.uint64)
            for k in range(n):
                h = (h ^ codes[k : k + len(starts)]) * _FNV_PRIME
            doc_parts.append(doc_of[starts[valid]])
            hash_parts.append(h[valid])
    if not hash_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return np.concatenate(doc_parts), np.concatenate(hash_parts)


@dataclass(frozen=True, slots=True)
class CharTfidf:
    """A fitted char_wb TF-IDF: sorted n-gram hashes and their IDF weights."""

    n_min: int
    n_max: int
    hashes: np.ndarray  # uint64, sorted
    idf: np.ndarray  # float32, one per hash
    _memo: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def fit(
        cls, texts: Sequence[str], n_min: int, n_max: int, *, min_df: int = 1, max_features: int | None = None
    ) -> CharTfidf:
        """Vocabulary and smoothed IDF (sklearn's formula) from training texts."""
        docs, hashes = ngram_hashes(texts, n_min, n_max)
        pairs = np.unique(np.stack([hashes, docs.astype(np.uint64)]), axis=1)
        vocab, df = np.unique(pairs[0], return_counts=True)
        keep = df >= min_df
        if max_features is not None and keep.sum() > max_features:
            # Like sklearn: keep the n-grams most frequent over the corpus (ties: lower hash).
            totals = np.unique(hashes, return_counts=True)[1]
            ranked = np.lexsort((vocab, -totals))
            top = np.zeros(len(vocab), dtype=bool)
            top[ranked[keep[ranked]][:max_features]] = True
            keep &= top
        idf = np.log((1 + len(texts)) / (1 + df[keep])) + 1.0
        return cls(n_min, n_max, vocab[keep], idf.astype(np.float32))

    @property
    def size(self) -> int:
        """Number of n-gram features."""
        return len(self.hashes)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised sublinear TF-IDF rows for `texts`."""
        return self.block(texts).matrix(self.size)

    def block(self, texts: Sequence[str]) -> Block:
        """`transform`'s rows as arrays.

        char_wb n-grams never cross a word boundary, so a text's n-grams are the union of its
        words' and a word's known columns can be remembered: messages repeat their vocabulary,
        and only words not seen before are hashed (all of them in one numpy pass)."""
        words_of = [text.lower().split() for text in texts]
        memo = self._memo
        columns: dict[str, np.ndarray] = {}
        for words in words_of:
            for word in words:
                if word not in columns:
                    # One lookup: another thread may clear the memo between a test and a read.
                    known = memo.get(word)
                    if known is not None:
                        columns[word] = known
        missing = sorted({word for words in words_of for word in words if word not in columns})
        if missing:
            fresh = self._word_columns(missing)
            columns.update(fresh)
            if len(memo) + len(fresh) > WORD_MEMO:
                memo.clear()
            memo.update(fresh)
        parts = [columns[word] for words in words_of for word in words]
        sizes = [sum(len(columns[word]) for word in words) for words in words_of]
        cols = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        docs = np.repeat(np.arange(len(texts)), sizes)
        return Block.of(docs, cols, self.idf, len(texts))

    def _word_columns(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """Each word's known n-gram columns (one per occurrence in the space-padded word)."""
        docs, hashes = ngram_hashes(words, self.n_min, self.n_max)
        cols = np.searchsorted(self.hashes, hashes)
        cols[cols == len(self.hashes)] = 0
        known = self.hashes[cols] == hashes if len(self.hashes) else np.zeros(len(hashes), dtype=bool)
        docs, cols = docs[known], cols[known]
        order = np.argsort(docs, kind="stable")
        split = np.split(cols[order], np.cumsum(np.bincount(docs, minlength=len(words)))[:-1])
        return dict(zip(words, split, strict=True))
