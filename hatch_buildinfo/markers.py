"""One PEP 508 marker grammar for both sides, with the stdlib only: parse, evaluate, write back.

The build hook decides a lock's extras and groups on the tree `parse` gives (locks/selection.py)
and records what is left as `text` writes it; the run-time shim evaluates those markers to pick,
of a package locked at two versions, the one this interpreter runs, without making `packaging` a
run-time dependency. What is read and how it compares are `packaging`'s (26, which pip vendors
and lock tools use), not only PEP 508's words: tests hold this module to `packaging`'s answers.
"""

from __future__ import annotations

import os
import platform
import re
import sys

from .names import normalize_name  # extras' and groups' names compare in PEP 503 form (PEP 685)

TYPE_CHECKING = False  # typing's own costs an import on the run-time path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NoReturn

# packaging's token rules (packaging/_tokenizer.py), so that both read the same markers.
_SPACE = re.compile(r"[ \t]*")
_SOME_SPACE = re.compile(r"[ \t]+")
_VARIABLE = re.compile(
    r"\b(?:python_version|python_full_version|os[._]name|sys[._]platform|platform_(?:release|system)"
    r"|platform[._](?:version|machine|python_implementation)|python_implementation"
    r"|implementation_(?:name|version)|extras?|dependency_groups)\b"
)
_QUOTED = re.compile("'[^']*'|\"[^\"]*\"")
_OPERATOR = re.compile(r"===|==|~=|!=|<=|>=|<|>")
_IN = re.compile(r"\bin\b")
_NOT = re.compile(r"\bnot\b")
_JUNCTION = re.compile(r"\b(?:and|or)\b")
_MAX_NESTING = 200  # packaging's limit on parentheses, CPython's own

# The variables whose comparisons are PEP 440 ones wherever the other side makes a version specifier.
_VERSION_VARIABLES = frozenset(("implementation_version", "platform_release", "python_full_version", "python_version"))
# PEP 751's set-valued variables: only a (normalised) name's membership is tested.
_SET_VARIABLES = ("extras", "dependency_groups")

