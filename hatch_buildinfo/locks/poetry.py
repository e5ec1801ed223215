"""Read poetry.lock: the packages of the "main" group, plus those of the extras the project asks for.

Lock-version 2.1 and later (Poetry 2) record, per package, its `groups` and the `markers` under which
each group needs it (one string for all groups, or a table by group); a package that only an extra
pulls in carries `extra == "..."` in its marker. So the runtime set is every package in "main" whose
main marker holds for the chosen extras, and the marker kept is that one with the extras decided,
as `poetry export --without dev` does.

Lock-version 2.0 (Poetry 1.3 to 1.8) records neither: only each package's own dependencies. There
the runtime set comes from a walk of that graph, starting at the project's PEP 508 dependencies
(and those of its chosen extras), following markers along each path and a package's optional
dependencies only where one of its extras was asked for.

Lock-versions other than 2.x are refused.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Tuple, Union

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from . import Locked, LockError, Project, normalize_name

MAIN = "main"

# ---------------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------------


def read(path: Path, project: Project) -> list[Locked]:
    data = _load(path)
    version = _lock_version(path, data)
    packages = _packages(path, data)
    extras = frozenset(normalize_name(extra) for extra in project.extras)
    if version >= (2, 1):
        return _by_groups(path, packages, extras)
    return _by_walk(path, data, packages, project, extras)


def _load(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LockError(path, f"cannot read: {_one_line(error)}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LockError(path, f"not valid TOML: {_one_line(error)}") from None


def _lock_version(path: Path, data: dict) -> tuple[int, int]:
    metadata = data.get("metadata")
    version = metadata.get("lock-version") if isinstance(metadata, dict) else None
    if not isinstance(version, str):
        raise LockError(path, "no lock-version: not a lock that Poetry wrote", entry="[metadata]")
    match = re.fullmatch(r"(\d+)\.(\d+)", version.strip())
    if not match or int(match.group(1)) != 2:
        raise LockError(path, f"lock-version {version!r} is not supported (only 2.x is)", entry="[metadata]")
    return int(match.group(1)), int(match.group(2))


def _packages(path: Path, data: dict) -> list[dict]:
    """Every [[package]] entry, each checked for a name and a version."""
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise LockError(path, "is not a list of tables", entry="package")
    for number, entry in enumerate(packages, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise LockError(path, "has no name", entry=f"[[package]] #{number}")
        version = entry.get("version")
        if not isinstance(version, str) or not version.strip():
            raise LockError(path, "has no version", entry=entry["name"])
    return packages


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


# ---------------------------------------------------------------------------------------------
# Lock-version 2.1+: groups and markers per package
# ---------------------------------------------------------------------------------------------


def _by_groups(path: Path, packages: list[dict], extras: frozenset[str]) -> list[Locked]:
    found = []
    for entry in packages:
        name = entry["name"]
        groups = entry.get("groups")
        if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
            raise LockError(path, "has no list of groups, which its lock-version requires", entry=name)
        if MAIN not in {normalize_name(group) for group in groups}:
            continue
        markers = entry.get("markers")
        if isinstance(markers, dict):
            by_group = {normalize_name(group): marker for group, marker in markers.items()}
            markers = by_group.get(MAIN)
        if markers is not None and not isinstance(markers, str):
            raise LockError(path, f"markers is neither a string nor a table of strings: {markers!r}", entry=name)
        tree = _decide_extras(_parse_marker(path, name, markers), extras)
        if tree is False:
            continue
        found.append(Locked(name, entry["version"], None if tree is True else _serialize(tree)))
    return found


# ---------------------------------------------------------------------------------------------
# Lock-version 2.0: a walk of the dependency graph from the project's own dependencies
# ---------------------------------------------------------------------------------------------

# A marker in disjunctive normal form: a tuple of terms, each a tuple of atoms that must all hold.
# () never holds; ((),) always holds.
Dnf = Tuple[Tuple[tuple, ...], ...]
ALWAYS: Dnf = ((),)
NEVER: Dnf = ()


class _Edge:
    """One requirement met in the walk: `name` (normalised), needed under `when`."""

    __slots__ = ("constraint", "features", "name", "needed_by", "own", "when")

    def __init__(self, name, constraint, when, own, features, needed_by) -> None:
        self.name: str = name
        self.constraint: str | None = constraint  # a Poetry (or PEP 440) version constraint; None: any
        self.when: Dnf = when  # the marker of the whole path to here
        self.own: Dnf = own  # the marker of this requirement alone
        self.features: frozenset[str] = features  # the extras it asks of the package
        self.needed_by: str = needed_by


def _by_walk(path: Path, data: dict, packages: list[dict], project: Project, extras: frozenset[str]) -> list[Locked]:
    by_name: dict[str, list[dict]] = {}
    for entry in packages:
        by_name.setdefault(normalize_name(entry["name"]), []).append(entry)
    for candidates in by_name.values():
        candidates.sort(key=lambda entry: _version_key(entry["version"]), reverse=True)

    queue = deque(_roots(path, data, project, extras))
    reached: dict[tuple[str, str], Dnf] = {}
    features: dict[tuple[str, str], frozenset[str]] = {}
    entries: dict[tuple[str, str], dict] = {}
    while queue:
        edge = queue.popleft()
        if edge.when == NEVER:
            continue
        candidates = by_name.get(edge.name)
        if not candidates:
            if edge.own == ALWAYS:
                raise LockError(path, f"needs {edge.name}, which the lock does not hold", entry=edge.needed_by)
            continue  # a conditional requirement the resolver could leave out (e.g. for other Pythons)
        entry = _choose(path, edge, candidates)
        key = (edge.name, entry["version"])
        when = _dnf_or(reached.get(key, NEVER), edge.when)
        asked = features.get(key, frozenset()) | edge.features
        if key in reached and when == reached[key] and asked == features[key]:
            continue
        reached[key], features[key], entries[key] = when, asked, entry
        for requirement in _requirements(path, entry, asked):
            queue.append(requirement.following(when))
    return [
        Locked(entries[key]["name"], entries[key]["version"], None if when == ALWAYS else _serialize_dnf(when))
        for key, when in reached.items()
    ]


def _roots(path: Path, data: dict, project: Project, extras: frozenset[str]) -> list[_Edge]:
    """The project's own requirements and its chosen extras' ones. An extra that the project does not
    spell out in optional_dependencies is taken from the lock's [extras] table (Poetry 1's extras)."""
    optional = {normalize_name(extra): tuple(texts) for extra, texts in project.optional_dependencies.items()}
    locked_extras = data.get("extras", {})
    if not isinstance(locked_extras, dict):
        raise LockError(path, "is not a table", entry="[extras]")
    locked_extras = {normalize_name(extra): names for extra, names in locked_extras.items()}
    own_name = normalize_name(project.name)
    roots: list[_Edge] = []
    pending = deque((text, extras) for text in project.dependencies)
    wanted = deque(sorted(extras))
    done: set[str] = set()
    while pending or wanted:
        if pending:
            text, active = pending.popleft()
            edge = _root_edge(path, text, active)
            if edge.name != own_name:
                roots.append(edge)
            elif edge.when != NEVER:  # a self-reference such as `all = ["me[cli,gui]"]`
                wanted.extend(sorted(edge.features))
            continue
        extra = wanted.popleft()
        if extra in done:
            continue
        done.add(extra)
        if extra in optional:
            pending.extend((text, extras | {extra}) for text in optional[extra])
            continue
        for name in locked_extras.get(extra, ()):
            if isinstance(name, str):
                roots.append(_Edge(normalize_name(_leading_name(name)), None, ALWAYS, ALWAYS, frozenset(), "[extras]"))
    return roots


def _root_edge(path: Path, text: str, extras: frozenset[str]) -> _Edge:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise LockError(path, f"project dependency {text!r} is not PEP 508: {_one_line(error)}") from None
    when = ALWAYS
    if requirement.marker is not None:
        when = _to_dnf(_decide_extras(_parse_marker(path, "project", str(requirement.marker)), extras))
    constraint = str(requirement.specifier) or None
    names = frozenset(normalize_name(extra) for extra in requirement.extras)
    return _Edge(normalize_name(requirement.name), constraint, when, when, names, "project")


class _Requirement:
    """One dependency of a locked package, before the path to that package is known."""

    __slots__ = ("constraint", "features", "name", "needed_by", "own")

    def __init__(self, name, constraint, own, features, needed_by) -> None:
        self.name = name
        self.constraint = constraint
        self.own = own
        self.features = features
        self.needed_by = needed_by

    def following(self, when: Dnf) -> _Edge:
        return _Edge(self.name, self.constraint, _dnf_and(when, self.own), self.own, self.features, self.needed_by)


def _requirements(path: Path, entry: dict, features: frozenset[str]) -> list[_Requirement]:
    """The dependencies of a locked package with `features` asked of it, its optional ones only
    where one of those extras names them."""
    name = entry["name"]
    package_extras = entry.get("extras", {})
    if not isinstance(package_extras, dict):
        raise LockError(path, "[package.extras] is not a table", entry=name)
    activated = {
        normalize_name(_leading_name(text))
        for extra, texts in package_extras.items()
        if normalize_name(extra) in features and isinstance(texts, list)
        for text in texts
        if isinstance(text, str)
    }
    dependencies = entry.get("dependencies", {})
    if not isinstance(dependencies, dict):
        raise LockError(path, "[package.dependencies] is not a table", entry=name)
    found = []
    for dependency, specs in dependencies.items():
        for spec in specs if isinstance(specs, list) else [specs]:
            if isinstance(spec, str):
                spec = {"version": spec}
            if not isinstance(spec, dict):
                raise LockError(path, f"dependency {dependency} is neither a constraint nor a table", entry=name)
            if spec.get("optional") and normalize_name(dependency) not in activated:
                continue
            own = _to_dnf(_decide_extras(_parse_marker(path, name, spec.get("markers")), features))
            python = spec.get("python")
            if isinstance(python, str) and python.strip() not in ("", "*"):
                own = _dnf_and(own, _python_dnf(path, name, python))
            version = spec.get("version")
            constraint = version if isinstance(version, str) and version.strip() not in ("", "*") else None
            extras = spec.get("extras") or []
            if not isinstance(extras, list):
                raise LockError(path, f"dependency {dependency} has extras that are not a list", entry=name)
            asked = frozenset(normalize_name(extra) for extra in extras if isinstance(extra, str))
            found.append(_Requirement(normalize_name(dependency), constraint, own, asked, name))
    return found


def _choose(path: Path, edge: _Edge, candidates: list[dict]) -> dict:
    """The locked entry that meets `edge`: the only one, or the highest version its constraint allows."""
    if len(candidates) == 1 or edge.constraint is None:
        return candidates[0]
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    alternatives = _poetry_constraint(path, edge.needed_by, edge.constraint)
    for entry in candidates:
        for alternative in alternatives:
            try:
                if SpecifierSet(alternative).contains(entry["version"], prereleases=True):
                    return entry
            except InvalidSpecifier:
                problem = f"unreadable constraint {alternative!r} on {edge.name}"
                raise LockError(path, problem, entry=edge.needed_by) from None
    versions = ", ".join(entry["version"] for entry in candidates)
    problem = f"no locked version of {edge.name} ({versions}) meets {edge.constraint!r}"
    raise LockError(path, problem, entry=edge.needed_by)


def _version_key(text: str):
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(text), text)
    except InvalidVersion:
        return (0, Version("0"), text)


def _leading_name(text: str) -> str:
    """The project name at the start of `requests[socks] (>=2.0)` or `pysocks (>=1.5.6) ; marker`."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
    return match.group(1) if match else text


