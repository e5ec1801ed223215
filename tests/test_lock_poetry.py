"""poetry.lock: the runtime packages are what `poetry export --without dev` lists.

A real Poetry 2 locks a small project (lock-version 2.1: groups and markers per package);
poetry-plugin-export is the referee, with and without the `cli` extra: the same (name, version)
pairs, and markers that hold in the same environments. Poetry 1.8's lock-version 2.0, which
records no groups, is refused. Malformed locks are written by hand.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest
from conftest import INDEX_URL, run_tool
from lock_build import built_dependencies, exported_pins, hooked_copy, lock_error, pairs
from packaging.markers import Marker, default_environment
from test_lock_requirements import exported_hashes

from hatch_buildinfo.hook.locks import Project, read_lock

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

NAME = "demo-app"
DEPENDENCIES = ("requests>=2.31", "colorama; sys_platform == 'win32'")
OPTIONAL = {"cli": ("click",)}
DEV_ONLY = {"pytest", "pluggy", "iniconfig"}

# Poetry's built-in PyPI source reads PyPI's JSON API; naming the simple index as the primary source
# makes Poetry use the standard simple API only (so the tests also run where only that is served).
# What it locks is the same.
SIMPLE_INDEX = f"""
[[tool.poetry.source]]
name = "pypi-simple"
url = "{INDEX_URL}"
priority = "primary"
"""

PEP_621 = """
[project]
name = "demo-app"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["requests>=2.31", "colorama; sys_platform == 'win32'"]

[project.optional-dependencies]
cli = ["click"]
"""

# Poetry 2 reads [project]; its dev group is still Poetry's own table.
POETRY_2 = (
    PEP_621
    + """
[tool.poetry.group.dev.dependencies]
pytest = "*"
"""
)

# Poetry 1 ignores [project]: the same project, spelled in [tool.poetry].
POETRY_1 = (
    PEP_621
    + """
[tool.poetry]
name = "demo-app"
version = "0.1.0"
description = ""
authors = ["Test Author <author@example.invalid>"]

[tool.poetry.dependencies]
python = ">=3.9"
requests = ">=2.31"
colorama = {version = "*", markers = "sys_platform == 'win32'"}
click = {version = "*", optional = true}

[tool.poetry.extras]
cli = ["click"]

[tool.poetry.group.dev.dependencies]
pytest = "*"
"""
)

# (Poetry, its export plugin, pyproject.toml, the lock-version it writes)
POETRIES = {
    "poetry-2": ("poetry", "poetry-plugin-export", POETRY_2, "2.1"),
}


class LockedProject:
    """A project locked by one Poetry, and what that Poetry's export lists for it."""

    def __init__(self, path: Path, poetry: str, plugin: str) -> None:
        self.path = path
        self.lock = path / "poetry.lock"
        self.poetry = poetry
        self.plugin = plugin
        self._exports: dict[tuple[str, ...], list[tuple[str, str, Marker | None]]] = {}

    def export(self, extras: tuple[str, ...] = ()) -> list[tuple[str, str, Marker | None]]:
        """(name, version, marker) of each line of `poetry export --without dev`."""
        if extras not in self._exports:
            flags = [flag for extra in extras for flag in ("--extras", extra)]
            command = ["poetry", "export", "--without", "dev", "--without-hashes", "-f", "requirements.txt", *flags]
            output = run_tool(self.poetry, *command, cwd=self.path, extra=(self.plugin,))
            self._exports[extras] = exported_pins(output)
        return self._exports[extras]

    def exported_hashes(self) -> dict[tuple[str, str], set[str]]:
        """{(name, version): hashes} of `poetry export --without dev --extras cli`, hashes and all."""
        command = ["poetry", "export", "--without", "dev", "-f", "requirements.txt", "--extras", "cli"]
        return exported_hashes(run_tool(self.poetry, *command, cwd=self.path, extra=(self.plugin,)))

    def read(self, extras: tuple[str, ...] = (), optional: dict | None = None):
        project = Project(NAME, DEPENDENCIES, OPTIONAL if optional is None else optional, extras)
        return read_lock(self.lock, project)


