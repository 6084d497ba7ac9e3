"""`sada demo`, as a real process: fake providers on 127.0.0.1, citizens' messages through the real
service, answers with tracking codes, a panel account that logs in, a clean stop, and no connection
to anything but this machine (every socket call is checked by an audit hook in the process)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp

from bot.cli.demo import TRAFFIC
from bot.tracking import is_valid
from nlp.letters import ascii_digits

# Runs first in the demo's process: any connection, datagram or name lookup beyond loopback is
# reported on stderr and refused. (Python's asyncio loop goes through the audited socket calls;
# uvloop would not, so the config below picks asyncio.)
GUARD = """
import ipaddress, sys

def _loopback(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"

def _guard(event, args):
    if event in ("socket.connect", "socket.sendto"):
        host = args[1][0] if isinstance(args[1], tuple) else None
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        host = args[0]
    else:
        return
    if not _loopback(host):
        sys.stderr.write(f"OFF-MACHINE {event} {host}\\n")
        raise PermissionError(f"the demo must stay on this machine: {event} {host}")

sys.addaudithook(_guard)
"""
RUN_SADA = "from bot.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
CODE = re.compile(r"کد پیگیری: ([۰-۹0-9]{10})")
READY = "Ctrl+C stops it"


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('[service]\nevent_loop = "asyncio"\n[nlp]\nclassifier = "keywords"\n', encoding="utf-8")
    return config


def _demo_args(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", GUARD + RUN_SADA, "--config", str(_config(tmp_path)), "demo", *args]


def test_the_guard_refuses_lookups_and_connections_off_this_machine() -> None:
    probe = (
        "import contextlib, socket\n"
        "with contextlib.suppress(PermissionError):\n"
        "    socket.getaddrinfo('example.org', 443)\n"
        "with contextlib.suppress(PermissionError), socket.socket() as s:\n"
        "    s.connect(('192.0.2.1', 80))\n"  # TEST-NET-1: refused before any packet leaves
        "with socket.socket() as s:\n"
        "    s.bind(('127.0.0.1', 0)); s.listen(); socket.create_connection(s.getsockname()).close()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", GUARD + probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr  # loopback is allowed
    assert "OFF-MACHINE socket.getaddrinfo example.org" in proc.stderr
    assert "OFF-MACHINE socket.connect 192.0.2.1" in proc.stderr


def test_demo_once_answers_every_citizen_with_tracking_codes(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    proc = subprocess.run(
        _demo_args(tmp_path, "--once", "--dir", str(folder)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OFF-MACHINE" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    out = proc.stdout
    assert f"{len(TRAFFIC)} of {len(TRAFFIC)} messages answered" in out, out
    assert "sada demo: stopped" in out
    # The password is shown on the terminal once and never logged.
    password = re.search(r"login +demo +password (\S+)", out)
    assert password is not None
    assert password.group(1) not in proc.stderr
    # What the fake providers received: one new code per new request (4), each valid; the fire
    # report is urgent (call 125); the status question is answered with the first code's status.
    codes = [ascii_digits(code) for code in CODE.findall(out)]
    assert len(codes) == 4 and len(set(codes)) == 4 and all(is_valid(code) for code in codes), out
    answers = out.split("\n← ")
    assert any("۱۲۵" in answer and answer.startswith("SMS to 09351110002") for answer in answers), out
    assert any(f"وضعیت درخواست {CODE.findall(out)[0]}" in answer for answer in answers), out
    # The tickets are in the demo's store, under the codes the citizens were given.
    with contextlib.closing(sqlite3.connect(folder / "demo.db")) as db:
        stored = {row[0] for row in db.execute("SELECT tracking_code FROM tickets")}
    assert stored == set(codes)


async def test_demo_serves_the_panel_and_tells_citizens_until_sigterm(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *_demo_args(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    assert proc.stdout is not None
    try:
        out = ""
        async with asyncio.timeout(60):
            while READY not in out:
                line = (await proc.stdout.readline()).decode()
                assert line, out  # the demo ended before it was ready
                out += line
        panel = re.search(r"panel +(http://127\.0\.0\.1:\d+)/panel/", out)
        password = re.search(r"login +demo +password (\S+)", out)
        store = re.search(r"store +(\S+) \(deleted on exit\)", out)
        assert panel and password and store, out
        base = panel.group(1)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP host
            async with http.get(f"{base}/healthz") as health:
                assert (await health.json())["channels"] == ["sms", "telegram"]
            assert await _login(http, base, "wrong-password-1") == 401
            assert await _login(http, base, password.group(1)) == 303
            async with http.get(f"{base}/panel/", allow_redirects=False) as front:
                # Logged in: the front door sends an operator to triage, not to the login page.
                assert front.status == 303 and front.headers["Location"].endswith("/panel/triage")
            # The operator takes the first ticket in hand; the citizen's Telegram is told at once.
            async with http.get(f"{base}/panel/triage") as triage:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await triage.text())
            assert csrf
            code = ascii_digits(CODE.findall(out)[0])
            form = {"csrf": csrf.group(1), "to": "in_progress", "note": "اکیپ برق اعزام شد"}
            async with http.post(
                f"{base}/panel/tickets/{code}/status", data=form, allow_redirects=False
            ) as act:
                assert act.status == 303, await act.text()
        async with asyncio.timeout(30):
            while "اکیپ برق اعزام شد" not in out:
                line = (await proc.stdout.readline()).decode()
                assert line, out
                out += line
        assert f"← Telegram to 1001            درخواست {CODE.findall(out)[0]} در دست اقدام است." in out
        proc.send_signal(signal.SIGTERM)
        rest, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()
        assert "sada demo: stopped" in rest.decode()
        assert "OFF-MACHINE" not in stderr.decode()
        assert not await asyncio.to_thread(Path(store.group(1)).exists)  # the throw-away store is gone
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _login(http: aiohttp.ClientSession, base: str, password: str) -> int:
    async with http.get(f"{base}/panel/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token
    form = {"csrf": token.group(1), "username": "demo", "password": password, "next": "/panel/"}
    async with http.post(f"{base}/panel/login", data=form, allow_redirects=False) as response:
        return response.status
