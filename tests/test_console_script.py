"""The `hatch-buildinfo` console script is `python -m hatch_buildinfo`, installed from this checkout's wheel."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run


def both(venv: Path, *arguments: str | Path):
    """(the script's result, `python -m hatch_buildinfo`'s result) for the same arguments, in `venv`."""
    script = run(venv / "bin" / "hatch-buildinfo", *arguments, cwd=venv, check=False)
    module = run(venv / "bin" / "python", "-m", "hatch_buildinfo", *arguments, cwd=venv, check=False)
    return script, module


def test_the_script_prints_what_python_m_prints(example_venv, example_wheel):
    script, module = both(example_venv, "inspect", example_wheel, "--json")
    assert (script.returncode, module.returncode) == (0, 0), script.stderr + module.stderr
    assert script.stdout == module.stdout
    assert json.loads(script.stdout)["program"] == "example_app"


def test_the_script_fails_as_python_m_does(example_venv, tmp_path):
    script, module = both(example_venv, "inspect", tmp_path / "missing.whl")
    assert (script.returncode, len(script.stderr.splitlines())) == (module.returncode, 1) == (2, 1)
    assert script.stderr.partition(": error: ")[2] == module.stderr.partition(": error: ")[2]


def test_the_script_names_itself_in_usage(example_venv):
    script, _ = both(example_venv, "--help")
    assert script.stdout.startswith("usage: hatch-buildinfo ")
