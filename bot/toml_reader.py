"""Typed reading of one TOML table, with errors that name the dotted key.

Each component gets its own `Table` and builds its own frozen settings from it, so nothing
reads another component's keys. Secrets never sit in the file: a key `<name>_env` names the
environment variable that holds `<name>`.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the dotted key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config: {key}: {problem}")
        self.key = key
        self.problem = problem


class Table:
    """One TOML table with typed getters; remembers which keys were read to flag unknown ones."""

    def __init__(self, data: Mapping[str, Any], path: str, *, base_dir: Path, env: Mapping[str, str]) -> None:
        self._data = data
        self.path = path
        self.base_dir = base_dir
        self._env = env
        self._seen: set[str] = set()

    def dotted(self, key: str) -> str:
        """The full dotted name of `key` in this table."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """Whether the table sets `key`."""
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def _get(self, key: str, default: Any, kind: type | tuple[type, ...], kind_name: str) -> Any:
        self._seen.add(key)
        if key not in self._data:
            if default is _REQUIRED:
                raise ConfigError(self.dotted(key), "missing")
            return default
        value = self._data[key]
        if (
            isinstance(value, bool)
            and kind is not bool
            and bool not in (kind if isinstance(kind, tuple) else ())
        ):
            raise ConfigError(self.dotted(key), f"expected {kind_name}, got a boolean")
        if not isinstance(value, kind):
            raise ConfigError(self.dotted(key), f"expected {kind_name}, got {type(value).__name__} {value!r}")
        return value

    def str(self, key: builtins.str, default: Any = ...) -> builtins.str:
        """A string value."""
        value = self._get(key, _REQUIRED if default is ... else default, str, "a string")
        if value is not None and not value.strip() and default is ...:
            raise ConfigError(self.dotted(key), "must not be empty")
        return value

    def int(
        self,
        key: builtins.str,
        default: Any = ...,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int:
        """An integer value within bounds."""
        value = self._get(key, _REQUIRED if default is ... else default, int, "an integer")
        self._bounds(key, value, minimum, maximum)
        return value

    def float(
        self,
        key: builtins.str,
        default: Any = ...,
        *,
        minimum: builtins.float | None = None,
        maximum: builtins.float | None = None,
    ) -> builtins.float:
        """A number value within bounds."""
        value = self._get(key, _REQUIRED if default is ... else default, (int, float), "a number")
        self._bounds(key, value, minimum, maximum)
        return float(value)

    def bool(self, key: builtins.str, default: Any = ...) -> builtins.bool:
        """A boolean value."""
        return self._get(key, _REQUIRED if default is ... else default, bool, "true or false")

    def choice(
        self, key: builtins.str, choices: tuple[builtins.str, ...], default: Any = ...
    ) -> builtins.str:
        """A string that must be one of `choices`."""
        value = self.str(key, default)
        if value not in choices:
            raise ConfigError(self.dotted(key), f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, key: builtins.str, default: Any = ...) -> list[builtins.str]:
        """A list of strings."""
        value = self._get(key, _REQUIRED if default is ... else default, list, "a list of strings")
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(self.dotted(key), "expected a list of strings")
        return list(value)

    def path_value(self, key: builtins.str, default: Any = ...) -> Path:
        """A filesystem path; relative paths are taken from the config file's folder."""
        path = Path(self.str(key, default)).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    def secret(self, key: builtins.str, *, required: builtins.bool = True) -> builtins.str | None:
        """Read `<key>_env` (an environment variable's name) and return that variable's value."""
        env_key = f"{key}_env"
        name = self._get(env_key, _REQUIRED if required else None, str, "an environment variable name")
        if name is None:
            return None
        value = self._env.get(name)
        if not value:
            raise ConfigError(self.dotted(env_key), f"environment variable {name} is not set")
        return value

    def env_value(self, name: builtins.str) -> builtins.str | None:
        """The environment variable `name`'s value, None when it is unset or empty (for a secret
        that may be absent, e.g. API keys: no keys means the door they open stays shut)."""
        return self._env.get(name) or None

    def table(self, key: builtins.str, *, required: builtins.bool = False) -> Table:
        """A nested table (empty when absent and not required)."""
        value = self._get(key, _REQUIRED if required else {}, dict, "a table")
        return Table(value, self.dotted(key), base_dir=self.base_dir, env=self._env)

    def check_unknown(self) -> None:
        """Fail on keys nobody read: a typo should not be silently ignored."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ConfigError(self.dotted(unknown[0]), "unknown key")

    def _bounds(
        self,
        key: builtins.str,
        value: builtins.float,
        minimum: builtins.float | None,
        maximum: builtins.float | None,
    ) -> None:
        if minimum is not None and value < minimum:
            raise ConfigError(self.dotted(key), f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.dotted(key), f"must be at most {maximum}, got {value}")


class _Required:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Required()


def environment() -> Mapping[str, str]:
    """The process environment (a seam so tests pass their own mapping)."""
    return os.environ
