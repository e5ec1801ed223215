"""Read: find and parse the generated module inside a wheel, an sdist or an installed distribution.

Nothing found in an artifact is imported or run: the module is parsed as literals only.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator

from .info import DEFAULT_MODULE, MARKER, BuildInfo, parse_source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.metadata import Distribution, PackagePath
    from typing import IO

_MARKER_BYTES = MARKER.encode("utf-8")
# Far above any real generated module (10,000 dependencies is under 1 MiB): a guard, not a limit.
_MAX_MODULE_BYTES = 64 * 1024 * 1024
# PEP 770: `<name>-<version>.dist-info/sboms/<file>`; in an sdist, `<name>-<version>/<file>.{cdx,spdx}.json`.
_WHEEL_SBOM = re.compile(r"[^/]+\.dist-info/sboms/[^/]+\Z")
_SDIST_SBOM = re.compile(r"[^/]+/[^/]+\.(cdx|spdx)\.json\Z")


class InspectError(Exception):
    """A target that cannot be inspected; the message is one line for the user."""


def read_target(target: str) -> BuildInfo:
    """The build info of a wheel file, an sdist file, or an installed distribution's name."""
    kind = _kind(target)
    if kind == "wheel":
        return _read_wheel(target)
    if kind == "sdist":
        return _read_sdist(target)
    return _read_distribution(target)


def read_sboms(target: str) -> dict[str, bytes]:
    """The SBOM documents a wheel, an sdist or an installed distribution carries, by file name.

    A wheel's and an installed distribution's are PEP 770's `.dist-info/sboms/`; an sdist's are the
    `*.cdx.json` and `*.spdx.json` files at its root, where the build hook puts the one its wheels ship.
    """
    kind = _kind(target)
    try:
        if kind == "wheel":
            with zipfile.ZipFile(target) as archive:
                return {_basename(name): archive.read(name) for name in archive.namelist() if _WHEEL_SBOM.match(name)}
        if kind == "sdist":
            with tarfile.open(target, "r:gz") as archive:
                members = [
                    member for member in archive.getmembers() if member.isfile() and _SDIST_SBOM.match(member.name)
                ]
                return {_basename(member.name): _read_member(archive, member) for member in members}
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, OSError, EOFError) as error:
        raise InspectError(f"{target} is not a readable {kind}: {error}") from None
    dist = _distribution(target)
    found = {}
    for file in dist.files or ():
        path = file.locate()
        if _WHEEL_SBOM.match(str(file).replace(os.sep, "/")) and os.path.isfile(path):
            try:
                with open(path, "rb") as document:
                    found[file.name] = document.read()
            except OSError as error:
                raise InspectError(f"{target}: {path} cannot be read: {error.strerror or error}") from None
    return found


def _kind(target: str) -> str:
    """What `target` names: a "wheel", an "sdist" or an "installed" distribution; an InspectError for other files."""
    looks_like_file = target.endswith((".whl", ".tar.gz", ".zip")) or os.sep in target or os.path.exists(target)
    if not looks_like_file:
        return "installed"
    if not os.path.isfile(target):
        raise InspectError(f"{target}: no such file")
    if target.endswith(".whl"):
        return "wheel"
    if target.endswith(".tar.gz"):
        return "sdist"
    raise InspectError(f"{target} is not a wheel (.whl) or an sdist (.tar.gz)")


def _basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    extracted = archive.extractfile(member)
    return extracted.read(_MAX_MODULE_BYTES) if extracted else b""


def _read_wheel(path: str) -> BuildInfo:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if name.endswith(".py")]
            return _first_generated(path, names, lambda name: archive.open(name))
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise InspectError(f"{path} is not a readable wheel: {error}") from None


def _read_sdist(path: str) -> BuildInfo:
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {member.name: member for member in archive.getmembers() if member.isfile()}
            names = [name for name in members if name.endswith(".py")]
            return _first_generated(path, names, lambda name: archive.extractfile(members[name]))
    except (tarfile.TarError, zlib.error, OSError, EOFError) as error:
        raise InspectError(f"{path} is not a readable sdist: {error}") from None


def _read_distribution(name: str) -> BuildInfo:
    dist = _distribution(name)
    for file, data in installed_modules(dist):
        return _parse(name, str(file), data)
    raise _nothing_generated(name)


def _distribution(name: str) -> Distribution:
    try:
        from importlib.metadata import PackageNotFoundError, distribution
    except ImportError:  # Python 3.7
        raise InspectError(
            f"{name}: installed distributions cannot be inspected on Python 3.7 (no importlib.metadata); "
            "inspect its wheel or sdist instead"
        ) from None

    try:
        return distribution(name)
    except PackageNotFoundError:
        raise InspectError(f"no installed distribution named {name!r} (and no such file)") from None


def installed_modules(dist: Distribution) -> Iterator[tuple[PackagePath, bytes]]:
    """The modules generated by hatch-buildinfo among an installed distribution's files, with their bytes.

    Found by their first line, the default module name first; nothing is imported.
    """
    files = {str(file): file for file in dist.files or () if str(file).endswith(".py")}
    for name, data in _generated(files, lambda name: _open_installed(files[name])):
        yield files[name], data


def _open_installed(file: PackagePath) -> IO[bytes]:
    try:
        return open(file.locate(), "rb")
    except FileNotFoundError:  # listed in RECORD but gone since: not a generated module
        return io.BytesIO()


def _first_generated(target: str, names: Iterable[str], open_member: Callable) -> BuildInfo:
    for name, data in _generated(names, open_member):
        return _parse(target, name, data)
    raise _nothing_generated(target)


def _generated(names: Iterable[str], open_member: Callable) -> Iterator[tuple[str, bytes]]:
    # The default module name is checked first; a custom `path` can be any .py file.
    for name in sorted(names, key=lambda name: (os.path.basename(name) != f"{DEFAULT_MODULE}.py", name)):
        with open_member(name) as member:
            if member.read(len(_MARKER_BYTES)) != _MARKER_BYTES:
                continue
            data = _MARKER_BYTES + member.read(_MAX_MODULE_BYTES)
        yield name, data


def _parse(target: str, name: str, data: bytes) -> BuildInfo:
    try:
        return parse_source(data.decode("utf-8"), f"{target}:{name}")
    except UnicodeDecodeError:
        raise InspectError(f"{target}:{name} is not UTF-8 text") from None
    except ValueError as error:
        raise InspectError(str(error)) from None


def _nothing_generated(target: str) -> InspectError:
    return InspectError(
        f"{target} holds no module generated by hatch-buildinfo (was it built with the `buildinfo` hook?)"
    )
