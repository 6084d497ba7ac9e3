"""The `serve --workers` supervisor's shutdown is bounded (bot/runtime/processes.py); the whole-process
behaviour (one port, SIGKILL, a dead worker) is in tests/robustness/test_processes.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from bot.runtime.processes import EXIT_STUCK, _stop_all

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)"
)


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    stubborn = await asyncio.create_subprocess_exec(
        sys.executable, "-c", IGNORES_SIGTERM, stdout=asyncio.subprocess.PIPE
    )
    assert stubborn.stdout is not None
    await stubborn.stdout.readline()  # its SIGTERM handler is in place
    polite = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)")
    await _stop_all([stubborn, polite], grace=0.5)  # returns at all: nobody waited for the 60 s
    assert polite.returncode == -15  # SIGTERM was enough
    assert stubborn.returncode == -9  # SIGKILL after the grace period


def test_a_stuck_shutdown_ends_the_process_with_exit_70() -> None:
    stuck = "from bot.runtime.processes import exit_if_stuck; import time; exit_if_stuck(0.3); time.sleep(30)"
    done = subprocess.run(
        [sys.executable, "-c", stuck], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == EXIT_STUCK, done.stderr  # not 0 after the 30 s sleep
    assert "shutdown did not finish" in done.stderr
