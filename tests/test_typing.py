"""A typed program that uses hatch_buildinfo type-checks against the installed wheel (it ships py.typed)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from conftest import run

PROGRAM = """\
import argparse

from hatch_buildinfo import BuildInfo, build_info, json_text, version_text
from hatch_buildinfo.metrics import register
from hatch_buildinfo.options import VersionAction

info: BuildInfo = build_info("example_app")
revision: str = info.revision
dirty: bool | None = info.dirty
tag: str | None = info.tag
running: tuple[tuple[str, str], ...] = info.running_dependencies()
shown: str = version_text(info) + json_text(info)
register(info)
parser = argparse.ArgumentParser()
parser.add_argument("--version", action=VersionAction, package="example_app")
"""


def mypy(example_venv: Path, directory: Path, program: str):
    """mypy on `program`, resolving imports in the venv where example_app's wheel is installed."""
    (directory / "program.py").write_text(textwrap.dedent(program), encoding="utf-8")
    python = example_venv / "bin" / "python"
    command = (sys.executable, "-m", "mypy", "--no-incremental", "--python-executable", python, "program.py")
    return run(*command, cwd=directory, check=False)


def test_a_program_using_the_public_api_type_checks(example_venv: Path, tmp_path: Path) -> None:
    result = mypy(example_venv, tmp_path, PROGRAM)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_use_of_a_build_fact_is_a_type_error(example_venv: Path, tmp_path: Path) -> None:
    result = mypy(example_venv, tmp_path, PROGRAM + "commits: int = info.revision\n")
    assert result.returncode == 1
    assert 'Incompatible types in assignment (expression has type "str", variable has type "int")' in result.stdout
