"""example_app, built with the hook like a user's service, installed in a fresh venv."""

from __future__ import annotations

import json
import re
import sys

from conftest import ROOT, UV, install, run


def _checkout() -> tuple[str, str]:
    revision = run("git", "rev-parse", "HEAD", cwd=ROOT).stdout.strip()
    branch = run("git", "rev-parse", "--abbrev-ref", "HEAD", cwd=ROOT).stdout.strip()
    return revision, branch


def test_version_prints_the_design_text(example_venv):
    output = run(example_venv / "bin" / "example-app", "--version", cwd=example_venv).stdout
    revision, branch = _checkout()
    lines = output.splitlines()
    assert lines[0] == f"example_app, version 0.1.0 (branch: {branch}, revision: {revision})"
    assert [line.split(":")[0] for line in lines[1:6]] == [
        "  build user",
        "  build date",
        "  python version",
        "  platform",
        "  dependencies",
    ]
    assert all(line[20:].strip() for line in lines[1:5]), "every value sits in the aligned column"
    assert re.fullmatch(r"  build date:       \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[2])
    assert lines[3] == f"  python version:   {'.'.join(map(str, sys.version_info[:3]))}"


def test_version_lists_the_locked_dependencies_aligned(example_venv, locked_versions):
    output = run(example_venv / "bin" / "example-app", "--version", cwd=example_venv).stdout
    dependencies = output.split("  dependencies:\n")[1].splitlines()
    assert dependencies == [
        "    hatch-buildinfo:    0.1.0",
        f"    prometheus-client:  {locked_versions['prometheus-client']}",
    ]


def test_version_marks_a_dependency_installed_at_another_version(example_wheel, locked_versions, wheelhouse, tmp_path):
    # 0.20.0 is no version the lock pins for any Python.
    venv = install(example_wheel, tmp_path / "venv", wheelhouse, "prometheus-client==0.20.0")
    output = run(venv / "bin" / "example-app", "--version", cwd=tmp_path).stdout
    locked = locked_versions["prometheus-client"]
    assert f"    prometheus-client:  {locked} (installed: 0.20.0)" in output.splitlines()
    assert "    hatch-buildinfo:    0.1.0" in output.splitlines()


def test_runtime_install_pulls_in_neither_hatchling_nor_gitpython(example_venv):
    installed = run(UV, "pip", "list", "--python", example_venv, "--format", "json", cwd=example_venv).stdout
    names = {package["name"] for package in json.loads(installed)}
    assert names == {"example-app", "hatch-buildinfo", "prometheus-client"}


def test_inspect_installed_distribution(example_venv):
    output = run(
        example_venv / "bin" / "python", "-m", "hatch_buildinfo", "inspect", "example-app", "--json", cwd=example_venv
    ).stdout
    data = json.loads(output)
    assert (data["program"], data["revision"]) == ("example_app", _checkout()[0])
