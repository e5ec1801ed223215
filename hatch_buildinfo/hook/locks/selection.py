"""Settle the install-time choices in a lock's marker, keeping the environment part for run time.

A lock's marker can mix what the user chose at install time (`"cli" in extras`,
`"dev" in dependency_groups`, Poetry's `extra == "cli"`) with what the environment decides
(`sys_platform == "win32"`). At build time the choices are known — the project's runtime
extras, no development groups — so those terms are decided now; the environment terms stay,
for run time to evaluate on the interpreter it runs on. Both read the marker with one grammar,
hatch_buildinfo.markers.
"""

from __future__ import annotations

from pathlib import Path

from ...markers import And, Comparison, Node, Or, Value, Variable, parse, text
from . import LockError, normalize_name, one_line

# The marker variables an installer decides from the user's choice, not from the environment.
_SELECTION_VARIABLES = ("extras", "dependency_groups", "extra")


class _Undecidable(Exception):
    pass


def settle(
    path: Path, entry: str, marker: object, extras: frozenset[str], groups: frozenset[str] = frozenset()
) -> bool | str:
    """`marker` (text, or a packaging Marker) with its selection terms decided.

    True: always installed; False: never, for these choices; otherwise the environment marker left,
    written as packaging writes it.
    """
    if marker is None:
        return True
    try:
        decided = _decided(parse(str(marker)), extras, groups)
        return decided if isinstance(decided, bool) else text(decided)
    except _Undecidable as error:
        raise LockError(path, f"cannot decide marker {str(marker)!r}: {error}", entry=entry) from None
    except ValueError as error:  # parse's message is one line: `invalid marker '…': expected … at column …`
        raise LockError(path, one_line(error), entry=entry) from None


def _decided(node: Node, extras: frozenset[str], groups: frozenset[str]) -> bool | Node:
    """`node` with its selection terms decided: True or False where that settles it, else what is left."""
    if isinstance(node, Comparison):
        return _term(node, extras, groups)
    if not isinstance(node, (And, Or)):
        raise TypeError(f"unexpected marker node {node!r}")
    # Every term is decided, so that one that cannot be fails even where another settles the rest.
    decided = [_decided(term, extras, groups) for term in node.terms]
    settling = isinstance(node, Or)  # True settles an `or`, False an `and`; the other value drops out
    if settling in decided:
        return settling
    kept: list[Node] = []
    for term in decided:
        if not isinstance(term, bool) and term not in kept:
            kept.append(term)
    if not kept:
        return not settling
    if len(kept) == 1:
        return kept[0]
    return Or(kept, node.parenthesized) if settling else And(kept, node.parenthesized)


def _term(term: Comparison, extras: frozenset[str], groups: frozenset[str]) -> bool | Comparison:
    names = [side.name for side in (term.left, term.right) if isinstance(side, Variable)]
    selection = [name for name in names if name in _SELECTION_VARIABLES]
    if not selection:
        return term  # an environment term, for run time
    shown = text(term)
    if isinstance(term.left, Value):
        literal, literal_first = term.left, True
    elif isinstance(term.right, Value):
        literal, literal_first = term.right, False
    else:
        raise _Undecidable(f"compares two variables in {shown!r}")
    variable = selection[0]
    chosen = groups if variable == "dependency_groups" else extras
    if variable == "extra":
        # Poetry's form, from package metadata: `extra == "cli"`.
        members = {"==": True, "!=": False}
    else:
        # PEP 751's set-valued variables take only the membership form: `"cli" in extras`.
        members = {"in": True, "not in": False} if literal_first else {}
    if term.op not in members:
        raise _Undecidable(f"{shown!r} is not a membership test")
    return (normalize_name(literal.value) in chosen) is members[term.op]
