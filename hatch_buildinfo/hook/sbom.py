"""Render: the locked runtime dependencies as a CycloneDX 1.6 JSON SBOM, for a wheel's `.dist-info/sboms/`.

Written from the same lock read as the generated module, with no external tool. The document
is a function of its inputs only: keys sorted, components sorted, the timestamp the build date,
the serial number derived from the content, so a reproducible build writes the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote

from ..info import UNKNOWN, BuildInfo
from ..names import normalize_name
from .locks import Locked

SPEC_VERSION = "1.6"
TOOL = "hatch-buildinfo"
# The lock's hash algorithm names, CycloneDX's, and their digests' hex length; a hash CycloneDX has
# no name for, or of another length (which its schema refuses), is left out.
HASH_ALGORITHMS = {
    "md5": ("MD5", 32),
    "sha1": ("SHA-1", 40),
    "sha256": ("SHA-256", 64),
    "sha384": ("SHA-384", 96),
    "sha512": ("SHA-512", 128),
    "sha3_256": ("SHA3-256", 64),
    "sha3_384": ("SHA3-384", 96),
    "sha3_512": ("SHA3-512", 128),
    "blake2b_256": ("BLAKE2b-256", 64),
    "blake2b_384": ("BLAKE2b-384", 96),
    "blake2b_512": ("BLAKE2b-512", 128),
}
_RECORDED_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
# Namespace of the serial numbers, which are version-5 UUIDs of the document's content.
_SERIAL_NAMESPACE = "urn:hatch-buildinfo:cyclonedx"


def file_name(project: str) -> str:
    """The SBOM's file name in `.dist-info/sboms/`: the project's normalised name."""
    return f"{normalize_name(project)}.cdx.json"


def purl(name: str, version: str) -> str:
    """The package URL of a PyPI release, as the purl spec writes it: `pkg:pypi/<name>@<version>`.

    The spec's PyPI name is lower-case with `_` as `-`; both parts are percent-encoded.
    """
    return f"pkg:pypi/{quote(name.lower().replace('_', '-'), safe='')}@{quote(version, safe='')}"


def cyclonedx(
    info: BuildInfo,
    project: str,
    packages: Sequence[Locked],
    direct: Iterable[str],
    tool_version: str,
    repository: str | None = None,
) -> str:
    """The SBOM of one build: `project` at `info.version` and the locked `packages` it runs with.

    `direct` names the project's own requirements, the root's edges. Other edges come from the
    lock's graph (`Locked.requires`); a lock without one (requirements files, Pipfile.lock)
    gives only the root's. `repository` is the project's source URL, for the VCS reference.
    """
    root_ref = purl(project, info.version)
    component_refs = [purl(package.name, package.version) for package in packages]
    refs_by_name: dict[str, list[str]] = {}
    for ref, package in zip(component_refs, packages):
        refs_by_name.setdefault(package.name, []).append(ref)

    def refs(names: Iterable[str]) -> list[str]:  # names normalised, as read_lock gives `requires`
        return sorted({ref for name in names for ref in refs_by_name.get(name, ())})

    edges: list[dict] = [{"ref": root_ref, "dependsOn": refs(normalize_name(name) for name in direct)}]
    if any(package.requires for package in packages):
        edges += [{"ref": ref, "dependsOn": refs(package.requires)} for ref, package in zip(component_refs, packages)]
    metadata: dict = {
        "component": _root(info, project, root_ref, repository),
        "tools": {"components": [{"type": "application", "name": TOOL, "version": tool_version}]},
    }
    timestamp = _timestamp(info.build_date)
    if timestamp:
        metadata["timestamp"] = timestamp
    content = _dumps(
        {
            "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
            "bomFormat": "CycloneDX",
            "specVersion": SPEC_VERSION,
            "version": 1,
            "metadata": metadata,
            "components": [_component(ref, package) for ref, package in zip(component_refs, packages)],
            "dependencies": sorted(edges, key=lambda edge: edge["ref"]),
        }
    )
    # The serial number goes where sorted keys put it, just before the last key but one; splicing it
    # in saves encoding a large document twice.
    import uuid  # here: it brings sockets and more, which a build without an SBOM never needs

    namespace = uuid.uuid5(uuid.NAMESPACE_URL, _SERIAL_NAMESPACE)
    serial = f'"serialNumber":"urn:uuid:{uuid.uuid5(namespace, content)}",'
    head, separator, tail = content.rpartition('"specVersion":')
    return head + serial + separator + tail


def _root(info: BuildInfo, project: str, ref: str, repository: str | None) -> dict:
    component: dict = {"type": "application", "bom-ref": ref, "name": project, "version": info.version, "purl": ref}
    facts = [("revision", info.revision), ("branch", info.branch), ("tag", info.tag)]
    known = [(name, value) for name, value in facts if value and value != UNKNOWN]
    if known:
        component["properties"] = [{"name": f"{TOOL}:{name}", "value": value} for name, value in known]
    if repository and info.revision != UNKNOWN:
        # pip's VCS URL form, which names the commit: git+https://host/repo@<revision>
        url = repository if repository.startswith("git+") else f"git+{repository}"
        component["externalReferences"] = [
            {"type": "vcs", "url": f"{url}@{info.revision}", "comment": f"revision {info.revision}"}
        ]
    return component


def _component(ref: str, package: Locked) -> dict:
    component: dict = {"type": "library", "bom-ref": ref, "name": package.name, "version": package.version, "purl": ref}
    hashes = [_hash(text) for text in package.hashes]
    if any(hashes):
        component["hashes"] = [found for found in hashes if found]
    if package.marker:
        component["properties"] = [{"name": f"{TOOL}:marker", "value": package.marker}]
    return component


def _hash(text: str) -> dict | None:
    algorithm, _, digest = text.partition(":")
    name, length = HASH_ALGORITHMS.get(algorithm.lower().replace("-", "_"), (None, 0))
    return {"alg": name, "content": digest.lower()} if name and len(digest) == length else None


def _timestamp(build_date: str) -> str | None:
    """The build date when it is the recorded `YYYY-MM-DDTHH:MM:SSZ`; a free-form override is left out."""
    if not _RECORDED_DATE.fullmatch(build_date):
        return None
    try:
        datetime.fromisoformat(build_date[:-1])  # not strptime, whose first call costs a build 10 ms
    except ValueError:
        return None
    return build_date


def _dumps(document: dict) -> str:
    # Compact: with `indent`, json falls back to its pure-Python encoder, ten times slower on a large lock.
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
