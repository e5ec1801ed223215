"""`--version` for argparse and click prints the design's text and exits 0."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run

from hatch_buildinfo.hook.render import render
from hatch_buildinfo.info import BuildInfo

INFO = BuildInfo(
    "cli_app", "2.0.0", revision="abc123", branch="main", build_user="alice", build_date="2026-01-01T00:00:00Z"
)
PROGRAMS = {
    "argparse": """
        import argparse
        from hatch_buildinfo.options import VersionAction

        parser = argparse.ArgumentParser(prog="cli-app")
        parser.add_argument("--version", action=VersionAction, package="cli_app")
        parser.parse_args()
        print("not reached")
    """,
    "click": """
        import click
        from hatch_buildinfo.options import click_version_option

        @click.command()
        @click_version_option("cli_app")
        def main():
            print("not reached")

        main()
    """,
}


@pytest.fixture
def stamped(tmp_path: Path) -> Path:
    """A package `cli_app` with a generated module, importable from `tmp_path`."""
    (tmp_path / "cli_app").mkdir()
    (tmp_path / "cli_app" / "__init__.py").write_text("")
    (tmp_path / "cli_app" / "_buildinfo.py").write_text(render(INFO), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("framework", sorted(PROGRAMS))
def test_version_option_prints_the_text_and_exits_0(stamped, framework):
    script = stamped / "main.py"
    script.write_text(textwrap.dedent(PROGRAMS[framework]))
    result = run(sys.executable, script, "--version", cwd=stamped, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cli_app, version 2.0.0 (branch: main, revision: abc123)"
    assert lines[1:3] == ["  build user:       alice", "  build date:       2026-01-01T00:00:00Z"]
    assert "not reached" not in result.stdout
