"""The buildinfo hook's steps, timed one by one in a fresh process (bench/build.py).

    python hook_steps.py ROOT PACKAGE [DEPENDENCY…]

ROOT is a git repository holding a uv.lock; PACKAGE and the DEPENDENCY requirements are the
project's name and direct dependencies. Before the first step the process imports what every
hatchling wheel build of a project with dependencies imports (the plugin interface, metadata,
packaging.requirements), so each step counts only what the hook adds. Prints one line of JSON:
each step's name (the SBOM's steps start with `SBOM:`), seconds, number of new modules and their
top-level packages, and the number of dependencies read from the lock.
"""

import importlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

# What every hatchling wheel build of a project with dependencies has imported before the hook
# runs: imported to be loaded, not used (hence the noqa).
import hatchling.builders.hooks.plugin.interface
import hatchling.builders.wheel
import hatchling.metadata.core
import hatchling.plugin.manager  # noqa: F401
import packaging.requirements  # noqa: F401
import tomllib

root = sys.argv[1]
package = sys.argv[2]
direct = tuple(sys.argv[3:])
lock = Path(root) / "uv.lock"
steps: list[list[Any]] = []


def step(name: str, function: Callable[[], Any]) -> Any:
    before = set(sys.modules)
    start = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - start
    new = set(sys.modules) - before
    steps.append([name, elapsed, len(new), sorted({module.split(".")[0] for module in new})])
    return result


def import_module(name: str) -> object:
    return __import__(name)


def parse(module: Any) -> Any:
    with open(lock, "rb") as file:
        return module.load(file)


os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
step("import hatch_buildinfo.hook.plugin (the plugin's module)", lambda: import_module("hatch_buildinfo.hook.plugin"))
from hatch_buildinfo.hook import environment, git, locks  # noqa: E402 (timed by the step above)
from hatch_buildinfo.hook import render as render_module  # noqa: E402
from hatch_buildinfo.hook.render import render  # noqa: E402
from hatch_buildinfo.info import BuildInfo  # noqa: E402

step("import git, gitdb.db (only where no `git` is on PATH)", lambda: (import_module("git"), import_module("gitdb.db")))
facts, gaps = step("git.collect(root), import excluded", lambda: git.collect(root))
project = locks.Project(name=package, dependencies=direct, extras=())
found = step("read_lock(uv.lock), first call (imports the reader, tomli)", lambda: locks.read_lock(lock, project))
step("read_lock(uv.lock), again", lambda: locks.read_lock(lock, project))
import tomli  # noqa: E402 (read_lock imported it already)

step(f"tomli.load(uv.lock) alone (compiled: {not tomli.__file__.endswith('.py')})", lambda: parse(tomli))
step("tomllib.load(uv.lock) alone (the standard library's)", lambda: parse(tomllib))
dependencies = tuple((p.name, p.version, p.marker) if p.marker else (p.name, p.version) for p in found)
info = step(
    "environment facts + BuildInfo(...)",
    lambda: BuildInfo(
        program=package,
        version="1.0.0",
        build_date=environment.build_date(os.environ),
        build_user=environment.build_user(os.environ, include_user=True),
        dependencies=dependencies,
        **facts,
    ),
)
step("render(info)", lambda: render(info))
sbom = step("SBOM: import hatch_buildinfo.hook.sbom", lambda: importlib.import_module("hatch_buildinfo.hook.sbom"))
document = step(
    f"SBOM: sbom.cyclonedx(info, {len(found)} packages)",
    lambda: sbom.cyclonedx(info, package, found, direct=[d.split(">")[0] for d in direct], tool_version="0"),
)
staging = tempfile.mkdtemp()
step("SBOM: written to the staging directory", lambda: render_module.write_atomically(f"{staging}/s.json", document))
archive = zipfile.ZipFile(io.BytesIO(), "w", zipfile.ZIP_DEFLATED)
step("SBOM: deflated into a wheel, as hatchling adds it", lambda: archive.writestr("sboms/s.json", document))
shutil.rmtree(staging)
from hatchling.metadata.core import ProjectMetadata  # noqa: E402

from hatch_buildinfo.hook.build_hook import BuildInfoBuildHook  # noqa: E402

hook = BuildInfoBuildHook(root, {}, None, ProjectMetadata(root, None), root, "wheel")
step("default path: the package among hatchling's wheel files", lambda: hook.config_path)
print(json.dumps({"steps": steps, "dependencies": len(found)}))
