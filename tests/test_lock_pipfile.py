"""Pipfile.lock: the runtime set of locks made by a real pipenv, checked against `pipenv requirements`."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import INDEX_URL, UV, clean_environment, run
from lock_build import as_recorded, as_set, built_dependencies, copied_as, hooked_copy, lock_error, pairs
from packaging.requirements import Requirement
from test_lock_requirements import exported_hashes

from hatch_buildinfo.hook.locks import Locked, Project, normalize_name, read_lock

PROJECT = Project(name="demo-pkg", dependencies=("idna",), optional_dependencies={"cli": ("click",)})
DEV_ONLY = {"pytest", "iniconfig", "pluggy", "packaging", "pygments", "exceptiongroup", "tomli"}


def pipenv(*arguments: str, cwd: Path) -> str:
    """pipenv from PyPI, with its virtualenv in the project and no other environment touched."""
    env = clean_environment(
        PIPENV_PIPFILE=str(cwd / "Pipfile"),
        PIPENV_VENV_IN_PROJECT="1",
        PIPENV_IGNORE_VIRTUALENVS="1",
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
    )
    return run(UV, "tool", "run", "--from", "pipenv", "pipenv", *arguments, cwd=cwd, env=env).stdout


def requirements(text: str) -> set[tuple[str, str | None, str | None]]:
    """(name, pinned version or None, marker) of each line of `pipenv requirements` output."""
    found = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):  # -i index, -e the editable project
            continue
        requirement = Requirement(line)
        pins = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        found.add((normalize_name(requirement.name), pins[0] if pins else None, str(requirement.marker or "") or None))
    return found


@pytest.fixture(scope="module")
def pipenv_project(tmp_path_factory) -> dict:
    """One project locked by pipenv twice: by its pure-python resolver and by its default (pip) resolver."""
    root = tmp_path_factory.mktemp("pipenv")
    path = root / "demo"
    (path / "demo_pkg").mkdir(parents=True)
    (path / "demo_pkg" / "__init__.py").write_text("", encoding="utf-8")
    (path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "demo-pkg"
            version = "1.2.3"
            dependencies = ["idna"]

            [project.optional-dependencies]
            cli = ["click"]
            """
        ),
        encoding="utf-8",
    )
    (path / "Pipfile").write_text(
        textwrap.dedent(
            """\
            [[source]]
            url = "INDEX_URL"
            verify_ssl = true
            name = "pypi"

            [packages]
            demo-pkg = {editable = true, path = "."}
            requests = ">=2.31"
            colorama = {version = "*", markers = "sys_platform == 'win32'"}

            [dev-packages]
            pytest = "*"
            """
        ).replace("INDEX_URL", INDEX_URL),
        encoding="utf-8",
    )
    pipenv("lock", "--python", sys.executable, "--backend", "pip", cwd=path)
    # Each lock from scratch: pipenv fills an entry it leaves unpinned from an existing Pipfile.lock.
    pip = copied_as(path / "Pipfile.lock", root / "pip", "Pipfile.lock")
    (path / "Pipfile.lock").unlink()
    pipenv("lock", "--backend", "pure-python", cwd=path)
    exported = requirements(pipenv("requirements", cwd=path))
    hashes = exported_hashes(pipenv("requirements", "--hash", cwd=path))
    lock = copied_as(path / "Pipfile.lock", root / "pure-python", "Pipfile.lock")
    return {"project": path, "lock": lock, "requirements": exported, "hashes": hashes, "pip": pip}


# Locks made by pipenv


def test_lock_has_the_project_itself_and_dev_packages(pipenv_project):
    lock = json.loads(pipenv_project["lock"].read_text(encoding="utf-8"))
    assert lock["_meta"]["pipfile-spec"] == 6
    assert lock["default"]["demo-pkg"]["path"] == "."
    assert "version" not in lock["default"]["demo-pkg"]
    assert "pytest" in lock["develop"]


def test_runtime_set_is_what_pipenv_requirements_lists(pipenv_project):
    packages = read_lock(pipenv_project["lock"], PROJECT)
    assert as_set(packages) == pipenv_project["requirements"]
    names = {package.name for package in packages}
    assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer", "colorama"} <= names
    assert not names & (DEV_ONLY | {"demo-pkg", "click"})
    (colorama,) = (package for package in packages if package.name == "colorama")
    assert colorama.marker == 'sys_platform == "win32"'


def test_a_wheel_built_with_the_hook_records_what_pipenv_requirements_lists(pipenv_project, tmp_path):
    project = hooked_copy(pipenv_project["project"], tmp_path / "demo")
    assert (project.path / "Pipfile.lock").read_bytes() == pipenv_project["lock"].read_bytes()  # the one detected

    recorded = built_dependencies(project)

    exported = pipenv_project["requirements"]
    assert pairs(recorded) == {(name, version) for name, version, _ in exported}
    assert set(recorded) == as_recorded(exported)
    assert not {name for name, _ in pairs(recorded)} & (DEV_ONLY | {"demo-pkg", "click"})