# ---------------------------------------------------------------------------------------------
# Poetry version constraints: `^1.2`, `~1.2`, `>=1,<2 || >3`, `1.2.*`, `*`
# ---------------------------------------------------------------------------------------------

_CLAUSE = re.compile(r"(\^|~=|~|===|==|!=|>=|<=|>|<|=)?\s*(\*|[0-9][0-9A-Za-z.*+!_-]*)")


def _poetry_constraint(path: Path, entry: str, text: str) -> list[str]:
    """`text` as alternatives, each a PEP 440 specifier set ('' for any version)."""
    alternatives = []
    for alternative in re.split(r"\|\|?", text):
        specifiers = []
        position, alternative = 0, alternative.strip()
        while position < len(alternative):
            match = _CLAUSE.match(alternative, position)
            if not match:
                raise LockError(path, f"unreadable version constraint {text!r}", entry=entry)
            specifiers.extend(_pep440(path, entry, text, match.group(1) or "", match.group(2)))
            position = match.end()
            while position < len(alternative) and alternative[position] in " ,":
                position += 1
        alternatives.append(",".join(specifiers))
    return alternatives


def _pep440(path: Path, entry: str, text: str, operator: str, version: str) -> list[str]:
    if version == "*":
        return []
    if operator in ("", "="):
        return [f"=={version}"]
    if operator not in ("^", "~"):
        return [f"{operator}{version}"]
    from packaging.version import InvalidVersion, Version

    try:
        release = list(Version(version).release)
    except InvalidVersion:
        raise LockError(path, f"unreadable version constraint {text!r}", entry=entry) from None
    if operator == "^":
        nonzero = [index for index, part in enumerate(release) if part]
        keep = min(nonzero[0] if nonzero else len(release) - 1, len(release) - 1) + 1
    else:
        keep = 1 if len(release) == 1 else 2
    upper = release[:keep]
    upper[-1] += 1
    return [f">={version}", "<" + ".".join(str(part) for part in upper)]


