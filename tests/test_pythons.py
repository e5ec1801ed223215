"""The run-time shim on every Python it supports (3.7 to 3.13), each a pyenv interpreter in a uv venv.

One venv per interpreter holds tiny wheels built without the hook — a-pkg requires b-pkg, and
c-pkg only as an extra; stamped-pkg carries the schema-1 fixture as its generated module — and
no prometheus_client. tests/pythons_probe.py runs once per interpreter, with hatch_buildinfo
imported from this checkout, and reports what the shim answers there: the schema-1 module read
back, the dependencies that interpreter runs, the `--version` text, and the metadata (and git)
fallback of packages without a module. `python -m hatch_buildinfo inspect` runs there too.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, UV, clean_environment, new_project, run, wheel_in

from hatch_buildinfo import build_info
from hatch_buildinfo.info import MARKER, BuildInfo, parse_source

PYTHONS = ("3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
PROBE = ROOT / "tests" / "pythons_probe.py"
# A generated module as render() wrote schema 1; modules already in wheels out there look like it.
FIXTURE = ROOT / "tests" / "fixtures" / "schema1_buildinfo.py"
REVISION = "3f2c1a9e0d4b5c6a7e8f9a0b1c2d3e4f5a6b7c8d"
# What FIXTURE records. b-pkg is locked at the version the venvs install; fork-dep is a package
# locked at two versions for two environments, and installed nowhere.
FIXTURE_INFO = BuildInfo(
    "probe_app",
    "1.2.3",
    revision=REVISION,
    branch="release/1.2",
    dirty=False,
    tag="v1.2.3",
    commit_date="2026-11-24T14:58:03Z",
    build_user="zoë",
    build_date="2026-11-24T15:00:00Z",
    dependencies=[
        ("b-pkg", "1.4.0"),
        ("fork-dep", "1.0", 'python_version < "3.10"'),
        ("fork-dep", "2.0", 'python_version >= "3.10"'),
    ],
)
PLATFORM = f"{sys.platform}/{os.uname().machine.lower()}"
# name: (version, pyproject's [project] additions)
WHEELS = {
    "a-pkg": ("0.3.1", 'dependencies = ["b-pkg>=1", "c-pkg; python_version < \'3\'"]\n'
                       'optional-dependencies = {fancy = ["c-pkg"]}\n'),
    "b-pkg": ("1.4.0", ""),
    "c-pkg": ("2.0", ""),
    "stamped-pkg": ("0.9", ""),  # carries FIXTURE as its generated module, for `inspect`
}  # fmt: skip


def _interpreter(version: str) -> Path:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python"), key=_release)
    if not found:
        pytest.skip(f"no Python {version} under /root/.pyenv/versions on this machine")
    return Path(found[-1])


def _release(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in Path(path).parents[1].name.split(".") if part.isdigit())


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """WHEELS, built by hatchling without the buildinfo hook."""
    house = tmp_path_factory.mktemp("pythons-wheels")
    for name, (version, requirements) in WHEELS.items():
        project = new_project(tmp_path_factory.mktemp(name) / name, name=name)
        pyproject = (
            "[build-system]\n"
            'requires = ["hatchling"]\n'
            'build-backend = "hatchling.build"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n{requirements}'
        )
        project.write("pyproject.toml", pyproject)
        if name == "stamped-pkg":
            (project.path / "stamped_pkg" / "_buildinfo.py").write_bytes(FIXTURE.read_bytes())
        wheel = wheel_in(project.build("wheel", outdir=tmp_path_factory.mktemp(f"{name}-dist")).outdir)
        stamped = [path for path in _wheel_names(wheel) if path.endswith("_buildinfo.py")]
        assert stamped == (["stamped_pkg/_buildinfo.py"] if name == "stamped-pkg" else []), wheel
        wheel.rename(house / wheel.name)
    return house


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> tuple[Path, str]:
    """A git repository whose src/checkout_pkg has no generated module; its import path and HEAD."""
    path = tmp_path_factory.mktemp("checkout")
    (path / "src" / "checkout_pkg").mkdir(parents=True)
    (path / "src" / "checkout_pkg" / "__init__.py").write_text('"""Imported from source."""\n')
    run("git", "init", "--quiet", "--initial-branch=main", cwd=path)
    run("git", "add", "-A", cwd=path)
    run("git", "commit", "--quiet", "-m", "initial", cwd=path)
    return path / "src", run("git", "rev-parse", "HEAD", cwd=path).stdout.strip()


class Probed:
    """One interpreter's venv and what the probe printed there."""

    def __init__(self, python: Path, venv: Path, environ: dict[str, str], report: dict) -> None:
        self.version = python.parents[1].name  # e.g. 3.7.16, the pyenv directory's name
        self.python = python
        self.venv = venv
        self.environ = environ
        self.report = report

    def inspect(self, *arguments: str | Path):
        """`python -m hatch_buildinfo inspect ARGUMENTS` in this venv, hatch_buildinfo from this checkout."""
        command = [self.venv / "bin" / "python", "-m", "hatch_buildinfo", "inspect", *arguments]
        return run(*command, cwd=self.venv.parent, env=self.environ, check=False)

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)

    @property
    def has_metadata(self) -> bool:
        """Whether this interpreter has importlib.metadata (3.8+)."""
        return self.minor >= (3, 8)


