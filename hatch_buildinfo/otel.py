"""Expose: build info as OpenTelemetry resource attributes, on every span, metric and log a service exports.

`OTEL_EXPERIMENTAL_RESOURCE_DETECTORS=buildinfo` makes the SDK's `Resource.create()` run
`BuildInfoResourceDetector`, registered under that name in the entry-point group
`opentelemetry_resource_detector`; `BUILDINFO_PACKAGE` names the package whose build info it reads.
Needs `hatch-buildinfo[otel]`.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from .info import DEFAULT_MODULE, UNKNOWN, BuildInfo
from .read import build_info

try:
    from opentelemetry.sdk.resources import Resource, ResourceDetector
    from opentelemetry.semconv.attributes.service_attributes import SERVICE_VERSION
except ImportError as error:
    raise ImportError(
        f"hatch_buildinfo.otel needs opentelemetry-sdk ({error}): pip install 'hatch-buildinfo[otel]'"
    ) from None

# The VCS attributes are still "development" in the semantic conventions, and their only Python home is
# `opentelemetry.semconv._incubating`, which the package keeps outside its stability promise: its
# 0.50b0 renamed `vcs.repository.ref.*` to these. The names on the wire are the contract, so they are
# written here, checked against the installed package by tests/test_otel.py, and a service never fails
# at import because a private module moved.
VCS_REF_HEAD_REVISION = "vcs.ref.head.revision"
VCS_REF_HEAD_NAME = "vcs.ref.head.name"
VCS_REF_HEAD_TYPE = "vcs.ref.head.type"

PACKAGE_VARIABLE = "BUILDINFO_PACKAGE"
_DESCRIBED = re.compile(r".+-[0-9]+-g([0-9a-f]{4,})")  # `git describe` off a tag: <tag>-<count>-g<abbreviated revision>
_logger = logging.getLogger(__name__)  # the SDK's own detectors warn through `logging`, so this one does too


def resource(info: BuildInfo) -> Resource:
    """The resource attributes of `info`: `service.version` and the `vcs.ref.head.*` that are known.

    For code that makes its own resource: `resource(info).merge(Resource.create())`, so that
    `OTEL_RESOURCE_ATTRIBUTES` still wins, as it does over the detector.
    """
    attributes = {SERVICE_VERSION: info.version, VCS_REF_HEAD_REVISION: info.revision}
    head = _head_ref(info)
    if head is not None:
        attributes[VCS_REF_HEAD_NAME], attributes[VCS_REF_HEAD_TYPE] = head
    return Resource({key: value for key, value in attributes.items() if value != UNKNOWN})


class BuildInfoResourceDetector(ResourceDetector):
    """The `buildinfo` resource detector: the build info of `BUILDINFO_PACKAGE`, else of `__main__`'s package.

    `BUILDINFO_PACKAGE` takes what `build_info()` takes: an import package or a distribution's name;
    a package built without the hook gives `service.version` from its metadata. Without the variable,
    the package `python -m` ran, or the one whose console script is running, counts when it carries
    a generated module. Failing both, the resource gets nothing from here, and one warning says why.
    """

    def detect(self) -> Resource:
        package = os.environ.get(PACKAGE_VARIABLE, "").strip()
        if not package:
            package, missing = _main_package()
            if missing:
                _logger.warning("hatch-buildinfo adds no resource attributes: %s; set %s", missing, PACKAGE_VARIABLE)
                return Resource.get_empty()
        try:
            info = build_info(package)
        except Exception as error:  # the SDK skips a raising detector anyway; here the message says what to fix
            if self.raise_on_error:
                raise
            _logger.warning("hatch-buildinfo adds no resource attributes: %s=%s: %s", PACKAGE_VARIABLE, package, error)
            return Resource.get_empty()
        return resource(info)


def _head_ref(info: BuildInfo) -> tuple[str, str] | None:
    """(name, type) of the ref HEAD was at when `info` was built: its branch, else an exact tag, else None.

    `vcs.ref.head` is what HEAD refers to. On a branch that is the branch, even where a tag also
    points at the commit; a detached HEAD (a CI build of a tag) has no branch, and its ref is the tag
    when the build was of exactly that tag.
    """
    if info.branch != UNKNOWN:
        return info.branch, "branch"
    if info.tag and _at_tag(info.tag, info.revision):
        return info.tag, "tag"
    return None


def _at_tag(tag: str, revision: str) -> bool:
    """Whether `tag`, as the hook records it, names HEAD itself.

    The hook records the tag at HEAD, else `git describe --tags` (`v1.2.0-3-gabc1234`). Describe's
    suffix ends in an abbreviation of the revision, which tells it from a tag that merely looks
    like one (`app-v1-2-3-4-gabcdef0` at HEAD); with the revision unknown, such a tag is not taken
    as exact.
    """
    described = _DESCRIBED.fullmatch(tag)
    return not (described and (revision == UNKNOWN or revision.startswith(described.group(1))))


def _main_package() -> tuple[str, str]:
    """(the package of `__main__`, "") when it carries build info, else ("", why not)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:  # `python -m package` or `python -m package.module`
        package = spec.name.partition(".")[0]
    else:  # a console script's wrapper, or a plain script
        script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        package = _console_script_package(script)
        if not package:
            return "", f"__main__ ({script or 'no script'}) is neither `python -m` of a package nor a console script"
    if not _has_generated_module(package):
        return "", f"package {package!r} of __main__ has no generated {DEFAULT_MODULE} module"
    return package, ""


def _console_script_package(script: str) -> str:
    """The top-level package of the console script called `script`, or ""."""
    from importlib import metadata

    name = script[: -len(".exe")] if script.lower().endswith(".exe") else script  # Windows launchers
    try:
        found = metadata.entry_points(group="console_scripts", name=name)
    except TypeError:  # Python before 3.10 selects no entry points
        return ""
    for entry in found:
        return entry.module.partition(".")[0]
    return ""


def _has_generated_module(package: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(f"{package}.{DEFAULT_MODULE}") is not None
    except (ImportError, ValueError):  # `package` is a plain module, or cannot be imported
        return False