def _python_dnf(path: Path, entry: str, text: str) -> Dnf:
    """A poetry `python = "..."` constraint as a marker."""
    terms = []
    for alternative in _poetry_constraint(path, entry, text):
        term = []
        for specifier in filter(None, alternative.split(",")):
            match = re.fullmatch(r"(===|==|!=|~=|>=|<=|>|<)(.+)", specifier)
            if not match:
                raise LockError(path, f"unreadable python constraint {text!r}", entry=entry)
            operator, version = match.groups()
            parts = [part for part in version.split(".") if part != "*"]
            variable = "python_full_version" if len(parts) >= 3 else "python_version"
            term.append(("atom", ("var", variable), operator, ("str", version)))
        terms.append(tuple(term))
    return _dnf_absorb(terms)


# ---------------------------------------------------------------------------------------------
# Markers: a small PEP 508 parser to decide the `extra` comparisons and keep the rest
# ---------------------------------------------------------------------------------------------

# A tree: True, False, ("atom", left, op, right) with sides ("var", name) or ("str", value),
# or ("and", children) / ("or", children).
Tree = Union[bool, tuple]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'[^']*'|"[^"]*")
      | (?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)
      | (?P<word>and\b|or\b)
      | (?P<paren>[()])
      | (?P<var>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


def _parse_marker(path: Path, entry: str, text: object) -> Tree:
    if text is not None and not isinstance(text, str):
        raise LockError(path, f"marker {text!r} is not a string", entry=entry)
    if text is None or text.strip() in ("", "*"):
        return True
    if text.strip() == "<empty>":  # what Poetry writes for a marker that never holds
        return False
    tokens = []
    position = 0
    text_end = len(text.rstrip())
    while position < text_end:
        match = _TOKEN.match(text, position)
        if not match:
            raise LockError(path, f"invalid marker {text!r}", entry=entry)
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "op":
            value = " ".join(value.split())
        tokens.append((kind, value))
        position = match.end()
    parser = _MarkerParser(tokens)
    try:
        tree = parser.disjunction()
        if parser.position != len(tokens):
            raise ValueError
    except (ValueError, IndexError):
        raise LockError(path, f"invalid marker {text!r}", entry=entry) from None
    return tree


class _MarkerParser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def _next_is(self, kind: str, value: str) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position] == (kind, value)

    def disjunction(self) -> Tree:
        children = [self.conjunction()]
        while self._next_is("word", "or"):
            self.position += 1
            children.append(self.conjunction())
        return children[0] if len(children) == 1 else ("or", tuple(children))

    def conjunction(self) -> Tree:
        children = [self.operand()]
        while self._next_is("word", "and"):
            self.position += 1
            children.append(self.operand())
        return children[0] if len(children) == 1 else ("and", tuple(children))

    def operand(self) -> Tree:
        if self._next_is("paren", "("):
            self.position += 1
            tree = self.disjunction()
            if not self._next_is("paren", ")"):
                raise ValueError
            self.position += 1
            return tree
        left, op, right = self.tokens[self.position : self.position + 3]
        if left[0] not in ("var", "str") or op[0] != "op" or right[0] not in ("var", "str"):
            raise ValueError
        self.position += 3
        return ("atom", _side(left), op[1], _side(right))


