"""Expose: build info as `--version` text, `inspect` text and JSON."""

from __future__ import annotations

import os
import sys

from .info import UNKNOWN, BuildInfo


def version_text(info: BuildInfo) -> str:
    """The `--version` text, shaped like Prometheus' `version.Print`.

    Lists the locked dependencies this interpreter runs with, and marks each whose
    installed version differs from the lock.
    """
    from .drift import drifted, installed_versions

    first = f"{info.program}, version {info.version} (branch: {info.branch}, revision: {info.revision})"
    rows = [
        ("build user", _shown(info.build_user)),
        ("build date", info.build_date),
        ("python version", python_version()),
        ("platform", platform_text()),
    ]
    dependencies = info.running_dependencies()
    installed = installed_versions() if dependencies else None
    differs = drifted(dependencies, installed) if installed is not None else {}
    listed = [(name, version + _drift_note(differs, name)) for name, version in dependencies]
    return "\n".join([first, *_aligned(rows), *_dependency_lines(listed)]) + "\n"


def info_text(info: BuildInfo) -> str:
    """One line of version facts, like Go's `version.Info()`: (version=…, branch=…, revision=…)."""
    return f"(version={info.version}, branch={info.branch}, revision={info.revision})"


def build_context_text(info: BuildInfo) -> str:
    """One line of build context, like Go's `version.BuildContext()`: (python=…, platform=…, user=…, date=…)."""
    user = _shown(info.build_user)
    return f"(python={python_version()}, platform={platform_text()}, user={user}, date={info.build_date})"


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
    listed = [(name, version + (f"  ; {marker[0]}" if marker else "")) for name, version, *marker in info.dependencies]
    return "\n".join([f"{source}: {info.program} {info.version}", *_aligned(rows), *_dependency_lines(listed)]) + "\n"


def json_text(info: BuildInfo) -> str:
    """The design's JSON object, one line."""
    import json

    return json.dumps(info.as_dict(), ensure_ascii=False)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    return [f"  {label + ':':<18}{value}" for label, value in rows]


def _drift_note(differs: dict[str, str | None], name: str) -> str:
    if name not in differs:
        return ""
    return f" (installed: {differs[name]})" if differs[name] else " (not installed)"


def _dependency_lines(listed: list[tuple[str, str]]) -> list[str]:
    """The aligned `dependencies:` block, or nothing when there are none."""
    if not listed:
        return []
    width = max(len(name) for name, _ in listed) + 3
    return ["  dependencies:", *(f"    {name + ':':<{width}}{text}" for name, text in listed)]


def _shown(value: object) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def python_version() -> str:
    """This interpreter's version, e.g. 3.11.7."""
    return ".".join(str(part) for part in sys.version_info[:3])


def os_and_arch() -> tuple[str, str]:
    """This machine's operating system and architecture, e.g. ("linux", "x86_64")."""
    if hasattr(os, "uname"):
        machine = os.uname().machine
    else:  # Windows has no uname; `platform` costs more to import, so only there.
        import platform

        machine = platform.machine()
    return sys.platform, machine.lower()


def platform_text() -> str:
    """This machine's platform as os/arch, e.g. linux/x86_64."""
    return "/".join(os_and_arch())
