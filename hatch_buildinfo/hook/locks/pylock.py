"""Read a PEP 751 lock file (pylock.toml, pylock.<name>.toml) with `packaging.pylock`.

A pylock lists packages, each installed where its `marker` holds. A multi-use lock (PDM's
export, for one) also records the `extras` and `dependency-groups` it can install, and its
markers name them: `"cli" in extras`, `"dev" in dependency_groups`. The runtime set is what
installing the project with its chosen extras and no dependency group of its own installs.

The selection is made here, at build time, and only that: each marker is evaluated in part.
Every term on `extras`, `dependency_groups` (or a stray `extra`) is decided now, with the
project's extras and the lock's `default-groups` (PEP 751's synthetic groups that stand for
`project.dependencies`; PDM calls it "default") as the selected groups. Every other term
(python_version, sys_platform, ...) stays, and what is left of the marker after simplifying
becomes the package's marker, for run time to pick. A marker that comes out false leaves the
package out; one that comes out true records it unconditionally. Evaluating the whole marker
for one environment instead would drop the platform-specific packages the build machine
happens not to need; keeping the whole marker would leave terms run time cannot decide.

A single-use lock (uv's `uv export --format pylock.toml`, `pip lock`) records neither extras
nor groups: its extras and groups were chosen when it was exported, so every package in it
counts. Such a file must be exported for run time (`--no-dev`, with the extras you ship).

A package's hashes are those of its `sdist`, `wheels` or `archive`; it requires the packages its
`dependencies` name, where the lock records them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import Locked, LockError, Project, checked_hashes, load_toml, normalize_name, one_line
from .selection import settle

_PACKAGE_CONTEXT = re.compile(r"packages\[(\d+)\]")


def read(path: Path, project: Project) -> Iterable[Locked]:
    pylock_module = _pylock_module(path)
    data = load_toml(path)
    try:
        lock = pylock_module.Pylock.from_dict(data)
    except pylock_module.PylockUnsupportedVersionError:
        raise _unsupported_version(path, data) from None
    except pylock_module.PylockValidationError as error:
        if not _is_version_1(data.get("lock-version")):
            # A future format may not validate under 1.x rules: its version is the real problem.
            raise _unsupported_version(path, data) from None
        raise _validation_error(path, data, error) from None
    return list(_runtime_packages(path, lock, project))


def _pylock_module(path: Path) -> Any:
    try:
        from packaging import pylock
    except ImportError:
        raise LockError(path, "reading pylock.toml needs packaging>=26.0 (packaging.pylock) at build time") from None
    return pylock


def _is_version_1(lock_version: Any) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return isinstance(lock_version, str) and Version(lock_version).major == 1
    except InvalidVersion:
        return False


def _unsupported_version(path: Path, data: dict[str, Any]) -> LockError:
    return LockError(
        path,
        f"lock-version {data.get('lock-version')!r} is not supported (this reader reads lock-version 1.x)",
        entry="lock-version",
    )


def _validation_error(path: Path, data: dict[str, Any], error: Exception) -> LockError:
    """A one-line LockError naming the package (by name when it has one) the validation error is about."""
    context = getattr(error, "context", None) or ""
    message = getattr(error, "message", None) or str(error)
    entry = context or None
    match = _PACKAGE_CONTEXT.match(context)
    if match:
        packages = data.get("packages")
        index = int(match.group(1))
        if isinstance(packages, list) and index < len(packages) and isinstance(packages[index], dict):
            name = packages[index].get("name")
            if isinstance(name, str):
                entry = f"{name} ({context})"
    return LockError(path, f"not a valid pylock: {one_line(message)}", entry=entry)


def _runtime_packages(path: Path, lock: Any, project: Project) -> Iterator[Locked]:
    from packaging.utils import canonicalize_name

    extras = frozenset(canonicalize_name(extra) for extra in project.extras)
    if lock.extras is not None:
        unknown = sorted(extras - set(lock.extras))
        if unknown:
            recorded = ", ".join(lock.extras) or "none"
            raise LockError(
                path, f"the lock cannot install extra {', '.join(unknown)} (it records: {recorded})", entry="extras"
            )
    groups = frozenset(canonicalize_name(group) for group in lock.default_groups or ())
    own_name = normalize_name(project.name)
    for package in lock.packages:
        marker = settle(path, package.name, package.marker, extras, groups)
        if marker is False:
            continue
        if package.version is None:
            if normalize_name(package.name) == own_name:
                continue
            source = "directory" if package.directory else "VCS" if package.vcs else "archive"
            raise LockError(
                path,
                f"installed from a {source} with no version: a lock of runtime dependencies needs every version",
                entry=package.name,
            )
        yield Locked(
            package.name,
            str(package.version),
            None if marker is True else marker,
            _hashes(path, package),
            _requires(path, package),
        )


def _hashes(path: Path, package: Any) -> tuple[str, ...]:
    artifacts = [*([package.sdist] if package.sdist else []), *(package.wheels or ())]
    if package.archive:
        artifacts.append(package.archive)
    found = (f"{algorithm}:{digest}" for artifact in artifacts for algorithm, digest in artifact.hashes.items())
    return checked_hashes(path, package.name, found)


def _requires(path: Path, package: Any) -> tuple[str, ...]:
    names = []
    for dependency in package.dependencies or ():
        if not isinstance(dependency.get("name"), str):
            raise LockError(path, f"has a dependency with no name: {dict(dependency)!r}", entry=package.name)
        names.append(dependency["name"])
    return tuple(names)
