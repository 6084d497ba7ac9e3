"""The classifier contract: what every classifier returns and must implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Priority(StrEnum):
    """How fast a ticket must be looked at."""

    NORMAL = "normal"
    URGENT = "urgent"


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


class Classifier(Protocol):
    """Anything that turns a citizen's (raw) text into a Classification."""

    @property
    def version(self) -> str: ...

    def classify(self, text: str) -> Classification: ...

    def classify_many(self, texts: Sequence[str]) -> list[Classification]: ...
