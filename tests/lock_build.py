"""A project a lock tool has locked, made buildable with the `buildinfo` hook and built into a wheel.

The lock tests' fixtures lock real projects once per module; a test that builds one works on a
copy, so the fixture's directory stays as the other tests expect it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import Project
from packaging.markers import Marker
from packaging.requirements import Requirement

from hatch_buildinfo.hook.locks import LockError, normalize_name, read_lock
from hatch_buildinfo.hook.locks import Project as LockProject
from hatch_buildinfo.info import BuildInfo

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

# The project, as every lock tool locks it: runtime dependencies (one only on Windows),
# an extra, and a dev group that must never be recorded.
SAMPLE_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo-pkg"
version = "1.2.3"
requires-python = ">=3.9"
dependencies = ["requests>=2.31", "colorama; sys_platform == 'win32'"]

[project.optional-dependencies]
cli = ["click"]

[dependency-groups]
dev = ["pytest"]
"""
BUILD_SYSTEM = '[build-system]\nrequires = ["hatchling", "hatch-buildinfo"]\nbuild-backend = "hatchling.build"\n\n'
HOOK_TABLE = "[tool.hatch.build.hooks.buildinfo]"


def hooked_copy(source: Path, destination: Path, hook_config: str = "") -> Project:
    """A copy of the project at `source` that builds with the hook.

    Virtual environments a tool made are left out of the copy. The copy's pyproject.toml gets a
    `[build-system]` that requires hatchling and hatch-buildinfo, the hook's table (with
    `hook_config`), and the project gets a package named after it when it has none.
    """
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    pyproject = destination / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if "build-system" not in data:
        text = BUILD_SYSTEM + text
    elif "hatch-buildinfo" not in data["build-system"]["requires"]:
        assert data["build-system"] == {"requires": ["hatchling"], "build-backend": "hatchling.build"}, data
        text = text.replace('requires = ["hatchling"]', 'requires = ["hatchling", "hatch-buildinfo"]', 1)
    if HOOK_TABLE not in text:
        text += f"\n{HOOK_TABLE}\n{hook_config}"
    pyproject.write_text(text, encoding="utf-8")
    package = destination / re.sub(r"[-_.]+", "_", data["project"]["name"]).lower()
    if not (package / "__init__.py").is_file():
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text('"""A package to stamp."""\n', encoding="utf-8")
    return Project(destination)


def built_dependencies(project: Project) -> tuple[tuple[str, ...], ...]:
    """The locked dependencies a wheel of `project`, built with the hook, records."""
    info: BuildInfo = project.built_info()
    assert info.dependencies, "a build of a locked project records its locked dependencies"
    assert len(set(info.dependencies)) == len(info.dependencies), info.dependencies
    return info.dependencies


def pairs(dependencies: tuple[tuple[str, ...], ...]) -> set[tuple[str, str]]:
    """The (name, version) pairs of recorded dependencies."""
    return {(name, version) for name, version, *_ in dependencies}


def as_recorded(triples) -> set[tuple[str, ...]]:
    """(name, version, marker or None) triples in the form a build records: (name, version[, marker])."""
    return {(name, version, marker) if marker else (name, version) for name, version, marker in triples}


def as_set(packages) -> set[tuple[str, str, str | None]]:
    """read_lock's answer as a set of (name, version, marker), after checking it holds no repeats."""
    assert len(set(packages)) == len(packages)
    return {(package.name, package.version, package.marker) for package in packages}


def copied_as(lock: Path, directory: Path, name: str) -> Path:
    """`lock` copied into a new `directory` under `name`, the file name read_lock knows."""
    directory.mkdir()
    return Path(shutil.copy(lock, directory / name))


def exported_pins(text: str) -> list[tuple[str, str, Marker | None]]:
    """(name, version, marker) of each line of a lock tool's requirements export; every line must pin with ==."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        (pin,) = requirement.specifier
        assert pin.operator == "==", line
        found.append((normalize_name(requirement.name), pin.version, requirement.marker))
    return found


def lock_error(path: Path, project: LockProject) -> str:
    """read_lock's error for `path`: one line that starts with the file's path."""
    with pytest.raises(LockError) as raised:
        read_lock(path, project)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message
