"""Read poetry.lock (lock-version 2.1 and later, written by Poetry 2).

Each `[[package]]` records the `groups` that need it and the `markers` under which each group
does (one string for all groups, or a table by group); a package that only an extra pulls in
carries `extra == "..."` in its marker. The runtime set is every package of the "main" group
whose main marker holds for the project's chosen extras — what `poetry export --without dev`
lists — and the marker kept is the environment part of that marker.

Each package's hashes are those of its `files`; it requires the packages its
`[package.dependencies]` table names.

Lock-version 2.0 (Poetry 1.3 to 1.8) records no groups, so runtime and development packages
cannot be told apart from it: it is refused with a message to lock again with Poetry 2.

The lock is stale when its `[metadata] content-hash` is not the hash of pyproject.toml's relevant
keys as Poetry computes it (`Locker._get_content_hash`): what `poetry check --lock` reports and
`poetry install` refuses.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import InvalidVersion, Version

from . import Locked, LockError, Project, file_hashes, json_digest, load_toml, normalize_name, pyproject_of
from .selection import settle

MAIN = "main"
LOCK_COMMAND = "poetry lock"
# The keys of pyproject.toml whose content Poetry hashes (poetry.packages.locker.Locker): of
# [project], and of [tool.poetry], where the legacy ones count even when absent, as null, unless
# [project] or [dependency-groups] has something.
_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")
_LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
_POETRY_KEYS = (*_LEGACY_KEYS, "group")
# Poetry hashes [dependency-groups] too since 2.3; a lock an older one wrote is fresh by the hash without them.
_GROUPS_HASHED_SINCE = Version("2.3")
_WRITER = re.compile(r"Poetry ([^ ]+)")


def read(path: Path, project: Project) -> list[Locked]:
    data = load_toml(path)
    _check_lock_version(path, data)
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise LockError(path, "is not a list of tables", entry="package")
    extras = frozenset(normalize_name(extra) for extra in project.extras)
    found = []
    for number, entry in enumerate(packages, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise LockError(path, "has no name", entry=f"[[package]] #{number}")
        name, version = entry["name"], entry.get("version")
        if not isinstance(version, str) or not version.strip():
            raise LockError(path, "has no version", entry=name)
        groups = entry.get("groups")
        if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
            raise LockError(path, "has no list of groups, which its lock-version requires", entry=name)
        if MAIN not in {normalize_name(group) for group in groups}:
            continue
        marker = entry.get("markers")
        if isinstance(marker, dict):
            marker = {normalize_name(group): text for group, text in marker.items()}.get(MAIN)
        if marker is not None and not isinstance(marker, str):
            raise LockError(path, f"markers is neither a string nor a table of strings: {marker!r}", entry=name)
        settled = settle(path, name, marker, extras)
        if settled is not False:
            hashes = file_hashes(path, name, "files", entry.get("files", []))
            found.append(
                Locked(name, version, None if settled is True else settled, hashes, _requires(path, name, entry))
            )
    return found


def stale(path: Path, project: Project) -> str | None:
    """Why Poetry would refuse the lock for the project's pyproject.toml, or None."""
    pyproject = pyproject_of(project)
    if pyproject is None:
        return None
    metadata = load_toml(path).get("metadata")
    recorded = metadata.get("content-hash") if isinstance(metadata, dict) else None
    if not isinstance(recorded, str):
        return "it records no [metadata] content-hash"
    if recorded == _content_hash(pyproject, with_groups=True):
        return None
    if _written_before_groups_were_hashed(path) and recorded == _content_hash(pyproject, with_groups=False):
        return None
    return "its content-hash is not that of pyproject.toml's dependencies, sources and requires-python"


def _content_hash(pyproject: dict, with_groups: bool) -> str:
    project = pyproject.get("project", {})
    groups = pyproject.get("dependency-groups", {}) if with_groups else {}
    poetry = pyproject.get("tool", {}).get("poetry", {})
    relevant_project = {key: project[key] for key in _PROJECT_KEYS if project.get(key) is not None}
    relevant_poetry = {
        key: poetry.get(key)
        for key in _POETRY_KEYS
        if poetry.get(key) is not None or (key in _LEGACY_KEYS and not relevant_project and not groups)
    }
    content: dict = {}
    if relevant_project:
        content["project"] = relevant_project
    if groups:
        content["dependency-groups"] = groups
    # Without [project] content, Poetry hashes [tool.poetry]'s keys at the top level.
    content = {**content, "tool": {"poetry": relevant_poetry}} if content else relevant_poetry
    return json_digest(content)


def _written_before_groups_were_hashed(path: Path) -> bool:
    """Whether the lock's first line says a Poetry older than 2.3 wrote it."""
    with open(path, encoding="utf-8") as file:
        match = _WRITER.search(file.readline())
    try:
        return match is not None and Version(match.group(1)) < _GROUPS_HASHED_SINCE
    except InvalidVersion:
        return False


def _requires(path: Path, name: str, entry: dict) -> tuple[str, ...]:
    dependencies = entry.get("dependencies", {})
    if not isinstance(dependencies, dict):
        raise LockError(path, f"dependencies is not a table: {dependencies!r}", entry=name)
    return tuple(dependencies)


def _check_lock_version(path: Path, data: dict) -> None:
    metadata = data.get("metadata")
    version = metadata.get("lock-version") if isinstance(metadata, dict) else None
    if not isinstance(version, str):
        raise LockError(path, "no lock-version: not a lock that Poetry wrote", entry="[metadata]")
    match = re.fullmatch(r"(\d+)\.(\d+)", version.strip())
    if match and (int(match.group(1)), int(match.group(2))) == (2, 0):
        raise LockError(
            path,
            "lock-version '2.0' records no groups, so runtime and development packages cannot be told apart; "
            "lock again with Poetry 2",
            entry="[metadata]",
        )
    if not match or int(match.group(1)) != 2:
        raise LockError(
            path, f"lock-version {version!r} is not supported (only 2.1 and later 2.x are)", entry="[metadata]"
        )