@pytest.fixture(scope="module", params=PYTHONS, ids=[f"py{version}" for version in PYTHONS])
def probed(request, wheels, checkout, tmp_path_factory) -> Probed:
    python = _interpreter(request.param)
    base = tmp_path_factory.mktemp(f"py{request.param}")
    venv = base / "venv"
    environ = clean_environment(UV_PYTHON_DOWNLOADS="never", PYTHONDONTWRITEBYTECODE="1")
    run(UV, "venv", "--quiet", "--python", python, venv, cwd=base, env=environ)
    run(UV, "pip", "install", "--quiet", "--python", venv, "--no-index", "--find-links", wheels,
        "a-pkg", "c-pkg", "stamped-pkg", cwd=base, env=environ)  # fmt: skip
    source, _ = checkout
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(source)])
    command = [venv / "bin" / "python", PROBE, FIXTURE, base / "work", "a_pkg", "checkout_pkg:git"]
    output = run(*command, cwd=base, env=environ).stdout
    return Probed(python, venv, environ, json.loads(output))


# On each interpreter: the shim imports and reads a generated module.


def test_probe_runs_the_interpreter_it_is_named_for(probed):
    assert probed.report["python"] == probed.version


def test_schema1_module_reads_back_by_import_and_by_parsing(probed):
    assert probed.report["imported"] == FIXTURE_INFO.as_dict()
    assert probed.report["parsed"] == FIXTURE_INFO.as_dict()
    assert json.loads(probed.report["json_text"]) == FIXTURE_INFO.as_dict()


def test_running_dependencies_take_the_version_locked_for_this_interpreter(probed):
    fork = "1.0" if probed.minor < (3, 10) else "2.0"
    assert probed.report["running"] == [["b-pkg", "1.4.0"], ["fork-dep", fork]]


def test_version_text(probed):
    fork = probed.report["running"][1][1]
    # Drift is known on every Python, 3.7 too: b-pkg is installed as locked, fork-dep not at all.
    missing = " (not installed)"
    assert probed.report["version_text"].splitlines() == [
        f"probe_app, version 1.2.3 (branch: release/1.2, revision: {REVISION})",
        "  build user:       zoë",
        "  build date:       2026-11-24T15:00:00Z",
        f"  python version:   {probed.version}",
        f"  platform:         {PLATFORM}",
        "  dependencies:",
        "    b-pkg:     1.4.0",
        f"    fork-dep:  {fork}{missing}",
    ]
    assert probed.report["info_text"] == f"(version=1.2.3, branch=release/1.2, revision={REVISION})"
    assert probed.report["build_context_text"] == (
        f"(python={probed.version}, platform={PLATFORM}, user=zoë, date=2026-11-24T15:00:00Z)"
    )


# On each interpreter: the fallback when there is no generated module.


def test_fallback_reads_installed_metadata(probed):
    if probed.has_metadata:
        # c-pkg is installed, but a-pkg needs it only for an extra or under a marker that does not hold.
        expected = BuildInfo("a_pkg", "0.3.1", dependencies=[("b-pkg", "1.4.0")])
    else:  # Python 3.7 has no importlib.metadata: no version, no dependencies, and no error.
        expected = BuildInfo("a_pkg", "unknown")
    assert probed.report["fallbacks"]["a_pkg"] == expected.as_dict()


def test_fallback_of_a_package_nothing_knows(probed):
    assert probed.report["fallbacks"]["bare_pkg"] == BuildInfo("bare_pkg", "unknown").as_dict()


def test_fallback_asks_git_of_a_source_checkout(probed, checkout):
    _, head = checkout
    expected = BuildInfo("checkout_pkg", "unknown", revision=head, branch="main", dirty=False)
    assert probed.report["fallbacks"]["checkout_pkg:git"] == expected.as_dict()


def test_metrics_without_prometheus_client_names_the_extra(probed):
    # The probe computed every text and JSON answer above after this import failed.
    error = probed.report["metrics_error"]
    assert error is not None, "prometheus_client was importable in the venv"
    assert error.startswith("hatch_buildinfo.metrics needs prometheus_client (")
    assert error.endswith("pip install 'hatch-buildinfo[prometheus]'")


# On each interpreter: `python -m hatch_buildinfo inspect`.


def test_inspect_a_wheel(probed, wheels):
    (wheel,) = wheels.glob("stamped_pkg-*.whl")
    result = probed.inspect(wheel, "--json")
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == FIXTURE_INFO.as_dict()
    result = probed.inspect(wheel)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == f"{wheel}: probe_app 1.2.3"


def test_inspect_an_installed_distribution(probed):
    result = probed.inspect("stamped-pkg", "--json")
    if probed.has_metadata:
        assert (result.returncode, result.stderr) == (0, "")
        assert json.loads(result.stdout) == FIXTURE_INFO.as_dict()
    else:  # Python 3.7 cannot find installed distributions: one line saying so, status 2, as for any bad target.
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("python -m hatch_buildinfo: error: "), result.stderr


# In this interpreter.


def test_schema1_fixture_is_a_generated_module():
    assert FIXTURE.read_text(encoding="utf-8").startswith(MARKER + "\n")


def test_schema1_fixture_parses_here():
    assert parse_source(FIXTURE.read_text(encoding="utf-8"), str(FIXTURE)) == FIXTURE_INFO


def test_schema1_fixture_imports_here(tmp_path, monkeypatch):
    package = tmp_path / "schema1_here_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_buildinfo.py").write_bytes(FIXTURE.read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert build_info("schema1_here_pkg") == FIXTURE_INFO
    finally:
        for name in ("schema1_here_pkg", "schema1_here_pkg._buildinfo"):
            sys.modules.pop(name, None)
