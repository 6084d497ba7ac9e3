"""GET /panel/media/{id} with ids that are not a file: always a 404, never a server error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.panel.conftest import Site


@pytest.mark.parametrize("raw", ["1", "99999999999999999999999999", "١٢", "12abc", "-3"])
async def test_an_id_that_names_no_stored_file_is_not_found(site: Site, clients: Any, raw: str) -> None:
    olga = await clients("olga")
    response = await olga.get(f"/panel/media/{raw}")
    assert response.status == 404
