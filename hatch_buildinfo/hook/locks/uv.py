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

The lock is stale when the project's entry records, in `[package.metadata]`, other runtime
requirements (`requires-dist`, optional dependencies under `extra == '…'`) or extras
(`provides-extras`) than pyproject.toml declares. Requirements compare as packaging reads them and
markers by what they mean: uv writes `python_version < '3.11'` as `python_full_version < '3.11'`
and reorders terms. Dependency groups (`requires-dev`) are left out, as they never reach the
runtime set, though `uv lock --check` counts them; so are `[tool.uv.sources]` and direct URLs.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ...markers import And, Comparison, Node, Or, Value, Variable, environment, evaluate, parse
from . import LeftOut, Locked, LockError, Project, file_hashes, load_toml, normalize_name, one_line
from .selection import settle

SUPPORTED_VERSIONS = (1,)
LOCK_COMMAND = "uv lock"
# Sources whose entry may have no version: source trees with a dynamic version.
_SOURCE_TREES = ("editable", "virtual", "directory")
_OWN_SOURCES = ("editable", "virtual")

# An atom is one comparison: (left, op, right), each side ("var", name) or ("str", value).
# A conjunction is a frozenset of atoms, a marker (DNF) a frozenset of conjunctions.
_TRUE: frozenset = frozenset({frozenset()})
_FALSE: frozenset = frozenset()


def read(path: Path, project: Project) -> list[Locked]:
    """The packages the project runs with, each with the marker under which it is installed."""
    by_name = _by_name(path)
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


def _by_name(path: Path) -> dict[str, list[_Package]]:
    """The lock's packages by name; a name lists more than one in a fork."""
    by_name: dict[str, list[_Package]] = {}
    for package in _packages(path, _load(path)):
        by_name.setdefault(package.name, []).append(package)
    return by_name


