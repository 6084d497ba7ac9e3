"""Shared fixtures: the taxonomy's category → department map and one trained model per session."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nlp.cli import run_train  # noqa: E402  (HF_HUB_OFFLINE must be set before hazm loads)
from nlp.model import Model  # noqa: E402
from nlp.normalizer import Normalizer  # noqa: E402

# The reference taxonomy's category → department codes (a fixed contract; the bot reads the
# configured taxonomy, tests pin the default).
DEPARTMENTS = {
    "waste_collection": "waste",
    "street_cleaning": "urban_services",
    "construction_debris": "urban_services",
    "green_space": "parks",
    "road_damage": "civil_works",
    "surface_water": "civil_works",
    "snow_ice": "urban_services",
    "street_lighting": "lighting",
    "traffic": "traffic",
    "public_transport": "transit",
    "building_violation": "urban_planning",
    "sidewalk_obstruction": "enforcement",
    "stray_animals": "urban_services",
    "fire_safety": "fire_department",
    "social_harm": "social_affairs",
    "noise_pollution": "urban_services",
    "general": "public_relations",
}


@pytest.fixture(scope="session")
def departments() -> dict[str, str]:
    """Category → department code."""
    return dict(DEPARTMENTS)


@pytest.fixture(scope="session")
def normalizer() -> Normalizer:
    """One normaliser per test session, as in production (hazm is heavy)."""
    return Normalizer()


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Model, str, Path]]:
    """(model, `sada nlp train` output, artifact path): trained once on the shipped data via run_train."""
    path = tmp_path_factory.mktemp("model") / "model.zip"
    out = io.StringIO()
    run_train(DEPARTMENTS, [], path, out)
    yield Model.load(path, DEPARTMENTS), out.getvalue(), path


@pytest.fixture(scope="session")
def model(trained: tuple[Model, str, Path]) -> Model:
    """The model trained on the shipped training split."""
    return trained[0]
