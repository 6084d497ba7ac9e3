"""The real processes: `sada serve` answers /healthz and stops cleanly on SIGTERM; `sada chat` talks."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.tracking import is_valid
from nlp.letters import ascii_digits


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, port: int = 0) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"[service]\nport = {port}\n"
        '[store]\nurl = "sqlite+aiosqlite:///sada.db"\n[nlp]\nclassifier = "keywords"\n',
        encoding="utf-8",
    )
    return config


def test_serve_reports_health_and_drains_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(_config(tmp_path, port)), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:  # noqa: S310
                    body = json.loads(resp.read())
                    assert resp.status == 200
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.communicate()[1]) from None
                time.sleep(0.2)
        assert body == {"status": "ok", "store": "ok", "channels": [], "worker": 0, "restarts": {}}
        assert (tmp_path / "sada.db").exists()  # created beside the config on first start
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        assert "stopped" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_chat_files_a_request_and_reads_its_status(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "chat", "--echo"],
        input="سلام\nسلام، چراغ های کوچه ما سه شبه خاموشه و کوچه تاریکه\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "کد پیگیری" in first.stdout
    digits = ascii_digits(first.stdout.split("کد پیگیری:")[1].split()[0])
    assert is_valid(digits)
    # A later session (same store) asks for the status with the code in Persian digits.
    second = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "chat", "--echo"],
        input=f"پیگیری {first.stdout.split('کد پیگیری:')[1].split()[0]}\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    assert "وضعیت درخواست" in second.stdout and "روشنایی معابر" in second.stdout


def test_simulate_runs_the_batch(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(_config(tmp_path)), "simulate"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "duplicate=True" in proc.stdout and "survey_answer" in proc.stdout
    assert "پیدا نشد" in proc.stdout
