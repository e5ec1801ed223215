"""Collect: the locked runtime dependencies of a project, read from its lock file.

One reader module per format, each a `read(path, project)` that returns the packages the
project runs with. This module picks the reader and makes every answer alike: names
normalised (PEP 503), markers normalised, the project itself left out, sorted, no repeats.
Where the format records them, each package also carries the hashes of the artifacts the lock
lists for it and the names of the packages it depends on in the lock's graph.

A reader module whose tool keeps a fingerprint of what it locked also has a `stale(path, project)`
that says, as that tool would, what no longer matches the project (None when nothing), and a
`LOCK_COMMAND` that locks again; `stale` here dispatches to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from types import ModuleType

from ...names import normalize_name
from ..errors import BuildInfoError

# Each lock file name and the module that reads it, in the design's auto-detect order: the first
# of these in the project root is read.
READERS = {
    "pylock.toml": "pylock",
    "uv.lock": "uv",
    "poetry.lock": "poetry",
    "pdm.lock": "pdm",
    "Pipfile.lock": "pipfile",
    "requirements.txt": "requirements",
}
DETECT_ORDER = tuple(READERS)
# An artifact hash as every format spells it: `<algorithm>:<hex digest>`.
_HASH = re.compile(r"[A-Za-z0-9_-]+:[0-9A-Fa-f]+")
# read_lock normalises every name of every entry's requirements: a lock names each package many times.
_normalized = lru_cache(maxsize=4096)(normalize_name)


class LockError(BuildInfoError):
    """A lock file that cannot be read; the message is one line naming the file and the entry."""

    def __init__(self, path: os.PathLike | str, problem: str, entry: str | None = None) -> None:
        where = f"{os.fspath(path)}: {entry}: " if entry else f"{os.fspath(path)}: "
        super().__init__(where + problem)


class NotARuntimeLock(LockError):
    """A file that reads, but is not a lock of the project's runtime (a requirements file of development tools)."""


class LeftOut(UserWarning):
    """A package the project runs with that a reader leaves out of its answer, and why, in one line.

    Readers warn with it; the hook shows each as an info line of the build.
    """


@dataclass(frozen=True, order=True)
class Locked:
    """One locked package: its name, its exact version, and the PEP 508 marker under which it is installed.

    `hashes`: the lock's hashes of the package's artifacts (sdist and wheels), each
    `"<algorithm>:<hex digest>"`; `requires`: the names of the packages it depends on in the lock's
    graph. Both empty where the format does not record them.
    """

    name: str
    version: str
    marker: str | None = None
    hashes: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    """What a reader needs to know of the project whose lock it reads."""

    name: str
    dependencies: tuple[str, ...] = ()
    optional_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extras: tuple[str, ...] = ()
    # The lock was found by auto-detection, not named in `lockfile`: a file that installs the
    # project itself is then a development file, not a lock of what the project runs with.
    detected: bool = False
    # The project's directory, which holds its pyproject.toml: a lock may lie elsewhere (a uv
    # workspace's root). None: the lock is not checked against the project.
    root: Path | None = None


def load_toml(path: Path) -> dict:
    """A TOML file's table, not to be changed; a LockError naming the file when it cannot be read or parsed.

    A build reads its lock twice, for its packages and to check that it is not stale: the second read of the
    same bytes costs their comparison, not a second parse.
    """
    try:
        with open(path, "rb") as file:
            content = file.read()
    except OSError as error:
        raise LockError(path, f"cannot be read: {error.strerror or error}") from None
    try:
        return _parsed_toml(content)
    except ValueError as error:  # either parser's TOMLDecodeError, bad UTF-8, an integer too long to convert
        raise LockError(path, f"not valid TOML: {one_line(error)}") from None


@lru_cache(maxsize=4)
def _parsed_toml(content: bytes) -> dict:
    try:
        # On CPython 3.11+, tomli's compiled wheels parse a large lock three times as fast as
        # tomllib, the same parser in pure Python; the hook asks for tomli in its dependencies().
        import tomli as toml
    except ImportError:
        import tomllib as toml  # type: ignore[no-redef]  # the same API

    return toml.loads(content.decode("utf-8"))


def pyproject_of(project: Project) -> dict | None:
    """The project's pyproject.toml as TOML data; None when the project's directory is not known."""
    return None if project.root is None else load_toml(project.root / "pyproject.toml")


def json_digest(data: object, algorithm: str = "sha256", separators: tuple[str, str] | None = None) -> str:
    """The hex digest of `data` as JSON with sorted keys: how Poetry, pdm and pipenv fingerprint what they lock."""
    text = json.dumps(data, sort_keys=True, separators=separators)
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest()