@pytest.fixture(scope="module", params=sorted(POETRIES))
def locked(request, tmp_path_factory) -> LockedProject:
    poetry, plugin, pyproject, lock_version = POETRIES[request.param]
    path = tmp_path_factory.mktemp(request.param)
    (path / "pyproject.toml").write_text(textwrap.dedent(pyproject) + SIMPLE_INDEX, encoding="utf-8")
    # Any virtualenv Poetry makes goes in the project's tmp dir, not the user's cache.
    (path / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n", encoding="utf-8")
    run_tool(poetry, "poetry", "lock", cwd=path)
    project = LockedProject(path, poetry, plugin)
    with project.lock.open("rb") as lock:
        assert tomllib.load(lock)["metadata"]["lock-version"] == lock_version  # both reader paths are covered
    return project


def environments():
    """Environments where the project can run (Python >= 3.9), varied in what the markers test."""
    pythons = [("3.9", "3.9.2"), ("3.12", "3.12.1")]
    platforms = [("win32", "Windows", "nt"), ("linux", "Linux", "posix"), ("darwin", "Darwin", "posix")]
    platforms.append(("cygwin", "Windows", "posix"))  # Windows by platform_system only
    for (version, full), (sys_platform, system, os_name) in itertools.product(pythons, platforms):
        environment = default_environment()
        environment.update(
            python_version=version,
            python_full_version=full,
            sys_platform=sys_platform,
            platform_system=system,
            os_name=os_name,
        )
        yield environment


def _holds(marker, environment) -> bool:
    if marker is None:
        return True
    return (marker if isinstance(marker, Marker) else Marker(marker)).evaluate(environment)


# ---------------------------------------------------------------------------------------------
# What a real Poetry locked
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("extras", [(), ("cli",)], ids=["main", "extra-cli"])
def test_runtime_packages_are_what_poetry_exports(locked, extras):
    found = locked.read(extras)
    assert {(package.name, package.version) for package in found} == {
        (name, version) for name, version, _ in locked.export(extras)
    }
    names = {package.name for package in found}
    assert not names & DEV_ONLY
    assert {"requests", "urllib3", "colorama"} <= names
    assert ("click" in names) == bool(extras)


def test_a_wheel_built_with_the_hook_records_what_poetry_exports(locked, tmp_path):
    project = hooked_copy(locked.path, tmp_path / "demo")

    recorded = built_dependencies(project)

    assert pairs(recorded) == {(name, version) for name, version, _ in locked.export()}
    assert not {name for name, _ in pairs(recorded)} & (DEV_ONLY | {NAME})


@pytest.mark.parametrize("extras", [(), ("cli",)], ids=["main", "extra-cli"])
def test_markers_hold_where_poetrys_do(locked, extras):
    found = locked.read(extras)
    exported = locked.export(extras)
    for environment in environments():
        ours = {(package.name, package.version) for package in found if _holds(package.marker, environment)}
        theirs = {(name, version) for name, version, marker in exported if _holds(marker, environment)}
        assert ours == theirs, environment


def test_colorama_keeps_its_platform_marker(locked):
    (colorama,) = [package for package in locked.read() if package.name == "colorama"]
    assert colorama.marker == 'sys_platform == "win32"'


def test_an_extra_adds_its_packages_and_their_markers(locked):
    (colorama,) = [package for package in locked.read(("cli",)) if package.name == "colorama"]
    # click needs colorama where platform_system is Windows; the project where sys_platform is win32.
    assert colorama.marker is not None
    assert "extra" not in colorama.marker
    windows_by_system = {"sys_platform": "cygwin", "platform_system": "Windows"}
    assert _holds(colorama.marker, {**default_environment(), **windows_by_system})
    assert not _holds(colorama.marker, {**default_environment(), "sys_platform": "linux", "platform_system": "Linux"})


def test_an_extra_known_only_to_the_lock_is_read_from_its_extras_table(locked):
    """A Project that names the extra but not its requirements: the lock's [extras] table tells them."""
    found = locked.read(("cli",), optional={})
    assert {(package.name, package.version) for package in found} == {
        (name, version) for name, version, _ in locked.export(("cli",))
    }


def test_hashes_are_what_poetry_exports(locked):
    found = locked.read(("cli",))

    assert {(package.name, package.version): set(package.hashes) for package in found} == locked.exported_hashes()
    assert all(package.hashes and package.hashes[0].startswith("sha256:") for package in found)


def test_requires_are_what_each_package_depends_on(locked):
    requires: dict[str, set[str]] = {}
    for package in locked.read(("cli",)):
        requires.setdefault(package.name, set()).update(package.requires)

    # requests' optional PySocks stays: the SBOM leaves out an edge to a package it does not list.
    assert requires["requests"] - {"pysocks"} == {"certifi", "charset-normalizer", "idna", "urllib3"}
    assert requires["click"] == {"colorama"}
    assert requires["certifi"] == requires["colorama"] == set()


def test_an_unknown_extra_adds_nothing(locked):
    assert locked.read(("no-such-extra",)) == locked.read()


# ---------------------------------------------------------------------------------------------
# Malformed locks: one LockError naming the file and the entry, never a partial list
# ---------------------------------------------------------------------------------------------

READER_PROJECT = Project(NAME, DEPENDENCIES)
GOOD_PACKAGE = """
[[package]]
name = "idna"
version = "3.7"
optional = false
python-versions = ">=3.5"
groups = ["main"]
files = []
"""

METADATA_2_1 = """
[metadata]
lock-version = "2.1"
python-versions = ">=3.9"
content-hash = "0"
"""


def _lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "poetry.lock"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bad_toml(tmp_path):
    message = lock_error(
        _lock(tmp_path, GOOD_PACKAGE + '[[package]]\nname = "requests"\nversion = \n' + METADATA_2_1),
        Project(NAME, DEPENDENCIES),
    )
    assert "not valid TOML" in message
    assert "line 11" in message


def test_package_without_version(tmp_path):
    no_version = '[[package]]\nname = "requests"\noptional = false\ngroups = ["main"]\n'
    message = lock_error(_lock(tmp_path, GOOD_PACKAGE + no_version + METADATA_2_1), READER_PROJECT)
    assert message == f"{tmp_path / 'poetry.lock'}: requests: has no version"


def test_package_without_name(tmp_path):
    message = lock_error(
        _lock(tmp_path, GOOD_PACKAGE + '[[package]]\nversion = "1.0"\n' + METADATA_2_1), Project(NAME, DEPENDENCIES)
    )
    assert message.endswith("[[package]] #2: has no name")


@pytest.mark.parametrize("version", ["9.0", "1.1", "3", "two"])
def test_unsupported_lock_version(tmp_path, version):
    message = lock_error(
        _lock(tmp_path, GOOD_PACKAGE + METADATA_2_1.replace('"2.1"', f'"{version}"')), Project(NAME, DEPENDENCIES)
    )
    assert f"[metadata]: lock-version '{version}' is not supported" in message


def test_no_lock_version(tmp_path):
    assert "[metadata]: no lock-version" in lock_error(_lock(tmp_path, GOOD_PACKAGE), READER_PROJECT)


def test_lock_version_2_1_package_without_groups(tmp_path):
    message = lock_error(
        _lock(tmp_path, GOOD_PACKAGE.replace('groups = ["main"]\n', "") + METADATA_2_1), Project(NAME, DEPENDENCIES)
    )
    assert message.endswith("idna: has no list of groups, which its lock-version requires")


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ('[{file = "idna-3.7.tar.gz", hash = "sha256:not-hex"}]', "has a hash that is not <algorithm>:<hex digest>: "),
        ('[{file = "idna-3.7.tar.gz", hash = "sha256"}]', "has a hash that is not <algorithm>:<hex digest>: "),
        ('["idna-3.7.tar.gz"]', "files: 'idna-3.7.tar.gz' is not a table"),
        ('"idna-3.7.tar.gz"', "files is not an array of tables: 'idna-3.7.tar.gz'"),
    ],
)
def test_malformed_files(tmp_path, files, problem):
    lock = _lock(tmp_path, GOOD_PACKAGE.replace("files = []", f"files = {files}") + METADATA_2_1)
    assert lock_error(lock, READER_PROJECT).startswith(f"{lock}: idna: {problem}")


def test_dependencies_that_are_not_a_table(tmp_path):
    lock = _lock(tmp_path, GOOD_PACKAGE + 'dependencies = ["certifi"]\n' + METADATA_2_1)
    assert lock_error(lock, READER_PROJECT) == f"{lock}: idna: dependencies is not a table: ['certifi']"


def test_invalid_marker(tmp_path):
    message = lock_error(
        _lock(tmp_path, GOOD_PACKAGE + 'markers = "sys_platform =="\n' + METADATA_2_1), Project(NAME, DEPENDENCIES)
    )
    assert ": idna: invalid marker " in message


def test_lock_version_2_0_from_poetry_1_8_is_refused(tmp_path):
    """Poetry 1.8 writes lock-version 2.0, which records no groups: the reader says so and how to fix it."""
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(POETRY_1) + SIMPLE_INDEX, encoding="utf-8")
    (tmp_path / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n", encoding="utf-8")
    run_tool("poetry<2", "poetry", "lock", cwd=tmp_path)
    message = lock_error(tmp_path / "poetry.lock", READER_PROJECT)
    assert message.endswith(
        "[metadata]: lock-version '2.0' records no groups, so runtime and development "
        "packages cannot be told apart; lock again with Poetry 2"
    )
