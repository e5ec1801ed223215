"""The `buildinfo` Hatch build hook: validate the configuration, collect, render."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from functools import cached_property
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from . import environment, git
from .git import VCS_FACTS
from .info import UNKNOWN, BuildInfo
from .read import DEFAULT_MODULE, parse_source
from .render import render, write_atomically

# Options every Hatch build hook accepts; hatchling itself reads them.
HATCH_OPTIONS = {"dependencies", "require-runtime-dependencies", "require-runtime-features", "enable-by-default"}
OPTIONS = {"path", "program", "include-user", "require-vcs"}
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
            raise TypeError(self._option_error(option, f"must be a boolean, not {value!r}"))
        return value

    @cached_property
    def config_path(self) -> str:
        path = self.config.get("path")
        if path is None:
            return self._default_path()
        if not isinstance(path, str):
            raise TypeError(self._option_error("path", f"must be a string, not {path!r}"))
        if not path.endswith(".py"):
            raise ValueError(self._option_error("path", f"must name a `.py` file: {path!r}"))
        root = os.path.realpath(self.root)
        target = os.path.realpath(os.path.join(root, path))
        if os.path.isabs(path) or os.path.commonpath([root, target]) != root:
            raise ValueError(self._option_error("path", f"must be a path inside the project: {path!r}"))
        return os.path.relpath(target, root).replace(os.sep, "/")

    def _default_path(self) -> str:
        package = re.sub(r"[-_.]+", "_", self.metadata.name).lower()
        for directory in (package, f"src/{package}"):
            if os.path.isfile(os.path.join(self.root, directory, "__init__.py")):
                return f"{directory}/{DEFAULT_MODULE}.py"
        raise ValueError(
            self._option_error(
                "path", f"is required: no package `{package}` at `{package}/` or `src/{package}/` to hold the module"
            )
        )

    @cached_property
    def config_program(self) -> str:
        program = self.config.get("program")
        if program is None:
            program = re.sub(r"[-.]", "_", self.metadata.name)
            if not METRIC_PREFIX.match(program):
                raise ValueError(
                    self._option_error(
                        "program", f"is required: the project name gives {program!r}, no valid metric name prefix"
                    )
                )
            return program
        if not isinstance(program, str):
            raise TypeError(self._option_error("program", f"must be a string, not {program!r}"))
        if not METRIC_PREFIX.match(program):
            raise ValueError(self._option_error("program", f"must be a valid metric name prefix: {program!r}"))
        return program

    @cached_property
    def config_include_user(self) -> bool:
        return self._boolean_option("include-user", True)

    @cached_property
    def config_require_vcs(self) -> bool:
        return self._boolean_option("require-vcs", False)

    def _validate_config(self) -> None:
        unknown = sorted(set(self.config) - OPTIONS - HATCH_OPTIONS)
        if unknown:
            known = ", ".join(f"`{option}`" for option in sorted(OPTIONS))
            option = unknown[0]
            raise ValueError(
                f"Unknown option `{option}` = {self.config[option]!r} for build hook `{self.PLUGIN_NAME}` "
                f"(known options: {known})"
            )
        for option in ("config_path", "config_program", "config_include_user", "config_require_vcs"):
            getattr(self, option)

    def dependencies(self) -> list[str]:
        return ["gitpython>=3.1.30"]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._validate_config()
        source = render(self.collect())
        if version == "editable":
            # An editable install imports the package from the source tree, so the module must live there.
            write_atomically(os.path.join(self.root, self.config_path), source)
            return
        self._staging = tempfile.mkdtemp(prefix="hatch-buildinfo-")
        staged = os.path.join(self._staging, os.path.basename(self.config_path))
        write_atomically(staged, source)
        build_data["force_include"][staged] = self.config_path

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._staging:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def collect(self) -> BuildInfo:
        """Each fact from the first source that has it: overrides, git, the sdist, CI, `unknown`."""
        environ = os.environ
        git_facts, gaps = git.collect(self.root)
        sources = [environment.overrides(environ), git_facts, self._sdist_facts()]
        ci_branch = environment.ci_branch(environ)
        if ci_branch:
            sources.append({"branch": ci_branch})
        facts = {
            "version": self.metadata.version,
            "build_date": environment.build_date(environ),
            "build_user": environment.build_user(environ, include_user=self.config_include_user),
        }
        for found in reversed(sources):
            facts.update(found)

        # A repository without tags has no tag to find, so only a reason makes a missing tag worth a warning.
        missing = [name for name in VCS_FACTS if name not in facts and (name != "tag" or name in gaps)]
        if missing:
            reasons = "; ".join(dict.fromkeys(gaps.get(name, "no source had it") for name in missing))
            if "revision" in missing and self.config_require_vcs:
                raise RuntimeError(
                    f"Build hook `{self.PLUGIN_NAME}` found no git revision ({reasons}) and `require-vcs` is true; "
                    "build from a git checkout or set BUILDINFO_REVISION"
                )
            self.app.display_warning(f"hatch-buildinfo: {reasons}; recorded as unknown: {', '.join(missing)}")
        return BuildInfo(program=self.config_program, **facts)

    def _sdist_facts(self) -> dict[str, object]:
        """The VCS facts an sdist recorded, when this build runs from an unpacked sdist."""
        path = os.path.join(self.root, self.config_path)
        if not (os.path.isfile(os.path.join(self.root, "PKG-INFO")) and os.path.isfile(path)):
            return {}
        with open(path, encoding="utf-8") as file:
            recorded = parse_source(file.read(), path)
        # The sdist's None (no tag, unknown dirty state) is its answer; only "unknown" asks further.
        facts = {name: getattr(recorded, name) for name in VCS_FACTS}
        return {name: value for name, value in facts.items() if value != UNKNOWN}
