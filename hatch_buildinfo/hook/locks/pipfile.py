"""Read Pipfile.lock (pipfile-spec 6), the lock file of pipenv.

The runtime set is the `default` section (Pipfile's [packages]); `develop` ([dev-packages]) and any
other category section are left out. Each entry pins `version` as "==X" and may carry `markers`
and the `hashes` of its artifacts; the lock records no dependency graph.

Pipfile has no notion of the project's extras, so `project.extras` is ignored: a Pipfile that wants
an extra names it in [packages] (e.g. `demo-pkg = {path = ".", extras = ["cli"]}`), and what it
pulls in is then already in `default`.

The lock is stale when its `_meta.hash.sha256` is not the hash of the Pipfile beside it (pipenv's
own rule: the lock of `Pipfile` is `Pipfile.lock`) as pipenv computes it
(`Pipfile.calculate_hash`): what `pipenv verify` reports. A Pipfile without `[[source]]` is not
checked: pipenv hashes it with the indexes of the pip configuration of the machine that locks.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import Locked, LockError, Project, checked_hashes, json_digest, load_toml, normalize_name

SPEC = 6
RUNTIME_SECTION = "default"
VCS_KEYS = ("git", "hg", "svn", "bzr")
LOCK_COMMAND = "pipenv lock"
# The Pipfile's tables that are not package categories; pipenv hashes its [packages] and
# [dev-packages] as `default` and `develop`, and every other category under its own name.
_NOT_CATEGORIES = {
    "source",
    "packages",
    "dev-packages",
    "requires",
    "scripts",
    "pipfile",
    "pipenv",
    "default",
    "develop",
}


def read(path: Path, project: Project) -> list[Locked]:
    """The packages of the lock's `default` section; `project.extras` plays no part."""
    data = _load(path)
    meta = data.get("_meta")
    if not isinstance(meta, dict):
        raise LockError(path, "no _meta object: not a Pipfile.lock")
    spec = meta.get("pipfile-spec")
    if spec != SPEC or isinstance(spec, bool):
        raise LockError(path, f"unsupported {spec!r}; only {SPEC} is supported", entry="_meta pipfile-spec")
    section = data.get(RUNTIME_SECTION)
    if not isinstance(section, dict):
        raise LockError(path, f"no {RUNTIME_SECTION!r} object: not a Pipfile.lock")

    own_name = normalize_name(project.name)
    found = []
    for name, entry in section.items():
        if not isinstance(entry, dict):
            raise LockError(path, f"not an object: {entry!r}", entry=name)
        if normalize_name(name) == own_name or _is_project_root(path, entry):
            continue  # the project itself, e.g. `{"editable": true, "path": "."}`
        version = _pinned_version(path, name, entry)
        found.append(Locked(name, version, _marker(path, name, entry), _hashes(path, name, entry)))
    return found


def stale(path: Path, project: Project) -> str | None:
    """Why `pipenv verify` would say the lock is out of date for the Pipfile beside it, or None."""
    pipfile = path.with_name("Pipfile")
    if project.root is None or not pipfile.is_file():
        return None
    meta = _load(path).get("_meta")
    meta = meta if isinstance(meta, dict) else {}
    recorded = meta.get("hash")
    recorded = recorded.get("sha256") if isinstance(recorded, dict) else None
    if not isinstance(recorded, str):
        return "it records no _meta hash sha256"
    data = load_toml(pipfile)
    if "source" not in data:
        # pipenv then hashes the indexes of the machine's pip configuration (or its own default),
        # which no file here records.
        return None
    content: dict[str, object] = {
        "_meta": {"sources": data["source"], "requires": data.get("requires", {})},
        "default": _canonical(pipfile, "packages", data.get("packages", {})),
        "develop": _canonical(pipfile, "dev-packages", data.get("dev-packages", {})),
    }
    for category, table in data.items():
        if category not in _NOT_CATEGORIES:
            content[category] = _canonical(pipfile, category, table)
    if json_digest(content, separators=(",", ":")) == recorded:
        return None
    return "its _meta hash is not that of the packages, sources and requires of the Pipfile beside it"


def _canonical(pipfile: Path, category: str, section: object) -> dict:
    """A Pipfile category with each package's name in PEP 503 form, as pipenv hashes it."""
    if not isinstance(section, dict):
        raise LockError(pipfile, f"not a table of packages: {section!r}", entry=f"[{category}]")
    return {normalize_name(name): value for name, value in section.items()}


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise LockError(path, f"cannot be read: {error.strerror or error}") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise LockError(path, f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise LockError(path, "not a JSON object: not a Pipfile.lock")
    return data


def _is_project_root(path: Path, entry: dict) -> bool:
    """Whether a path entry points at the directory of the lock, i.e. the project itself."""
    local = entry.get("path")
    if not isinstance(local, str):
        return False
    try:
        return (path.parent / local).resolve() == path.parent.resolve()
    except OSError:
        return False


def _pinned_version(path: Path, name: str, entry: dict) -> str:
    version = entry.get("version")
    if version is None:
        raise LockError(path, f"has no version: {_kind(entry)} is not pinned to a release", entry=name)
    if not isinstance(version, str):
        raise LockError(path, f"version is not a string: {version!r}", entry=name)
    for operator in ("===", "=="):
        if version.startswith(operator) and version[len(operator) :].strip():
            return version[len(operator) :].strip()
    if "markers" in entry:
        # pipenv's default resolver does not pin an entry whose markers do not hold where it locks.
        raise LockError(
            path,
            f"not pinned (version {version!r}), as pipenv leaves an entry whose markers did not hold where"
            " it was locked; pin it in the Pipfile or lock with `pipenv lock --backend pure-python`",
            entry=name,
        )
    raise LockError(path, f"not pinned to one version (version {version!r})", entry=name)


def _kind(entry: dict) -> str:
    """What an unversioned entry is; a URL is not shown, as it may hold credentials."""
    for key in VCS_KEYS:
        if key in entry:
            return f"a {key} entry"
    if "path" in entry:
        return f"{'an editable' if entry.get('editable') else 'a'} path entry ({entry['path']})"
    if "file" in entry:
        return "a file or URL entry"
    return "the entry"


def _marker(path: Path, name: str, entry: dict) -> str | None:
    marker = entry.get("markers")
    if marker is not None and not isinstance(marker, str):
        raise LockError(path, f"markers is not a string: {marker!r}", entry=name)
    return marker or None


def _hashes(path: Path, name: str, entry: dict) -> tuple[str, ...]:
    hashes = entry.get("hashes", [])
    if not isinstance(hashes, list):
        raise LockError(path, f"hashes is not a list: {hashes!r}", entry=name)
    return checked_hashes(path, name, hashes)
