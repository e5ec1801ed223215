"""Read: build info for a package that carries no generated module (a source checkout, or a
package built without the hook), from what the installed metadata — and, when asked, git — says.

Python 3.7 has no `importlib.metadata`: there the answer has no version and no dependencies,
as prommod answers on a Go without build info.
"""

from __future__ import annotations

import os
import re

from .drift import installed_versions
from .gitcommands import ask
from .info import DEFAULT_MODULE, UNKNOWN, BuildInfo
from .markers import environment, holds
from .names import normalize_name, program_name

TYPE_CHECKING = False  # typing's own costs an import on a path that may run at start-up
if TYPE_CHECKING:
    from collections.abc import Iterable
    from importlib.metadata import Distribution, PackagePath
    from types import ModuleType

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def from_metadata(package: str, *, git: bool = False) -> BuildInfo:
    """The installed distribution's version and the installed versions of its direct requirements."""
    program = program_name(package)
    facts = _git_facts(package) if git else {}
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        return BuildInfo(program, UNKNOWN, **facts)
    distribution = _distribution(metadata, package)
    if distribution is None:
        return BuildInfo(program, UNKNOWN, **facts)
    installed = installed_versions()
    # Core metadata's context, with no extra asked for: requirements of extras are not what the
    # package runs with, and their markers (`extra == "cli"`) do not hold.
    env = dict(environment(), extra="")
    dependencies = set()
    for requirement in distribution.requires or ():
        name, _, marker = requirement.partition(";")
        match = _NAME.match(name)
        # A marker that cannot be evaluated holds (holds() warns): the requirement is kept, not lost.
        if not match or (marker.strip() and not holds(marker.strip(), env)):
            continue
        normalized = normalize_name(match.group(1))
        if normalized in installed:
            dependencies.add((normalized, installed[normalized]))
    return BuildInfo(program, distribution.version, dependencies=sorted(dependencies), **facts)


def _distribution(metadata: ModuleType, package: str) -> Distribution | None:
    """The distribution that installs import package `package`, else one named like it."""
    if hasattr(metadata, "packages_distributions"):  # Python 3.10+
        # A PEP 420 namespace that several distributions share (`company/`) is none of theirs alone.
        names = dict.fromkeys(metadata.packages_distributions().get(package, []))
        if len(names) == 1:
            found = _named_distribution(metadata, next(iter(names)))
            if found is not None:
                return found
    return _named_distribution(metadata, package)


def generated_module_of(name: str, module: str = DEFAULT_MODULE) -> str:
    """The dotted name of the generated module installed by the distribution called `name`.

    For `build_info()` given a distribution's name, not an import package's. Raises
    ModuleNotFoundError, its message one line saying to pass the import package, unless exactly
    one top-level package of that distribution holds a generated module; where several modules
    in it are, the one called `module` wins.
    """
    hint = f"No package named {name!r}; build_info() takes the import package"
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7: distributions cannot be looked up
        raise ModuleNotFoundError(f"{hint} (the name you import), not a distribution's name", name=name) from None
    distribution = _named_distribution(metadata, name)
    if distribution is None:
        raise ModuleNotFoundError(f"{hint}, and no installed distribution is named {name!r}", name=name) from None

    from .artifacts import installed_modules

    held: dict[str, list[tuple[str, ...]]] = {}
    for file, _ in installed_modules(distribution):
        dotted = (*file.parts[:-1], file.parts[-1][: -len(".py")])
        if all(part.isidentifier() for part in dotted):
            held.setdefault(dotted[0], []).append(dotted)
    if len(held) == 1:
        (modules,) = held.values()
        modules.sort(key=lambda parts: (parts[-1] != module, len(parts)))  # ties keep the order found
        return ".".join(modules[0])
    label = distribution.metadata["Name"] or name
    installs = _top_level_names(distribution.files or ())
    if not installs:
        message = f"{hint}, and distribution {label!r} lists no package among its files"
    else:
        message = f"{hint}, and distribution {label!r} installs: {', '.join(installs)}"
        if held:
            message += f" ({', '.join(sorted(held))} each with build info of its own)"
    raise ModuleNotFoundError(message, name=name) from None


def _named_distribution(metadata: ModuleType, name: str) -> Distribution | None:
    """The installed distribution whose PEP 503 name is `name`'s, if any."""
    # Directory names of installed metadata are normalised with `_`; Pythons before 3.10 only lower-case
    # what they are asked for and turn `-` into `_`, so ask in that form first.
    for candidate in dict.fromkeys([normalize_name(name).replace("-", "_"), name]):
        try:
            return metadata.distribution(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def _top_level_names(files: Iterable[PackagePath]) -> list[str]:
    """The top-level packages and modules among a distribution's installed files."""
    from importlib.machinery import all_suffixes

    suffixes = tuple(all_suffixes())
    names = set()
    for file in files:
        parts = file.parts
        if parts and parts[-1].endswith(suffixes):
            top = parts[0] if len(parts) > 1 else parts[0].partition(".")[0]
            if top.isidentifier() and not top.startswith("__"):  # not __pycache__, nor an editable install's finder
                names.add(top)
    return sorted(names)


def _git_facts(package: str) -> dict[str, object]:
    """Revision, branch and dirty state of the checkout the package is imported from, asked of `git`."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None:
        return {}
    # A PEP 420 namespace package has no origin, only the directories of its portions.
    portions = spec.submodule_search_locations or ()
    directory = os.path.dirname(spec.origin) if spec.origin else next(iter(portions), None)
    if directory is None:
        return {}

    try:
        (found, revision), (on_branch, branch), (read, status) = ask(
            directory,
            ("rev-parse", "HEAD"),
            ("symbolic-ref", "--short", "-q", "HEAD"),
            ("status", "--porcelain", "--untracked-files=no"),
        )
    except OSError:  # no `git` executable
        return {}
    if not found:
        return {}
    return {
        "revision": revision,
        "branch": branch if on_branch and branch else UNKNOWN,
        "dirty": bool(status) if read else None,
    }