def _side(token: tuple[str, str]) -> tuple:
    kind, value = token
    return ("str", value[1:-1]) if kind == "str" else ("var", value)


def _decide_extras(tree: Tree, extras: frozenset[str]) -> Tree:
    """`tree` with every `extra == "x"` / `extra != "x"` decided for the chosen `extras`, simplified."""
    if isinstance(tree, bool):
        return tree
    if tree[0] == "atom":
        _, left, op, right = tree
        sides = {left[0]: left[1], right[0]: right[1]} if left[0] != right[0] else {}
        if sides.get("var") == "extra" and "str" in sides and op in ("==", "===", "!="):
            chosen = normalize_name(sides["str"]) in extras
            return chosen if op != "!=" else not chosen
        return tree
    kind, children = tree
    neutral = kind == "and"  # True changes nothing in an "and", False nothing in an "or"
    kept: list[Tree] = []
    for child in children:
        child = _decide_extras(child, extras)
        if child is (not neutral):  # False decides an "and", True an "or"
            return child
        if child is not neutral:
            kept.extend(child[1] if child[0] == kind else [child])
    if not kept:
        return neutral
    return kept[0] if len(kept) == 1 else (kind, tuple(kept))


def _serialize(tree: Tree) -> str:
    if tree[0] == "atom":
        return _serialize_atom(tree)
    kind, children = tree
    parts = []
    for child in children:
        text = _serialize(child)
        parts.append(f"({text})" if kind == "and" and child[0] == "or" else text)
    return f" {kind} ".join(parts)


