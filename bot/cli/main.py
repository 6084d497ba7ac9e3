"""`sada`: the command line. Each sub-command is a thin shell over the composed service."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import check_listen_address, serve
from bot.config import AppConfig, load_config
from bot.runtime import event_loop
from bot.runtime.processes import SHUTDOWN_WATCHDOG, supervise
from bot.toml_reader import ConfigError
from channels import redaction
from storage.schema import SchemaOutOfDate, head_revision, schema_state
from storage.store import Store

log = logging.getLogger("sada")

EXIT_CONFIG = 2
EXIT_SCHEMA = 3

# Sub-commands owned by other modules. Each module has `add_parser(subparsers)`, which adds its
# parser and sets `run=<async (args, config) -> int>` as a default on it.
EXTENSIONS: tuple[str, ...] = (
    "bot.cli.nlp_commands",
    "bot.web.panel.users_command",
    "bot.digest.command",
    "bot.cli.retention",
    "bot.cli.demo",
)


def _config_path(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    if os.environ.get("SADA_CONFIG"):
        return Path(os.environ["SADA_CONFIG"])
    default = Path("config.toml")
    return default if default.exists() else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sada", description="Sada (صدا): citizen requests to the municipality"
    )
    parser.add_argument("--config", help="config file (default: $SADA_CONFIG, else ./config.toml if present)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="run the HTTP service, workers and channels")
    serve_cmd.add_argument(
        "--workers",
        type=int,
        help="service processes sharing the port and the database (default: service.workers)",
    )
    serve_cmd.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set by the supervisor
    chat = sub.add_parser("chat", help="talk to the bot as a citizen in this terminal")
    chat.add_argument("--as", dest="address", default="citizen", help="who you are (console address)")
    chat.add_argument("--echo", action="store_true", help="echo input lines (for piped transcripts)")
    sim = sub.add_parser("simulate", help="push a realistic batch of messages through the pipeline")
    sim.add_argument("--store", help="database URL (default: a fresh temporary SQLite file)")
    db = sub.add_parser("db", help="schema migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations")
    db_sub.add_parser("status", help="show the schema revision")
    for module in EXTENSIONS:
        importlib.import_module(module).add_parser(sub)
    return parser


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries whose lines below this level carry what people sent us, whatever our own level is:
# aiosqlite logs every statement with its parameters at DEBUG (phone numbers, message texts, CSRF
# tokens), python-telegram-bot every Bot API call with its parameters and answer at DEBUG, and
# SQLAlchemy its statements at INFO and result rows at DEBUG (it is quiet unless `store.echo`).
QUIET_LOGGERS = {"aiosqlite": logging.INFO, "telegram": logging.INFO, "sqlalchemy": logging.WARNING}


def configure_logging(level: int | str) -> None:
    """The service's logging: one stderr handler on the root logger at `level`, the chatty
    libraries of QUIET_LOGGERS held back, and every record cleaned of secrets and phone numbers."""
    redaction.install()
    root = logging.getLogger()
    if not any(h.get_name() == "sada" for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name("sada")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sada` console script."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(_config_path(args.config))
    except ConfigError as exc:
        print(f"sada: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.service.log_level if args.command == "serve" else logging.WARNING)
    try:
        return event_loop.run(_dispatch(args, config), config.service.event_loop)
    except SchemaOutOfDate as exc:
        print(f"sada: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
    except ConfigError as exc:
        print(f"sada: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, config: AppConfig) -> int:
    if getattr(args, "run", None) is not None:
        return int(await args.run(args, config))
    match args.command:
        case "serve":
            workers = args.workers if args.workers is not None else config.service.workers
            if args.worker_index is None and workers > 1:
                if config.service.port == 0:
                    raise ConfigError("service.workers", "several workers need a fixed service.port (not 0)")
                # Grace: the drain (shutdown_timeout) plus what the worker's own watchdog allows.
                grace = config.service.shutdown_timeout + SHUTDOWN_WATCHDOG + 5
                check_listen_address(config.service, shared=False)  # before any worker starts
                return await supervise(_config_path(args.config), workers, stop_grace=grace)
            await serve(config, worker_index=args.worker_index)
            return 0
        case "chat":
            from bot.cli.chat import chat

            return await chat(config, address=args.address, echo=args.echo)
        case "simulate":
            from bot.cli.simulate import simulate

            return await simulate(config, store_url=args.store)
        case "db":
            return await _db(args.db_command, config)
    raise AssertionError(args.command)  # pragma: no cover


async def _db(command: str, config: AppConfig) -> int:
    store = Store.from_url(config.store.url, busy_timeout_ms=config.store.busy_timeout_ms)
    try:
        if command == "upgrade":
            state = await store.upgrade()
            print(f"schema at revision {state.current} (head {state.head})")
            return 0
        state = await schema_state(store.engine)
        print(
            f"schema revision: {state.current or 'none'}; this code needs: {head_revision()}; "
            f"{'up to date' if state.up_to_date else 'run `sada db upgrade`'}"
        )
        return 0 if state.up_to_date else 1
    finally:
        await store.aclose()
