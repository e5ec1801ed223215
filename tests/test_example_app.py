"""example_app, built with the hook like a user's service, installed in a fresh venv."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT, UV, run


@pytest.fixture(scope="session")
def example_venv(offline, tmp_path_factory) -> Path:
    """example_app built from this checkout (sdist, then wheel) and installed in a new venv."""
    work = tmp_path_factory.mktemp("example")
    run(sys.executable, "-m", "build", "--outdir", work / "dist", ROOT / "example_app", cwd=ROOT, env=offline)
    run(UV, "venv", "--quiet", "--python", sys.executable, work / "venv", cwd=work, env=offline)
    (wheel,) = (work / "dist").glob("*.whl")
    run(UV, "pip", "install", "--quiet", "--python", work / "venv", wheel, cwd=work, env=offline)
    return work / "venv"


def _checkout() -> tuple[str, str]:
    revision = run("git", "rev-parse", "HEAD", cwd=ROOT).stdout.strip()
    branch = run("git", "rev-parse", "--abbrev-ref", "HEAD", cwd=ROOT).stdout.strip()
    return revision, branch


def test_version_prints_the_design_text(example_venv):
    output = run(example_venv / "bin" / "example-app", "--version", cwd=example_venv).stdout
    revision, branch = _checkout()
    lines = output.splitlines()
    assert lines[0] == f"example_app, version 0.1.0 (branch: {branch}, revision: {revision})"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  build user",
        "  build date",
        "  python version",
        "  platform",
    ]
    assert all(line[20:].strip() for line in lines[1:]), "every value sits in the aligned column"
    assert re.fullmatch(r"  build date:       \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[2])
    assert lines[3] == f"  python version:   {'.'.join(map(str, sys.version_info[:3]))}"


def test_runtime_install_pulls_in_neither_hatchling_nor_gitpython(example_venv):
    installed = run(UV, "pip", "list", "--python", example_venv, "--format", "json", cwd=example_venv).stdout
    names = {package["name"] for package in json.loads(installed)}
    assert names == {"example-app", "hatch-buildinfo"}


def test_inspect_installed_distribution(example_venv):
    output = run(
        example_venv / "bin" / "python", "-m", "hatch_buildinfo", "inspect", "example-app", "--json", cwd=example_venv
    ).stdout
    data = json.loads(output)
    assert (data["program"], data["revision"]) == ("example_app", _checkout()[0])
