"""pdm.lock: the runtime set of locks made by a real pdm, checked against pdm's own `pdm export`."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_tool
from lock_build import (
    SAMPLE_PYPROJECT,
    as_recorded,
    as_set,
    built_dependencies,
    copied_as,
    exported_pins,
    hooked_copy,
    lock_error,
    pairs,
)
from test_lock_requirements import exported_hashes

from hatch_buildinfo.hook.locks import Locked, Project, read_lock

# pdm 2.29 fails on every command with hishel 2 (module 'hishel' has no attribute 'SyncSqliteStorage').
PDM_WITH = ("hishel<2",)
PROJECT = Project(
    name="demo-pkg",
    dependencies=("requests>=2.31", "colorama; sys_platform == 'win32'"),
    optional_dependencies={"cli": ("click",)},
)
DEV_ONLY = {"pytest", "iniconfig", "pluggy", "packaging", "pygments", "exceptiongroup", "tomli"}


def pdm(*arguments: str, cwd: Path) -> str:
    return run_tool("pdm", "pdm", *arguments, cwd=cwd, extra=PDM_WITH)


def pins_as_set(text: str) -> set[tuple[str, str, str | None]]:
    return {(name, version, str(marker) if marker else None) for name, version, marker in exported_pins(text)}


@pytest.fixture(scope="module")
def pdm_project(tmp_path_factory) -> dict:
    """One project locked by pdm: with all groups, production only, and without per-package groups."""
    root = tmp_path_factory.mktemp("pdm")
    path = root / "demo"
    path.mkdir()
    # requests[socks]: pdm locks the extra as a second entry of requests.
    (path / "pyproject.toml").write_text(
        SAMPLE_PYPROJECT.replace('"requests>=2.31"', '"requests[socks]>=2.31"'), encoding="utf-8"
    )
    # Without -G, pdm locks the default group and the dependency groups, but no extra.
    pdm("lock", "-G", ":all", cwd=path)
    pdm("lock", "--prod", "--lockfile", "prod.lock", cwd=path)
    pdm("lock", "-G", ":all", "--strategy", "no_inherit_metadata", "--lockfile", "flat.lock", cwd=path)
    return {
        "project": path,
        "lock": path / "pdm.lock",
        "prod": copied_as(path / "prod.lock", root / "prod", "pdm.lock"),
        "flat": copied_as(path / "flat.lock", root / "flat", "pdm.lock"),
        "export": pins_as_set(pdm("export", "--prod", "--no-hashes", cwd=path)),
        "export-cli": pins_as_set(pdm("export", "--prod", "-G", "cli", "--no-hashes", cwd=path)),
        "hashes-cli": exported_hashes(pdm("export", "--prod", "-G", "cli", cwd=path)),
    }


# Locks made by pdm


def test_lock_records_every_group(pdm_project):
    text = pdm_project["lock"].read_text(encoding="utf-8")
    assert 'groups = ["default", "cli", "dev"]' in text
    assert 'lock_version = "4.' in text


def test_runtime_set_is_what_pdm_exports_for_production(pdm_project):
    packages = read_lock(pdm_project["lock"], PROJECT)
    assert as_set(packages) == pdm_project["export"]
    names = {package.name for package in packages}
    assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer", "colorama"} <= names
    assert not names & (DEV_ONLY | {"click", "demo-pkg"})
    (colorama,) = (package for package in packages if package.name == "colorama")
    assert 'sys_platform == "win32"' in colorama.marker


def test_a_wheel_built_with_the_hook_records_what_pdm_exports(pdm_project, tmp_path):
    project = hooked_copy(pdm_project["project"], tmp_path / "demo")

    recorded = built_dependencies(project)

    assert pairs(recorded) == {(name, version) for name, version, _ in pdm_project["export"]}
    assert set(recorded) == as_recorded(pdm_project["export"])
    assert not {name for name, _ in pairs(recorded)} & (DEV_ONLY | {"click", "demo-pkg"})


def test_extra_adds_its_group_as_pdm_export_does(pdm_project):
    packages = read_lock(pdm_project["lock"], replace(PROJECT, extras=("cli",)))
    assert as_set(packages) == pdm_project["export-cli"]
    names = {package.name for package in packages}
    assert "click" in names
    assert not names & DEV_ONLY


def test_hashes_are_what_pdm_exports(pdm_project):
    packages = read_lock(pdm_project["lock"], replace(PROJECT, extras=("cli",)))

    assert {(package.name, package.version): set(package.hashes) for package in packages} == pdm_project["hashes-cli"]
    assert all(package.hashes and package.hashes[0].startswith("sha256:") for package in packages)


def test_requires_of_a_package_and_its_extra_entry_are_merged(pdm_project):
    """pdm locks requests[socks] as a second entry of requests, needing PySocks and requests: one requests needs all."""
    text = pdm_project["lock"].read_text(encoding="utf-8")
    assert 'extras = ["socks"]' in text and '"requests==' in text

    packages = {package.name: package for package in read_lock(pdm_project["lock"], replace(PROJECT, extras=("cli",)))}

    assert packages["requests"].requires == ("certifi", "charset-normalizer", "idna", "pysocks", "urllib3")
    # click's `importlib-metadata; python_version < "3.8"` stays, though pdm locked none: the SBOM drops such edges.
    assert packages["click"].requires == ("colorama", "importlib-metadata")
    assert "importlib-metadata" not in packages
    assert packages["certifi"].requires == packages["pysocks"].requires == ()


def test_extra_names_are_normalised(pdm_project):
    project = Project("demo-pkg", optional_dependencies={"CLI": ("click",)}, extras=("CLI",))
    assert "click" in {package.name for package in read_lock(pdm_project["lock"], project)}


def test_a_dependency_group_is_not_an_extra(pdm_project):
    message = lock_error(pdm_project["lock"], Project("demo-pkg", optional_dependencies={"cli": ()}, extras=("dev",)))
    assert "extra 'dev': not an optional-dependency group of the project" in message


def test_lock_without_the_extra_says_how_to_lock_it(pdm_project):
    message = lock_error(pdm_project["prod"], replace(PROJECT, extras=("cli",)))
    assert "extra 'cli': the lock was made without this group" in message
    assert "pdm lock -G :all" in message


def test_production_lock_reads_without_extras(pdm_project):
    names = {package.name for package in read_lock(pdm_project["prod"], PROJECT)}
    assert "requests" in names
    assert not names & (DEV_ONLY | {"click"})


def test_lock_without_per_package_groups_is_refused(pdm_project):
    message = lock_error(pdm_project["flat"], PROJECT)
    assert "records no groups" in message
    assert "inherit_metadata" in message


# Hand-written malformed locks

GOOD_METADATA = """\
[metadata]
groups = ["default", "dev"]
strategy = ["inherit_metadata"]
lock_version = "4.5.0"
"""


def write_lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pdm.lock"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bad_toml(tmp_path):
    message = lock_error(write_lock(tmp_path, "[metadata\ngroups = 1\n"), PROJECT)
    assert "not valid TOML" in message


@pytest.mark.parametrize("version", ["3.1", "5.0.0", "4"])
def test_unsupported_lock_version(tmp_path, version):
    lock = write_lock(tmp_path, GOOD_METADATA.replace('"4.5.0"', f'"{version}"'))
    if version == "4":
        assert read_lock(lock, PROJECT) == ()
    else:
        message = lock_error(lock, PROJECT)
        assert f"[metadata] lock_version: unsupported '{version}'; only 4.x is supported" in message


def test_missing_lock_version(tmp_path):
    message = lock_error(write_lock(tmp_path, '[metadata]\ngroups = ["default"]\n'), PROJECT)
    assert "[metadata] lock_version: missing" in message


def test_runtime_entry_without_version(tmp_path):
    lock = write_lock(
        tmp_path,
        GOOD_METADATA
        + """
        [[package]]
        name = "idna"
        version = "3.7"
        groups = ["default"]

        [[package]]
        name = "Some_Thing"
        groups = ["default"]
        """,
    )
    message = lock_error(lock, PROJECT)
    assert message == f"{lock}: Some_Thing: has no version: the lock does not pin it"


def test_unversioned_project_itself_and_dev_entries_are_skipped(tmp_path):
    lock = write_lock(
        tmp_path,
        GOOD_METADATA
        + """
        [[package]]
        name = "demo_pkg"
        path = "."
        editable = true
        groups = ["default"]

        [[package]]
        name = "local-tool"
        path = "../tool"
        groups = ["dev"]

        [[package]]
        name = "Idna"
        version = "3.7"
        groups = ["default", "dev"]
        marker = "python_version>='3.8'"
        """,
    )
    assert read_lock(lock, PROJECT) == (Locked("idna", "3.7", 'python_version >= "3.8"'),)


IDNA_ENTRY = """
[[package]]
name = "idna"
version = "3.7"
groups = ["default"]
"""


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        (
            'files = [{file = "idna-3.7.tar.gz", hash = "sha256:xyz"}]',
            "has a hash that is not <algorithm>:<hex digest>: ",
        ),
        ('files = [{file = "idna-3.7.tar.gz", hash = ""}]', "has a hash that is not <algorithm>:<hex digest>: ''"),
        ('files = ["idna-3.7.tar.gz"]', "files: 'idna-3.7.tar.gz' is not a table"),
        ("dependencies = [3]", "has a dependency that is not a requirement: 3"),
        ("dependencies = [\"; python_version < '3.10'\"]", "has a dependency that is not a requirement: "),
    ],
)
def test_malformed_files_and_dependencies(tmp_path, field, problem):
    lock = write_lock(tmp_path, GOOD_METADATA + IDNA_ENTRY + field + "\n")
    assert lock_error(lock, PROJECT).startswith(f"{lock}: idna: {problem}")


def test_same_version_entries_merge_their_hashes_and_requires(tmp_path):
    """One version locked twice under two markers (a fork): one package, both entries' files and needs."""
    lock = write_lock(
        tmp_path,
        GOOD_METADATA
        + IDNA_ENTRY
        + """
        [[package]]
        name = "Demo.Lib"
        version = "1.0"
        groups = ["default"]
        marker = "sys_platform == 'win32'"
        dependencies = ["Colorama>=0.4; sys_platform == 'win32'", "idna"]
        files = [{file = "demo_lib-1.0-py3-none-win_amd64.whl", hash = "sha256:BB02"}]

        [[package]]
        name = "demo-lib"
        version = "1.0"
        groups = ["default"]
        marker = "sys_platform != 'win32'"
        dependencies = ["idna>=3"]
        files = [
            {file = "demo_lib-1.0.tar.gz", hash = "sha256:aa01"},
            {file = "demo_lib-1.0-py3-none-win_amd64.whl", hash = "sha256:bb02"},
        ]
        """,
    )
    assert read_lock(lock, PROJECT) == (
        Locked(
            "demo-lib",
            "1.0",
            '(sys_platform != "win32") or (sys_platform == "win32")',
            hashes=("sha256:aa01", "sha256:bb02"),
            requires=("colorama", "idna"),
        ),
        Locked("idna", "3.7"),
    )


def test_lock_without_default_group(tmp_path):
    message = lock_error(write_lock(tmp_path, GOOD_METADATA.replace('"default", ', "")), PROJECT)
    assert "locked without the default group" in message
