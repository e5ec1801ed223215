"""Read: what is installed, to compare with what was locked. Runs only when asked.

The installed versions come from the names of the metadata directories on sys.path, not from
`importlib.metadata`: a `{name}-{version}.dist-info` directory written to the binary distribution
format spec names its distribution and version, so one `os.listdir` per sys.path entry reads them
all, and such a directory is taken at its word: none of its files is opened. Stdlib only, and on
every Python from 3.7 (which has no `importlib.metadata`).
"""

from __future__ import annotations

import os
import sys

from .names import normalize_name

TYPE_CHECKING = False  # typing's own costs an import on the `--version` path
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

# No `re` in this module: the read would spend more importing it than reading a hundred names.
_DIGITS = "0123456789"
_NAME_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")


def installed_versions() -> dict[str, str]:
    """Every installed distribution's version by PEP 503 name, in one pass over sys.path.

    The first found wins, in sys.path order, as with `importlib.metadata.version()`. Only a
    distribution whose `.dist-info` directory name is not in the spec's form, or an `.egg-info`,
    has its metadata file read.
    """
    versions: dict[str, str] = {}
    for entry in sys.path:
        for name, version in _distributions_in(entry or "."):  # as importlib.metadata: "" is the current directory
            versions.setdefault(name, version)
    return versions


def dist_info_name_version(directory: str) -> tuple[str, str] | None:
    """(PEP 503 name, version) from a `.dist-info` directory's name in the spec's form, else None.

    The spec writes `{name}-{version}.dist-info`, the name normalised with `_`; older tools kept its
    case and dots, which normalise to the same name, so those parse too. The version must be in
    PEP 440's normal form: any other spelling of it was written by an older tool, and the caller
    reads the metadata file instead, which holds the version importlib.metadata reports.
    """
    if not directory.endswith(".dist-info"):
        return None
    name, dash, version = directory[: -len(".dist-info")].partition("-")
    if not (dash and _is_name(name) and _is_normal_version(version)):
        return None
    return normalize_name(name), version


def _is_name(text: str) -> bool:
    """Letters, digits, `.` and `_`, first and last a letter or digit: a PEP 508 name with its `-` escaped."""
    return bool(text) and _NAME_CHARACTERS.issuperset(text) and text[0] not in "._" and text[-1] not in "._"


def _is_normal_version(text: str) -> bool:
    """Whether `text` is a PEP 440 version as `str(packaging.version.Version(text))` writes it:
    `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, no leading zeros, no epoch 0, lower case."""
    public, plus, local = text.partition("+")
    if plus and not all(
        _is_number(part) or (part.isalnum() and part.isascii() and part.islower()) for part in local.split(".")
    ):
        return False
    epoch, bang, release = public.partition("!")
    if not bang:
        release = epoch
    elif epoch == "0" or not _is_number(epoch):
        return False
    segments = release.split(".")
    for kind in ("dev", "post"):  # the last segments, in this order from the end
        if len(segments) > 1 and segments[-1].startswith(kind) and not _is_number(segments.pop()[len(kind) :]):
            return False
    last = segments.pop()
    number = last[: len(last) - len(last.lstrip(_DIGITS))]
    pre = last[len(number) :]
    label = pre.rstrip(_DIGITS)
    if pre and (label not in ("a", "b", "rc") or not _is_number(pre[len(label) :])):
        return False
    return all(_is_number(part) for part in (*segments, number))


def _is_number(text: str) -> bool:
    """ASCII digits without a leading zero (`0` itself is one)."""
    return text.isdigit() and text.isascii() and (text == "0" or text[0] != "0")


def _distributions_in(root: str) -> Iterator[tuple[str, str]]:
    """(PEP 503 name, version) of each distribution whose metadata sits in sys.path entry `root`, in listing order."""
    try:
        children, zipped = os.listdir(root), False
    except OSError:
        # A zip application or a zipped egg, which importlib.metadata reads too.
        children, zipped = _zip_children(root) if os.path.isfile(root) else [], True
    is_egg = os.path.basename(root).lower().endswith(".egg")
    for child in children:
        low = child.lower()
        if low.endswith(".dist-info"):
            parsed = dist_info_name_version(child)
            if parsed is not None:
                yield parsed
                continue
        elif not (low.endswith(".egg-info") or (is_egg and low == "egg-info")):
            continue
        declared = _declared(root, child, zipped)
        if declared is not None:
            yield declared


def _declared(root: str, child: str, zipped: bool) -> tuple[str, str] | None:
    """(PEP 503 name, version) from the Name and Version headers of one distribution's metadata file."""
    # The files importlib.metadata tries, in its order; the last is an `.egg-info` that is itself the file.
    for path in (f"{child}/METADATA", f"{child}/PKG-INFO", child):
        text = _read_zip_member(root, path) if zipped else _read_file(os.path.join(root, path))
        if text:
            break
    else:
        return None
    from email.parser import HeaderParser

    headers = HeaderParser().parsestr(text)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or version is None:  # a broken install can leave metadata without them
        return None
    return normalize_name(name), version


def _read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError):  # missing, a directory, unreadable: no metadata there
        return None


def _zip_children(root: str) -> list[str]:
    """The top-level names in zip file `root`; none if it is no zip file."""
    import zipfile

    try:
        with zipfile.ZipFile(root) as archive:
            return list(dict.fromkeys(name.split("/", 1)[0] for name in archive.namelist()))
    except (OSError, zipfile.BadZipFile):
        return []


def _read_zip_member(root: str, path: str) -> str | None:
    import zipfile

    try:
        with zipfile.ZipFile(root) as archive:
            return archive.read(path).decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):  # missing, or a directory entry
        return None


def drifted(locked: tuple[tuple[str, str], ...], installed: Mapping[str, str]) -> dict[str, str | None]:
    """The locked packages whose installed version differs: name → installed version, None if absent.

    Versions compare as PEP 440 does: a lock's `2.31` is the `2.31.0` a directory name spells.
    """
    differs = {}
    for name, version in locked:
        found = installed.get(name)
        if found == version:
            continue
        from .markers import same_version  # here: only two spellings of one version need PEP 440

        if found is None or not same_version(found, version):
            differs[name] = found
    return differs
