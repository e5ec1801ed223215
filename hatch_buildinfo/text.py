"""Expose: build info as `--version` text, `inspect` text and JSON."""

from __future__ import annotations

import os
import sys

from .info import UNKNOWN, BuildInfo


def version_text(info: BuildInfo) -> str:
    """The `--version` text, shaped like Prometheus' `version.Print`."""
    first = f"{info.program}, version {info.version} (branch: {info.branch}, revision: {info.revision})"
    rows = [
        ("build user", _shown(info.build_user)),
        ("build date", info.build_date),
        ("python version", _python_version()),
        ("platform", _platform()),
    ]
    return "\n".join([first, *_aligned(rows)]) + "\n"


def inspect_text(info: BuildInfo, source: str) -> str:
    """Every recorded fact of one artifact, one per line, like `go version -m`."""
    rows = [
        ("revision", info.revision),
        ("branch", info.branch),
        ("dirty", _shown(info.dirty)),
        ("tag", _shown(info.tag)),
        ("commit date", _shown(info.commit_date)),
        ("build user", _shown(info.build_user)),
        ("build date", info.build_date),
    ]
    return "\n".join([f"{source}: {info.program} {info.version}", *_aligned(rows)]) + "\n"


def json_text(info: BuildInfo) -> str:
    """The design's JSON object, one line."""
    import json

    return json.dumps(info.as_dict(), ensure_ascii=False)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    return [f"  {label + ':':<18}{value}" for label, value in rows]


def _shown(value: object) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def _platform() -> str:
    if hasattr(os, "uname"):
        machine = os.uname().machine
    else:  # Windows has no uname; `platform` costs more to import, so only there.
        import platform

        machine = platform.machine()
    return f"{sys.platform}/{machine.lower()}"
