"""Render: write build info as a Python module that only assigns literals."""

from __future__ import annotations

import os
import tempfile

from ..info import FIELDS, MARKER, SCHEMA, BuildInfo, parse_source

_PLAIN_TYPES = (str, bool, int, type(None))


def render(info: BuildInfo) -> str:
    """The source of the generated module for `info`.

    Every value is written with `repr` of a str, bool, int or None, so whatever a branch,
    tag or user name holds stays a string literal; the result is parsed back and compared
    before anyone gets it.
    """
    lines = [
        MARKER,
        "# Every name below is a plain literal: importing this module runs nothing else.",
        f"schema = {SCHEMA}",
    ]
    for name in FIELDS:
        if name != "dependencies":
            lines.append(f"{name} = {_literal(getattr(info, name))}")
    if info.dependencies:
        lines.append("dependencies = (")
        lines.extend(f"    ({', '.join(_literal(part) for part in dependency)})," for dependency in info.dependencies)
        lines.append(")")
    else:
        lines.append("dependencies = ()")
    source = "\n".join(lines) + "\n"
    if parse_source(source, "generated module") != info:
        raise AssertionError("hatch-buildinfo: generated module does not read back as written")
    return source


def _literal(value: object) -> str:
    if type(value) not in _PLAIN_TYPES:
        raise TypeError(f"hatch-buildinfo can only record str, bool, int or None, not {type(value).__name__}")
    return repr(value)


def write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".buildinfo-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
