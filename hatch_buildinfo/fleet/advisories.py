"""Advisories: read OSV records (a directory tree of .json/.yaml files, or OSV's all.zip) and match versions.

Only `ecosystem: PyPI` entries count; withdrawn records are skipped; a package's records that name each other
(PYSEC, GHSA, CVE ids as `aliases`) count as one advisory. A version is affected if an ECOSYSTEM range holds it,
evaluated as the OSV schema's pseudocode says with PEP 440 ordering, or if the record's `versions` lists it.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache, partial
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from ..names import normalize_name

# The chosen id of several aliases: the PyPA database's own, then GitHub's, then the smallest.
_PREFERENCE = ("PYSEC-", "GHSA-")
# GitHub's qualitative `database_specific.severity` says MODERATE where CVSS says Medium.
_QUALITATIVE = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high", "critical": "critical"}
_EVENTS = ("introduced", "fixed", "last_affected", "limit")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NUMBER = "(?:0|[1-9][0-9]*)"
# A line that is not a version as packaging writes it (epochs and local labels count: rare, and then parsed).
_NOT_NORMAL = re.compile(
    rf"^(?!{_NUMBER}(?:\.{_NUMBER})*(?:(?:a|b|rc){_NUMBER})?(?:\.post{_NUMBER})?(?:\.dev{_NUMBER})?$).*$", re.M
)
_NOTHING: frozenset[str] = frozenset()
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


class _Record:
    """What matching needs of one record; the rest of it (details, references) is not kept."""

    __slots__ = ("ids", "published", "qualitative", "severity")

    def __init__(self, ids: tuple[str, ...], published: object, severity: list, qualitative: str) -> None:
        self.ids = ids  # its own id first, then its aliases
        self.published = published  # as the record spells it: parsed only if it matches
        self.severity = severity  # the record's `severity` entries, its affected entries' after
        self.qualitative = qualitative  # `database_specific.severity`, lower-case, "" where none


class _Affected:
    """One record's `affected` entry for one package: its ECOSYSTEM ranges parsed, its `versions` as listed."""

    __slots__ = ("fixes", "ranges", "record", "respelled", "versions")

    def __init__(self, record: _Record, ranges: tuple, versions: frozenset[str]) -> None:
        self.record = record
        self.ranges = ranges  # ((events sorted by version, limits), ...)
        self.fixes = tuple(sorted(at for events, _ in ranges for at, kind in events if kind == "fixed"))
        self.versions = versions
        self.respelled = _respelled(versions)

    def affects(self, version: Version | None, text: str, normal: str) -> bool:
        """Whether `version` (`text` as given, `normal` as PEP 440 spells it) is listed or in a range."""
        if text in self.versions:
            return True
        if version is None:  # not PEP 440: only an exact string in `versions` matches
            return False
        if normal in self.versions:
            return True
        for events, limits in self.ranges:
            if _in_range(version, events, limits):
                return True
        return normal in self.respelled

    def fixed_above(self, version: Version | None) -> Version | None:
        for at in self.fixes:
            if version is None or at > version:
                return at
        return None


class _Group:
    """The records of one advisory about one package: its chosen id; its aliases, date and severity once it matches."""

    __slots__ = ("_findings", "advisory", "entries")

    def __init__(self, entries: list[_Affected]) -> None:
        self.entries = entries
        self.advisory = _chosen({name for entry in entries for name in entry.record.ids})
        self._findings: dict[Version | None, Finding] = {}

    def finding(self, fixed: Version | None) -> Finding:
        """The finding of this advisory where `fixed` is the lowest fixed version above the running one."""
        found = self._findings.get(fixed)
        if found is None:
            # Worked out on the first match: most advisories match nothing a fleet runs, and CVSS vectors are slow.
            records = sorted({id(entry.record): entry.record for entry in self.entries}.values(), key=_order)
            aliases = tuple(sorted({name for record in records for name in record.ids} - {self.advisory}))
            dates = [date for date in (_timestamp(record.published) for record in records) if date is not None]
            severity = _severity(records)
            found = Finding(self.advisory, aliases, severity, str(fixed or ""), min(dates) if dates else None)
            self._findings[fixed] = found
        return found


class Database:
    """Loaded OSV records, by PEP 503 name. `skipped`: one line per record that could not be read."""

    def __init__(self, by_name: dict[str, list[_Affected]], skipped: tuple[str, ...]) -> None:
        # Aliases are joined per package: one id never stands for another package's record that names the same CVE.
        self._groups = {
            key: sorted(_grouped(entries), key=lambda group: group.advisory) for key, entries in by_name.items()
        }
        self._names: dict[str, str] = {}
        self._versions: dict[str, tuple[Version | None, str]] = {}
        self.skipped = skipped

    def affecting(self, name: str, version: str) -> list[Finding]:
        """The advisories that affect `name` at `version`, sorted by advisory id."""
        key = self._names.get(name)
        if key is None:
            key = self._names[name] = normalize_name(name)
        groups = self._groups.get(key)
        if not groups:
            return []
        parsed, normal = self._parsed(version)
        findings = []
        for group in groups:
            fixed: Version | None = None
            hit = False
            for entry in group.entries:
                if entry.affects(parsed, version, normal):
                    hit = True
                    above = entry.fixed_above(parsed)
                    if above is not None and (fixed is None or above < fixed):
                        fixed = above
            if hit:
                findings.append(group.finding(fixed))
        return findings

    def _parsed(self, text: str) -> tuple[Version | None, str]:
        # A fleet runs the same versions of many packages, and asks again each interval: each is parsed once.
        found = self._versions.get(text)
        if found is None:
            try:
                version = Version(text)
                found = self._versions[text] = (version, str(version))
            except InvalidVersion:
                found = self._versions[text] = (None, "")
        return found


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
    by_name: dict[str, list[_Affected]] = {}
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
        for key, entries in parsed.items():
            by_name.setdefault(key, []).extend(entries)
    if not seen:
        raise DatabaseError(f"{where} holds no OSV record (.json or .yaml files)")
    if len(skipped) == seen:
        raise DatabaseError(f"{where}: not one OSV record could be read ({len(skipped)} skipped; first: {skipped[0]})")
    return Database(by_name, tuple(skipped))


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


