"""The build-info data model shared by the build hook and the runtime shim.

Stdlib only, and cheap to import: every service imports it at start-up.
"""

# No `from __future__ import annotations` here or in read.py: on the start-up path even that import counts.
SCHEMA = 1
UNKNOWN = "unknown"

# Field order is the order of the generated module and of `inspect --json`.
FIELDS = (
    "program",
    "version",
    "revision",
    "branch",
    "dirty",
    "tag",
    "commit_date",
    "build_user",
    "build_date",
    "dependencies",
)
_TEXT = (str,)
_TEXT_OR_NONE = (str, type(None))
TYPES = {
    "program": _TEXT,
    "version": _TEXT,
    "revision": _TEXT,
    "branch": _TEXT,
    "dirty": (bool, type(None)),
    "tag": _TEXT_OR_NONE,
    "commit_date": _TEXT_OR_NONE,
    "build_user": _TEXT_OR_NONE,
    "build_date": _TEXT,
    "dependencies": (tuple, list),
}
DEFAULTS = {
    "revision": UNKNOWN,
    "branch": UNKNOWN,
    "dirty": None,
    "tag": None,
    "commit_date": None,
    "build_user": None,
    "build_date": UNKNOWN,
    "dependencies": (),
}


class BuildInfo:
    """What one build of a program was made from. Immutable."""

    __slots__ = FIELDS
    # For type checkers; quoted so that no Python evaluates `X | None` at import.
    program: str
    version: str
    revision: str
    branch: str
    dirty: "bool | None"
    tag: "str | None"
    commit_date: "str | None"
    build_user: "str | None"
    build_date: str
    dependencies: "tuple[tuple[str, ...], ...]"

    def __init__(self, program: str, version: str, **facts: object) -> None:
        unknown = set(facts) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"BuildInfo got unknown fields: {', '.join(sorted(unknown))}")
        values: dict = dict(DEFAULTS, program=program, version=version, **facts)
        for name in FIELDS:
            if not isinstance(values[name], TYPES[name]):
                raise TypeError(f"BuildInfo field {name!r} cannot be {values[name]!r}")
        values["dependencies"] = tuple(_dependency(entry) for entry in values["dependencies"])
        for name in FIELDS:
            object.__setattr__(self, name, values[name])

    @classmethod
    def from_mapping(cls, mapping: dict) -> "BuildInfo":
        """Build from a generated module's names; keys of other schemas are ignored."""
        facts = {name: mapping[name] for name in FIELDS if name in mapping}
        return cls(**facts)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"BuildInfo is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"BuildInfo is immutable; cannot delete {name!r}")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BuildInfo) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in FIELDS)
        return f"BuildInfo({fields})"

    def replace(self, **facts: object) -> "BuildInfo":
        """A copy with some facts changed."""
        values = dict(zip(FIELDS, self._values()))
        values.update(facts)
        return BuildInfo(**values)

    def as_dict(self) -> dict:
        """The JSON-ready form of the design: every key present, unknowns as "unknown" or None."""
        data: dict = {"schema": SCHEMA}
        data.update((name, getattr(self, name)) for name in FIELDS)
        data["dependencies"] = [
            dict(zip(("name", "version", "marker"), dependency)) for dependency in self.dependencies
        ]
        return data

    def running_dependencies(self) -> "tuple[tuple[str, str], ...]":
        """The locked (name, version) pairs this interpreter runs with.

        Entries locked under a marker count only where the marker holds, so of a package
        locked at two versions for two environments, one process reports one. An entry whose
        marker cannot be evaluated here counts too, with a RuntimeWarning: reported, not lost.
        """
        env = None
        chosen = {}
        for name, version, *marker in self.dependencies:
            if name in chosen:
                continue
            if marker:
                from .markers import environment, holds

                env = env or environment()
                if not holds(marker[0], env):  # True, and a warning, for a marker it cannot evaluate
                    continue
            chosen[name] = version
        return tuple(chosen.items())


def _dependency(entry: object) -> tuple:
    if not (isinstance(entry, (tuple, list)) and len(entry) in (2, 3) and all(isinstance(part, str) for part in entry)):
        raise TypeError(f"BuildInfo dependency must be (name, version) or (name, version, marker), not {entry!r}")
    return tuple(entry)
