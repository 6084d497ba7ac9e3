"""The classifier contracts: what a classifier returns (scores) and what routing returns (a decision).

A `Scorer` (the trained model, the keyword classifier) only ranks categories. The understanding
step (`nlp.policy.Router`) turns its ranking into a `Classification` with the same rules for every
scorer: urgency, abstain (`needs_review`) and the fallback category. `Classifier` is what that
step offers the rest of the system: raw or normalised text in, a routing decision out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from nlp.calibration import AbstainRule


class Priority(StrEnum):
    """How fast a ticket must be looked at."""

    NORMAL = "normal"
    URGENT = "urgent"


@dataclass(frozen=True, slots=True)
class Ranking:
    """A scorer's reading of one message: (category code, probability) pairs, best first, at most
    a few, unrounded. Empty: the scorer has nothing to go on (no text, no keyword)."""

    ranked: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """The routing decision for one message.

    `top_k` holds (category code, probability) pairs, best first. `needs_review` is set when the
    classifier abstains: the ticket still goes to `department`, but an operator must confirm it.
    """

    category: str
    department: str
    confidence: float
    top_k: tuple[tuple[str, float], ...]
    model_version: str
    needs_review: bool
    priority: Priority = Priority.NORMAL
    urgent_reasons: tuple[str, ...] = field(default_factory=tuple)


class Scorer(Protocol):
    """Anything that ranks categories for normalised text (built for one taxonomy)."""

    @property
    def version(self) -> str: ...

    @property
    def rule(self) -> AbstainRule:
        """When this scorer's top probability is not to be trusted (its own calibration)."""
        ...

    @property
    def departments(self) -> Mapping[str, str]:
        """Category code → department code of the taxonomy it was built for."""
        ...

    @property
    def fallback_category(self) -> str:
        """Where a message goes when the scorer has no answer."""
        ...

    def normalize_many(self, texts: Sequence[str]) -> list[str]:
        """The text form `classify_normalized` reads (and duplicates; urgency reads the full form)."""
        ...

    def classify_normalized(self, normalized: Sequence[str]) -> list[Ranking]:
        """Rank categories for already-normalised texts (one vectorised pass)."""
        ...


class Classifier(Protocol):
    """Anything that turns a citizen's text into a Classification (a scorer behind the policy)."""

    @property
    def version(self) -> str: ...

    def classify(self, text: str) -> Classification: ...

    def classify_many(self, texts: Sequence[str]) -> list[Classification]: ...

    def classify_normalized(self, normalized: Sequence[str]) -> list[Classification]: ...
