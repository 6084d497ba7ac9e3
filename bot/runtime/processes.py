"""`sada serve --workers N`: N service processes sharing one port and one database.

One Python process runs one event loop on one core. To use more cores, the supervisor (this
module, the process you start) runs N copies of `sada serve`, each listening on the same address
with SO_REUSEPORT, so the kernel spreads connections over them. Everything they share goes through
the database, which is what makes several processes safe: inbound messages are deduplicated by a
unique key, outbox rows are claimed with leases, digests are claimed per recipient and day, and
on SQLite a lock file hands the write lock from process to process (storage.write_lock).

Jobs that must run once per deployment, not once per process (polling channels such as the
hotline follower and Kavenegar polling, the survey closer and the digest) run in worker 0 only.

Shutdown is bounded: a worker that has not exited some time after SIGTERM exits anyway
(`exit_if_stuck`), and the supervisor kills a worker that outstays the grace period.

Start-up is sequential: worker 0 starts first and alone creates or checks the schema and, the
first time, trains the model; the others start once it serves. Each worker is told to die with
the supervisor (Linux `PR_SET_PDEATHSIG`), so a supervisor killed with SIGKILL leaves no orphan
behind. If a worker dies, the supervisor stops the others and exits with an error, for systemd
(or whatever runs it) to restart the whole service: half a service is harder to notice than none.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

READY_ENV = "SADA_WORKER_READY_FD"
EXIT_STUCK = 70  # a shutdown that hung and was cut short (EX_SOFTWARE)
SHUTDOWN_WATCHDOG = 30.0  # seconds a shutdown may take beyond draining requests
START_TIMEOUT = 600.0  # the first start may train the model
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def mark_ready() -> None:
    """Called by a worker once it serves: tells the supervisor (through a pipe) to start the next."""
    fd = os.environ.pop(READY_ENV, None)
    if fd and fd.isdigit():
        with os.fdopen(int(fd), "wb") as pipe:
            pipe.write(b"1")


async def supervise(config_path: Path | None, workers: int, *, stop_grace: float = 60.0) -> int:
    """Run `workers` service processes until SIGTERM/SIGINT; returns the exit code.

    On the way out each worker gets `stop_grace` seconds to drain before it is killed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    children: list[asyncio.subprocess.Process] = []
    code = 0
    try:
        for index in range(workers):
            child, ready = await _spawn(config_path, index)
            children.append(child)
            if not await _wait_ready(child, ready, stop):
                code = child.returncode or (0 if stop.is_set() else 1)
                break
        else:
            log.info("%d workers serving", workers)
            code = await _watch(children, stop)
    finally:
        await _stop_all(children, stop_grace)
    return code


async def _spawn(
    config_path: Path | None, index: int
) -> tuple[asyncio.subprocess.Process, asyncio.Future[bytes]]:
    """Start worker `index`; the future gets b"1" when it serves, or b"" if it dies first."""
    args = [sys.executable, "-m", "bot"]
    if config_path is not None:
        args += ["--config", str(config_path)]
    args += ["serve", "--worker-index", str(index)]
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, **{READY_ENV: str(write_fd)})
    try:
        child = await asyncio.create_subprocess_exec(
            *args,
            env=env,
            pass_fds=(write_fd,),
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - one prctl call, no locks taken
        )
    finally:
        os.close(write_fd)
    reader = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb")
    )
    # One byte or EOF is all the pipe will ever carry: close our end once either arrived.
    reader_done = asyncio.ensure_future(reader.read(1))
    reader_done.add_done_callback(lambda _f: transport.close())
    return child, reader_done


async def _wait_ready(
    child: asyncio.subprocess.Process, signalled: asyncio.Future[bytes], stop: asyncio.Event
) -> bool:
    """Until the worker serves (True), or it dies, times out or we are told to stop (False)."""
    stopping = asyncio.ensure_future(stop.wait())
    either: set[asyncio.Future[Any]] = {signalled, stopping}
    done, _ = await asyncio.wait(either, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if signalled in done and signalled.result():
        return True
    signalled.cancel()
    if not done:
        log.error("worker pid %d did not start within %.0f s", child.pid, START_TIMEOUT)
    elif not stop.is_set():
        log.error("worker pid %d exited while starting", child.pid)
    return False


async def _watch(children: list[asyncio.subprocess.Process], stop: asyncio.Event) -> int:
    """Until a stop signal (0) or a worker's death (its exit code, at least 1)."""
    waits = {asyncio.ensure_future(child.wait()): child for child in children}
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({stopping, *waits}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if stopping in done:
        return 0
    dead = next(waits[f] for f in done if f in waits)
    log.error("worker pid %d exited with %s: stopping the others", dead.pid, dead.returncode)
    return dead.returncode or 1


async def _stop_all(children: list[asyncio.subprocess.Process], grace: float) -> None:
    """SIGTERM every live worker (each drains its requests) and wait; SIGKILL any still there
    after `grace` seconds (a stuck shutdown must not keep the port or outlive the service)."""
    for child in children:
        if child.returncode is None:
            with suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            await asyncio.wait_for(child.wait(), grace)
        except TimeoutError:
            log.error("worker pid %d did not stop within %.0f s: killing it", child.pid, grace)
            with suppress(ProcessLookupError):
                child.kill()
            await child.wait()


def exit_if_stuck(seconds: float) -> threading.Timer:
    """Start a watchdog: if this process has not exited `seconds` from now, it exits with 70.

    Started when a worker begins its shutdown. Whatever hangs (a task that never finishes, a
    database that went away mid-close), the process ends, so a worker whose supervisor is gone
    cannot linger on as an orphan."""

    def give_up() -> None:
        log.error("shutdown did not finish within %.0f s: exiting", seconds)
        logging.shutdown()
        os._exit(EXIT_STUCK)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer
