"""Read: what is installed, to compare with what was locked. Runs only when asked."""

from __future__ import annotations

import re


def normalize_name(name: str) -> str:
    """The PEP 503 form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def program_name(name: str) -> str:
    """The program a project or package name stands for in metrics: `-` and `.` become `_`."""
    return re.sub(r"[-.]", "_", name)


def installed_versions() -> dict[str, str] | None:
    """Every installed distribution's version by PEP 503 name, in one pass; None where unknowable.

    Python 3.7 has no `importlib.metadata`, so there it cannot be known.
    """
    try:
        from importlib.metadata import distributions
    except ImportError:
        return None
    versions: dict[str, str] = {}
    for distribution in distributions():
        name = distribution.metadata["Name"]
        if name:  # a broken install can leave metadata without a name
            versions.setdefault(normalize_name(name), distribution.version)
    return versions


def drifted(locked: tuple[tuple[str, str], ...], installed: dict[str, str]) -> dict[str, str | None]:
    """The locked packages whose installed version differs: name → installed version, None if absent."""
    return {name: installed.get(name) for name, version in locked if installed.get(name) != version}
