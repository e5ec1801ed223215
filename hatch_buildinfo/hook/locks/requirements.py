"""Read a pinned requirements file (pip-compile output, `pip freeze`, `uv export`/`uv pip compile`).

A requirements file is a lock only when every requirement pins one exact version
(`name==version`, or `===`) and every dependency the project declares without a marker is
pinned; anything looser is not a lock, rather than a guess. It carries no extras or groups:
every entry counts as runtime, so the file must be the runtime one (for instance pip-compile's
output for the project's `dependencies`, not a dev file). A file found by auto-detection that
installs the project itself (`-e .[dev]`) is a development file, so it is not a lock either.

Read as pip reads it: `\\` continues a line, `#` after whitespace starts a comment,
`--hash` options (pip's hash-checking mode) give the entry's hashes, other per-requirement
options are ignored, environment markers are kept, `-r` includes are read relative to the
including file (cycles are an error), `-c` constraints are ignored (constraints install
nothing), other options (`--index-url`, `--find-links`, ...) are ignored and never recorded,
and local installs (`-e .[extras]`, `./path`) are left out when they install the project itself
and are no pin otherwise. The file records no dependency graph: no entry requires another.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import Locked, LockError, NotARuntimeLock, Project, checked_hashes, load_toml, normalize_name

_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's: a `#` at the start or after whitespace
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
_EGG = re.compile(r"[#&]egg=([^&\s\[]+)")
_EXTRAS = re.compile(r"\[[^\]]*\]$")
_INCLUDE = ("-r", "--requirement")
_CONSTRAINT = ("-c", "--constraint")
_EDITABLE = ("-e", "--editable")
_HASH_OPTION = re.compile(r"(?:^|\s)--hash(?:=|\s+|$)(\S*)")


def read(path: Path, project: Project) -> Iterable[Locked]:
    found: list[tuple[str, Locked]] = []
    _read_file(path, project, (path.resolve(),), found)
    _check_single_pins(found)
    _check_declared_pinned(path, project, {normalize_name(locked.name) for _, locked in found})
    return [locked for _, locked in found]


def _read_file(path: Path, project: Project, chain: tuple[Path, ...], found: list[tuple[str, Locked]]) -> None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise LockError(path, f"cannot read the lock: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise LockError(path, f"not UTF-8 text: {error.reason} at byte {error.start}") from None
    for number, line in _logical_lines(text):
        line = _COMMENT.sub("", line).strip()
        if not line:
            continue
        where = f"{path}:{number}"
        if line.startswith("-"):
            _option(where, path, line, project, chain, found)
        elif _is_local_path(_before_options(line)):
            _local_install(where, path, _before_options(line), project)
        else:
            locked = _requirement(where, line, project)
            if locked is not None:
                found.append((where, locked))


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Physical lines joined at a trailing backslash, each with the number of its first line (as pip does)."""
    joined: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not _COMMENT.match(line):
            if not joined:
                first = number
            joined.append(line[:-1])
            continue
        if _COMMENT.match(line):
            line = " " + line  # a comment ends the continuation and is dropped later
        if joined:
            joined.append(line)
            yield first, "".join(joined)
            joined = []
        else:
            yield number, line
    if joined:
        yield first, "".join(joined)


def _option(
    where: str, path: Path, line: str, project: Project, chain: tuple[Path, ...], found: list[tuple[str, Locked]]
) -> None:
    try:
        tokens = shlex.split(line)
    except ValueError as error:
        raise LockError(where, f"cannot read this option line: {error}", entry=_redact(line)) from None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        for kind in (_INCLUDE, _CONSTRAINT, _EDITABLE):
            short, long = kind
            if token in kind:
                if index >= len(tokens):
                    raise LockError(where, f"{token} needs a value", entry=_redact(line))
                value = tokens[index]
                index += 1
            elif token.startswith(long + "="):
                value = token[len(long) + 1 :]
            elif token.startswith(short) and not token.startswith("--") and len(token) > 2:
                value = token[2:]
            else:
                continue
            if kind is _INCLUDE:
                _include(where, path, value, project, chain, found)
            elif kind is _EDITABLE:
                _local_install(where, path, value, project, editable=True)
            break  # constraints install nothing; any other option is not a package


def _include(
    where: str, path: Path, value: str, project: Project, chain: tuple[Path, ...], found: list[tuple[str, Locked]]
) -> None:
    entry = f"-r {_redact(value)}"
    if "://" in value:
        raise LockError(where, "includes a URL; only local files can be read", entry=entry)
    target = path.parent / value
    resolved = target.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(step) for step in (*chain[chain.index(resolved) :], resolved))
        raise LockError(where, f"include cycle: {cycle}", entry=entry)
    if not target.is_file():
        raise LockError(where, f"the included file {target} does not exist", entry=entry)
    _read_file(target, project, (*chain, resolved), found)