def _record(name: str, data: bytes, versions: dict[str, Version]) -> dict[str, list[_Affected]]:
    """A record's PyPI entries by PEP 503 name; none for a withdrawn record."""
    try:
        document = json.loads(data) if name.endswith(".json") else yaml.load(data, Loader=_LOADER)
    except (ValueError, yaml.YAMLError) as error:
        raise _BadRecord(f"is not {'JSON' if name.endswith('.json') else 'YAML'}: {_first_line(error)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise _BadRecord("is not an OSV record (no `id`)")
    if document.get("withdrawn"):
        return {}
    ident = document["id"]
    by_name: dict[str, list[_Affected]] = {}
    severity = list(_list(document, "severity", ident))
    aliases = tuple(alias for alias in _list(document, "aliases", ident) if isinstance(alias, str))
    specific = document.get("database_specific")
    qualitative = specific.get("severity") if isinstance(specific, dict) else None
    record = _Record(
        (ident, *aliases),
        document.get("published"),
        severity,
        qualitative.lower() if isinstance(qualitative, str) else "",
    )
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
        by_name.setdefault(normalize_name(package["name"]), []).append(_Affected(record, ranges, listed))
        severity.extend(_list(affected, "severity", ident))
    return by_name


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
    limits: list[Version] = []
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
        if kind == "limit":
            limits.append(at)
        else:
            events.append((at, kind))
    # The pseudocode's `sorted(range.events)`; at one version, introduced comes before what ends it.
    events.sort(key=lambda event: (event[0], event[1] != "introduced"))
    return tuple(events), tuple(limits)


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


def _respelled(listed: frozenset[str]) -> frozenset[str]:
    """The listed versions that PEP 440 spells otherwise (`0.8.0-alpha2` is 0.8.0a2), as PEP 440 spells them."""
    # One scan in C finds the rare lines not spelled as PEP 440 spells them; only those are parsed.
    odd = _NOT_NORMAL.findall("\n".join(listed))
    if not odd:
        return _NOTHING
    spelled = set()
    for text in odd:
        try:
            spelled.add(str(Version(text)))
        except InvalidVersion:
            continue  # matched by exact string only
    return frozenset(spelled) - listed


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


def _grouped(entries: list[_Affected]) -> Iterator[_Group]:
    """A package's entries by advisory: records joined where one's id or aliases meet another's."""
    if len(entries) == 1:
        return iter([_Group(entries)])
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for entry in entries:
        first = root(entry.record.ids[0])
        for other in entry.record.ids[1:]:
            parent[root(other)] = first
    members: dict[str, list[_Affected]] = {}
    for entry in entries:
        members.setdefault(root(entry.record.ids[0]), []).append(entry)
    return (_Group(found) for found in members.values())


def _chosen(ids: set[str]) -> str:
    """The id an advisory goes by: the PyPA database's own, else GitHub's, else the smallest (CVE-…, MAL-…)."""
    for prefix in _PREFERENCE:
        preferred = [name for name in ids if name.startswith(prefix)]
        if preferred:
            return min(preferred)
    return min(ids)


def _order(record: _Record) -> tuple[int, str]:
    """Records in the order their ids are preferred: whose CVSS vector or severity counts first."""
    ident = record.ids[0]
    rank = next((rank for rank, prefix in enumerate(_PREFERENCE) if ident.startswith(prefix)), len(_PREFERENCE))
    return rank, ident


def _severity(records: list[_Record]) -> str:
    """From a CVSS vector (the newest CVSS version any record gives), else a qualitative severity, else unknown."""
    entries = [entry for record in records for entry in record.severity if isinstance(entry, dict)]
    for kind in ("CVSS_V4", "CVSS_V3"):
        for entry in entries:
            vector = entry.get("score")
            if entry.get("type") == kind and isinstance(vector, str):
                rating = _cvss_rating(kind, vector)
                if rating:
                    return rating
    for record in records:
        if record.qualitative in _QUALITATIVE:
            return _QUALITATIVE[record.qualitative]
    return "unknown"


@lru_cache(maxsize=4096)  # advisories share far fewer vectors than they number
def _cvss_rating(kind: str, vector: str) -> str:
    """The rating of a CVSS vector's base score; "" for a vector the library cannot read."""
    from cvss import CVSS3, CVSS4, CVSSError

    try:
        score = (CVSS4 if kind == "CVSS_V4" else CVSS3)(vector).base_score
    except (CVSSError, TypeError, ValueError, KeyError):
        return ""
    return _rating(float(score))


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
