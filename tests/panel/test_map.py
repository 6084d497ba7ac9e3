"""The map's page and its JSON: the list's filters and department scope, nothing personal, district
centres for tickets without coordinates, and a CSP that lets in the configured tiles' images only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.models import GeoPoint
from bot.toml_reader import ConfigError, Table
from bot.web.panel.district_centres import DISTRICT_CENTRES
from bot.web.panel.settings import read_panel_settings
from tests.panel.conftest import POTHOLE, RUBBISH, Client, Site, running_site

PLACED = (35.7219, 51.3347)
# Rubbish with an explicit district and no coordinates: the map puts it at the district's centre.
IN_DISTRICT = "زباله‌های کوچهٔ ما در منطقه ۱۲ سه روز است جمع نشده"


async def seed(site: Site) -> dict[str, str]:
    """A rubbish report with a shared location, one with only a district, a pothole with a location."""
    rubbish = await site.say("tg:1", RUBBISH)
    await site.sada.inbound(site.chat.inbound("tg:1", "", location=GeoPoint(*PLACED)))
    district = await site.say("tg:2", IN_DISTRICT)
    pothole = await site.say("tg:3", POTHOLE)
    await site.sada.inbound(site.chat.inbound("tg:3", "", location=GeoPoint(35.70, 51.42)))
    await site.sada.dispatcher.drain()
    return {"rubbish": rubbish, "district": district, "pothole": pothole}


async def test_the_map_json_has_the_list_s_scope_and_nothing_personal(site: Site, clients: Any) -> None:
    codes = await seed(site)
    assert (await site.ticket(codes["district"])).district == "12"
    assert (await site.ticket(codes["district"])).latitude is None
    olga = await clients("olga")
    response = await olga.get("/panel/map.json")
    assert response.status == 200
    body = await response.json()
    points = {p["code"]: p for p in body["points"]}
    assert set(points) == set(codes.values())
    rubbish = points[codes["rubbish"]]
    assert rubbish == {
        "code": codes["rubbish"],
        "lat": PLACED[0],
        "lon": PLACED[1],
        "category": "waste_collection",
        "status": "referred",
    }
    assert (
        body["categories"]["waste_collection"]
        == site.sada.config.taxonomy.categories["waste_collection"].name
    )
    assert body["statuses"]["referred"] == "ارجاع‌شده به واحد مسئول"
    district = points[codes["district"]]
    assert district["district"] == "12" and (district["lat"], district["lon"]) == DISTRICT_CENTRES["12"]
    # Nothing a citizen wrote or who they are: only code, category, status and place.
    text = json.dumps(body["points"], ensure_ascii=False)
    assert "زباله" not in text and "tg:1" not in text and "فردوسی" not in text
    # A staff member sees only their department's markers, whatever the query asks.
    wasim = await clients("wasim")
    mine = await (await wasim.get("/panel/map.json")).json()
    assert {p["code"] for p in mine["points"]} == {codes["rubbish"], codes["district"]}
    other = await (await wasim.get("/panel/map.json?department=civil_works")).json()
    assert other["points"] == []
    # The focus of another department's ticket is not revealed.
    focus = await (await wasim.get(f"/panel/map.json?focus={codes['pothole']}")).json()
    assert focus["focus"] is None
    own = await (await wasim.get(f"/panel/map.json?focus={codes['rubbish']}")).json()
    assert own["focus"]["code"] == codes["rubbish"]


async def test_the_map_filters_like_the_list(site: Site, clients: Any) -> None:
    codes = await seed(site)
    olga = await clients("olga")
    roads = await (await olga.get("/panel/map.json?category=road_damage")).json()
    assert [p["code"] for p in roads["points"]] == [codes["pothole"]]
    closed = await (await olga.get("/panel/map.json?status=closed")).json()
    assert closed["points"] == []
    overdue = await (await olga.get("/panel/map.json?overdue=1")).json()
    assert overdue["points"] == []
    bad = await olga.get("/panel/map.json?from=not-a-date&category=nope")
    assert bad.status == 400
    assert set((await bad.json())["errors"]) == {"from", "category"}
    page = await olga.get("/panel/map?from=not-a-date")
    assert page.status == 400
    assert 'id="map"' not in await page.text()  # no map that would pass for the filtered one


async def test_the_map_page_points_the_script_at_its_data_and_the_ticket_links_to_it(
    site: Site, clients: Any
) -> None:
    codes = await seed(site)
    olga = await clients("olga")
    page = await olga.get(f"/panel/map?category=waste_collection&focus={codes['rubbish']}")
    html = await page.text()
    assert page.status == 200
    assert f'data-points="/panel/map.json?category=waste_collection&amp;focus={codes["rubbish"]}"' in html
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert '<script src="/panel/static/map.js" defer></script>' in html
    assert 'href="/panel/tickets?category=waste_collection"' in html  # the same tickets as a list, without JS
    ticket = await (await olga.get(f"/panel/tickets/{codes['district']}")).text()
    assert f'href="/panel/map?focus={codes["district"]}"' in ticket
    script = await olga.get("/panel/static/vendor/leaflet/leaflet.js")
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert (
        await olga.get("/panel/static/vendor/leaflet.markercluster/leaflet.markercluster.js")
    ).status == 200


async def test_roles_that_see_no_tickets_see_no_map(site: Site, clients: Any) -> None:
    adam = await clients("adam")
    assert (await adam.get("/panel/map")).status == 403
    assert (await adam.get("/panel/map.json")).status == 403
    anonymous = await clients()
    response = await anonymous.get("/panel/map.json")
    assert response.status == 303 and "/panel/login" in response.headers["Location"]


async def test_the_csp_lets_in_the_configured_tiles_and_scripts_only_from_the_panel(
    tmp_path: Path, clients: Any, site: Site
) -> None:
    olga = await clients("olga")
    csp = (await olga.get("/panel/map")).headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert "script-src 'self';" in csp and "unsafe" not in csp
    tiles = "https://{s}.tiles.example.ir:8443/{z}/{x}/{y}.png"
    assert "img-src 'self' data: https://*.tiles.example.ir:8443;" in await _login_csp(
        tmp_path, "tiles", tiles
    )
    assert "img-src 'self' data:;" in await _login_csp(tmp_path, "none", "")


async def _login_csp(tmp_path: Path, name: str, tiles: str) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
    async with running_site(url, tmp_path, map_tiles_url=tiles) as other:
        client = Client(other)
        try:
            return (await client.get("/panel/login")).headers["Content-Security-Policy"]
        finally:
            await client.close()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tiles.example/{z}/{x}/{y}.png",
        "https://tiles.example/{z}/{x}.png",
        "https://tiles.example; script-src *; /{z}/{x}/{y}.png",
        "https://a{s}.tiles.example/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}{x}{y}",
    ],
)
def test_a_tiles_url_the_csp_cannot_name_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="panel.map_tiles_url"):
        read_panel_settings(Table({"map_tiles_url": url}, "panel", base_dir=Path(), env={}))