def checked_hashes(path: os.PathLike | str, entry: str, hashes: Iterable[object]) -> tuple[str, ...]:
    """`hashes`, each checked to be a string `<algorithm>:<hex digest>`, written lower-case."""
    checked = []
    for found in hashes:
        if not isinstance(found, str) or not _HASH.fullmatch(found):
            raise LockError(path, f"has a hash that is not <algorithm>:<hex digest>: {found!r}", entry=entry)
        checked.append(found.lower())
    return tuple(checked)


def file_hashes(path: os.PathLike | str, entry: str, key: str, files: object) -> tuple[str, ...]:
    """The `hash` of each artifact table in the array `files` (an entry's `key`) that has one, checked."""
    if not isinstance(files, list):
        raise LockError(path, f"{key} is not an array of tables: {files!r}", entry=entry)
    hashes = []
    for file in files:
        if not isinstance(file, dict):
            raise LockError(path, f"{key}: {file!r} is not a table", entry=entry)
        if "hash" in file:
            hashes.append(file["hash"])
    return checked_hashes(path, entry, hashes)


def one_line(error: object) -> str:
    """An error's text folded onto one line."""
    return " ".join(str(error).split())


def reader_for(path: Path) -> str | None:
    """The reader module's name for a lock file name, or None when no reader knows it."""
    name = path.name
    if name.startswith("pylock.") and name.endswith(".toml"):  # PEP 751's pylock.<name>.toml
        return "pylock"
    if name.endswith(".txt"):
        return "requirements"
    return READERS.get(name)


def find_lock(root: Path) -> Path | None:
    """The first lock file of the design's auto-detect order in `root`."""
    for name in DETECT_ORDER:
        if (root / name).is_file():
            return root / name
    return None


def read_lock(path: Path, project: Project) -> tuple[Locked, ...]:
    """The project's locked runtime dependencies, as the lock at `path` records them."""
    module = _reader_module(path)
    if module is None:
        raise LockError(path, "no reader knows this lock file name")
    found = module.read(path, project)
    own_name = normalize_name(project.name)
    # The entries of one (name, version), as a fork of a universal lock lists it under several
    # markers: the markers, hashes and requirements of all of them.
    merged: dict[tuple[str, str], tuple[set[str | None], set[str], set[str]]] = {}
    for package in found:
        name = _normalized(package.name)
        if name != own_name:
            markers, hashes, requires = merged.setdefault((name, package.version), (set(), set(), set()))
            markers.add(_normalized_marker(path, name, package.marker))
            hashes.update(package.hashes)
            requires.update(map(_normalized, package.requires))
    return tuple(
        sorted(
            (
                Locked(name, version, _either(markers), tuple(sorted(hashes)), tuple(sorted(requires - {name})))
                for (name, version), (markers, hashes, requires) in merged.items()
            ),
            key=lambda package: (package.name, package.version, package.marker or ""),
        )
    )


def _reader_module(path: Path) -> ModuleType | None:
    """The reader module for the lock at `path`, imported; None when no reader knows its name."""
    reader = reader_for(path)
    return None if reader is None else import_module(f"{__name__}.{reader}")


def stale(path: Path, project: Project) -> str | None:
    """One line naming the lock at `path`, what in it no longer matches the project, and the tool's fix.

    None when it matches, or when its format keeps no fingerprint of what was locked.
    """
    module = _reader_module(path)
    if module is None or not hasattr(module, "stale"):  # pylock.toml and requirements files keep no fingerprint
        return None
    changed = module.stale(path, project)
    if changed is None:
        return None
    return f"{os.fspath(path)} is stale: {changed}; lock again with `{module.LOCK_COMMAND}`"


def _normalized_marker(path: Path, entry: str, marker: str | None) -> str | None:
    """`marker` as the run-time shim will read it: parsed by its grammar and written in packaging's form.

    It is evaluated once here, on the interpreter that builds, so that a marker run time could
    not evaluate (`os_name ~= "posix"`, a variable no environment has) fails the build instead.
    """
    if not marker:
        return None
    # Here, not at the top: compiling its PEP 440 patterns would cost every build, with a lock or not.
    from ...markers import environment, evaluate, parse, text

    try:
        tree = parse(marker)
        evaluate(tree, environment())
    except ValueError as error:  # one line: `invalid marker '…': …` or `cannot evaluate marker '…': …`
        raise LockError(path, one_line(error), entry=entry) from None
    return text(tree)


def _either(markers: set[str | None]) -> str | None:
    """One marker that holds where any of `markers` holds; None (always) wins."""
    conditions = sorted(marker for marker in markers if marker is not None)
    if len(conditions) < len(markers):
        return None
    if len(conditions) == 1:
        return conditions[0]
    return " or ".join(f"({condition})" for condition in conditions)
