"""Fixtures for the digest: a seeded store of known content and a config around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.store import Store
from tests.digest.seed import seed


@pytest.fixture
async def seeded(store_url: str) -> AsyncIterator[tuple[Store, dict[str, list[tuple[int, int, str]]]]]:
    """A store holding the known content of tests/digest/seed.py."""
    store = Store.from_url(store_url)
    await store.ensure_ready()
    handles = await seed(store)
    try:
        yield store, handles
    finally:
        await store.aclose()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
