"""Advisories: read OSV records (a directory tree of .json/.yaml files, or OSV's all.zip) and match versions.

Only `ecosystem: PyPI` entries count; withdrawn records are skipped; records that name each other (PYSEC, GHSA,
CVE ids as `aliases`) count as one advisory. A version is affected if an ECOSYSTEM range holds it, evaluated as
the OSV schema's pseudocode says with PEP 440 ordering, or if the record's `versions` lists it.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from ..names import normalize_name

SEVERITIES = ("low", "medium", "high", "critical")
# The chosen id of several aliases: the PyPA database's own, then GitHub's, then any (the smallest sorts first).
_PREFERENCE = ("PYSEC-", "GHSA-")
# GitHub's qualitative `database_specific.severity` says MODERATE where CVSS says Medium.
_QUALITATIVE = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high", "critical": "critical"}
_EVENTS = ("introduced", "fixed", "last_affected", "limit")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ZERO = Version("0.dev0")  # the lowest PEP 440 version: OSV's "0", below even 0's pre- and dev releases


class DatabaseError(Exception):
    """An advisory database that cannot be read at all; the message is one line naming the path."""


class _BadRecord(Exception):
    """One record that cannot be read: it is skipped, the rest loads."""


@dataclass(frozen=True)
class Finding:
    """One advisory that affects one (name, version)."""

    advisory: str
    aliases: tuple[str, ...]
    severity: str
    fixed: str
    published: float | None


@dataclass
class _Record:
    ids: tuple[str, ...]  # its own id first, then its aliases
    published: float | None
    severity: list  # the record's `severity` entries, its affected entries' after
    qualitative: str  # `database_specific.severity`, lower-case, "" where none


class _Group:
    """The records of one advisory: its chosen id, its aliases, and (worked out on first match) its severity."""

    __slots__ = ("_severity", "advisory", "aliases", "published", "records")

    def __init__(self, records: list[_Record]) -> None:
        ids = {name for record in records for name in record.ids}
        self.advisory = min(ids, key=_preference)
        self.aliases = tuple(sorted(ids - {self.advisory}))
        self.records = sorted(records, key=lambda record: _preference(record.ids[0]))
        dates = [record.published for record in records if record.published is not None]
        self.published = min(dates) if dates else None
        self._severity = ""

    @property
    def severity(self) -> str:
        # CVSS parsing is slow next to loading: only advisories that match pay for it.
        if not self._severity:
            self._severity = _severity(self.records)
        return self._severity


class _Affected:
    """One record's `affected` entry for one package, ranges parsed; the `versions` list normalised on first use."""

    __slots__ = ("_normal", "group", "ranges", "versions")

    def __init__(self, ranges: tuple, versions: frozenset[str]) -> None:
        self.ranges = ranges  # ((events sorted by version, limits), ...)
        self.versions = versions
        self._normal: frozenset[str] | None = None
        self.group: _Group | None = None

    def affects(self, version: Version | None, text: str) -> bool:
        if text in self.versions:
            return True
        if version is None:  # not PEP 440: only an exact string in `versions` matches
            return False
        if self._normal is None:
            self._normal = frozenset(_normalised(self.versions))
        return str(version) in self._normal or any(_in_range(version, *each) for each in self.ranges)

    def fixed_above(self, version: Version | None) -> Iterator[Version]:
        for events, _limits in self.ranges:
            for at, kind in events:
                if kind == "fixed" and (version is None or at > version):
                    yield at


class Database:
    """Loaded OSV records, indexed by PEP 503 name. `skipped`: one line per record that could not be read."""

    def __init__(self, by_name: dict[str, list[_Affected]], skipped: tuple[str, ...]) -> None:
        self._by_name = by_name
        self.skipped = skipped

    def __len__(self) -> int:
        """How many advisories (aliases counted once)."""
        return len({id(entry.group) for entries in self._by_name.values() for entry in entries})

    def affecting(self, name: str, version: str) -> list[Finding]:
        """The advisories that affect `name` at `version`, sorted by advisory id."""
        entries = self._by_name.get(normalize_name(name))
        if not entries:
            return []
        try:
            parsed: Version | None = Version(version)
        except InvalidVersion:
            parsed = None
        fixes: dict[_Group, list[Version]] = {}
        for entry in entries:
            if entry.affects(parsed, version):
                assert entry.group is not None  # set by load
                fixes.setdefault(entry.group, []).extend(entry.fixed_above(parsed))
        findings = [
            Finding(group.advisory, group.aliases, group.severity, str(min(fixed)) if fixed else "", group.published)
            for group, fixed in fixes.items()
        ]
        return sorted(findings, key=lambda finding: finding.advisory)


