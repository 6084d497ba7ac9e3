"""Discovery, the service list and service definitions, in JSON and XML, and the error documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.web.open311.formats import Many, render_xml
from tests.open311.conftest import Api, running_api, xml_root


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_discovery_names_this_endpoint_from_the_request_host(api: Api, fmt: str) -> None:
    status, text, response = await api.get(f"discovery.{fmt}")
    assert status == 200
    if fmt == "json":
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        doc = json.loads(text)
        endpoint = doc["endpoints"][0]
        assert endpoint["url"] == api.base and endpoint["type"] == "production"
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert set(endpoint["formats"]) == {"text/xml", "application/json"}
        assert all(isinstance(doc[k], str) and doc[k] for k in ("changeset", "contact", "key_service"))
    else:
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        root = xml_root(text, "discovery")
        assert root.findtext("endpoints/endpoint/url") == api.base
        assert root.findtext("endpoints/endpoint/type") == "production"
        formats = [f.text for f in root.findall("endpoints/endpoint/formats/format")]
        assert set(formats) == {"text/xml", "application/json"}
        assert all(root.findtext(k) for k in ("changeset", "contact", "key_service"))


async def test_discovery_uses_the_public_url_when_configured(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = {"public_url": "https://sada.example.ir/"}
    async with running_api(store_url, tmp_path, monkeypatch, service=service) as api:
        _, text, _ = await api.get("discovery.json")
    assert json.loads(text)["endpoints"][0]["url"] == "https://sada.example.ir/open311/v2"


async def test_services_list_every_category_in_both_formats(api: Api) -> None:
    taxonomy = api.sada.config.taxonomy
    status, text, response = await api.get("services.json")
    assert status == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    services = json.loads(text)
    assert isinstance(services, list)
    assert [s["service_code"] for s in services] == list(taxonomy.categories)
    for s in services:
        category = taxonomy.categories[s["service_code"]]
        assert s["service_name"] == category.name
        assert s["group"] == taxonomy.departments[category.department]
        assert s["description"] and isinstance(s["keywords"], str) and s["keywords"]
        assert s["metadata"] is False and s["type"] == "realtime"
    status, text, _ = await api.get("services.xml")
    root = xml_root(text, "services")
    items = root.findall("service")
    assert [s.findtext("service_code") for s in items] == list(taxonomy.categories)
    assert {s.findtext("metadata") for s in items} == {"false"}
    assert all(s.findtext("service_name") and s.findtext("group") for s in items)


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_every_service_has_a_definition_and_an_unknown_one_is_404(api: Api, fmt: str) -> None:
    for code in api.sada.config.taxonomy.categories:
        status, text, _ = await api.get(f"services/{code}.{fmt}")
        assert status == 200
        if fmt == "json":
            assert json.loads(text) == {"service_code": code, "attributes": []}
        else:
            root = xml_root(text, "service_definition")
            assert root.findtext("service_code") == code and root.find("attributes") is not None
    status, text, response = await api.get(f"services/no_such_service.{fmt}")
    assert status == 404
    if fmt == "json":
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        [err] = json.loads(text)
        assert err["code"] == 404 and "no_such_service" in err["description"]
    else:
        root = xml_root(text, "errors")
        assert root.findtext("error/code") == "404" and root.findtext("error/description")


async def test_an_unknown_format_is_an_xml_404(api: Api) -> None:
    status, text, _ = await api.get("services.html")
    assert status == 404
    assert xml_root(text, "errors").findtext("error/code") == "404"


async def test_open311_can_be_switched_off(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(store_url, tmp_path, monkeypatch, open311={"enabled": False}) as api:
        status, _, _ = await api.get("services.json")
    assert status == 404


def test_xml_drops_characters_xml_cannot_hold() -> None:
    """A control character in a citizen's text would make the whole document unparsable."""
    text = render_xml("service_requests", Many("request", [{"description": "a\x00b\x1bc & <d>"}]))
    assert xml_root(text, "service_requests").findtext("request/description") == "a\ufffdb\ufffdc & <d>"
