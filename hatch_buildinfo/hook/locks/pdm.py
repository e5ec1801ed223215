"""Read pdm.lock (lock_version 4.x), the lock file of PDM.

Each `[[package]]` records the `groups` that need it ("default" is the project's `dependencies`;
every other name is an optional-dependency group or a dependency group: the lock does not say
which) and the `marker` under which it is installed. `[metadata] groups` names the groups the lock
was made for. The runtime set is every package of "default" or of one of the project's requested
extras; development groups are left out.

Each package's hashes are those of its `files`; it requires the packages its `dependencies`
(requirement strings) name.

Per-package groups and markers exist only with pdm's `inherit_metadata` lock strategy, the default
since pdm 2.11; a lock made without it cannot tell runtime from development packages and is refused.

The lock is stale when its `[metadata] content_hash` is not the hash of pyproject.toml's relevant
content as pdm computes it (`PyProject.content_hash`): what `pdm lock --check` reports. A lock that
records `lock_inputs` (pdm's opt-in `lock_inputs` resolution setting) is checked by pdm against
those instead, which this reader does not do.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import Locked, LockError, Project, file_hashes, json_digest, load_toml, normalize_name, pyproject_of

DEFAULT_GROUP = "default"
LOCK_COMMAND = "pdm lock"
# pdm's own normal form of a dependency group's name (pdm.utils.normalize_name), which its hash uses.
_PDM_NAME = re.compile(r"[^A-Za-z0-9]+")
# The name a PEP 508 requirement string starts with.
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def read(path: Path, project: Project) -> list[Locked]:
    """The packages of the default group and of the project's requested extras."""
    data = load_toml(path)
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        raise LockError(path, "no [metadata] table: not a pdm.lock")
    _check_version(path, metadata.get("lock_version"))
    wanted = _wanted_groups(path, metadata, project)

    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise LockError(path, "[[package]] is not an array of tables")
    found = []
    for index, package in enumerate(packages):
        if not isinstance(package, dict):
            raise LockError(path, "not a table", entry=f"package #{index + 1}")
        name = package.get("name")
        if not isinstance(name, str) or not name:
            raise LockError(path, "has no name", entry=f"package #{index + 1}")
        groups = package.get("groups")
        if groups is None:
            raise LockError(
                path,
                "records no groups, so runtime and development packages cannot be told apart;"
                " lock with pdm's inherit_metadata strategy (`pdm lock -S inherit_metadata`)",
                entry=name,
            )
        if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
            raise LockError(path, f"groups is not a list of names: {groups!r}", entry=name)
        if not wanted.intersection(normalize_name(group) for group in groups):
            continue
        version = package.get("version")
        if not isinstance(version, str) or not version:
            if normalize_name(name) == normalize_name(project.name):
                continue  # the project itself, e.g. an editable self-reference
            raise LockError(path, "has no version: the lock does not pin it", entry=name)
        marker = package.get("marker")
        if marker is not None and not isinstance(marker, str):
            raise LockError(path, f"marker is not a string: {marker!r}", entry=name)
        hashes = file_hashes(path, name, "files", package.get("files", []))
        found.append(Locked(name, version, marker or None, hashes, _requires(path, name, package)))
    return found


def stale(path: Path, project: Project) -> str | None:
    """Why `pdm lock --check` would say the lock is out of date for the project's pyproject.toml, or None."""
    pyproject = pyproject_of(project)
    metadata = load_toml(path).get("metadata")
    if pyproject is None or not isinstance(metadata, dict) or "lock_inputs" in metadata:
        return None
    recorded = metadata.get("content_hash")
    algorithm, _, digest = recorded.partition(":") if isinstance(recorded, str) else ("", "", "")
    if not digest:
        return "it records no [metadata] content_hash"
    try:
        fresh = json_digest(_hashed_content(pyproject), algorithm)
    except ValueError:
        raise LockError(path, f"an unknown hash algorithm: {recorded!r}", entry="[metadata] content_hash") from None
    return (
        None
        if fresh == digest
        else "its content_hash is not that of pyproject.toml's dependencies, sources, requires-python and resolution"
    )


def _hashed_content(pyproject: dict) -> dict:
    """What of pyproject.toml pdm hashes: dependencies of every kind, requires-python, sources, resolution."""
    metadata = pyproject.get("project", {})
    settings = pyproject.get("tool", {}).get("pdm", {})
    groups: dict[str, list] = {}
    for group, needs in pyproject.get("dependency-groups", {}).items():
        groups[_PDM_NAME.sub("-", group).lower()] = list(needs)
    for group, needs in settings.get("dev-dependencies", {}).items():
        groups.setdefault(_PDM_NAME.sub("-", group).lower(), []).extend(needs)
    return {
        "sources": settings.get("source", []),
        "dependencies": metadata.get("dependencies", []),
        "dev-dependencies": groups,
        "optional-dependencies": metadata.get("optional-dependencies", {}),
        "requires-python": metadata.get("requires-python", ""),
        "resolution": settings.get("resolution", {}),
    }


def _requires(path: Path, name: str, package: dict) -> tuple[str, ...]:
    dependencies = package.get("dependencies", [])
    if not isinstance(dependencies, list):
        raise LockError(path, f"dependencies is not a list of requirements: {dependencies!r}", entry=name)
    names = []
    for requirement in dependencies:
        match = _NAME.match(requirement) if isinstance(requirement, str) else None
        if match is None:
            raise LockError(path, f"has a dependency that is not a requirement: {requirement!r}", entry=name)
        names.append(match.group(1))
    return tuple(names)


def _check_version(path: Path, lock_version: object) -> None:
    if not isinstance(lock_version, str):
        raise LockError(path, "missing; only lock_version 4.x is supported", entry="[metadata] lock_version")
    if lock_version.split(".")[0] != "4":
        raise LockError(path, f"unsupported {lock_version!r}; only 4.x is supported", entry="[metadata] lock_version")


def _wanted_groups(path: Path, metadata: dict, project: Project) -> set[str]:
    """The default group and the requested extras, each checked to be in the lock."""
    locked = metadata.get("groups")
    if not isinstance(locked, list) or not all(isinstance(group, str) for group in locked):
        raise LockError(path, "[metadata] does not record which groups were locked (groups)")
    locked_groups = {normalize_name(group) for group in locked}
    if DEFAULT_GROUP not in locked_groups:
        raise LockError(path, "locked without the default group; lock it with `pdm lock` (no --no-default)")
    # In pdm.lock an extra is a group like any other, dependency groups included: only the project
    # can tell that a requested name is an optional-dependency group and not, say, "dev".
    optional = {normalize_name(extra) for extra in project.optional_dependencies}
    wanted = {DEFAULT_GROUP}
    for extra in project.extras:
        group = normalize_name(extra)
        if group not in optional:
            raise LockError(path, "not an optional-dependency group of the project", entry=f"extra {extra!r}")
        if group not in locked_groups:
            raise LockError(
                path,
                "the lock was made without this group; lock every group with `pdm lock -G :all`",
                entry=f"extra {extra!r}",
            )
        wanted.add(group)
    return wanted
