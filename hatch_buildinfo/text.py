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
    differs = drifted(dependencies, installed_versions()) if dependencies else {}
    listed = [(name, version + _drift_note(differs, name)) for name, version in dependencies]
    return "\n".join([first, *_aligned(rows), *_dependency_lines(listed)]) + "\n"


def info_text(info: BuildInfo) -> str:
    """One line of version facts, like Go's `version.Info()`: (version=…, branch=…, revision=…)."""
    return f"(version={info.version}, branch={info.branch}, revision={info.revision})"


def build_context_text(info: BuildInfo) -> str:
    """One line of build context, like Go's `version.BuildContext()`: (python=…, platform=…, user=…, date=…)."""
    user = _shown(info.build_user)
    return f"(python={python_version()}, platform={platform_text()}, user={user}, date={info.build_date})"


def user_agent(info: BuildInfo) -> str:
    """A User-Agent header value: `example_app/0.1.0 (revision 3f2c1a9; python 3.11.7; linux/x86_64)`.

    The product is prometheus/common's `ComponentUserAgent` (`program/version`); the comment adds
    what that leaves out: the revision (7 digits, git's shortest abbreviation, with Go's
    `-modified` for a dirty build; left out when unknown), Python and the platform. Any facts give a
    valid RFC 9110 value: a character no token may hold becomes `_`; in the comment `(`, `)` and `\\`
    are escaped and every character outside printable ASCII, CR and LF among them, becomes `?`.
    """
    details = [f"python {python_version()}", platform_text()]
    if info.revision != UNKNOWN:
        # A commit hash is shortened; any other revision (an SVN number, a `BUILDINFO_REVISION` name) is kept whole.
        is_hash = len(info.revision) > 7 and all(character in "0123456789abcdef" for character in info.revision)
        short = info.revision[:7] if is_hash else info.revision
        details.insert(0, f"revision {short}{'-modified' if info.dirty else ''}")
    comment = "; ".join("".join(_comment_character(character) for character in detail) for detail in details)
    return f"{_token(info.program)}/{_token(info.version)} ({comment})"


_TOKEN_CHARACTERS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _token(value: str) -> str:
    """`value` as an RFC 9110 token: each character a token cannot hold becomes `_`; never empty."""
    return "".join(character if character in _TOKEN_CHARACTERS else "_" for character in value) or UNKNOWN


def _comment_character(character: str) -> str:
    """One character as RFC 9110 comment text: quoted where it would end or nest the comment, else printable."""
    if character in "()\\":
        return "\\" + character
    return character if " " <= character <= "~" else "?"


def inspect_text(info: BuildInfo, source: str, sboms: dict[str, bytes]) -> str:
    """Every recorded fact of one artifact, one per line, like `go version -m`, and the SBOMs it carries."""
    rows = [
        ("revision", info.revision),
        ("branch", info.branch),
        ("dirty", _shown(info.dirty)),
        ("tag", _shown(info.tag)),
        ("commit date", _shown(info.commit_date)),
        ("build user", _shown(info.build_user)),
        ("build date", info.build_date),
        *(("sbom", sbom_text(name, data)) for name, data in sorted(sboms.items())),
    ]
    if not sboms:
        rows.append(("sbom", "none"))
    listed = [(name, version + (f"  ; {marker[0]}" if marker else "")) for name, version, *marker in info.dependencies]
    return "\n".join([f"{source}: {info.program} {info.version}", *_aligned(rows), *_dependency_lines(listed)]) + "\n"


def sbom_text(name: str, data: bytes) -> str:
    """One SBOM file, summed up: `example-app.cdx.json (CycloneDX 1.6, 12 components)`."""
    import json

    try:
        document = json.loads(data)
    except ValueError:  # bad UTF-8 or bad JSON alike
        return f"{name} (not JSON)"
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        return f"{name} (not CycloneDX)"
    components = document.get("components")
    count = len(components) if isinstance(components, list) else 0
    return f"{name} (CycloneDX {document.get('specVersion', '?')}, {count} component{'s' * (count != 1)})"


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
