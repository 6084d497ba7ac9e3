"""Which package may import which: read from the source with `ast`, every import statement counted
(inside functions and `if TYPE_CHECKING:` blocks too).

- `storage/` returns rows and counts: of `bot` it uses the domain types (`bot.models`) only, and no
  calendar: Tehran weeks, Jalali months and labels are the bot's (`bot/web/report_periods.py`).
- `nlp/` imports nothing of ours (docs/ARCHITECTURE.md, "Classifier contract").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("bot", "channels", "nlp", "storage", "bench", "tests")


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of the modules `path` imports (`from a.b import c` gives `a.b` and `a.b.c`)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    """A rule the scanner cannot see through would pass whatever the code does."""
    probe = tmp_path / "storage" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "import jdatetime\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from bot.dates.jalali import TEHRAN\n"
        "def f():\n"
        "    from . import tables\n"
        "    from .reports import Bucket\n",
        encoding="utf-8",
    )
    names = imports(probe, root=tmp_path)
    assert {
        "jdatetime",
        "bot.dates.jalali",
        "bot.dates.jalali.TEHRAN",
        "storage.tables",
        "storage.reports",
    } <= names


@pytest.mark.parametrize("path", sources("storage"), ids=lambda p: str(p.relative_to(ROOT)))
def test_storage_uses_only_the_domain_types_of_the_bot_and_no_calendar(path: Path) -> None:
    names = imports(path)
    from_bot = {n for n in names if top(n) == "bot" and n != "bot" and not n.startswith("bot.models")}
    assert not from_bot, f"{path.name} imports {sorted(from_bot)}: storage returns rows, the bot shapes them"
    calendars = {n for n in names if top(n) in ("jdatetime", "zoneinfo")}
    assert not calendars, f"{path.name} imports {sorted(calendars)}: Jalali/Tehran shaping is the bot's"


@pytest.mark.parametrize("path", sources("nlp"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nlp_imports_nothing_of_ours(path: Path) -> None:
    ours = {n for n in imports(path) if top(n) in OURS and top(n) != "nlp"}
    assert not ours, f"{path.name} imports {sorted(ours)}"


# The rooms of bot/ (each package's docstring says the same in words).
DOMAIN = {f"bot.{m}" for m in ("models", "lifecycle", "tracking", "taxonomy", "replies", "toml_reader")}
# What any room may use of channels/: the Protocols, phone numbers, SMS segment counting.
# (`channels.desk` is no provider: the channel of walk-ins recorded without a number.)
SHARED_CHANNEL_PARTS = {"channels", "channels.base", "channels.phone", "channels.segments", "channels.desk"}
WORKING_ROOMS = ("intake", "outbox", "runtime", "jobs", "digest", "dates")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def from_bot(path: Path) -> set[str]:
    """The bot modules `path` imports, to module level (`bot.intake.flood`, not its names)."""
    known = {module_name(p) for p in sources("bot")}
    found = set()
    for name in imports(path):
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name.startswith("bot.") and name != module_name(path):
            found.add(name)
    return found


def in_room(name: str, *rooms: str) -> bool:
    return any(name == f"bot.{r}" or name.startswith(f"bot.{r}.") for r in rooms)


def test_bot_keeps_about_ten_modules_at_its_top_level() -> None:
    top_level = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert len(top_level) <= 10, top_level
    for package in sorted(p for p in (ROOT / "bot").iterdir() if (p / "__init__.py").is_file()):
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc) > 100, f"{package.name}/__init__.py must say what it owns and may import"


@pytest.mark.parametrize("path", sources("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_room_imports_only_what_its_docstring_allows(path: Path) -> None:
    name = module_name(path)
    used = from_bot(path)
    if name in DOMAIN:
        allowed = {n for n in used if n in DOMAIN or in_room(n, "dates")}
        assert used == allowed, f"the domain ({name}) imports {sorted(used - allowed)}"
    if in_room(name, "dates"):
        assert all(in_room(n, "dates") for n in used), f"{name} imports {sorted(used)}"
    if in_room(name, *WORKING_ROOMS):
        wrong = {n for n in used if in_room(n, "web", "cli") or n == "bot.app"}
        assert not wrong, f"{name} imports {sorted(wrong)}: pages and commands sit above the pipeline"
    if in_room(name, "runtime"):
        wrong = {n for n in used if in_room(n, "intake", "outbox", "jobs") or n == "bot.lifecycle"}
        assert not wrong, f"{name} imports {sorted(wrong)}: the runtime knows nothing of tickets"
    if not in_room(name, "cli") and name != "bot.__main__":
        assert not any(in_room(n, "cli") for n in used), f"{name} imports the CLI"
    if not in_room(name, "cli", "runtime") and name not in ("bot.app", "bot.config"):
        providers = {".".join(n.split(".")[:2]) for n in imports(path) if top(n) == "channels"}
        providers -= SHARED_CHANNEL_PARTS
        assert not providers, f"{name} imports {sorted(providers)}: only bot.runtime builds channels"


@pytest.mark.parametrize("path", sources("channels"), ids=lambda p: str(p.relative_to(ROOT)))
def test_channels_use_only_the_domain_types_and_the_config_reader_of_the_bot(path: Path) -> None:
    used = from_bot(path)
    assert used <= {"bot.models", "bot.toml_reader"}, f"{path.name} imports {sorted(used)}"
