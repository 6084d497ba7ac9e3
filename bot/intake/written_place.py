"""How a request typed in a form with the place in a field of its own becomes one message: the
desk's intake, the citizen web form and Open311 all give the pipeline the words, then the place
on a line of its own, so the classifier, the gazetteer and near-duplicate scoring read it as a
citizen writing «…، نشانی: …» would be read."""

from __future__ import annotations

PLACE_LABEL = "نشانی"


def with_place(text: str, place: str | None) -> str:
    """`text`, then «نشانی: place» on its own line when a place was given apart."""
    return f"{text}\n{PLACE_LABEL}: {place}" if place else text
