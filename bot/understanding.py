"""The bot's view of nlp/: normalise once, classify, locate, and score near-duplicates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.models import Ticket
from nlp.classification import Classification, Classifier
from nlp.letters import fold


@dataclass(frozen=True, slots=True)
class Understanding:
    """What nlp made of one message."""

    normalized: str
    classification: Classification
    district: str | None = None
    place: str | None = None


Normalize = Callable[[str], str]
Locate = Callable[[str], tuple[str | None, str | None]]
DuplicateScore = Callable[[Understanding, Sequence[Ticket], float], Ticket | None]


def _simple_duplicate(found: Understanding, candidates: Sequence[Ticket], threshold: float) -> Ticket | None:
    """Fallback scorer: token overlap within the same category and district."""
    words = set(found.normalized.split())
    best: tuple[float, Ticket | None] = (0.0, None)
    for ticket in candidates:
        if ticket.category != found.classification.category:
            continue
        if found.district and ticket.district and found.district != ticket.district:
            continue
        other = set(ticket.normalized_text.split())
        score = len(words & other) / max(1, len(words | other))
        if score > best[0]:
            best = (score, ticket)
    return best[1] if best[0] >= threshold else None


class Understander:
    """Holds the process-wide nlp objects (built once) behind small callables."""

    def __init__(
        self,
        classifier: Classifier,
        *,
        normalize: Normalize = fold,
        locate: Locate | None = None,
        duplicate: DuplicateScore = _simple_duplicate,
    ) -> None:
        self.classifier = classifier
        self._normalize = normalize
        self._locate = locate
        self._duplicate = duplicate

    def understand(self, text: str) -> Understanding:
        """Normalise, classify and locate one message."""
        normalized = self._normalize(text)
        classification = self.classifier.classify(text)
        district, place = self._locate(text) if self._locate else (None, None)
        return Understanding(
            normalized=normalized, classification=classification, district=district, place=place
        )

    def duplicate_of(
        self, found: Understanding, candidates: Sequence[Ticket], threshold: float
    ) -> Ticket | None:
        """The open ticket this message repeats, if any."""
        return self._duplicate(found, candidates, threshold) if candidates else None
