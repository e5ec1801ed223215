"""The `buildinfo` Hatch build hook: validate the configuration, collect, render."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from ..info import DEFAULT_MODULE, UNKNOWN, BuildInfo, parse_source
from ..names import normalize_name, program_name
from . import environment, git, locks
from .errors import BuildInfoError
from .git import VCS_FACTS
from .locks import Locked
from .render import render, write_atomically

# Options every Hatch build hook accepts; hatchling itself reads them.
HATCH_OPTIONS = {"dependencies", "require-runtime-dependencies", "require-runtime-features", "enable-by-default"}
OPTIONS = {"path", "program", "lockfile", "extras", "include-user", "require-vcs", "require-lock", "tag-match", "sbom"}
# What the hook asks hatchling to install into an isolated build environment: gitpython where
# there is no `git` executable, packaging 26 for `packaging.pylock` (hatchling alone may bring an
# older one), and tomli, whose compiled wheels for CPython 3.11+ read a large lock fast.
BUILD_DEPENDENCIES = ("gitpython>=3.1.30", "packaging>=26", "tomli>=2.2.1")
# PEP 753's normalised labels of a project URL that points at its source repository, in order of preference.
SOURCE_URL_LABELS = ("source", "repository", "sourcecode", "github")
METRIC_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


class BuildInfoBuildHook(BuildHookInterface):
    PLUGIN_NAME = "buildinfo"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The directory holding the generated module until the artifact is written.
        self._staging: str | None = None

    def _option_error(self, option: str, problem: str) -> str:
        return f"Option `{option}` for build hook `{self.PLUGIN_NAME}` {problem}"

    def _boolean_option(self, option: str, default: bool) -> bool:
        value = self.config.get(option, default)
        if not isinstance(value, bool):
            raise BuildInfoError(self._option_error(option, f"must be a boolean, not {value!r}"))
        return value

    def _project_file_option(self, option: str, within: str | None = None, where: str = "the project") -> str | None:
        """A string option naming a file inside `within` (the project by default), as a POSIX path from the project."""
        value = self.config.get(option)
        if value is None:
            return None
        if not isinstance(value, str):
            raise BuildInfoError(self._option_error(option, f"must be a string, not {value!r}"))
        root = os.path.realpath(self.root)
        bound = os.path.realpath(within or root)
        target = os.path.realpath(os.path.join(root, value))
        if not value or os.path.isabs(value) or os.path.commonpath([bound, target]) != bound:
            raise BuildInfoError(self._option_error(option, f"must be a path inside {where}: {value!r}"))
        return os.path.relpath(target, root).replace(os.sep, "/")

    @cached_property
    def config_path(self) -> str:
        path = self._project_file_option("path")
        if path is None:
            return self._default_path()
        if not self.config["path"].endswith(".py"):
            raise BuildInfoError(self._option_error("path", f"must name a `.py` file: {self.config['path']!r}"))
        return path

    def _default_path(self) -> str:
        """The module inside the one package the wheel ships; of several, the one named after the project.

        Where the wheel ships a PEP 420 namespace (`company-sdk` shipping `company/sdk/`, `company/` having no
        `__init__.py` as other distributions share it), the project's own portion, `__init__.py` or not: the
        directory its name's dotted form names (`company/sdk`; `google-cloud-bigquery-storage` may also be
        `google/cloud/bigquery_storage`). No other distribution of the namespace ships it, and it is where
        `build_info("company.sdk")` looks.
        """
        files = self._wheel_files()
        name = normalize_name(self.metadata.name)
        namespace = name.split("-")[0]
        in_namespace = f"{namespace}/__init__.py" not in {shipped for _, shipped in files}
        if in_namespace:
            for portion in _portions(name):
                homes = _sources_of(portion, files)
                if len(homes) == 1:
                    return f"{homes[0]}/{DEFAULT_MODULE}.py"
                if homes:
                    where = f"{len(homes)} directories ({', '.join(homes)})"
                    problem = f"the wheel ships the project's portion {portion!r} from {where}: name one"
                    raise self._path_required(problem, homes[0])
        package = name.replace("-", "_")
        candidates = _top_level_packages(files)
        named = [source for source in candidates if source.rsplit("/", 1)[-1] == package]
        if len(candidates) == 1 or len(named) == 1:
            return f"{(named or candidates)[0]}/{DEFAULT_MODULE}.py"
        if not candidates:
            raise self._path_required(f"the wheel ships no package (none named `{package}`) to hold the module")
        shipped = f"the wheel ships {len(candidates)} packages"
        roots = _sources_of(namespace, files)
        if in_namespace and roots:
            # The project's own portion, though no directory holds it yet: a neighbour's subpackage is no home, and
            # the portion is where `build_info("company.sdk")` looks.
            portion = name.replace("-", "/")
            problem = f"{shipped} in namespace {namespace!r} ({', '.join(candidates)}), none in {portion!r}"
            raise self._path_required(f"{problem}: name the project's portion", roots[0] + portion[len(namespace) :])
        raise self._path_required(f"{shipped} ({', '.join(candidates)}): name one", candidates[0])

    def _path_required(self, problem: str, example: str | None = None) -> BuildInfoError:
        """Option `path` is required: `problem`, and the module's path in directory `example` as the fix."""
        if example is not None:
            problem += f", e.g. {f'{example}/{DEFAULT_MODULE}.py'!r}"
        return BuildInfoError(self._option_error("path", f"is required: {problem}"))

    def _wheel_files(self) -> list[tuple[str, str]]:
        """The files hatchling selects for the wheel: each its project-relative path and its path in the wheel.

        hatchling's selection reads `packages`, `only-include`, `include` and `sources` of
        `[tool.hatch.build.targets.wheel]` and, where none is set, finds the package named after the project.
        """
        from hatchling.builders.wheel import WheelBuilder

        try:
            files = WheelBuilder(self.root, metadata=self.metadata).recurse_included_files()
            return [
                (file.relative_path.replace(os.sep, "/"), file.distribution_path.replace(os.sep, "/")) for file in files
            ]
        except (TypeError, ValueError):  # hatchling finds nothing to ship, or a bad table: the wheel build says why
            return []

    @cached_property
    def config_program(self) -> str:
        program = self.config.get("program")
        if program is None:
            program = program_name(self.metadata.name)
            if not METRIC_PREFIX.match(program):
                raise BuildInfoError(
                    self._option_error(
                        "program", f"is required: the project name gives {program!r}, no valid metric name prefix"
                    )
                )
            return program
        if not isinstance(program, str):
            raise BuildInfoError(self._option_error("program", f"must be a string, not {program!r}"))
        if not METRIC_PREFIX.match(program):
            raise BuildInfoError(self._option_error("program", f"must be a valid metric name prefix: {program!r}"))
        return program

    @cached_property
    def config_lockfile(self) -> str | bool:
        """The lock file the user named; True to find one; False to read none.

        Whether the file exists is asked only when it is read: a wheel built from an sdist takes the
        dependencies the sdist recorded, and the sdist need not carry the lock.
        """
        if self.config.get("lockfile", True) is False:
            return False
        if self.config.get("lockfile") is True:
            raise BuildInfoError(self._option_error("lockfile", "must be a path or false, not True"))
        if self._recorded is not None:
            # A wheel from an unpacked sdist takes what the sdist recorded and reads no lock, so the
            # path, written for the tree the sdist was made in, need not lead anywhere here.
            within, where = Path(self.root).resolve().anchor, "the file system"
        elif self._worktree is not None:
            within, where = str(self._worktree), f"the git worktree that holds the project ({self._worktree})"
        else:
            within, where = None, "the project"
        lockfile = self._project_file_option("lockfile", within, where)
        if lockfile is None:
            return True
        if locks.reader_for(Path(lockfile)) is None:
            known = ", ".join(locks.DETECT_ORDER[:-1]) + ", pylock.*.toml, *.txt"
            raise BuildInfoError(
                self._option_error("lockfile", f"must name a lock file of a known format ({known}): {lockfile!r}")
            )
        return lockfile

    @cached_property
    def config_extras(self) -> tuple[str, ...]:
        extras = self.config.get("extras", [])
        if not isinstance(extras, list) or not all(isinstance(extra, str) for extra in extras):
            raise BuildInfoError(self._option_error("extras", f"must be an array of strings, not {extras!r}"))
        known = {normalize_name(name) for name in self.metadata.core.optional_dependencies}
        for extra in extras:
            if normalize_name(extra) not in known:
                raise BuildInfoError(
                    self._option_error("extras", f"names an extra the project does not define: {extra!r}")
                )
        return tuple(extras)

    @cached_property
    def config_tag_match(self) -> tuple[str, ...]:
        """The globs `git describe --match` is given: which tags name this project."""
        value = self.config.get("tag-match", [])
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not all(isinstance(pattern, str) and pattern for pattern in patterns):
            raise BuildInfoError(self._option_error("tag-match", f"must be a glob or an array of globs, not {value!r}"))
        return tuple(patterns)

    @cached_property
    def config_require_lock(self) -> bool:
        required = self._boolean_option("require-lock", False)
        if required and self.config_lockfile is False:
            raise BuildInfoError(self._option_error("require-lock", "is true, but `lockfile` is false"))
        return required

    @cached_property
    def config_include_user(self) -> bool:
        return self._boolean_option("include-user", True)

    @cached_property
    def config_require_vcs(self) -> bool:
        return self._boolean_option("require-vcs", False)

    @cached_property
    def config_sbom(self) -> bool:
        return self._boolean_option("sbom", True)

    def _validate_config(self) -> None:
        unknown = sorted(set(self.config) - OPTIONS - HATCH_OPTIONS)
        if unknown:
            known = ", ".join(f"`{option}`" for option in sorted(OPTIONS))
            option = unknown[0]
            raise BuildInfoError(
                f"Unknown option `{option}` = {self.config[option]!r} for build hook `{self.PLUGIN_NAME}` "
                f"(known options: {known})"
            )
        for option in sorted(OPTIONS):
            getattr(self, f"config_{option.replace('-', '_')}")

    def dependencies(self) -> list[str]:
        return list(BUILD_DEPENDENCIES)

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        try:
            self._validate_config()
            info = self.collect()
            source = render(info)
            document = self._sbom(info) if self.config_sbom else None
        except BuildInfoError as error:
            # One line and a failed build; a traceback would bury the line under thirty others.
            self.app.abort(str(error))
            raise  # only where an application's abort does not exit
        if version == "editable":
            # An editable install imports the package from the source tree, so the module must live there.
            write_atomically(os.path.join(self.root, self.config_path), source)
        else:
            build_data["force_include"][self._stage(os.path.basename(self.config_path), source)] = self.config_path
        if document is not None:
            self._ship_sbom(document, build_data)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._staging:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def _stage(self, name: str, text: str) -> str:
        """Write a file for the artifact into the staging directory; its path."""
        if self._staging is None:
            self._staging = tempfile.mkdtemp(prefix="hatch-buildinfo-")
        path = os.path.join(self._staging, name)
        write_atomically(path, text)
        return path

    def _ship_sbom(self, document: str, build_data: dict[str, Any]) -> None:
        from . import sbom

        name = sbom.file_name(self.metadata.name)
        if self.target_name == "sdist":
            # At the sdist's root, so that a wheel built from the sdist ships it unchanged (see _sbom).
            build_data["force_include"][self._stage(name, document)] = name
        elif "sbom_files" in build_data:
            build_data["sbom_files"].append(self._stage(name, document))
        elif self.target_name == "wheel":
            self.app.display_warning(
                f"hatch-buildinfo: warning: hatchling {_version_of('hatchling')} cannot put an SBOM into a wheel "
                "(hatchling 1.28 and later can); building without one"
            )

    def _sbom(self, info: BuildInfo) -> str | None:
        """The CycloneDX document of this build: the sdist's, in a wheel built from one; else written from the lock.

        None where no lock was read: an SBOM without the lock's packages would claim there are none.
        """
        from . import sbom  # here, as the hook's other heavy parts: a build with `sbom = false` never loads it

        if self._recorded is not None:
            recorded = os.path.join(self.root, sbom.file_name(self.metadata.name))
            if not os.path.isfile(recorded):
                return None
            try:
                with open(recorded, encoding="utf-8") as file:
                    return file.read()
            except (OSError, UnicodeDecodeError) as error:
                raise BuildInfoError(f"{recorded}: the sdist's SBOM cannot be read: {error}") from None
        if self._locked is None:
            return None
        from packaging.requirements import Requirement  # here: only a build that writes an SBOM needs it

        core = self.metadata.core
        requirements = [*core.dependencies]
        for extra in self.config_extras:
            requirements += core.optional_dependencies.get(normalize_name(extra), ())  # hatchling's keys are normalised
        return sbom.cyclonedx(
            info,
            self.metadata.name,
            self._locked,
            direct=[Requirement(requirement).name for requirement in requirements],
            tool_version=_version_of("hatch-buildinfo"),
            repository=self._source_url(),
        )

    def _source_url(self) -> str | None:
        """The project's source repository among its `[project.urls]`, by PEP 753's well-known labels."""
        urls = {re.sub(r"[^a-z]", "", label.lower()): url for label, url in self.metadata.core.urls.items()}
        for label in SOURCE_URL_LABELS:
            if urls.get(label, "").startswith(("https://", "http://", "git+")):
                return urls[label]
        return None

    def collect(self) -> BuildInfo:
        """Each fact from the first source that has it: overrides, git, the sdist, CI, `unknown`."""
        environ = os.environ
        git_facts, gaps = git.collect(self.root, self.config_tag_match)
        recorded = self._recorded
        sources: list[Mapping[str, object]] = [environment.overrides(environ), git_facts, self._vcs_facts_of(recorded)]
        ci_branch = environment.ci_branch(environ)
        if ci_branch:
            sources.append({"branch": ci_branch})
        facts: dict[str, Any] = {
            "version": self.metadata.version,
            "build_date": environment.build_date(environ),
            "build_user": environment.build_user(environ, include_user=self.config_include_user),
            "dependencies": tuple(
                (package.name, package.version, package.marker) if package.marker else (package.name, package.version)
                for package in self._locked or ()
            ),
        }
        for found in reversed(sources):
            facts.update(found)

        # A repository without tags has no tag to find, so only a reason makes a missing tag worth a warning.
        missing = [name for name in VCS_FACTS if name not in facts and (name != "tag" or name in gaps)]
        if missing:
            reasons = "; ".join(dict.fromkeys(gaps.get(name, "no source had it") for name in missing))
            if "revision" in missing and self.config_require_vcs:
                raise BuildInfoError(
                    f"Build hook `{self.PLUGIN_NAME}` found no git revision ({reasons}) and `require-vcs` is true; "
                    "build from a git checkout or set BUILDINFO_REVISION"
                )
            self.app.display_warning(f"hatch-buildinfo: warning: {reasons}; recorded as unknown: {', '.join(missing)}")
        return BuildInfo(program=self.config_program, **facts)

    @cached_property
    def _recorded(self) -> BuildInfo | None:
        """The build info an sdist recorded, when this build runs from an unpacked sdist."""
        path = os.path.join(self.root, self.config_path)
        if not (os.path.isfile(os.path.join(self.root, "PKG-INFO")) and os.path.isfile(path)):
            return None
        with open(path, encoding="utf-8") as file:
            return parse_source(file.read(), path)

    @staticmethod
    def _vcs_facts_of(recorded: BuildInfo | None) -> dict[str, object]:
        if recorded is None:
            return {}
        # The sdist's None (no tag, unknown dirty state) is its answer; only "unknown" asks further.
        facts = {name: getattr(recorded, name) for name in VCS_FACTS}
        return {name: value for name, value in facts.items() if value != UNKNOWN}

    @cached_property
    def _locked(self) -> tuple[Locked, ...] | None:
        """What the sdist recorded, in a wheel built from it; else the lock file's runtime packages; None: no lock."""
        if self._recorded is not None:
            # The sdist read the lock when it was made, and need not carry it or the files it includes.
            return tuple(
                Locked(name, version, marker[0] if marker else None)
                for name, version, *marker in self._recorded.dependencies
            )
        if self.config_lockfile is False:
            return None
        root = Path(self.root)
        detected = self.config_lockfile is True
        if detected:
            path = self._detected_lock()
        else:
            # The option is relative to the real project directory; joined to that, `..` may be folded for the messages.
            path = Path(os.path.normpath(os.path.join(os.path.realpath(root), str(self.config_lockfile))))
            if not path.is_file():
                raise BuildInfoError(self._option_error("lockfile", f"names no file: {self.config_lockfile!r}"))
        why = f"no lock file ({', '.join(locks.DETECT_ORDER)})"
        if detected and self._uv_workspace is not None:
            why += f", nor a uv.lock at the root of its uv workspace ({self._uv_workspace}: run `uv lock` there)"
        if path is not None:
            core = self.metadata.core
            project = locks.Project(
                name=self.metadata.name,
                dependencies=tuple(core.dependencies),
                optional_dependencies={extra: tuple(needs) for extra, needs in core.optional_dependencies.items()},
                extras=self.config_extras,
                detected=detected,
                root=root,
            )
            try:
                found = self._read_lock(path, project)
            except locks.NotARuntimeLock as error:
                if not detected:
                    raise
                why = f"{error}, so it is not read as the runtime lock (name that with option `lockfile`)"
            else:
                # Checked once the lock reads, so that a malformed lock gets its one error line alone.
                stale = locks.stale(path, project)
                if stale and self.config_require_lock:
                    raise BuildInfoError(f"Build hook `{self.PLUGIN_NAME}`: {stale}, and `require-lock` is true")
                if stale:
                    self.app.display_warning(f"hatch-buildinfo: warning: {stale}; recording it as it is")
                return found
        if self.config_require_lock:
            raise BuildInfoError(f"Build hook `{self.PLUGIN_NAME}`: {why}, and `require-lock` is true")
        recording = "no dependencies and no SBOM" if self.config_sbom else "no dependencies"
        self.app.display_info(f"hatch-buildinfo: {why}; recording {recording}")
        return None

    @cached_property
    def _worktree(self) -> Path | None:
        """The top of the git worktree that holds the project: the lock may lie anywhere inside it."""
        return git.worktree_top(self.root)

    @cached_property
    def _uv_workspace(self) -> Path | None:
        """The root of the uv workspace the project is a member of; None outside one, or at its root."""
        from .locks.workspace import uv_workspace_root

        root = Path(self.root)
        workspace = uv_workspace_root(root, self.metadata.config, self._worktree)
        return None if workspace == root.resolve() else workspace

    def _detected_lock(self) -> Path | None:
        """The workspace root's uv.lock, in a member of a uv workspace; else the first lock file in the project root.

        uv locks a whole workspace in the one uv.lock at its root and installs every member from
        it, so that lock wins over a lock file in the member's directory, which the user can name
        in `lockfile` instead.
        """
        root = Path(self.root)
        own = locks.find_lock(root)
        lock = None if self._uv_workspace is None else self._uv_workspace / "uv.lock"
        if lock is None or not lock.is_file():
            return own
        if own is not None:
            self.app.display_info(
                f"hatch-buildinfo: reading {os.path.relpath(lock, root)}, the lock of the uv workspace the project is "
                f"a member of, not {own.name} (name that with option `lockfile` to read it)"
            )
        return lock

    def _read_lock(self, path: Path, project: locks.Project) -> tuple[Locked, ...]:
        """read_lock's answer; each note of a package it leaves out becomes an info line."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", locks.LeftOut)
            found = locks.read_lock(path, project)
        for warning in caught:
            if issubclass(warning.category, locks.LeftOut):
                self.app.display_info(f"hatch-buildinfo: {warning.message}")
            else:  # not ours to show: back to the warnings machinery
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return found


def _top_level_packages(files: list[tuple[str, str]]) -> list[str]:
    """The top-level packages among the wheel's files, project-relative: the first directory down with an
    `__init__.py` is a package (namespaces have none)."""
    packages = {posixpath.dirname(source) for source, _ in files if posixpath.basename(source) == "__init__.py"}
    return sorted(package for package in packages if package and posixpath.dirname(package) not in packages)


def _portions(name: str) -> list[str]:
    """Where the PEP 420 portion of project `name` (normalised) may be, the likeliest first: `company-sdk-core`
    gives company/sdk/core, then company/sdk_core; a name of one part is no portion of a namespace."""
    parts = name.split("-")
    return ["/".join([*parts[:depth], "_".join(parts[depth:])]) for depth in range(len(parts) - 1, 0, -1)]


def _sources_of(directory: str, files: list[tuple[str, str]]) -> list[str]:
    """The project-relative directories the wheel's `files` ship as `directory`, sorted."""
    return sorted({found for file in files for found in [_source_of(directory, *file)] if found is not None})


def _source_of(directory: str, source: str, shipped: str) -> str | None:
    """The project-relative directory the wheel ships as `directory`, found from `source`, shipped as `shipped`.

    None where `shipped` is not in `directory`, or hatchling's `sources` rename a directory inside it.
    """
    if shipped == directory:
        return source
    rest = shipped[len(directory) :]
    if not shipped.startswith(f"{directory}/") or not source.endswith(rest):
        return None
    return source[: len(source) - len(rest)]


def _version_of(distribution: str) -> str:
    from importlib import metadata  # here: it brings `email`, which a build without an SBOM never needs

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return UNKNOWN
