"""`sada serve` on a port someone else holds says so in one line and exits with 2 (no traceback).

The real command line in a child process, against a port this test keeps listening on.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXIT_CONFIG = 2


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 with another program listening on it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def serve(tmp_path: Path, port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "sada.toml"
    config.write_text(
        f'[service]\nport = {port}\nevent_loop = "asyncio"\n'
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path / "sada.db"}"\n'
        '[nlp]\nclassifier = "keywords"\n',
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "serve", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("workers", [(), ("--workers", "2")], ids=["one process", "workers"])
def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, busy_port: int, workers: tuple[str, ...]) -> None:
    done = serve(tmp_path, busy_port, *workers)
    assert done.returncode == EXIT_CONFIG, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"sada: config: service.port: 127.0.0.1:{busy_port} is already in use by another program"
    ]
