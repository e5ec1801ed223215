"""Shared fixtures: real git repositories in tmp dirs and real PEP 517 builds of them."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hatchling.metadata.core import ProjectMetadata
from packaging.markers import Marker

from hatch_buildinfo.artifacts import read_target
from hatch_buildinfo.hook.build_hook import BUILD_DEPENDENCIES, BuildInfoBuildHook
from hatch_buildinfo.info import BuildInfo

ROOT = Path(__file__).resolve().parents[1]
UV = str(Path(sys.executable).with_name("uv"))


def _index_url() -> str:
    """The package index pip uses here, for lock tools that must be told one."""
    from pip._internal.models.index import PyPI

    return os.environ.get("PIP_INDEX_URL") or PyPI.simple_url


INDEX_URL = _index_url()
# Variables that would change what a build records; each test sets the ones it wants.
_RECORDED_ENVIRONMENT = ("BUILDINFO_", "SOURCE_DATE_EPOCH", "GITHUB_", "CI_", "BUILDKITE", "CIRCLE")


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without anything the hook records, plus `extra`."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith(_RECORDED_ENVIRONMENT)}
    environ.update(
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.invalid",
        GIT_COMMITTER_NAME="Test Author",
        GIT_COMMITTER_EMAIL="author@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    environ.update(extra)
    return environ


def run(*command: str | os.PathLike, cwd: Path, env: dict[str, str] | None = None, check: bool = True):
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env or clean_environment(),
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_tool(requirement: str, *command: str, cwd: Path, extra: tuple[str, ...] = ()) -> str:
    """Run a lock tool from PyPI, e.g. `run_tool("poetry", "poetry", "lock")`, in uv's own tool environment.

    uv caches the tool's environment, so only the first run in a cache installs it.
    """
    withs = [argument for package in extra for argument in ("--with", package)]
    return run(UV, "tool", "run", "--from", requirement, *withs, *command, cwd=cwd).stdout


class Project:
    """A small hatchling project using the `buildinfo` hook, in a directory of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")

    def git(self, *arguments: str) -> str:
        return run("git", *arguments, cwd=self.path).stdout.strip()

    def commit(self, message: str = "commit") -> str:
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def build(self, *targets: str, env: dict[str, str] | None = None, outdir: Path | None = None, check: bool = True):
        """`python -m build --no-isolation` in this test environment, which has the hook installed."""
        outdir = outdir or self.path.parent / f"{self.path.name}-dist"
        shutil.rmtree(outdir, ignore_errors=True)
        flags = [f"--{target}" for target in targets]
        command = [sys.executable, "-m", "build", "--no-isolation", *flags, "--outdir", str(outdir), "."]
        result = run(*command, cwd=self.path, env=env, check=check)
        result.outdir = outdir
        return result

    def hook(self, target: str = "wheel") -> BuildInfoBuildHook:
        """The hook as hatchling makes it for `target`, with this project's configuration: no build, milliseconds."""
        root = str(self.path)
        metadata = ProjectMetadata(root, None)
        config = metadata.hatch.build_config.get("hooks", {}).get("buildinfo", {})
        return BuildInfoBuildHook(root, config, None, metadata, str(self.path.parent / "out"), target)

    def collected(self, env: dict[str, str] | None = None, target: str = "wheel") -> BuildInfo:
        """What the hook records for `target`, collected in this process under `env` (default: a clean one)."""
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env or clean_environment())
        try:
            return self.hook(target).collect()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def built_info(self, env: dict[str, str] | None = None) -> BuildInfo:
        """Build a wheel and read back what it records."""
        result = self.build("wheel", env=env)
        return read_target(str(wheel_in(result.outdir)))


def wheel_in(directory: Path) -> Path:
    (wheel,) = directory.glob("*.whl")
    return wheel


def sdist_in(directory: Path) -> Path:
    (sdist,) = directory.glob("*.tar.gz")
    return sdist


def new_project(path: Path, hook_config: str = "", name: str = "demo-pkg") -> Project:
    """A project `name` with a package of the same name and the hook configured by `hook_config`."""
    project = Project(path)
    project.write(
        "pyproject.toml",
        f"""\
        [build-system]
        requires = ["hatchling", "hatch-buildinfo"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "1.2.3"

        [tool.hatch.build.hooks.buildinfo]
        """
        + textwrap.dedent(hook_config),
    )
    project.write(f"{name.replace('-', '_')}/__init__.py", '"""A package to stamp."""\n')
    return project


def unhooked_project(path: Path, name: str, tables: str = "") -> Project:
    """A hatchling project `name` that does not use the hook, with `tables` added to its pyproject.toml."""
    project = Project(path)
    project.write(
        "pyproject.toml",
        f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "1.2.3"
        """
        + textwrap.dedent(tables),
    )
    return project


def with_pyproject(project: Project, before_hook: str = "", in_hook: str = "") -> Project:
    """`project` with tables added to pyproject.toml before the hook's table, and keys added to that table."""
    pyproject = project.path / "pyproject.toml"
    table = "[tool.hatch.build.hooks.buildinfo]\n"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace(table, before_hook + table + in_hook), encoding="utf-8")
    return project


