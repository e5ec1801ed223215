"""Read: evaluate a PEP 508 environment marker for the running interpreter, with the stdlib only.

The build side writes markers in `packaging`'s normalised form; this small evaluator lets the
run-time shim pick, of a package locked at two versions, the one this interpreter runs,
without making `packaging` a run-time dependency. A test holds it to `packaging`'s answers.
"""

from __future__ import annotations

import os
import platform
import re
import sys

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'[^']*'|"[^"]*")
      | (?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)
      | (?P<word>and\b|or\b)
      | (?P<paren>[()])
      | (?P<variable>[a-z_.]+)
    )""",
    re.VERBOSE,
)
_VERSION_OPS = {"===", "==", "!=", "<=", ">=", "~=", "<", ">"}
# Interpreter versions: a release and perhaps a pre-release (3.13.0rc1).
_VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?\Z")


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


def evaluate(marker: str, env: dict[str, str]) -> bool:
    """Whether `marker` holds in `env`; raises ValueError on a marker it cannot read."""
    tokens = _tokens(marker)
    result = _or(tokens, env)
    if tokens:
        raise ValueError(f"unexpected {tokens[0][1]!r} in marker {marker!r}")
    return result


def holds(marker: str, env: dict[str, str]) -> bool:
    """Whether `marker` holds in `env`; a marker this evaluator cannot read does not."""
    try:
        return evaluate(marker, env)
    except ValueError:
        return False


def _tokens(marker: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(marker.rstrip()):
        match = _TOKEN.match(marker, position)
        kind = match.lastgroup if match else None
        if match is None or kind is None:
            raise ValueError(f"cannot read marker {marker!r} at {marker[position:]!r}")
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _or(tokens: list, env: dict[str, str]) -> bool:
    result = _and(tokens, env)
    while tokens and tokens[0] == ("word", "or"):
        tokens.pop(0)
        result = _and(tokens, env) or result
    return result


def _and(tokens: list, env: dict[str, str]) -> bool:
    result = _expression(tokens, env)
    while tokens and tokens[0] == ("word", "and"):
        tokens.pop(0)
        result = _expression(tokens, env) and result
    return result


def _expression(tokens: list, env: dict[str, str]) -> bool:
    if tokens and tokens[0] == ("paren", "("):
        tokens.pop(0)
        result = _or(tokens, env)
        if not tokens or tokens.pop(0) != ("paren", ")"):
            raise ValueError("unbalanced parentheses in marker")
        return result
    if len(tokens) < 3 or tokens[1][0] != "op":
        raise ValueError(f"expected a comparison in marker at {tokens[:3]!r}")
    left = _value(tokens.pop(0), env)
    op = tokens.pop(0)[1]
    right = _value(tokens.pop(0), env)
    return _compare(left, " ".join(op.split()), right)


def _value(token: tuple[str, str], env: dict[str, str]) -> str:
    kind, text = token
    if kind == "string":
        return text[1:-1]
    if kind == "variable":
        if text not in env:
            raise ValueError(f"unknown marker variable {text!r}")
        return env[text]
    raise ValueError(f"expected a value in marker, found {text!r}")


def _compare(left: str, op: str, right: str) -> bool:
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    if op == "===":
        return left == right
    mine, theirs = _version(left), _version(right[:-2] if right.endswith(".*") else right)
    if mine is None or theirs is None:
        if op in ("==", "!="):
            return (left == right) == (op == "==")
        raise ValueError(f"cannot compare {left!r} {op} {right!r}")
    if right.endswith(".*"):  # a prefix match on the release
        matches = mine.release_prefix(len(theirs.release)) == theirs.release
        return matches == (op == "==")
    if op == "~=":  # ~=X.Y.Z means >=X.Y.Z, ==X.Y.*
        return mine.key >= theirs.key and mine.release_prefix(len(theirs.release) - 1) == theirs.release[:-1]
    # PEP 440: `<V` excludes V's own pre-releases.
    if op == "<" and mine.key[0] == theirs.key[0] and mine.is_prerelease and not theirs.is_prerelease:
        return False
    return {
        "==": mine.key == theirs.key,
        "!=": mine.key != theirs.key,
        "<": mine.key < theirs.key,
        "<=": mine.key <= theirs.key,
        ">": mine.key > theirs.key,
        ">=": mine.key >= theirs.key,
    }[op]


class _Version:
    """The parts of an interpreter's PEP 440 version that comparisons need."""

    __slots__ = ("is_prerelease", "key", "release")

    def __init__(self, match: re.Match) -> None:
        release_text, pre_kind, pre_number = match.groups()
        self.release = tuple(int(part) for part in release_text.split("."))
        self.is_prerelease = pre_kind is not None
        significant = list(self.release)
        while len(significant) > 1 and significant[-1] == 0:
            significant.pop()
        # A final release sorts after its pre-releases: a1 < b1 < rc1 < final.
        pre = (("a", "b", "rc").index(pre_kind), int(pre_number)) if pre_kind else (3, 0)
        self.key = (tuple(significant), pre)

    def release_prefix(self, length: int) -> tuple[int, ...]:
        """The first `length` parts of the release, padded with zeros."""
        return (self.release + (0,) * length)[:length]


def _version(text: str) -> _Version | None:
    match = _VERSION.match(text)
    return _Version(match) if match else None
