"""`hatch-buildinfo audit`: the locked dependencies of builds, or an SBOM's packages, against OSV records
(offline) and, with `--index`, against the newest release on a package index: how many libyears behind each is.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TextIO
from urllib.parse import unquote

from packaging.version import InvalidVersion, Version

from ..artifacts import InspectError, read_target
from ..names import normalize_name
from .advisories import Finding, load
from .index import PackageIndex, Refresh, libyears
from .web import URLError, check_index_url

_PYPI_PURL = "pkg:pypi/"


class IndexUnreadable(Exception):
    """A package index that could not answer for every name asked; the message is one line naming the URL."""


@dataclass(frozen=True)
class Freshness:
    """How far one locked (name, version) is behind the newest release an index knows."""

    name: str
    version: str
    on_index: bool  # some index knows the name
    newest: str | None  # the newest final release; None: no index knows the name, or it has no final release
    released: float | None  # the running version's release time (epoch s), where the index gives it
    newest_released: float | None
    behind: bool | None  # running < newest by PEP 440; None: no newest, or the running version is not PEP 440
    libyears: float | None  # newest's release time - running's, in years, never negative; None: a time is unknown


def audit(
    targets: Iterable[str],
    osv: str | None = None,
    index: Sequence[str] = (),
    as_json: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Print each advisory affecting a target's entries (with `osv`) and each entry's newest release and libyears
    with a total per target (with `index`; then each advisory's fixed version's release time too); 0 when no
    advisory affects anything, 1 otherwise.

    Without `index` no request is made. Raises InspectError for a target that cannot be read, DatabaseError for
    a database that cannot, IndexUnreadable for an index that cannot answer. Records of the database that cannot
    be read are named on stderr, one line each.
    """
    packages = {target: packages_of(target) for target in targets}
    found = _findings(packages, osv) if osv is not None else None
    refresh = _refresh(packages, index) if index else None
    fresh = None
    if refresh is not None:
        fresh = [
            (target, freshness(name, version, refresh)) for target, pairs in packages.items() for name, version in pairs
        ]
    if as_json:
        document = {
            "schema": 1,
            "findings": None if found is None else [_as_dict(*each, refresh) for each in found],
            "index": list(index),
            "freshness": None if fresh is None else [_fresh_dict(target, each) for target, each in fresh],
            "totals": None if fresh is None else [_total_dict(target, fresh) for target in packages],
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        for target in packages:
            out.writelines(_line(*each, refresh) + "\n" for each in found or () if each[0] == target)
            if fresh is not None:
                out.writelines(_fresh_line(target, each) + "\n" for of, each in fresh if of == target)
                out.write(_total_line(target, fresh) + "\n")
    return 1 if found else 0


def _findings(packages: dict[str, list[tuple[str, str]]], osv: str) -> list[tuple[str, str, str, Finding]]:
    database = load(osv)
    for line in database.skipped:
        print(f"warning: skipped {line}", file=sys.stderr)
    return [
        (target, name, version, finding)
        for target, pairs in packages.items()
        for name, version in pairs
        for finding in database.affecting(name, version)
    ]


def _refresh(packages: dict[str, list[tuple[str, str]]], urls: Sequence[str]) -> Refresh:
    """What the indexes at `urls` say of every distinct name of the targets' entries, each asked once."""
    try:
        for given in urls:
            check_index_url(given)
    except URLError as error:
        raise IndexUnreadable(str(error)) from None
    client = PackageIndex(urls)
    try:
        refresh = client.refresh({name for pairs in packages.values() for name, _ in pairs})
    finally:
        client.close()
    if refresh.errors:
        more = len(refresh.errors) - 1
        raise IndexUnreadable(refresh.errors[0] + (f" (and {more} more names could not be read)" if more else ""))
    return refresh


def freshness(name: str, version: str, refresh: Refresh) -> Freshness:
    """How far `version` of `name` (PEP 503 normalized) is behind the newest release `refresh` found."""
    project = refresh.projects.get(name)
    if project is None or project.latest is None:
        return Freshness(name, version, project is not None, None, None, None, None, None)
    released = project.release_time(version)
    newest_released = project.release_time(project.latest)
    try:
        behind: bool | None = Version(version) < Version(project.latest)
    except InvalidVersion:
        behind = None
    if behind is False:  # on the newest release, or past it (a pre-release of the next)
        years: float | None = 0.0
    elif behind and released is not None and newest_released is not None:
        years = libyears(released, newest_released)
    else:
        years = None
    return Freshness(name, version, True, project.latest, released, newest_released, behind, years)


def packages_of(target: str) -> list[tuple[str, str]]:
    """The (PEP 503 name, version) pairs a target records, sorted: every locked entry, whatever its marker."""
    if target.endswith(".json"):
        pairs = _sbom_packages(target)
    else:
        pairs = {(normalize_name(name), version) for name, version, *_marker in read_target(target).dependencies}
    return sorted(pairs)


def _sbom_packages(path: str) -> set[tuple[str, str]]:
    """The PyPI packages of a CycloneDX SBOM (JSON), by their `pkg:pypi/` package URLs, nested components too."""
    if not os.path.isfile(path):
        raise InspectError(f"{path}: no such file")
    try:
        with open(path, "rb") as file:
            document = json.load(file)
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: nested deeper than the parser goes
        raise InspectError(f"{path} is not a readable CycloneDX SBOM (JSON): {error}") from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise InspectError(f'{path} is not a CycloneDX SBOM: it has no "bomFormat": "CycloneDX"')
    found = set()
    pending = list(document.get("components") or [])
    while pending:
        component = pending.pop()
        if not isinstance(component, dict):
            continue
        pending.extend(component.get("components") or [])
        purl = component.get("purl")
        if isinstance(purl, str) and purl.startswith(_PYPI_PURL):
            # pkg:pypi/<name>@<version>?<qualifiers>#<subpath>, each part percent-encoded
            name, at, version = purl[len(_PYPI_PURL) :].partition("#")[0].partition("?")[0].partition("@")
            if at and version:
                found.add((normalize_name(unquote(name)), unquote(version)))
    return found


def _fixed_released(name: str, finding: Finding, refresh: Refresh) -> float | None:
    """When the index released the advisory's fixed version; None: no fix, or no release time for it."""
    project = refresh.projects.get(name)
    return project.release_time(finding.fixed) if project is not None and finding.fixed else None


def _line(target: str, name: str, version: str, finding: Finding, refresh: Refresh | None) -> str:
    aliases = ",".join(finding.aliases) or "-"
    line = (
        f"{target}: {name} {version} {finding.advisory} aliases={aliases} severity={finding.severity} "
        f"fixed={finding.fixed or 'none'}"
    )
    if refresh is None or not finding.fixed:
        return line
    released = _fixed_released(name, finding, refresh)
    day = "unknown" if released is None else datetime.fromtimestamp(released, timezone.utc).strftime("%Y-%m-%d")
    return f"{line} fixed_released={day}"


def _as_dict(target: str, name: str, version: str, finding: Finding, refresh: Refresh | None) -> dict:
    return {
        "target": target,
        "name": name,
        "version": version,
        "advisory": finding.advisory,
        "aliases": list(finding.aliases),
        "severity": finding.severity,
        "fixed": finding.fixed,
        "published": finding.published,
        "fixed_released": None if refresh is None else _fixed_released(name, finding, refresh),
    }


def _fresh_line(target: str, entry: Freshness) -> str:
    head = f"{target}: {entry.name} {entry.version}"
    if not entry.on_index:
        return f"{head} newest=unknown (no index knows {entry.name})"
    if entry.newest is None:
        return f"{head} newest=none (no final release on the index)"
    if entry.libyears is None:
        if entry.behind is None:
            why = f"{entry.version} is not a PEP 440 version"
        else:
            why = f"no release time for {entry.version if entry.released is None else entry.newest} on the index"
        return f"{head} newest={entry.newest} libyears=unknown ({why})"
    return f"{head} newest={entry.newest} libyears={entry.libyears:.2f}"


def _totals(target: str, fresh: list[tuple[str, Freshness]]) -> tuple[float, int, int, int]:
    """A target's libyears (the sum of those known), entries behind the newest, entries, entries of unknown libyears."""
    entries = [entry for of, entry in fresh if of == target]
    known = [entry.libyears for entry in entries if entry.libyears is not None]
    return sum(known), sum(bool(entry.behind) for entry in entries), len(entries), len(entries) - len(known)


def _total_line(target: str, fresh: list[tuple[str, Freshness]]) -> str:
    years, behind, entries, unknown = _totals(target, fresh)
    return f"{target}: total libyears={years:.2f} behind={behind} of {entries}" + (
        f" (libyears unknown for {unknown})" if unknown else ""
    )


def _fresh_dict(target: str, entry: Freshness) -> dict:
    return {
        "target": target,
        "name": entry.name,
        "version": entry.version,
        "on_index": entry.on_index,
        "newest": entry.newest,
        "released": entry.released,
        "newest_released": entry.newest_released,
        "behind": entry.behind,
        "libyears": entry.libyears,
    }


def _total_dict(target: str, fresh: list[tuple[str, Freshness]]) -> dict:
    years, behind, entries, unknown = _totals(target, fresh)
    return {"target": target, "libyears": years, "behind": behind, "entries": entries, "unknown": unknown}
