"""The whole GeoReport v2 walk against a real `sada serve` process over real HTTP, in JSON and XML:
discovery → services → a definition → POST (with and without a key) → the list → one request;
the citizen who gave a phone gets the tracking code from a fake Kavenegar server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bot.taxonomy import default_taxonomy_data
from tests.channels.conftest import HOOK_SECRET
from tests.channels.fakes import FakeSmsProviders
from tests.channels.sms_senders import KAVENEGAR_KEY, SENDERS
from tests.open311.conftest import DECLARATION, KEY, RUBBISH, xml_root

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, port: int, sms_api: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"[service]\nport = {port}\n"
        '[store]\nurl = "sqlite+aiosqlite:///sada.db"\n[nlp]\nclassifier = "keywords"\n'
        '[channels.sms]\nkind = "kavenegar"\napi_key_env = "KAVENEGAR_KEY"\nsender = "10004346"\n'
        f'webhook_secret_env = "HOOK_SECRET"\nbase_url = "{sms_api}"\ntimeout_seconds = 2.0\n'
        '[open311]\napi_keys_env = "CITY_OPEN311_KEYS"\n',
        encoding="utf-8",
    )
    return config


async def _wait_healthy(http: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process) -> None:
    for _ in range(450):
        try:
            async with http.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        assert proc.returncode is None, "sada serve ended before it was healthy"
        await asyncio.sleep(0.2)
    raise AssertionError("sada serve did not become healthy")


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, fmt: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        text = await response.text()
        assert response.headers["Content-Type"] == (JSON_TYPE if fmt == "json" else XML_TYPE), url
        if fmt == "json":
            return response.status, json.loads(text)
        assert text.startswith(DECLARATION)
        return response.status, text


async def _walk(http: aiohttp.ClientSession, url: str, fmt: str) -> str:
    """One format's walk; returns the tracking code it filed with a phone."""
    status, doc = await _call(http, "GET", f"{url}/open311/v2/discovery.{fmt}", fmt)
    assert status == 200
    if fmt == "json":
        endpoint = doc["endpoints"][0]["url"]
    else:
        endpoint = xml_root(doc, "discovery").findtext("endpoints/endpoint/url") or ""
    assert endpoint == f"{url}/open311/v2"
    status, doc = await _call(http, "GET", f"{endpoint}/services.{fmt}", fmt)
    assert status == 200
    if fmt == "json":
        codes = [s["service_code"] for s in doc]
        assert all(s["metadata"] is False and s["type"] == "realtime" for s in doc)
    else:
        codes = [s.findtext("service_code") or "" for s in xml_root(doc, "services").findall("service")]
    assert codes == list(default_taxonomy_data()["categories"])
    status, doc = await _call(http, "GET", f"{endpoint}/services/road_damage.{fmt}", fmt)
    assert status == 200
    form = {"service_code": "road_damage", "lat": "35.70", "long": "51.40", "description": RUBBISH}
    status, doc = await _call(http, "POST", f"{endpoint}/requests.{fmt}", fmt, data=form)
    assert status == 403
    status, doc = await _call(
        http, "POST", f"{endpoint}/requests.{fmt}", fmt, data={**form, "api_key": KEY, "service_code": "nope"}
    )
    assert status == 404
    phone = "09121112233" if fmt == "json" else "09124445566"
    status, doc = await _call(
        http, "POST", f"{endpoint}/requests.{fmt}", fmt, data={**form, "api_key": KEY, "phone": phone}
    )
    assert status == 200
    if fmt == "json":
        code = doc[0]["service_request_id"]
    else:
        code = xml_root(doc, "service_requests").findtext("request/service_request_id") or ""
    assert len(code) == 10
    status, doc = await _call(http, "GET", f"{endpoint}/requests.{fmt}", fmt, params={"status": "open"})
    assert status == 200
    status, one = await _call(http, "GET", f"{endpoint}/requests/{code}.{fmt}", fmt)
    assert status == 200
    if fmt == "json":
        assert code in [r["service_request_id"] for r in doc]
        assert one[0]["service_code"] == "road_damage" and one[0]["status"] == "open"
        assert phone not in json.dumps(doc, ensure_ascii=False)
    else:
        listed = [
            r.findtext("service_request_id") for r in xml_root(doc, "service_requests").findall("request")
        ]
        assert code in listed and phone not in doc
        request = xml_root(one, "service_requests").find("request")
        assert request is not None and request.findtext("service_code") == "road_damage"
    status, _ = await _call(http, "GET", f"{endpoint}/requests/1234567890.{fmt}", fmt)
    assert status == 404
    status, _ = await _call(http, "GET", f"{endpoint}/requests.{fmt}", fmt, params={"start_date": "soon"})
    assert status == 400
    return code


async def test_the_georeport_walk_against_sada_serve(tmp_path: Path) -> None:
    sms = FakeSmsProviders(SENDERS)
    sms_api = await sms.start()
    port = _free_port()
    env = {
        **os.environ,
        "KAVENEGAR_KEY": KAVENEGAR_KEY,
        "HOOK_SECRET": HOOK_SECRET,
        "CITY_OPEN311_KEYS": f"conformance:{KEY}",
    }
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bot", "--config", str(_config(tmp_path, port, sms_api)), "serve"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_healthy(http, url, proc)
            codes = [await _walk(http, url, fmt) for fmt in ("json", "xml")]
            for _ in range(300):  # the outbox sends in the background
                if len({to for _, to, _ in sms.texts()}) == 2:
                    break
                await asyncio.sleep(0.1)
        sent = sms.texts()
        # (A service_code other than the classifier's also sends "referred to the unit in charge".)
        assert {to for _, to, _ in sent} == {"09121112233", "09124445566"}, (sent, codes)
        digits = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
        assert all(any(code in text.translate(digits) for _, _, text in sent) for code in codes)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        stderr = await asyncio.to_thread(log_file.read_text, encoding="utf-8")
        assert proc.returncode == 0, stderr
        assert "open311 POST client=conformance" in stderr
        assert KEY not in stderr and "09121112233" not in stderr and RUBBISH not in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sms.close()
