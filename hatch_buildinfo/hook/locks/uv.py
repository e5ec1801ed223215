"""Read uv.lock: walk uv's dependency graph from the project's own entry.

uv.lock (top-level `version = 1`) lists every package of a universal resolution as a
`[[package]]` with `name`, `version` and `source`, its `dependencies`, its
`optional-dependencies` by extra, and its `dev-dependencies` by group. An edge is a table
`{ name, version?, source?, extra?, marker? }`: `version`/`source` pick one entry when the
lock lists a name more than once (forks of a universal lock), `extra` asks for that
package's optional dependencies, and `marker` says where the edge holds.

The project runs with what is reachable from its own entry (`source = { editable = "." }`,
`{ virtual = "." }` for a project that is not a package) through `dependencies` and the
optional dependencies of the extras it is built with; dependency groups stay out. A
package's marker holds where some path to it holds, the AND of the edge markers along a
path: markers are kept as sets of conjunctions of edge markers (an OR of ANDs), which makes
cycles harmless, since a path around a cycle only adds a conjunction that one already there
implies. uv's conflict markers (`extra == 'extra-8-demo-pkg-cpu'`) are decided by the extras
built with. Markers are not simplified further: a package reached on both sides of a
`python_full_version` fork carries both sides' markers, which together always hold.

A package requires the targets of the edges walked out of it: its `dependencies` and the
optional dependencies of the extras it is reached with, less edges whose marker never holds for
the extras built with. Its hashes are those of its `sdist` and `wheels`.

A workspace member's entry is an editable or virtual source tree like the root's, at its
path in the workspace (`source = { editable = "packages/a" }`), so a member's lock is walked from
the member's own entry the same way. A source tree with a dynamic version (a workspace member, say)
has no `version` in the lock: it is walked through, but there is no version to record for it, and
a LeftOut warning names it.
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from . import LeftOut, Locked, LockError, Project, file_hashes, load_toml, normalize_name
from .selection import settle

SUPPORTED_VERSIONS = (1,)
# Sources whose entry may have no version: source trees with a dynamic version.
_SOURCE_TREES = ("editable", "virtual", "directory")
_OWN_SOURCES = ("editable", "virtual")

# An atom is one comparison: (left, op, right), each side ("var", name) or ("str", value).
# A conjunction is a frozenset of atoms, a marker (DNF) a frozenset of conjunctions.
_TRUE: frozenset = frozenset({frozenset()})
_FALSE: frozenset = frozenset()


def read(path: Path, project: Project) -> list[Locked]:
    """The packages the project runs with, each with the marker under which it is installed."""
    lock = _load(path)
    packages = _packages(path, lock)
    by_name: dict[str, list[_Package]] = {}
    for package in packages:
        by_name.setdefault(package.name, []).append(package)
    root = _root(path, project, by_name)
    extras = {normalize_name(extra) for extra in project.extras}
    for extra in sorted(extras - set(root.optional)):
        if root.provides_extras is not None and extra not in root.provides_extras:
            raise LockError(path, f"the project has no extra {extra!r}", entry=root.name)
    markers = _Markers(path, root.name, extras)
    reached = _walk(path, root, extras, by_name, markers)
    unversioned = sorted(package.name for package in reached if package is not root and package.version is None)
    if unversioned:
        warnings.warn(
            LeftOut(
                f"{path}: {', '.join(unversioned)}: the lock records no version (a source tree with a dynamic "
                "version), so it is left out of the recorded dependencies; a static `version` in its pyproject.toml "
                "records it"
            ),
            stacklevel=2,
        )
    return [
        Locked(package.name, package.version, _text(dnf), package.hashes, _requires(package))
        for package, dnf in reached.items()
        if package is not root and package.version is not None
    ]


# The lock's entries


@dataclass(eq=False)
class _Package:
    name: str
    version: str | None
    source: dict
    dependencies: list = field(default_factory=list)
    optional: dict = field(default_factory=dict)
    provides_extras: frozenset | None = None
    hashes: tuple[str, ...] = ()
    # The resolved edges of each node of this package: None for its dependencies, else an extra.
    edges: dict = field(default_factory=dict)


def _load(path: Path) -> dict:
    lock = load_toml(path)
    version = lock.get("version")
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        known = ", ".join(str(known) for known in SUPPORTED_VERSIONS)
        found = "no lock version" if version is None else f"unsupported lock version {version!r}"
        raise LockError(path, f"{found}; this reader knows version {known}", entry="version")
    return lock


def _packages(path: Path, lock: dict) -> list[_Package]:
    entries = lock.get("package", [])
    if not isinstance(entries, list):
        raise LockError(path, "is not an array of tables", entry="package")
    packages = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise LockError(path, "has no name", entry=f"package #{number}")
        name = normalize_name(entry["name"])
        source = entry.get("source", {})
        if not isinstance(source, dict):
            raise LockError(path, f"source is not a table: {source!r}", entry=name)
        version = entry.get("version")
        if version is None and not any(kind in source for kind in _SOURCE_TREES):
            raise LockError(path, "has no version", entry=name)
        if version is not None and (not isinstance(version, str) or not version):
            raise LockError(path, f"version is not a string: {version!r}", entry=name)
        dependencies = entry.get("dependencies", [])
        optional = entry.get("optional-dependencies", {})
        if not isinstance(dependencies, list) or not isinstance(optional, dict):
            raise LockError(path, "dependencies are not arrays of tables", entry=name)
        if not all(isinstance(edges, list) for edges in optional.values()):
            raise LockError(path, "optional-dependencies are not arrays of tables", entry=name)
        sdist = entry.get("sdist")
        hashes = file_hashes(path, name, "sdist", [] if sdist is None else [sdist])
        hashes += file_hashes(path, name, "wheels", entry.get("wheels", []))
        metadata = entry.get("metadata", {})
        provides = metadata.get("provides-extras") if isinstance(metadata, dict) else None
        packages.append(
            _Package(
                name=name,
                version=version,
                source=source,
                dependencies=dependencies,
                optional={normalize_name(extra): edges for extra, edges in optional.items()},
                provides_extras=frozenset(map(normalize_name, provides)) if isinstance(provides, list) else None,
                hashes=hashes,
            )
        )
    return packages


def _root(path: Path, project: Project, by_name: dict[str, list[_Package]]) -> _Package:
    name = normalize_name(project.name)
    own = [package for package in by_name.get(name, []) if any(kind in package.source for kind in _OWN_SOURCES)]
    if len(own) > 1:  # A workspace cannot hold one name twice, but prefer the root if it does.
        own = [package for package in own if "." in (package.source.get(kind) for kind in _OWN_SOURCES)] or own
    if len(own) != 1:
        problem = "the lock lists no editable or virtual entry for the project" if not own else "listed twice"
        raise LockError(path, problem, entry=name)
    return own[0]


def _edges(path: Path, package: _Package, extra: str | None, by_name, markers: _Markers) -> list:
    """The edges out of one node, resolved once: (target, its extras asked for, the edge's marker)."""
    if extra in package.edges:
        return package.edges[extra]
    raw = package.dependencies if extra is None else package.optional.get(extra, [])
    resolved = []
    for edge in raw:
        if not isinstance(edge, dict) or not isinstance(edge.get("name"), str):
            raise LockError(path, f"has a dependency that is not a table with a name: {edge!r}", entry=package.name)
        candidates = by_name.get(normalize_name(edge["name"]), [])
        if "version" in edge:
            candidates = [candidate for candidate in candidates if candidate.version == edge["version"]]
        if "source" in edge:
            candidates = [candidate for candidate in candidates if candidate.source == edge["source"]]
        wanted = " ".join([edge["name"]] + [f"{key}={edge[key]!r}" for key in ("version", "source") if key in edge])
        if not candidates:
            raise LockError(path, f"depends on {wanted}, which the lock does not list", entry=package.name)
        if len(candidates) > 1:
            problem = f"depends on {wanted}, which the lock lists {len(candidates)} times without saying which"
            raise LockError(path, problem, entry=package.name)
        asked = edge.get("extra", [])
        if isinstance(asked, str):
            asked = [asked]
        if not isinstance(asked, list) or not all(isinstance(name, str) for name in asked):
            raise LockError(path, f"asks {wanted} for extras that are not names: {asked!r}", entry=package.name)
        marker = edge.get("marker")
        if marker is not None and not isinstance(marker, str):
            raise LockError(path, f"has a marker that is not a string: {marker!r}", entry=package.name)
        dnf = markers.parse(marker, package.name)
        if dnf:  # A marker that never holds (a conflicting extra not built with) is no edge.
            resolved.append((candidates[0], tuple(normalize_name(name) for name in asked), dnf))
    package.edges[extra] = resolved
    return resolved


def _requires(package: _Package) -> tuple[str, ...]:
    """The names of the targets of the edges the walk resolved out of the package's nodes."""
    return tuple({target.name for edges in package.edges.values() for target, _, _ in edges})


def _walk(path: Path, root: _Package, extras: set[str], by_name, markers: _Markers) -> dict:
    """Each package reachable from the root, with the marker under which it is reached."""
    found: dict[tuple[_Package, str | None], frozenset] = {(root, None): _TRUE}
    for extra in extras:
        found[(root, extra)] = _TRUE
    queue = deque(found)
    queued = set(found)
    while queue:
        node = queue.popleft()
        queued.discard(node)
        here = found[node]
        for target, asked, edge in _edges(path, *node, by_name, markers):
            there = _and(here, edge)
            for target_node in [(target, None)] + [(target, extra) for extra in asked]:
                before = found.get(target_node, _FALSE)
                after = _or(before, there)
                if after != before:
                    found[target_node] = after
                    if target_node not in queued:
                        queued.add(target_node)
                        queue.append(target_node)
    return {package: dnf for (package, extra), dnf in found.items() if extra is None}


# Markers as sets of conjunctions


def _absorbed(conjunctions) -> frozenset:
    """The conjunctions without those that another one of them implies (a superset of it)."""
    kept: list[frozenset] = []
    for conjunction in sorted(set(conjunctions), key=len):
        if not any(other <= conjunction for other in kept):
            kept.append(conjunction)
    return frozenset(kept)


def _or(left: frozenset, right: frozenset) -> frozenset:
    if left == _TRUE or right == _TRUE:
        return _TRUE
    return _absorbed(left | right)


def _and(left: frozenset, right: frozenset) -> frozenset:
    if left == _TRUE:
        return right
    if right == _TRUE:
        return left
    return _absorbed(a | b for a in left for b in right)


class _Markers:
    """Edge markers as sets of conjunctions, with uv's conflict markers about the project decided."""

    def __init__(self, path: Path, root: str, extras: set[str]) -> None:
        self.path = path
        # uv writes a conflict between the project's extras as `extra == 'extra-<len>-<project>-<extra>'`
        # (and `group-…` for dependency groups, which never count): the chosen ones hold.
        self.chosen = frozenset(f"extra-{len(root)}-{root}-{extra}" for extra in extras)
        self.cache: dict[str, frozenset] = {}

    def parse(self, marker: str | None, entry: str) -> frozenset:
        if not marker or not marker.strip():
            return _TRUE
        if marker not in self.cache:
            settled = settle(self.path, entry, marker, self.chosen)
            self.cache[marker] = _TRUE if settled is True else _FALSE if settled is False else _atom(settled)
        return self.cache[marker]


def _atom(marker: str) -> frozenset:
    return frozenset({frozenset({marker})})


def _text(dnf: frozenset) -> str | None:
    """The marker a set of conjunctions stands for; None when it always holds."""
    if dnf == _TRUE:
        return None
    return " or ".join(
        " and ".join(f"({marker})" for marker in sorted(conjunction)) for conjunction in sorted(dnf, key=sorted)
    )