def load(path: str | os.PathLike) -> Database:
    """The OSV records under a directory (`.json`, `.yaml`, `.yml` files, any depth) or in a zip (OSV's all.zip)."""
    where = os.fspath(path)
    if os.path.isdir(where):
        documents = _directory(where)
    elif os.path.isfile(where):
        documents = _zip(where)
    else:
        raise DatabaseError(f"{where}: no such file or directory (an OSV database: a directory of records or all.zip)")
    versions: dict[str, Version] = {}
    records: list[tuple[_Record, dict[str, list[_Affected]]]] = []
    skipped = []
    seen = 0
    for name, read in documents:
        seen += 1
        try:
            data = read()
        except (OSError, zipfile.BadZipFile, ValueError) as error:  # one damaged file or member, not the database
            skipped.append(f"{name}: cannot be read: {getattr(error, 'strerror', None) or error}")
            continue
        try:
            parsed = _record(name, data, versions)
        except _BadRecord as error:
            skipped.append(f"{name}: {error}")
            continue
        if parsed is not None:
            records.append(parsed)
    if not seen:
        raise DatabaseError(f"{where} holds no OSV record (.json or .yaml files)")
    if not records and skipped:
        raise DatabaseError(f"{where}: not one OSV record could be read ({len(skipped)} skipped; first: {skipped[0]})")
    return Database(_index(records), tuple(skipped))


def _directory(root: str) -> Iterator[tuple[str, Callable[[], bytes]]]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for file in sorted(files):
            if file.endswith((".json", ".yaml", ".yml")):
                yield os.path.join(folder, file), Path(folder, file).read_bytes


