"""pyproject.toml never allows a release with a known, published vulnerability that we ship around.

`FIXED_IN` is the table to keep: a package, the first release without the advisories listed, and
why we care. A floor below it fails here. The installed environment must satisfy every declared
requirement, which also shows each floor exists on the package index.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

FIXED_IN: dict[str, tuple[str, str]] = {
    "aiohttp": (
        "3.14.4",
        "GHSA-4fvr-rgm6-gqmc (unbounded pipelined requests) and the other 3.14.1 advisories; "
        "CVE-2026-69244 (3.14.3); 3.14.4 times out connections that never complete a request, "
        "which bounds slow headers (bot/app.py web_app)",
    ),
    "jinja2": ("3.1.6", "GHSA-cpwx-vrp4-4pq7, GHSA-q2x7-8rv6-6q7h, GHSA-gmj6-6f8f-6699 (sandbox escapes)"),
    "aiosmtplib": ("5.1.2", "CVE-2026-53533 (5.1.1); CVE-2026-55558, PYSEC-2026-2338 (5.1.2)"),
    "scikit-learn": ("1.5.0", "CVE-2024-5206 (sensitive data kept in TfidfVectorizer.stop_words_)"),
    "pytest": ("9.0.3", "CVE-2025-71176 (predictable per-user temporary directory name)"),
    "playwright": ("1.55.1", "CVE-2025-59288 (browser download without certificate check)"),
    "aiosmtpd": ("1.4.6", "CVE-2024-27305 SMTP smuggling (1.4.5), CVE-2024-34083 STARTTLS injection (1.4.6)"),
}


def declared() -> dict[str, Requirement]:
    """Every requirement in pyproject.toml (runtime and the dev extra), by canonical name."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {canonicalize_name(req.name): req for req in map(Requirement, lines)}


def floor(req: Requirement) -> Version | None:
    """The lowest version the requirement allows (its `>=` bound), if it has one."""
    bounds = [Version(spec.version) for spec in req.specifier if spec.operator in (">=", "==", "~=")]
    return max(bounds) if bounds else None


@pytest.mark.parametrize("package", sorted(FIXED_IN))
def test_floor_is_at_or_above_the_first_fixed_release(package: str) -> None:
    fixed, why = FIXED_IN[package]
    req = declared().get(canonicalize_name(package))
    assert req is not None, f"{package} is not declared in pyproject.toml"
    lowest = floor(req)
    assert lowest is not None and lowest >= Version(fixed), f"{req}: needs >={fixed} ({why})"


def test_the_installed_environment_satisfies_every_declared_requirement() -> None:
    unmet = []
    for name, req in declared().items():
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{req}: not installed")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            unmet.append(f"{req}: {installed} installed")
    assert unmet == []
