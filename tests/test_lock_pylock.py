"""pylock.toml (PEP 751): files written by real tools (uv export, PDM export), and malformed ones by hand."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import UV, clean_environment, run, run_tool
from lock_build import SAMPLE_PYPROJECT, built_dependencies, hooked_copy, lock_error, pairs
from packaging.markers import Marker
from test_lock_requirements import exported_hashes

from hatch_buildinfo.hook.locks import Locked, LockError, Project, normalize_name, read_lock
from hatch_buildinfo.hook.locks.selection import settle

try:
    import tomllib
except ImportError:
    import tomli as tomllib

DEMO = Project("demo-pkg")
DEMO_CLI = Project("demo-pkg", extras=("cli",))
# The newest PDM's own dependencies (httpx, unearth, hishel) have since moved on without it.
PDM_AS_OF = "2025-12-01T00:00:00Z"


def new_demo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text(SAMPLE_PYPROJECT, encoding="utf-8")
    (path / "demo_pkg").mkdir()
    (path / "demo_pkg" / "__init__.py").write_text("", encoding="utf-8")
    return path


def exported_pins(text: str) -> set[Locked]:
    """The pins of a requirements-txt export (name==version ; marker), read without the reader under test."""
    pins = set()
    for line in text.splitlines():
        if not line or line.startswith(("#", "-", " ")):
            continue
        requirement, _, marker = line.rstrip("\\ ").partition(";")
        name, _, version = requirement.strip().partition("==")
        pins.add(Locked(normalize_name(name), version, str(Marker(marker)) if marker.strip() else None))
    return pins


def pinned(locked) -> set[Locked]:
    """Each package's name, version and marker: what a requirements export pins."""
    return {Locked(package.name, package.version, package.marker) for package in locked}


def names(locked) -> set[str]:
    return {package.name for package in locked}


@pytest.fixture(scope="module")
def uv_project(tmp_path_factory) -> Path:
    """The demo project with a uv.lock, from which each test exports."""
    path = new_demo(tmp_path_factory.mktemp("uv") / "demo")
    run_tool("uv", "uv", "lock", cwd=path)
    return path


def uv_export(path: Path, *options: str) -> tuple[Path, str]:
    """A pylock.toml exported with `options`, and the requirements-txt export of the same selection."""
    run_tool("uv", "uv", "export", "--format", "pylock.toml", *options, "-o", "pylock.toml", cwd=path)
    pins = run_tool("uv", "uv", "export", "--format", "requirements-txt", "--no-emit-project", *options, cwd=path)
    return path / "pylock.toml", pins


def test_uv_runtime_export_is_what_uv_exports_as_requirements(uv_project):
    lock, pins = uv_export(uv_project, "--no-dev")

    locked = read_lock(lock, DEMO)

    assert pinned(locked) == exported_pins(pins)
    assert {"requests", "idna", "colorama"} <= names(locked)
    assert not {"pytest", "click", "demo-pkg"} & names(locked)  # the project: a directory with no version
    # A universal lock: each package's environment marker stays for run time to pick.
    assert Locked("colorama", "0.4.6", 'sys_platform == "win32"') in pinned(locked)


def test_uv_export_hashes_are_what_uv_exports_as_requirements(uv_project):
    """uv's pylock has each file's hashes table; it records no `dependencies`, so nothing requires anything."""
    lock, pins = uv_export(uv_project, "--no-dev", "--extra", "cli")

    locked = read_lock(lock, DEMO_CLI)

    assert {(package.name, package.version): set(package.hashes) for package in locked} == exported_hashes(pins)
    assert all(package.hashes and package.hashes[0].startswith("sha256:") for package in locked)
    assert not any(package.requires for package in locked)


def test_a_wheel_built_with_the_hook_records_what_uv_exports_as_requirements(uv_project, tmp_path):
    project = hooked_copy(uv_project, tmp_path / "demo")
    _, pins = uv_export(project.path, "--no-dev")
    (project.path / "uv.lock").unlink()  # the build reads pylock.toml, whatever the detection order

    recorded = built_dependencies(project)

    assert pairs(recorded) == {(package.name, package.version) for package in exported_pins(pins)}
    assert {Locked(*dependency) for dependency in recorded} == exported_pins(pins)
    assert not {"pytest", "pluggy", "iniconfig", "click", "demo-pkg"} & {name for name, _ in pairs(recorded)}


def test_uv_export_with_an_extra(uv_project):
    lock, pins = uv_export(uv_project, "--no-dev", "--extra", "cli")

    locked = read_lock(lock, DEMO_CLI)

    assert pinned(locked) == exported_pins(pins)
    assert "click" in names(locked)
    assert "pytest" not in names(locked)


