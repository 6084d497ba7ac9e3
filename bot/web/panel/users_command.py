"""`sada users add | passwd | disable | enable | role | list`: panel accounts from the command line.

Every change writes a `user_audit` row (actor "cli") in the transaction that makes it, as the
panel's users page does; the audit never holds a password or its hash.

Passwords are read from a prompt (twice, without echo) or, when standard input is not a terminal
or `--password-stdin` is given, from its first line; never from the command line, where they would
land in shell history and the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from typing import Any

from bot.config import AppConfig
from bot.dates.clock import SystemClock
from bot.web.panel.passwords import hash_password_async
from storage.store import Store
from storage.user_audit import UserAuditRepository
from storage.users import ROLES
from storage.web_sessions import WebSessionRepository

USERNAME = re.compile(r"^[a-z0-9_.\-]{2,64}$")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CLI = "cli"  # the audit's actor for changes made with `sada users`


class PasswordError(Exception):
    """The password could not be read or is too weak."""


def add_parser(subparsers: Any) -> None:
    """Add `users` and its sub-commands to the `sada` parser."""
    users = subparsers.add_parser("users", help="panel accounts: add, passwd, disable, enable, role, list")
    sub = users.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("username", help="login name: lower-case Latin letters, digits, . _ -")
    add.add_argument("--role", required=True, choices=ROLES, help="operator | staff | manager | admin")
    add.add_argument("--department", help="department code (required for staff)")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = sub.add_parser("passwd", help="set a new password (logs the user out everywhere)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name, help_text in (("disable", "block an account and end its sessions"), ("enable", "unblock")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("username")
    role = sub.add_parser("role", help="change an account's role and department")
    role.add_argument("username")
    role.add_argument("--role", required=True, choices=ROLES, help="operator | staff | manager | admin")
    role.add_argument("--department", help="department code (required for staff; omit for none)")
    sub.add_parser("list", help="show every account")
    users.set_defaults(run=run)


def read_password(from_stdin: bool, minimum: int) -> str:
    """A new password from stdin's first line or from two matching prompts."""
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise PasswordError("the two passwords differ")
    if len(password) < minimum:
        raise PasswordError(f"the password needs at least {minimum} characters")
    return password


async def run(args: argparse.Namespace, config: AppConfig) -> int:
    """Carry out one `sada users` sub-command."""
    settings = config.panel
    username = str(getattr(args, "username", "") or "").strip().lower()
    if args.users_command != "list" and not USERNAME.match(username):
        print(f"sada users: invalid username {username!r}: use a-z, 0-9, '.', '_', '-'", file=sys.stderr)
        return EXIT_USAGE
    if args.users_command in ("add", "role"):
        if args.department and args.department not in config.taxonomy.departments:
            known = ", ".join(config.taxonomy.departments)
            print(f"sada users: unknown department {args.department!r} (known: {known})", file=sys.stderr)
            return EXIT_USAGE
        if args.role == "staff" and not args.department:
            print("sada users: department staff need --department", file=sys.stderr)
            return EXIT_USAGE
    password_hash = None
    if args.users_command in ("add", "passwd"):
        try:
            minimum = settings.min_password_length
            password = await asyncio.to_thread(read_password, args.password_stdin, minimum)
        except PasswordError as exc:
            print(f"sada users: {exc}", file=sys.stderr)
            return EXIT_USAGE
        password_hash = await hash_password_async(password)
    store = Store.from_url(config.store.url, busy_timeout_ms=config.store.busy_timeout_ms)
    try:
        await store.ensure_ready()
        return await _apply(store, args, username, password_hash)
    finally:
        await store.aclose()


async def _apply(store: Store, args: argparse.Namespace, username: str, password_hash: str | None) -> int:
    async with store.transaction() as tx:
        audit, now = UserAuditRepository(tx.session), SystemClock().now()
        command = args.users_command
        if command == "list":
            for each in await tx.users.all():
                state = "active" if each.active else "disabled"
                print(f"{each.username}\t{each.role}\t{each.department or '-'}\t{state}\t{each.display_name}")
            return EXIT_OK
        user = await tx.users.by_username(username)
        if command == "add":
            if user is not None:
                print(f"sada users: {username!r} already exists", file=sys.stderr)
                return EXIT_FAILED
            assert password_hash is not None  # noqa: S101 - read above for add
            name = args.name or username
            await tx.users.add(username, name, args.role, args.department, password_hash, now)
            await audit.record(
                now, CLI, username, "added", {"role": args.role, "department": args.department}
            )
            print(f"added {username} ({args.role}); log in at /panel/login")
            return EXIT_OK
        if user is None:
            print(f"sada users: no user {username!r}", file=sys.stderr)
            return EXIT_FAILED
        if command == "passwd":
            assert password_hash is not None  # noqa: S101 - read above for passwd
            await tx.users.set_password_hash(username, password_hash)
            await audit.record(now, CLI, username, "password_reset")
        elif command == "role":
            department = args.department or None
            if (args.role, department) != (user.role, user.department):
                await tx.users.set_role(username, args.role, department)
                change = {
                    "from_role": user.role,
                    "to_role": args.role,
                    "from_department": user.department,
                    "to_department": department,
                }
                await audit.record(now, CLI, username, "role_changed", change)
        elif user.active != (command == "enable"):
            await tx.users.set_active(username, command == "enable")
            await audit.record(now, CLI, username, "enabled" if command == "enable" else "disabled")
        if command in ("passwd", "disable"):
            await WebSessionRepository(tx.session).end_for_user(user.id)
        print(f"{command}: {username} done")
        return EXIT_OK