def test_hashes_are_what_pipenv_requirements_lists_and_no_graph(pipenv_project):
    packages = read_lock(pipenv_project["lock"], PROJECT)

    assert {(package.name, package.version): set(package.hashes) for package in packages} == pipenv_project["hashes"]
    assert all(package.hashes and package.hashes[0].startswith("sha256:") for package in packages)
    assert not any(package.requires for package in packages)  # Pipfile.lock records no dependency graph


def test_extras_play_no_part(pipenv_project):
    with_extra = read_lock(pipenv_project["lock"], Project("demo-pkg", extras=("cli",)))
    assert with_extra == read_lock(pipenv_project["lock"], PROJECT)


def test_entry_the_pip_resolver_left_unpinned_is_refused(pipenv_project):
    # pipenv's pip resolver skips an entry whose markers do not hold on the locking machine and
    # records the Pipfile's "*" for it: the lock does not know which colorama a Windows install gets.
    lock = json.loads(pipenv_project["pip"].read_text(encoding="utf-8"))
    assert lock["default"]["colorama"]["version"] == "*"
    message = lock_error(pipenv_project["pip"], PROJECT)
    assert message.startswith(f"{pipenv_project['pip']}: colorama: not pinned (version '*')")
    assert "pipenv lock --backend pure-python" in message


# Hand-written malformed locks


def write_lock(tmp_path: Path, default: dict, *, spec: object = 6, develop: dict | None = None) -> Path:
    path = tmp_path / "Pipfile.lock"
    lock = {"_meta": {"hash": {"sha256": "0"}, "pipfile-spec": spec, "requires": {}, "sources": []}}
    lock.update(default=default, develop=develop or {})
    path.write_text(json.dumps(lock, indent=4), encoding="utf-8")
    return path


def test_bad_json(tmp_path):
    path = tmp_path / "Pipfile.lock"
    path.write_text('{"_meta": {"pipfile-spec": 6},\n "default": {', encoding="utf-8")
    assert "not valid JSON" in lock_error(path, PROJECT)


@pytest.mark.parametrize("spec", [5, 7, "6", None])
def test_unsupported_pipfile_spec(tmp_path, spec):
    message = lock_error(write_lock(tmp_path, {}, spec=spec), PROJECT)
    assert f"_meta pipfile-spec: unsupported {spec!r}; only 6 is supported" in message


def test_vcs_entry_without_version(tmp_path):
    path = write_lock(
        tmp_path,
        {
            "idna": {"version": "==3.7"},
            "Some_Lib": {"git": "https://user:secret@example.invalid/lib.git", "ref": "0" * 40},
        },
    )
    message = lock_error(path, PROJECT)
    assert message == f"{path}: Some_Lib: has no version: a git entry is not pinned to a release"
    assert "secret" not in message


def test_path_entry_other_than_the_project(tmp_path):
    path = write_lock(tmp_path, {"tool": {"editable": True, "path": "../tool"}})
    assert (
        lock_error(path, PROJECT)
        == f"{path}: tool: has no version: an editable path entry (../tool) is not pinned to a release"
    )


def test_range_is_not_a_pin(tmp_path):
    path = write_lock(tmp_path, {"idna": {"version": ">=3"}})
    assert lock_error(path, PROJECT) == f"{path}: idna: not pinned to one version (version '>=3')"


@pytest.mark.parametrize(
    ("hashes", "problem"),
    [
        (["sha256:00ff", "sha256:not-hex"], "has a hash that is not <algorithm>:<hex digest>: 'sha256:not-hex'"),
        (["00ff"], "has a hash that is not <algorithm>:<hex digest>: '00ff'"),
        ([None], "has a hash that is not <algorithm>:<hex digest>: None"),
        ("sha256:00ff", "hashes is not a list: 'sha256:00ff'"),
    ],
)
def test_malformed_hashes(tmp_path, hashes, problem):
    path = write_lock(tmp_path, {"certifi": {"version": "==2024.8.30"}, "idna": {"version": "==3.7", "hashes": hashes}})
    assert lock_error(path, PROJECT) == f"{path}: idna: {problem}"


def test_project_itself_and_develop_are_skipped(tmp_path):
    path = write_lock(
        tmp_path,
        {
            "e1839a8": {"editable": True, "path": "./"},
            "Demo_Pkg": {"editable": True, "path": "."},
            "IDNA": {"version": "==3.7", "markers": "python_version>='3.8'", "hashes": ["sha256:BB", "sha256:aa"]},
        },
        develop={"local-tool": {"path": "../tool"}, "pytest": {"version": "==8.0.0"}},
    )
    assert read_lock(path, PROJECT) == (
        Locked("idna", "3.7", 'python_version >= "3.8"', hashes=("sha256:aa", "sha256:bb")),
    )