def test_uv_export_records_no_extras_or_groups(uv_project):
    """uv's pylock is single-use: extras and groups are chosen at export, so every package in it counts.

    Exported with --all-groups, nothing in the file tells the dev group apart; the runtime
    lock must be exported with --no-dev.
    """
    lock, _ = uv_export(uv_project, "--all-extras", "--all-groups")
    data = tomllib.loads(lock.read_text(encoding="utf-8"))

    assert "extras" not in data and "dependency-groups" not in data
    assert not any("extras" in package.get("marker", "") for package in data["packages"])
    assert {"click", "pytest"} <= names(read_lock(lock, DEMO))


def pdm(path: Path, *arguments: str) -> str:
    command = ("tool", "run", "--exclude-newer", PDM_AS_OF, "--from", "pdm", "pdm", *arguments)
    return run(UV, *command, cwd=path, env=clean_environment(PDM_CHECK_UPDATE="false")).stdout


@pytest.fixture(scope="module")
def pdm_lock(tmp_path_factory) -> Path:
    """PDM's multi-use pylock: every extra and group, each package under a marker naming them."""
    path = new_demo(tmp_path_factory.mktemp("pdm") / "demo")
    pdm(path, "lock", "-G", ":all")
    pdm(path, "export", "--format", "pylock", "-o", "pylock.toml")
    return path / "pylock.toml"


def test_pdm_lock_records_extras_and_groups(pdm_lock):
    data = tomllib.loads(pdm_lock.read_text(encoding="utf-8"))

    assert data["extras"] == ["cli"]
    assert "dev" in data["dependency-groups"]
    assert data["default-groups"] == ["default"]  # PEP 751's synthetic group for project.dependencies
    markers = " ".join(package.get("marker", "") for package in data["packages"])
    assert "dependency_groups" in markers and "extras" in markers


@pytest.mark.parametrize("project", [DEMO, DEMO_CLI], ids=["no-extras", "cli"])
def test_pdm_runtime_is_what_pdm_exports_for_production(pdm_lock, project):
    groups = [argument for extra in project.extras for argument in ("-G", extra)]
    pins = pdm(pdm_lock.parent, "export", "--format", "requirements", "--prod", "--no-hashes", *groups)

    locked = read_lock(pdm_lock, project)

    assert pinned(locked) == exported_pins(pins)
    assert ("click" in names(locked)) == bool(project.extras)
    assert not {"pytest", "pluggy", "iniconfig", "demo-pkg"} & names(locked)
    # Only the environment part of a marker is left: run time cannot decide extras or groups.
    assert not any("extras" in package.marker or "groups" in package.marker for package in locked if package.marker)


def test_pdm_hashes_are_what_pdm_exports(pdm_lock):
    """PDM's pylock keeps what each package requires in [packages.tool.pdm], not in PEP 751's `dependencies`."""
    pins = pdm(pdm_lock.parent, "export", "--format", "requirements", "--prod", "-G", "cli")

    locked = read_lock(pdm_lock, DEMO_CLI)

    assert {(package.name, package.version): set(package.hashes) for package in locked} == exported_hashes(pins)
    assert all(package.hashes for package in locked)
    assert not any(package.requires for package in locked)


def test_a_wheel_built_with_the_hook_records_what_pdm_exports_for_production(pdm_lock, tmp_path):
    """PDM's multi-use pylock lists the dev group too: the build leaves it out, as `pdm export --prod` does."""
    project = hooked_copy(pdm_lock.parent, tmp_path / "demo")
    (project.path / "pdm.lock").unlink()  # the build reads pylock.toml, whatever the detection order
    pins = exported_pins(pdm(pdm_lock.parent, "export", "--format", "requirements", "--prod", "--no-hashes"))

    recorded = built_dependencies(project)

    assert pairs(recorded) == {(package.name, package.version) for package in pins}
    assert {Locked(*dependency) for dependency in recorded} == pins
    assert not {"pytest", "pluggy", "iniconfig", "click", "demo-pkg"} & {name for name, _ in pairs(recorded)}


def test_pdm_lock_cannot_install_an_extra_it_does_not_record(pdm_lock):
    with pytest.raises(LockError) as error:
        read_lock(pdm_lock, Project("demo-pkg", extras=("gui",)))
    assert str(error.value) == f"{pdm_lock}: extras: the lock cannot install extra gui (it records: cli)"


