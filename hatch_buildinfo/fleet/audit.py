"""`hatch-buildinfo audit`: the locked dependencies of builds, or an SBOM's packages, against OSV records, offline."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import unquote

from ..artifacts import InspectError, read_target
from ..names import normalize_name
from .advisories import Finding, load

_PYPI_PURL = "pkg:pypi/"


def audit(targets: Iterable[str], osv: str, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    """Print one line per affected (package, advisory) of each target; 0 when none is affected, 1 otherwise.

    Raises InspectError for a target that cannot be read and DatabaseError for a database that cannot.
    Records of the database that cannot be read are named on stderr, one line each.
    """
    packages = {target: packages_of(target) for target in targets}
    database = load(osv)
    for line in database.skipped:
        print(f"warning: skipped {line}", file=sys.stderr)
    found = [
        (target, name, version, finding)
        for target, pairs in packages.items()
        for name, version in pairs
        for finding in database.affecting(name, version)
    ]
    if as_json:
        out.write(json.dumps({"schema": 1, "findings": [_as_dict(*each) for each in found]}, indent=2) + "\n")
    else:
        out.writelines(_line(*each) + "\n" for each in found)
    return 1 if found else 0


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
    except (OSError, ValueError) as error:
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


def _line(target: str, name: str, version: str, finding: Finding) -> str:
    aliases = ",".join(finding.aliases) or "-"
    return (
        f"{target}: {name} {version} {finding.advisory} aliases={aliases} severity={finding.severity} "
        f"fixed={finding.fixed or 'none'}"
    )


def _as_dict(target: str, name: str, version: str, finding: Finding) -> dict:
    return {
        "target": target,
        "name": name,
        "version": version,
        "advisory": finding.advisory,
        "aliases": list(finding.aliases),
        "severity": finding.severity,
        "fixed": finding.fixed,
        "published": finding.published,
    }