def _serialize_atom(atom: tuple) -> str:
    _, left, op, right = atom
    return f"{_serialize_side(left)} {op} {_serialize_side(right)}"


def _serialize_side(side: tuple) -> str:
    kind, value = side
    if kind == "var":
        return value
    return f"'{value}'" if '"' in value else f'"{value}"'


# ---------------------------------------------------------------------------------------------
# Markers in disjunctive normal form, for combining them along the walk
# ---------------------------------------------------------------------------------------------


def _to_dnf(tree: Tree) -> Dnf:
    if tree is True:
        return ALWAYS
    if tree is False:
        return NEVER
    if tree[0] == "atom":
        return ((tree,),)
    kind, children = tree
    result = NEVER if kind == "or" else ALWAYS
    for child in children:
        result = _dnf_or(result, _to_dnf(child)) if kind == "or" else _dnf_and(result, _to_dnf(child))
    return result


def _dnf_or(first: Dnf, second: Dnf) -> Dnf:
    return _dnf_absorb(list(first) + list(second))


def _dnf_and(first: Dnf, second: Dnf) -> Dnf:
    terms = []
    for one in first:
        for other in second:
            term = one + tuple(atom for atom in other if atom not in one)
            if not _contradictory(term):
                terms.append(term)
    return _dnf_absorb(terms)


def _dnf_absorb(terms: list[tuple]) -> Dnf:
    """`terms` without repeats and without any term that holds only where a shorter one does."""
    kept: list[tuple] = []
    for term in sorted(dict.fromkeys(terms), key=len):
        if not any(set(shorter) <= set(term) for shorter in kept):
            kept.append(term)
    return tuple(sorted(kept, key=lambda term: [_serialize_atom(atom) for atom in term]))


# Variables compared as versions: two different `==` values of these may both hold ("3.*", "3.9").
_VERSION_VARIABLES = {"python_version", "python_full_version", "implementation_version", "platform_release"}


def _contradictory(term: tuple) -> bool:
    """Whether `term` asks one (string) variable for two different values, or for a value and not it."""
    equal: dict[str, set[str]] = {}
    unequal: dict[str, set[str]] = {}
    for _, left, op, right in term:
        if left[0] == "var" and right[0] == "str" and op in ("==", "!=") and left[1] not in _VERSION_VARIABLES:
            (equal if op == "==" else unequal).setdefault(left[1], set()).add(right[1])
    return any(len(values) > 1 or values & unequal.get(name, set()) for name, values in equal.items())


def _serialize_dnf(dnf: Dnf) -> str:
    return " or ".join(" and ".join(_serialize_atom(atom) for atom in term) for term in dnf)
