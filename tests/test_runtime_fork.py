"""A uv.lock fork: one package locked at two versions; each interpreter reports the one it runs."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
from conftest import UV, new_project, run, run_tool, wheel_in

FORK = """\
[project]
name = "fork-app"
version = "1.0"
requires-python = ">=3.9"
dependencies = ["idna==3.6; python_version < '3.10'", "idna==3.7; python_version >= '3.10'"]
"""


@pytest.fixture(scope="module")
def fork_wheel(tmp_path_factory) -> Path:
    project = new_project(tmp_path_factory.mktemp("fork") / "fork-app", name="fork-app")
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('[project]\nname = "fork-app"\nversion = "1.2.3"\n', FORK))
    run_tool("uv", "uv", "lock", cwd=project.path)
    return wheel_in(project.build("wheel").outdir)


def _interpreter(version: str) -> str:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no Python {version} under pyenv on this machine")
    return found[-1]


@pytest.mark.parametrize(("python", "idna"), [("3.9", "3.6"), ("3.11", "3.7")])
def test_each_interpreter_reports_the_version_locked_for_it(fork_wheel, wheelhouse, tmp_path, python, idna):
    venv = tmp_path / "venv"
    run(UV, "venv", "--quiet", "--python", _interpreter(python), venv, cwd=tmp_path)
    (runtime,) = wheelhouse.glob("hatch_buildinfo-*.whl")
    run(UV, "pip", "install", "--quiet", "--no-deps", "--refresh", "--python", venv, runtime, fork_wheel, cwd=tmp_path)
    code = "import hatch_buildinfo; print(hatch_buildinfo.build_info('fork_app').running_dependencies())"
    output = run(venv / "bin" / "python", "-c", code, cwd=tmp_path).stdout
    assert output.strip() == repr((("idna", idna),))