@dataclass(eq=False)
class _Package:
    name: str
    version: str | None
    source: dict
    dependencies: list = field(default_factory=list)
    optional: dict = field(default_factory=dict)
    provides_extras: frozenset | None = None
    requires_dist: list = field(default_factory=list)
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
        if not isinstance(metadata, dict) or not isinstance(metadata.get("requires-dist", []), list):
            raise LockError(path, "metadata is not a table with an array requires-dist", entry=name)
        provides = metadata.get("provides-extras")
        packages.append(
            _Package(
                name=name,
                version=version,
                source=source,
                dependencies=dependencies,
                optional={normalize_name(extra): edges for extra, edges in optional.items()},
                provides_extras=frozenset(map(normalize_name, provides)) if isinstance(provides, list) else None,
                requires_dist=metadata.get("requires-dist", []),
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


# Staleness: the project's entry against pyproject.toml

# A requirement as compared: name, extras, specifier (packaging's sets compare as sets; None: any) and marker.
_Requirement = tuple[str, frozenset, "SpecifierSet | None", "Node | None"]
# A requires-dist entry with one of these keys comes from `[tool.uv.sources]` (a workspace member, a path, a
# git or URL source): uv records the source in place of the declared version specifier.
_SOURCE_KEYS = ("editable", "virtual", "directory", "path", "git", "url")
# uv writes `platform_system` comparisons with these values as the `sys_platform` ones they always agree with.
_UV_SYS_PLATFORM = {
    "Windows": "win32",
    "Darwin": "darwin",
    "Linux": "linux",
    "AIX": "aix",
    "Emscripten": "emscripten",
    "Android": "android",
}
# Where a version's truth under a comparison can change: a release's first (up to) three numbers.
_RELEASE = re.compile(r"\d+(?:\.\d+){0,2}")
# A value no marker names: it stands for every value that none of the named ones is.
_OTHER = "\x00other"
# Markers that name so many values that more environments than this would tell them apart are the
# same only when written alike.
_MOST_ENVIRONMENTS = 4096


def stale(path: Path, project: Project) -> str | None:
    """What of the project's runtime requirements or extras the lock's entry for it records otherwise, or None."""
    if project.root is None:
        return None
    root = _root(path, project, _by_name(path))
    declared = [(text, _declared(text, None)) for text in project.dependencies]
    for extra, needs in project.optional_dependencies.items():
        declared += [(f"{text} (extra {extra})", _declared(text, normalize_name(extra))) for text in needs]
    recorded = []
    for entry in root.requires_dist:
        requirement = _recorded(path, root.name, entry)  # checked first: _recorded_text trusts its shape
        recorded.append((_recorded_text(entry), requirement))
    lacks = [text for text, requirement in declared if not _has(requirement, [r for _, r in recorded])]
    undeclared = [text for text, requirement in recorded if not _has(requirement, [r for _, r in declared])]
    extras = {normalize_name(name) for name in project.optional_dependencies}
    provided = extras if root.provides_extras is None else root.provides_extras  # older uv did not record them
    changes = [
        f"{key} {verb} {', '.join(f'`{text}`' for text in texts)}"
        for key, verb, texts in (
            ("requires-dist", "lacks", lacks),
            ("requires-dist", "has undeclared", undeclared),
            ("provides-extras", "lacks", sorted(extras - provided)),
            ("provides-extras", "has undeclared", sorted(provided - extras)),
        )
        if texts
    ]
    return f"its entry for {root.name} does not match pyproject.toml: {'; '.join(changes)}" if changes else None


def _declared(text: str, extra: str | None) -> _Requirement:
    requirement = Requirement(text)  # pyproject.toml's, which hatchling has already read
    marker = str(requirement.marker) if requirement.marker else None
    if extra is not None:
        marker = f"({marker}) and extra == '{extra}'" if marker else f"extra == '{extra}'"
    return _compared(requirement.name, requirement.extras, requirement.specifier, marker)


def _recorded(path: Path, entry: str, table: object) -> _Requirement:
    """A requires-dist table `{ name, extras?, specifier?, marker? }` as a requirement."""
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise LockError(path, f"requires-dist has an entry that is not a table with a name: {table!r}", entry=entry)
    sourced = any(key in table for key in _SOURCE_KEYS)
    try:
        specifier = None if sourced else SpecifierSet(table.get("specifier", ""))
        return _compared(table["name"], table.get("extras", []), specifier, table.get("marker"))
    except (InvalidSpecifier, InvalidRequirement, ValueError, TypeError) as error:
        raise LockError(path, f"requires-dist entry {table!r}: {one_line(error)}", entry=entry) from None


def _recorded_text(table: dict) -> str:
    extras = f"[{','.join(table['extras'])}]" if table.get("extras") else ""
    marker = f"; {table['marker']}" if table.get("marker") else ""
    return f"{table.get('name')}{extras}{table.get('specifier', '')}{marker}"


def _compared(name: str, extras, specifier: SpecifierSet | None, marker: str | None) -> _Requirement:
    written = _as_uv_writes(parse(marker)) if marker else None
    return (normalize_name(name), frozenset(map(normalize_name, extras)), specifier, written)


def _as_uv_writes(node: Node) -> Node:
    """`node` with each `platform_system` comparison that uv writes as a `sys_platform` one so written."""
    if isinstance(node, (And, Or)):
        return type(node)([_as_uv_writes(term) for term in node.terms], node.parenthesized)
    if not isinstance(node, Comparison):
        raise TypeError(f"unexpected marker node {node!r}")
    sides = [node.left, node.right]
    for variable, value in (sides, sides[::-1]):
        if (
            isinstance(variable, Variable)
            and variable.name == "platform_system"
            and isinstance(value, Value)
            and value.value in _UV_SYS_PLATFORM
        ):
            renamed, written = Variable("sys_platform"), Value(_UV_SYS_PLATFORM[value.value])
            if variable is node.left:
                return Comparison(renamed, node.op, written)
            return Comparison(written, node.op, renamed)
    return node


def _has(requirement: _Requirement, others: list[_Requirement]) -> bool:
    """Whether one of `others` is `requirement`: a specifier uv replaced with a source matches any."""
    return any(
        other[:2] == requirement[:2]
        and (other[2] is None or requirement[2] is None or other[2] == requirement[2])
        and _same_marker(other[3], requirement[3])
        for other in others
    )


def _same_marker(left: Node | None, right: Node | None) -> bool:
    """Whether two markers hold in the same environments, decided on every environment that can tell them apart.

    A comparison's truth changes only at the values it names (for a version, at a release and its
    neighbours), so trying each named value, a value none names, and the releases around each named
    one decides it. python_version is the first two numbers of python_full_version.
    """
    if left == right:
        return True
    if left is None or right is None:
        return False
    values: dict[str, set[str]] = {}
    for node in (left, right):
        for variable, value in _comparisons(node):
            values.setdefault("python_full_version" if variable == "python_version" else variable, set()).add(value)
    base = environment()
    # A Python's version that names no release still has a value: this interpreter's.
    axes = {name: sorted(_candidates(name, named) or {base[name]}) for name, named in values.items()}
    count = 1
    for candidates in axes.values():
        count *= len(candidates)
    if count > _MOST_ENVIRONMENTS:
        return False
    for chosen in itertools.product(*axes.values()):
        env = {**base, **dict(zip(axes, chosen))}
        if "python_full_version" in axes:
            env["python_version"] = ".".join(env["python_full_version"].split(".")[:2])
        try:
            if evaluate(left, env) != evaluate(right, env):
                return False
        except ValueError:  # a comparison packaging leaves undefined (`os_name ~= "posix"`): not the same
            return False
    return True


def _comparisons(node: Node) -> Iterator[tuple[str, str]]:
    """Each (variable, value) a marker compares."""
    if isinstance(node, Comparison):
        variable, value = (node.left, node.right) if isinstance(node.left, Variable) else (node.right, node.left)
        if isinstance(variable, Variable) and isinstance(value, Value):
            yield variable.name, value.value
        return
    if not isinstance(node, (And, Or)):
        raise TypeError(f"unexpected marker node {node!r}")
    for term in node.terms:
        yield from _comparisons(term)


def _candidates(variable: str, named: set[str]) -> set[str]:
    """The values named, one none names, and one holding each named one (for `in`); releases around a release named.

    For a Python's version, only the releases: it has no other values.
    """
    found = set() if variable == "python_full_version" else {_OTHER, *named, *(value + _OTHER for value in named)}
    for value in named:
        release = _RELEASE.match(value)
        if release is None:
            continue
        major, minor, micro = ([int(part) for part in release.group().split(".")] + [0, 0])[:3]
        around = [(major, minor, micro), (major, minor, micro + 1), (major, minor, 0), (major, minor, 99)]
        around += [(major, minor + 1, 0), (major + 1, 0, 0)]
        around += [(major, minor, micro - 1)] if micro else []
        around += [(major, minor - 1, 99)] if minor else []
        around += [(major - 1, 99, 99)] if major else []
        found.update(".".join(map(str, numbers)) for numbers in around)
    return found