# PEP 440 as packaging reads it: packaging/version.py's VERSION_PATTERN and the Specifier pattern of
# packaging/specifiers.py, without the possessive quantifiers Python < 3.11 lacks (as packaging itself
# drops them there).
_VERSION = re.compile(
    r"""\s* v?
    (?a:
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?:[._-]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[._-]?(?P<pre_n>[0-9]+)?)?
        (?:(?:-(?P<post_n1>[0-9]+))|(?:[._-]?(?P<post_l>post|rev|r)[._-]?(?P<post_n2>[0-9]+)?))?
        (?:[._-]?(?P<dev_l>dev)[._-]?(?P<dev_n>[0-9]+)?)?
    )
    (?a:\+(?P<local>[a-z0-9]+(?:[._-][a-z0-9]+)*))?
    \s*""",
    re.VERBOSE | re.IGNORECASE,
)
_SUFFIXES = r"""
    (?a:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?
    (?a:(?:-[0-9]+)|(?:[-_.]?(?:post|rev|r)[-_.]?[0-9]*))?
    (?a:[-_.]?dev[-_.]?[0-9]*)?
"""
_SPECIFIER = re.compile(
    rf"""\s*(?:
        (?:===\s*[^\s;)]+)
      | (?:(?:==|!=)\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*
            (?:\.\*|{_SUFFIXES}(?a:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?)?)
      | (?:~=\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)+{_SUFFIXES})
      | (?:(?:<=|>=|<|>)\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*{_SUFFIXES})
    )\s*""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_LETTERS = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}

_WARNED: set[str] = set()  # marker texts holds() has warned about: one warning each per process


def environment() -> dict[str, str]:
    """The marker variables of this interpreter, as PEP 508 defines them."""
    implementation = sys.implementation
    info = implementation.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += {"alpha": "a", "beta": "b", "candidate": "rc"}[info.releaselevel] + str(info.serial)
    return {
        "implementation_name": implementation.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


# --- the tree ---------------------------------------------------------------------------------


class _Plain:
    """Equal, hashed and shown by its fields: the tree is plain data."""

    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, _Plain) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._values()))})"


class Variable(_Plain):
    """A marker variable, by its PEP 508 name (`os.name` reads as `os_name`)."""

    __slots__ = ("name",)
    _FIELDS = __slots__

    def __init__(self, name: str) -> None:
        self.name = name


class Value(_Plain):
    """A quoted string of a marker, unquoted."""

    __slots__ = ("value",)
    _FIELDS = __slots__

    def __init__(self, value: str) -> None:
        self.value = value


class Node(_Plain):
    """A parsed marker: a Comparison, or an And or Or of nodes."""

    __slots__ = ()


class Comparison(Node):
    """`left op right`: a variable and a string, either way round; `op` as written, `not in` with one space."""

    __slots__ = ("left", "op", "right")
    _FIELDS = __slots__

    def __init__(self, left: Variable | Value, op: str, right: Variable | Value) -> None:
        self.left = left
        self.op = op
        self.right = right


class _Junction(Node):
    __slots__ = ("parenthesized", "terms")
    _FIELDS = ("terms", "parenthesized")
    word = ""

    def __init__(self, terms: tuple[Node, ...] | list[Node], parenthesized: bool = False) -> None:
        if len(terms) < 2:
            raise ValueError(f"{self.word!r} joins two terms or more, not {len(terms)}")
        self.terms = tuple(terms)
        # Written in parentheses: kept so that `text` writes the marker back as packaging does.
        self.parenthesized = parenthesized


class And(_Junction):
    """Holds where every term holds."""

    __slots__ = ()
    word = "and"


class Or(_Junction):
    """Holds where some term holds."""

    __slots__ = ()
    word = "or"


# --- reading ----------------------------------------------------------------------------------


def parse(marker: str) -> Node:
    """The tree of a PEP 508 marker, `and` binding tighter than `or`.

    Reads what packaging reads; anything else is a ValueError whose message is one line naming
    the marker and the column where reading stopped.
    """
    reader = _Reader(marker)
    tree = reader.expression(0)
    if reader.position != len(marker):
        reader.fail("'and', 'or' or the end")
    return tree


class _Reader:
    """A recursive descent over packaging's marker grammar, one position in the text at a time."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0

    def take(self, pattern: re.Pattern[str]) -> str | None:
        match = pattern.match(self.source, self.position)
        if match is None:
            return None
        self.position = match.end()
        return match.group()

    def fail(self, expected: str) -> NoReturn:
        raise ValueError(f"invalid marker {self.source!r}: expected {expected} at column {self.position + 1}")

    def expression(self, depth: int) -> Node:
        """marker = atom (("and" | "or") atom)*"""
        alternatives = [[self.atom(depth)]]
        word = self.take(_JUNCTION)
        while word is not None:
            if word == "or":
                alternatives.append([])
            alternatives[-1].append(self.atom(depth))
            word = self.take(_JUNCTION)
        conjunctions = [terms[0] if len(terms) == 1 else And(terms) for terms in alternatives]
        return conjunctions[0] if len(conjunctions) == 1 else Or(conjunctions)

    def atom(self, depth: int) -> Node:
        """atom = "(" marker ")" | comparison, with spaces or tabs around"""
        self.take(_SPACE)
        node: Node
        if self.source.startswith("(", self.position):
            if depth >= _MAX_NESTING:
                self.fail(f"no more than {_MAX_NESTING} levels of parentheses")
            self.position += 1
            node = self.expression(depth + 1)
            if not self.source.startswith(")", self.position):
                self.fail("')'")
            self.position += 1
            if isinstance(node, And):
                node = And(node.terms, parenthesized=True)
            elif isinstance(node, Or):
                node = Or(node.terms, parenthesized=True)
        else:
            node = self.comparison()
        self.take(_SPACE)
        return node

    def comparison(self) -> Comparison:
        """comparison = operand operator operand"""
        left = self.operand()
        self.take(_SPACE)
        op = self.operator()
        self.take(_SPACE)
        right = self.operand()
        # As packaging does when it parses (PEP 685): an extra's name, and the name tested for
        # membership of a set-valued variable, are kept normalised.
        if isinstance(left, Variable) and left.name == "extra" and isinstance(right, Value):
            right = Value(normalize_name(right.value))
        elif isinstance(right, Variable) and isinstance(left, Value) and right.name in ("extra", *_SET_VARIABLES):
            left = Value(normalize_name(left.value))
        return Comparison(left, op, right)

    def operand(self) -> Variable | Value:
        name = self.take(_VARIABLE)
        if name is not None:
            name = name.replace(".", "_")
            return Variable("platform_python_implementation" if name == "python_implementation" else name)
        start = self.position
        quoted = self.take(_QUOTED)
        if quoted is None:
            self.fail("a marker variable or a quoted string")
        if "\\" not in quoted and quoted.isprintable():
            return Value(quoted[1:-1])
        import ast  # only for the rare string with escapes, read as Python reads it (as packaging does)

        try:
            return Value(str(ast.literal_eval(quoted)))
        except (SyntaxError, ValueError):
            self.position = start
            self.fail("a valid quoted string")

    def operator(self) -> str:
        if self.take(_IN) is not None:
            return "in"
        if self.take(_NOT) is not None:
            if self.take(_SOME_SPACE) is None:
                self.fail("a space after 'not'")
            if self.take(_IN) is None:
                self.fail("'in' after 'not'")
            return "not in"
        op = self.take(_OPERATOR)
        if op is None:
            self.fail("an operator (<=, <, !=, ==, >=, >, ~=, ===, in, not in)")
        return op


# --- writing ----------------------------------------------------------------------------------


def text(marker: Node) -> str:
    """`marker` as packaging writes it (`str(Marker(…))`): single spaces, strings in double quotes
    (single where the string holds a double quote), parentheses where written or needed.

    A ValueError where a string holds both kinds of quote, which no marker can write.
    """
    return _written(marker, None)


def _written(node: Node, enclosing: _Junction | None) -> str:
    if isinstance(node, Comparison):
        return f"{_operand(node.left)} {node.op} {_operand(node.right)}"
    if not isinstance(node, _Junction):
        raise TypeError(f"not a marker node: {node!r}")
    inner = f" {node.word} ".join(_written(term, node) for term in node.terms)
    needed = isinstance(enclosing, And) and isinstance(node, Or)  # `and` binds tighter
    return f"({inner})" if enclosing is not None and (node.parenthesized or needed) else inner


def _operand(operand: Variable | Value) -> str:
    if isinstance(operand, Variable):
        return operand.name
    if '"' not in operand.value:
        return f'"{operand.value}"'
    if "'" not in operand.value:
        return f"'{operand.value}'"
    raise ValueError(f"cannot write the marker string {operand.value!r}: it holds both kinds of quote")


# --- evaluating -------------------------------------------------------------------------------


class _Undefined(Exception):
    """A comparison PEP 508 and packaging leave undefined; evaluate() names the marker."""


def evaluate(marker: str | Node, env: Mapping[str, object]) -> bool:
    """Whether `marker` (text or a tree) holds in `env`, as packaging answers.

    A ValueError, one line naming the marker, where packaging raises: a marker it cannot read, a
    variable `env` has no value for, a comparison left undefined (`os_name ~= "posix"`).
    """
    tree = parse(marker) if isinstance(marker, str) else marker
    try:
        return _truth(tree, env)
    except _Undefined as error:
        shown = marker if isinstance(marker, str) else _shown(tree)
        raise ValueError(f"cannot evaluate marker {shown!r}: {error}") from None


def holds(marker: str, env: Mapping[str, object]) -> bool:
    """Whether `marker` holds in `env`; one that cannot be evaluated holds too.

    What such a marker guards is reported rather than silently lost, and a RuntimeWarning says
    so, once per marker text.
    """
    try:
        return evaluate(marker, env)
    except ValueError as error:
        if marker not in _WARNED:
            _WARNED.add(marker)
            import warnings  # not loaded at start-up; only this needs it

            # stacklevel 3: the code that asked for the dependencies, not its helper.
            warnings.warn(f"hatch-buildinfo: {error}; the dependency under it is kept", RuntimeWarning, stacklevel=3)
        return True


def _shown(node: Node) -> str:
    try:
        return text(node)
    except ValueError:
        return repr(node)


def _truth(node: Node, env: Mapping[str, object]) -> bool:
    if isinstance(node, Comparison):
        return _compared(node, env)
    if not isinstance(node, _Junction):
        raise TypeError(f"not a marker node: {node!r}")
    # Every term is evaluated, as packaging does: one that cannot be is an error even where the others decide.
    truths = [_truth(term, env) for term in node.terms]
    return all(truths) if isinstance(node, And) else any(truths)


def _compared(node: Comparison, env: Mapping[str, object]) -> bool:
    left, op, right = node.left, node.op, node.right
    if isinstance(left, Variable) and isinstance(right, Value):
        variable, literal, literal_first = left, right, False
    elif isinstance(left, Value) and isinstance(right, Variable):
        variable, literal, literal_first = right, left, True
    else:
        raise _Undefined(f"{_shown(node)!r} compares two {'variables' if isinstance(left, Variable) else 'strings'}")
    name = variable.name
    if name not in env:
        raise _Undefined(f"no value for {name}")
    found = env[name]
    if name in _SET_VARIABLES:
        # PEP 751: a set-valued variable is only tested for membership, `"cli" in extras`.
        if not (literal_first and op in ("in", "not in") and isinstance(found, (set, frozenset, list, tuple))):
            raise _Undefined(f"{name} takes only '\"name\" in {name}' and 'not in', with a set of names")
        return (normalize_name(literal.value) in {normalize_name(str(item)) for item in found}) == (op == "in")
    if not isinstance(found, str):
        raise _Undefined(f"the value of {name} is {found!r}, not a string")
    if name == "extra":
        found = normalize_name(found)  # PEP 685, as the literal was when parsed
    elif name == "python_full_version" and found.endswith("+"):
        # A Python built from an untagged checkout says "3.13.0+", which PEP 440 cannot read;
        # packaging reads it as the local version "3.13.0+local", and so does this.
        found += "local"
    lhs, rhs = (literal.value, found) if literal_first else (found, literal.value)
    return _compare(lhs, op, rhs, versions=name in _VERSION_VARIABLES)


def _compare(lhs: str, op: str, rhs: str, versions: bool) -> bool:
    # As packaging: where `op rhs` makes a PEP 440 specifier, does it contain `lhs`?
    specifier = _specifier(op + rhs) if versions else None
    if specifier is not None:
        return _contains(*specifier, lhs)
    if op == "in":
        return lhs in rhs
    if op == "not in":
        return lhs not in rhs
    # Strings otherwise. PEP 508 would fall back to Python's ordering, but packaging (26, and the copy
    # pip vendors) defines `<` and `>` as never holding and `<=`, `>=` as `==`: what gets installed
    # follows packaging, so this does too (`os_name <= "posix"` holds on Linux, `os_name < "zzz"` does not).
    if op in ("==", "<=", ">="):
        return lhs == rhs
    if op == "!=":
        return lhs != rhs
    if op in ("<", ">"):
        return False
    raise _Undefined(f"{op} is undefined on {lhs!r} and {rhs!r}")


def _specifier(spec: str) -> tuple[str, str] | None:
    """(operator, version) of a PEP 440 specifier, split as packaging splits it; None if it is none.

    Split anew, not at the marker's operator: packaging reads `python_version < "=3.8"` as `<=3.8`.
    """
    if not _SPECIFIER.fullmatch(spec):
        return None
    spec = spec.strip()
    width = 3 if spec.startswith("===") else 2 if spec.startswith(("~=", "==", "!=", "<=", ">=")) else 1
    return spec[:width], spec[width:].strip()


def _contains(op: str, spec: str, candidate_text: str) -> bool:
    """Whether the version `candidate_text` matches the specifier `op spec` (pre-releases allowed)."""
    if op == "===":
        return candidate_text.lower() == spec.lower()  # arbitrary equality: the strings, case aside
    candidate = _version(candidate_text)
    if candidate is None:
        return False  # packaging: no specifier but === matches what is no PEP 440 version
    wildcard = spec.endswith(".*")
    version = _version(spec[:-2] if wildcard else spec)
    if version is None:  # the specifier pattern admits only PEP 440 versions
        raise _Undefined(f"cannot read version {spec!r}")
    key, own = candidate.key, version.key
    public = key[:3]  # the key without the local label
    epoch, release = version.epoch, version.release
    if wildcard:  # ==1.2.* is [1.2.dev0, 1.3.dev0)
        inside = _key(epoch, release, dev=0) <= key < _key(epoch, (*release[:-1], release[-1] + 1), dev=0)
        return inside == (op == "==")
    if op in ("==", "!="):
        # ==1.4 matches every local version of 1.4; ==1.4+abc only itself.
        equal = key == own if "+" in spec else public == own[:3]
        return equal == (op == "==")
    if op == ">=":
        return key >= own
    if op == "<=":
        return public <= own[:3]
    if op == "<":
        # <V leaves out V's pre-releases unless V is one itself.
        if version.pre is None and version.dev is None:
            return key < _key(epoch, release, post=version.post, dev=0)
        return key < own
    if op == ">":
        # >V leaves out V's post-releases and local versions, unless V is a dev or post release itself.
        if version.dev is not None:
            return key >= _key(epoch, release, version.pre, version.post, version.dev + 1)
        if version.post is not None:
            return key >= _key(epoch, release, version.pre, version.post + 1, 0)
        return (key[0], key[1], key[2][:2]) > (own[0], own[1], own[2][:2])
    if op == "~=":  # ~=1.4.2 is >=1.4.2, <1.5.dev0
        return own <= key < _key(epoch, (*release[:-2], release[-2] + 1), dev=0)
    raise _Undefined(f"unknown version operator {op!r}")


def same_version(left: str, right: str) -> bool:
    """Whether two version strings name one version: by PEP 440 where both are PEP 440 (`2.31` is `2.31.0`),
    else as strings."""
    if left == right:
        return True
    parsed = _version(left), _version(right)
    return parsed[0] is not None and parsed[1] is not None and parsed[0].key == parsed[1].key


class _Version:
    """The parts of a PEP 440 version that comparisons need, and its sort key."""

    __slots__ = ("dev", "epoch", "key", "post", "pre", "release")

    def __init__(
        self,
        epoch: int,
        release: tuple[int, ...],
        pre: tuple[str, int] | None,
        post: int | None,
        dev: int | None,
        local: tuple[tuple[int, str], ...],
    ) -> None:
        self.epoch, self.release, self.pre, self.post, self.dev = epoch, release, pre, post, dev
        self.key = _key(epoch, release, pre, post, dev, local)


def _version(text: str) -> _Version | None:
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    part = match.group
    pre_letter = (part("pre_l") or "").lower()
    local = part("local")
    return _Version(
        int(part("epoch") or 0),
        tuple(int(number) for number in part("release").split(".")),
        (_PRE_LETTERS.get(pre_letter, pre_letter), int(part("pre_n") or 0)) if pre_letter else None,
        int(part("post_n1") or part("post_n2") or 0) if part("post_l") or part("post_n1") else None,
        int(part("dev_n") or 0) if part("dev_l") else None,
        tuple((int(piece), "") if piece.isdigit() else (-1, piece.lower()) for piece in re.split(r"[._-]", local))
        if local
        else (),
    )


def _key(
    epoch: int,
    release: tuple[int, ...],
    pre: tuple[str, int] | None = None,
    post: int | None = None,
    dev: int | None = None,
    local: tuple[tuple[int, str], ...] = (),
) -> tuple:
    """PEP 440's order, keyed as packaging keys it.

    Trailing zeros do not count (1.0 == 1). Of one release: its dev-only builds, its pre-releases,
    the release, its post-releases; a dev build before what it leads to; a local version after the
    public one it labels, numbers in a label after words.
    """
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    if pre is not None:
        rank = (("a", "b", "rc").index(pre[0]), pre[1])
    else:
        rank = (-1, 0) if post is None and dev is not None else (3, 0)
    suffix = (*rank, *((0, 0) if post is None else (1, post)), *((1, 0) if dev is None else (0, dev)))
    return (epoch, release[:end], suffix, local)