def _zip(path: str) -> Iterator[tuple[str, Callable[[], bytes]]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatabaseError(f"{path} is not a zip of OSV records (such as all.zip): {error}") from None
    with archive:
        for member in sorted(archive.namelist()):
            if member.endswith(".json"):
                yield f"{path}:{member}", partial(archive.read, member)


def _record(name: str, data: bytes, versions: dict[str, Version]) -> tuple[_Record, dict[str, list[_Affected]]] | None:
    """A record and its PyPI entries by name; None for a withdrawn record or one with no PyPI entry."""
    try:
        document = json.loads(data) if name.endswith(".json") else yaml.load(data, Loader=_LOADER)
    except (ValueError, yaml.YAMLError) as error:
        raise _BadRecord(f"is not {'JSON' if name.endswith('.json') else 'YAML'}: {_first_line(error)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise _BadRecord("is not an OSV record (no `id`)")
    if document.get("withdrawn"):
        return None
    ident = document["id"]
    by_name: dict[str, list[_Affected]] = {}
    severity = list(_list(document, "severity", ident))
    for affected in _list(document, "affected", ident):
        package = affected.get("package") if isinstance(affected, dict) else None
        if not isinstance(package, dict) or package.get("ecosystem") != "PyPI":
            continue
        if not isinstance(package.get("name"), str):
            raise _BadRecord(f"{ident}: an `affected` entry has no package name")
        ranges = tuple(_range(each, ident, versions) for each in _list(affected, "ranges", ident) if _ecosystem(each))
        listed = frozenset(_list(affected, "versions", ident))
        if not all(isinstance(version, str) for version in listed):
            raise _BadRecord(f"{ident}: `versions` holds a value that is not a string (quote it)")
        by_name.setdefault(normalize_name(package["name"]), []).append(_Affected(ranges, listed))
        severity.extend(_list(affected, "severity", ident))
    if not by_name:
        return None
    aliases = tuple(alias for alias in _list(document, "aliases", ident) if isinstance(alias, str))
    specific = document.get("database_specific")
    qualitative = specific.get("severity") if isinstance(specific, dict) else None
    record = _Record(
        (ident, *aliases),
        _timestamp(document.get("published")),
        severity,
        qualitative.lower() if isinstance(qualitative, str) else "",
    )
    return record, by_name


def _list(mapping: dict, key: str, ident: str) -> list:
    value = mapping.get(key) or []
    if not isinstance(value, list):
        raise _BadRecord(f"{ident}: `{key}` is not a list")
    return value


def _ecosystem(each: object) -> bool:
    """An ECOSYSTEM range (GIT ranges name commits and SEMVER ones are not PEP 440: both are left to `versions`)."""
    return isinstance(each, dict) and each.get("type") == "ECOSYSTEM"


def _range(each: dict, ident: str, versions: dict[str, Version]) -> tuple:
    events: list[tuple[Version, str]] = []
    limits: list[tuple[Version, str]] = []
    for event in _list(each, "events", ident):
        if not (isinstance(event, dict) and len(event) == 1 and next(iter(event)) in _EVENTS):
            raise _BadRecord(f"{ident}: range event {event!r} is not one of {', '.join(_EVENTS)}")
        ((kind, value),) = event.items()
        if kind == "introduced" and value == "0":
            at = _ZERO  # "0" is the beginning of time, below every pre-release too
        elif kind == "limit" and value == "*":
            continue  # no limit
        else:
            at = _version(value, versions, f"{ident}: range event {kind}")
        (limits if kind == "limit" else events).append((at, kind))
    # The pseudocode's `sorted(range.events)`; at one version, introduced comes before what ends it.
    events.sort(key=lambda event: (event[0], event[1] != "introduced"))
    return tuple(events), tuple(at for at, _ in limits)


def _version(value: object, versions: dict[str, Version], what: str) -> Version:
    # Many records share version strings: each is parsed once per load.
    if not isinstance(value, str):  # YAML reads an unquoted 1.10 as the number 1.1
        raise _BadRecord(f"{what} {value!r} is not a string")
    text = value
    found = versions.get(text)
    if found is None:
        try:
            found = versions[text] = Version(text)
        except InvalidVersion:
            raise _BadRecord(f"{what} {text!r} is not a PEP 440 version") from None
    return found


def _in_range(version: Version, events: tuple, limits: tuple) -> bool:
    """The OSV schema's IncludedInRanges for one range: BeforeLimits, then the events in order."""
    if limits and not any(version < limit for limit in limits):
        return False
    vulnerable = False
    for at, kind in events:
        if kind == "introduced":
            if version >= at:
                vulnerable = True
        elif kind == "fixed":
            if version >= at:
                vulnerable = False
        elif version > at:  # last_affected
            vulnerable = False
    return vulnerable


def _normalised(listed: frozenset[str]) -> Iterator[str]:
    for text in listed:
        try:
            yield str(Version(text))
        except InvalidVersion:
            continue  # matched by exact string only


def _index(records: list[tuple[_Record, dict[str, list[_Affected]]]]) -> dict[str, list[_Affected]]:
    """Entries by name, each pointing at its advisory: records joined where one's ids and aliases meet another's."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for record, _ in records:
        first = root(record.ids[0])
        for other in record.ids[1:]:
            parent[root(other)] = first
    members: dict[str, list[_Record]] = {}
    for record, _ in records:
        members.setdefault(root(record.ids[0]), []).append(record)
    groups = {key: _Group(found) for key, found in members.items()}
    by_name: dict[str, list[_Affected]] = {}
    for record, entries in records:
        group = groups[root(record.ids[0])]
        for name, affected in entries.items():
            for entry in affected:
                entry.group = group
            by_name.setdefault(name, []).extend(affected)
    return by_name


def _preference(ident: str) -> tuple[int, str]:
    for rank, prefix in enumerate(_PREFERENCE):
        if ident.startswith(prefix):
            return rank, ident
    return len(_PREFERENCE), ident


def _severity(records: list[_Record]) -> str:
    """From a CVSS vector (the newest CVSS version any record gives), else a qualitative severity, else unknown."""
    from cvss import CVSS3, CVSS4, CVSSError

    entries = [entry for record in records for entry in record.severity if isinstance(entry, dict)]
    for kind, scorer in (("CVSS_V4", CVSS4), ("CVSS_V3", CVSS3)):
        for entry in entries:
            if entry.get("type") != kind:
                continue
            try:
                score = scorer(entry.get("score")).base_score
            except (CVSSError, TypeError, ValueError, KeyError):
                continue  # a vector the library cannot read: the next one, or the qualitative severity
            return _rating(float(score))
    for record in records:
        if record.qualitative in _QUALITATIVE:
            return _QUALITATIVE[record.qualitative]
    return "unknown"


def _rating(score: float) -> str:
    """The CVSS qualitative rating of a base score (v3.1 and v4.0 share it); 0.0, "None", reads as low."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


def _timestamp(value: object) -> float | None:
    """Epoch seconds of an RFC 3339 time (YAML may have parsed it already); None where there is none."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        head, _, rest = text.partition(".")
        if rest:  # more than microseconds (some records carry nanoseconds) is more than fromisoformat reads
            digits = len(rest) - len(rest.lstrip("0123456789"))
            text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