@pytest.mark.parametrize(
    ("marker", "extras", "expected"),
    [
        ('"cli" in extras', (), False),
        ('"cli" in extras', ("cli",), True),
        ('"dev" not in dependency_groups and sys_platform == "linux"', (), 'sys_platform == "linux"'),
        (
            '(python_version < "3.10" or "dev" in dependency_groups) and "cli" in extras',
            ("cli",),
            'python_version < "3.10"',
        ),
        ('python_version < "3.10" and "dev" in dependency_groups or os_name == "nt"', (), 'os_name == "nt"'),
        ('(os_name == "nt" or os_name == "posix") and python_version >= "3.9"', (), None),
    ],
)
def test_only_the_extras_and_groups_part_of_a_marker_is_decided(marker, extras, expected):
    """The one rule behind the PDM results above, on markers that mix both kinds of terms."""
    decided = settle(Path("pylock.toml"), "pkg", Marker(marker), frozenset(extras), frozenset())
    if expected is None:  # nothing to decide: the marker stays as it is
        assert Marker(decided) == Marker(marker)
    elif isinstance(expected, str):
        assert Marker(decided) == Marker(expected)
    else:
        assert decided is expected


# Malformed input: hand-written, since no tool writes it.

MINIMAL_PACKAGE = """
[[packages]]
name = "idna"
version = "3.10"
wheels = [{ url = "https://example.invalid/idna-3.10-py3-none-any.whl", hashes = { sha256 = "00" } }]
"""


def write_lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pylock.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bad_toml(tmp_path):
    path = write_lock(tmp_path, 'lock-version = "1.0"\ncreated-by = \n')
    assert "not valid TOML" in lock_error(path, DEMO)


def test_missing_file(tmp_path):
    assert "cannot be read" in lock_error(tmp_path / "pylock.toml", DEMO)


def test_a_package_without_a_version(tmp_path):
    path = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "hand"\n'
        + MINIMAL_PACKAGE
        + '\n[[packages]]\nname = "other-pkg"\ndirectory = { path = "../other" }\n',
    )
    assert lock_error(path, DEMO).startswith(f"{path}: other-pkg: installed from a directory with no version")


def test_the_project_itself_needs_no_version(tmp_path):
    path = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "hand"\n'
        + MINIMAL_PACKAGE
        + '\n[[packages]]\nname = "demo-pkg"\ndirectory = { path = ".", editable = true }\n',
    )
    assert read_lock(path, DEMO) == (Locked("idna", "3.10", hashes=("sha256:00",)),)


def test_hashes_of_every_artifact_and_the_dependencies_recorded(tmp_path):
    """PEP 751's hashes tables of sdist, wheels and archive, every algorithm; `dependencies` by name, normalised."""
    path = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "hand"\n'
        + MINIMAL_PACKAGE.replace('hashes = { sha256 = "00" }', 'hashes = { sha256 = "0A", blake2b = "ff" }')
        + 'sdist = { url = "https://example.invalid/idna-3.10.tar.gz", hashes = { sha256 = "01" } }\n'
        + 'dependencies = [{ name = "Charset_Normalizer" }, { name = "certifi", version = "2024.8.30" }]\n'
        + """
        [[packages]]
        name = "certifi"
        version = "2024.8.30"
        archive = { url = "https://example.invalid/certifi-2024.8.30.tar.gz", hashes = { sha512 = "02" } }
        dependencies = []
        """,
    )
    assert read_lock(path, DEMO) == (
        Locked("certifi", "2024.8.30", hashes=("sha512:02",)),
        Locked(
            "idna", "3.10", hashes=("blake2b:ff", "sha256:01", "sha256:0a"), requires=("certifi", "charset-normalizer")
        ),
    )


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('sha256 = "00"', 'sha256 = "not-hex"', "has a hash that is not <algorithm>:<hex digest>: 'sha256:not-hex'"),
        ('sha256 = "00"', 'sha256 = ""', "has a hash that is not <algorithm>:<hex digest>: 'sha256:'"),
        ("wheels = [", 'dependencies = [{ version = "1.0" }]\nwheels = [', "has a dependency with no name: "),
    ],
)
def test_malformed_hashes_and_dependencies(tmp_path, old, new, problem):
    path = write_lock(tmp_path, 'lock-version = "1.0"\ncreated-by = "hand"\n' + MINIMAL_PACKAGE.replace(old, new))
    assert lock_error(path, DEMO).startswith(f"{path}: idna: {problem}")


def test_an_unsupported_lock_version(tmp_path):
    path = write_lock(tmp_path, 'lock-version = "9.0"\ncreated-by = "hand"\n' + MINIMAL_PACKAGE)
    message = lock_error(path, DEMO)
    assert message == f"{path}: lock-version: lock-version '9.0' is not supported (this reader reads lock-version 1.x)"


def test_an_invalid_package_is_named(tmp_path):
    path = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "hand"\n' + MINIMAL_PACKAGE.replace(', hashes = { sha256 = "00" }', ""),
    )
    message = lock_error(path, DEMO)
    assert message.startswith(f"{path}: idna (packages[0]")
    assert "hashes" in message
