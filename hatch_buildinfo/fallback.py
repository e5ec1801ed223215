"""Read: build info for a package that carries no generated module (a source checkout, or a
package built without the hook), from what the installed metadata — and, when asked, git — says.

Python 3.7 has no `importlib.metadata`: there the answer has no version and no dependencies,
as prommod answers on a Go without build info.
"""

from __future__ import annotations

import os
import re
import subprocess

from .drift import installed_versions, normalize_name
from .info import UNKNOWN, BuildInfo
from .markers import environment, holds

TYPE_CHECKING = False  # typing's own costs an import on a path that may run at start-up
if TYPE_CHECKING:
    from importlib.metadata import Distribution
    from types import ModuleType

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def from_metadata(package: str, *, git: bool = False) -> BuildInfo:
    """The installed distribution's version and the installed versions of its direct requirements."""
    program = re.sub(r"[-.]", "_", package)
    facts = _git_facts(package) if git else {}
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        return BuildInfo(program, UNKNOWN, **facts)
    distribution = _distribution(metadata, package)
    if distribution is None:
        return BuildInfo(program, UNKNOWN, **facts)
    installed = installed_versions() or {}
    env = environment()
    dependencies = set()
    for requirement in distribution.requires or ():
        name, _, marker = requirement.partition(";")
        match = _NAME.match(name)
        # Requirements of extras are not what the package runs with unless asked for; leave them out.
        if not match or (marker.strip() and ("extra" in marker or not holds(marker.strip(), env))):
            continue
        normalized = normalize_name(match.group(1))
        if normalized in installed:
            dependencies.add((normalized, installed[normalized]))
    return BuildInfo(program, distribution.version, dependencies=sorted(dependencies), **facts)


def _distribution(metadata: ModuleType, package: str) -> Distribution | None:
    candidates = []
    if hasattr(metadata, "packages_distributions"):  # Python 3.10+
        candidates.extend(metadata.packages_distributions().get(package, []))
    candidates.extend([package, package.replace("_", "-")])
    for name in candidates:
        try:
            return metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _git_facts(package: str) -> dict[str, object]:
    """Revision, branch and dirty state of the checkout the package is imported from, asked of `git`."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return {}
    directory = os.path.dirname(spec.origin)

    def git(*arguments: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", *arguments], cwd=directory, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    if revision is None:
        return {}
    branch = git("symbolic-ref", "--short", "-q", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "revision": revision,
        "branch": branch or UNKNOWN,
        "dirty": None if status is None else bool(status),
    }