def wheel_table(project: Project, table: str) -> Project:
    """`project` without the package named after it, and `table` in `[tool.hatch.build.targets.wheel]`."""
    (named,) = project.path.glob("*/__init__.py")
    shutil.rmtree(named.parent)
    return with_pyproject(project, f"[tool.hatch.build.targets.wheel]\n{table}\n\n")


def renamed_package(project: Project, package: str) -> Project:
    """`project` with its package at `src/<package>`, declared as hatchling wants it declared."""
    project.write(f"src/{package}/__init__.py", '"""A package named unlike its project."""\n')
    return wheel_table(project, f'packages = ["src/{package}"]')


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with no git repository."""
    return new_project(tmp_path / "demo")


@pytest.fixture
def repo(project: Project) -> Project:
    """A project in a git repository with one commit on `main`."""
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("initial")
    return project


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """hatch-buildinfo's wheel and the hook's build needs, so isolated builds use no index."""
    house = tmp_path_factory.mktemp("wheelhouse")
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", house, ".", cwd=ROOT)
    run(sys.executable, "-m", "pip", "download", "--quiet", "--dest", house, "hatchling", *BUILD_DEPENDENCIES, cwd=ROOT)
    return house


@pytest.fixture(scope="session")
def offline(wheelhouse, tmp_path_factory) -> dict[str, str]:
    """An environment in which pip and uv resolve build requirements from the wheelhouse only."""
    return clean_environment(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheelhouse),
        UV_NO_INDEX="1",
        UV_FIND_LINKS=str(wheelhouse),
        UV_CACHE_DIR=str(tmp_path_factory.mktemp("uv-cache")),
    )


@pytest.fixture(scope="session")
def example_wheel(offline, tmp_path_factory) -> Path:
    """example_app built from this checkout (sdist, then wheel from the sdist), as `make build` does."""
    dist = tmp_path_factory.mktemp("example-dist")
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT / "example_app", cwd=ROOT, env=offline)
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="session")
def locked_versions(tmp_path_factory) -> dict[str, str]:
    """What example_app's uv.lock pins for this interpreter, by uv's own export."""
    constraints = tmp_path_factory.mktemp("constraints") / "locked.txt"
    run(
        UV,
        "export",
        "--quiet",
        "--project",
        ROOT / "example_app",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--no-emit-package",
        "hatch-buildinfo",
        "--no-hashes",
        "--output-file",
        constraints,
        cwd=ROOT,
    )
    pins = {}
    for line in constraints.read_text().splitlines():
        requirement, _, marker = line.partition(";")
        if "==" in requirement and (not marker or Marker(marker).evaluate()):
            name, version = requirement.split("==")
            pins[name.strip()] = version.strip()
    pins["constraints"] = str(constraints)
    return pins


def install(wheel: Path, venv: Path, wheelhouse: Path, *requirements: str) -> Path:
    """A new venv with `wheel` and `requirements`; hatch-buildinfo comes from the wheelhouse."""
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=venv.parent)
    run(
        UV,
        "pip",
        "install",
        "--quiet",
        "--python",
        venv,
        "--find-links",
        wheelhouse,
        # The wheelhouse's hatch-buildinfo keeps its version while its code changes: never take a cached one.
        "--refresh-package",
        "hatch-buildinfo",
        wheel,
        *requirements,
        cwd=venv.parent,
    )
    return venv


@pytest.fixture(scope="session")
def example_venv(example_wheel, locked_versions, wheelhouse, tmp_path_factory) -> Path:
    """example_app installed with exactly the versions its lock pins."""
    venv = tmp_path_factory.mktemp("example") / "venv"
    return install(example_wheel, venv, wheelhouse, "--constraint", locked_versions["constraints"])


def debian_prometheus(program: str) -> str:
    """`program` (prometheus, promtool) from Debian's `prometheus` package, installed when missing and we are root.

    Outside CI, without root and without the package, the test skips with one line; in CI it never skips.
    """
    found = shutil.which(program)
    if found:
        return found
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{program} is missing and CI=true: install the Debian package `prometheus`")
        pytest.skip(f"{program} not found; install the Debian package `prometheus` (needs root and apt-get)")
    # pytest's workers may all ask at once; apt-get takes its own lock and fails rather than waits, so one
    # worker installs while the others wait here and then find the program.
    with open(Path(tempfile.gettempdir()) / "hatch-buildinfo-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which(program):
            _apt_install("prometheus")
    found = shutil.which(program)
    assert found, f"apt-get installed `prometheus` but {program} is not on PATH"
    return found


def _apt_install(package: str) -> None:
    environ = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", package]):
        result = subprocess.run(command, env=environ, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def promtool() -> str:
    return debian_prometheus("promtool")
