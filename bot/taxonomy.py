"""Categories and departments: the routing vocabulary, read from config (default shipped)."""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.toml_reader import ConfigError, Table


@dataclass(frozen=True, slots=True)
class Category:
    """One category of request; `sla_days` counts working days (0 = immediate)."""

    code: str
    name: str
    department: str
    sla_days: int
    scope: str


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Departments (code → name) and categories (code → Category)."""

    departments: dict[str, str]
    categories: dict[str, Category]

    def department_of(self, category: str) -> str:
        """The department code that owns `category`."""
        return self.categories[category].department

    def category_departments(self) -> dict[str, str]:
        """Category code → department code, as the classifier wants it."""
        return {code: c.department for code, c in self.categories.items()}


def default_taxonomy_data() -> dict[str, Any]:
    """The shipped default taxonomy as a TOML mapping."""
    text = resources.files("bot").joinpath("taxonomy_default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def read_taxonomy(table: Table) -> Taxonomy:
    """Build and validate the taxonomy from its config table."""
    departments_table = table.table("departments", required=True)
    departments: dict[str, str] = {}
    for code in departments_table:
        departments[code] = departments_table.str(code)
    if not departments:
        raise ConfigError(departments_table.path, "at least one department is needed")
    categories_table = table.table("categories", required=True)
    categories: dict[str, Category] = {}
    for code in categories_table:
        entry = categories_table.table(code, required=True)
        department = entry.str("department")
        if department not in departments:
            raise ConfigError(entry.dotted("department"), f"unknown department {department!r}")
        categories[code] = Category(
            code=code,
            name=entry.str("name"),
            department=department,
            sla_days=entry.int("sla_days", minimum=0, maximum=365),
            scope=entry.str("scope", ""),
        )
        entry.check_unknown()
    if not categories:
        raise ConfigError(categories_table.path, "at least one category is needed")
    table.check_unknown()
    return Taxonomy(departments=departments, categories=categories)


def check_reachable(categories: Iterable[str], reachable: Collection[str], *, classifier: str) -> None:
    """Refuse a taxonomy category the classifier in service can never choose (neither training
    examples nor keywords name it, and it is not the fallback): its tickets would never exist."""
    for code in categories:
        if code not in reachable:
            raise ConfigError(
                f"taxonomy.categories.{code}",
                f"no message can reach this category: the {classifier} classifier has "
                + ("no training example" if classifier == "model" else "no keyword")
                + " for it (add some, or remove the category)",
            )