def _is_local_path(requirement: str) -> bool:
    """Whether a requirement line names a directory or file, as pip tells (`.`, `./pkg[extra]`, `../lib`)."""
    location = _EXTRAS.sub("", requirement)
    return location.startswith(".") or ("/" in location and "@" not in location and "://" not in location)


def _local_install(where: str, path: Path, value: str, project: Project, *, editable: bool = False) -> None:
    """A line installing a directory: the project itself is left out (or, auto-detected, makes a dev file)."""
    entry = f"-e {_redact(value)}" if editable else _redact(value)
    name = _installed_name(path, value)
    if name is None or normalize_name(name) != normalize_name(project.name):
        kind = "an editable install" if editable else "a local install"
        raise NotARuntimeLock(where, f"{kind} has no version; a lock of runtime dependencies pins every version", entry)
    if project.detected:
        raise NotARuntimeLock(where, "installs the project itself, as a development requirements file does", entry)


def _installed_name(path: Path, value: str) -> str | None:
    """The project name a local or editable line installs: its #egg= fragment or its directory's pyproject.toml."""
    egg = _EGG.search(value)
    if egg:
        return egg.group(1)
    parts = urlsplit(value)
    if parts.scheme == "file":
        directory = Path(unquote(_EXTRAS.sub("", parts.path)))
    elif "://" in value or "+" in parts.scheme:
        return None
    else:
        directory = path.parent / _EXTRAS.sub("", value)
    try:
        name = load_toml(directory / "pyproject.toml").get("project", {}).get("name")
    except (LockError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def _requirement(where: str, line: str, project: Project) -> Locked | None:
    from packaging.requirements import InvalidRequirement, Requirement

    text = _before_options(line)
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        problem = str(error).splitlines()[0] if str(error) else "invalid requirement"
        raise NotARuntimeLock(where, f"not a name==version pin: {problem}", entry=_redact(text)) from None
    if normalize_name(requirement.name) == normalize_name(project.name):
        return None
    if requirement.url:
        raise NotARuntimeLock(where, "installed from a URL, not pinned to a version", entry=requirement.name)
    specifiers = list(requirement.specifier)
    pinned = (
        len(specifiers) == 1 and specifiers[0].operator in ("==", "===") and not specifiers[0].version.endswith(".*")
    )
    if not pinned:
        raise NotARuntimeLock(
            where, "not pinned with ==: a requirements file is a lock only when every line pins a version", entry=text
        )
    marker = str(requirement.marker) if requirement.marker else None
    hashes = checked_hashes(where, requirement.name, _HASH_OPTION.findall(line))
    return Locked(requirement.name, specifiers[0].version, marker, hashes)


def _before_options(line: str) -> str:
    """The requirement part of a line, before its first option (`--hash=...`), as pip splits it."""
    words = line.split(" ")
    for index, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:index]).strip()
    return line


def _check_single_pins(found: list[tuple[str, Locked]]) -> None:
    """Two unconditional pins of one name at different versions: pip refuses it, so is this no lock."""
    seen: dict[str, tuple[str, str]] = {}
    for where, locked in found:
        if locked.marker is not None:
            continue
        name = normalize_name(locked.name)
        if name in seen and seen[name][0] != locked.version:
            version, first = seen[name]
            raise LockError(where, f"pinned again at {locked.version}, already at {version} in {first}", entry=name)
        seen.setdefault(name, (locked.version, where))


def _check_declared_pinned(path: Path, project: Project, pinned: set[str]) -> None:
    """Every dependency the project runs with unconditionally must be pinned, or this is not its runtime lock.

    A dependency under a marker may rightly be missing: pip-compile leaves out what this platform does not need.
    """
    from packaging.requirements import Requirement

    own_name = normalize_name(project.name)
    chosen = {normalize_name(extra) for extra in project.extras}
    extras = [needs for extra, needs in project.optional_dependencies.items() if normalize_name(extra) in chosen]
    for text in (*project.dependencies, *(need for needs in extras for need in needs)):
        requirement = Requirement(text)
        name = normalize_name(requirement.name)
        if requirement.marker is None and name != own_name and name not in pinned:
            raise NotARuntimeLock(
                path, "the project depends on it, but the file pins no version: it is not the runtime lock", text
            )


def _redact(text: str) -> str:
    """`text` with any user:password@ of a URL left out."""
    return _CREDENTIALS.sub("***@", text)
