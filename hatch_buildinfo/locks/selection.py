"""Settle the install-time choices in a lock's marker, keeping the environment part for run time.

A lock's marker can mix what the user chose at install time (`"cli" in extras`,
`"dev" in dependency_groups`, Poetry's `extra == "cli"`) with what the environment decides
(`sys_platform == "win32"`). At build time the choices are known — the project's runtime
extras, no development groups — so those terms are decided now; the environment terms stay,
for run time to evaluate on the interpreter it runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import LockError, normalize_name, one_line

# The marker variables an installer decides from the user's choice, not from the environment.
_SELECTION_VARIABLES = ("extras", "dependency_groups", "extra")


class _Undecidable(Exception):
    pass


def settle(
    path: Path, entry: str, marker: object, extras: frozenset[str], groups: frozenset[str] = frozenset()
) -> bool | str:
    """`marker` (text or a packaging Marker) with its selection terms decided.

    True: always installed; False: never, for these choices; otherwise the environment marker left.
    """
    from packaging.markers import InvalidMarker, Marker

    if marker is None:
        return True
    try:
        parsed = marker if isinstance(marker, Marker) else Marker(str(marker))
        # packaging keeps its parsed form private; it has been this nested list since packaging 22.
        return _partial(parsed._markers, extras, groups)
    except InvalidMarker as error:
        raise LockError(path, f"invalid marker {marker!r}: {one_line(error)}", entry=entry) from None
    except _Undecidable as error:
        raise LockError(path, f"cannot decide marker {str(marker)!r}: {error}", entry=entry) from None


def _partial(markers: list[Any], extras: frozenset[str], groups: frozenset[str]) -> bool | str:
    """Evaluate packaging's parsed marker list (terms, nested lists, "and"/"or"; "and" binds tighter)."""
    alternatives: list[list[bool | str]] = [[]]
    for item in markers:
        if isinstance(item, list):
            alternatives[-1].append(_partial(item, extras, groups))
        elif isinstance(item, tuple):
            alternatives[-1].append(_term(item, extras, groups))
        elif item == "or":
            alternatives.append([])
    kept: list[str] = []
    for terms in alternatives:
        if False in terms:
            continue
        conditions = [term for term in terms if isinstance(term, str)]  # False is out already
        if not conditions:
            return True
        conjunction = " and ".join(f"({condition})" if " or " in condition else condition for condition in conditions)
        if conjunction not in kept:
            kept.append(conjunction)
    if not kept:
        return False
    return " or ".join(kept)


def _term(term: tuple[Any, Any, Any], extras: frozenset[str], groups: frozenset[str]) -> bool | str:
    left, op, right = term
    variable = _variable(left) or _variable(right)
    text = " ".join(part.serialize() for part in term)
    if variable not in _SELECTION_VARIABLES:
        return text
    literal = right if _variable(left) else left
    if _variable(literal):
        raise _Undecidable(f"compares two variables in {text!r}")
    chosen = groups if variable == "dependency_groups" else extras
    if variable == "extra":
        # Poetry's form, from package metadata: `extra == "cli"`.
        members = {"==": True, "!=": False}
    else:
        # PEP 751's set-valued variables take only the membership form: `"cli" in extras`.
        members = {"in": True, "not in": False} if literal is left else {}
    operator = op.serialize()
    if operator not in members:
        raise _Undecidable(f"{text!r} is not a membership test")
    return (normalize_name(literal.value) in chosen) is members[operator]


def _variable(node: Any) -> str | None:
    return node.value if type(node).__name__ == "Variable" else None
