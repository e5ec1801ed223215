"""`python -m hatch_buildinfo inspect TARGET [--json]`, run as users run it: a real subprocess."""

from __future__ import annotations

import json
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT, UV, clean_environment, new_project, run, sdist_in, unhooked_project, wheel_in

from hatch_buildinfo.info import MARKER

JSON_KEYS = [
    "schema",
    "program",
    "version",
    "revision",
    "branch",
    "dirty",
    "tag",
    "commit_date",
    "build_user",
    "build_date",
    "dependencies",
]
STAMP = {"BUILDINFO_USER": "alice", "BUILDINFO_DATE": "2026-01-02T03:04:05Z"}


def inspect(*arguments: str | Path, cwd: Path, python: str | Path = sys.executable, env: dict | None = None):
    return run(python, "-m", "hatch_buildinfo", "inspect", *arguments, cwd=cwd, env=env, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """A tagged repository's sdist and wheel, built once for the module."""
    project = new_project(tmp_path_factory.mktemp("inspect") / "demo")
    project.git("init", "--quiet", "--initial-branch=main")
    revision = project.commit("initial")
    project.git("tag", "v1.2.3")
    committed_at = project.git("log", "-1", "--format=%ct")
    result = project.build("sdist", "wheel", env=clean_environment(**STAMP))
    return {
        "wheel": wheel_in(result.outdir),
        "sdist": sdist_in(result.outdir),
        "revision": revision,
        "commit_date": datetime.fromtimestamp(int(committed_at), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture(scope="module")
def unhooked_wheel(tmp_path_factory) -> Path:
    """A wheel of a project that does not use the `buildinfo` hook."""
    project = unhooked_project(tmp_path_factory.mktemp("unhooked") / "plain", "demo-pkg")
    project.write("demo_pkg/__init__.py", '"""No build info here."""\n')
    return wheel_in(project.build("wheel").outdir)


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_text_output_names_the_target_and_every_fact(built, kind):
    artifact = built[kind]
    result = inspect(artifact.name, cwd=artifact.parent)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{artifact.name}: demo_pkg 1.2.3"
    fields = dict(line.strip().split(":", 1) for line in lines[1:])
    fields = {label: value.strip() for label, value in fields.items()}
    assert fields == {
        "revision": built["revision"],
        "branch": "main",
        "dirty": "false",
        "tag": "v1.2.3",
        "commit date": built["commit_date"],
        "build user": "alice",
        "build date": "2026-01-02T03:04:05Z",
        "sbom": "none",  # no lock was read, so no SBOM was written
    }


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_json_output_is_one_object_with_keys_in_order(built, kind):
    artifact = built[kind]
    result = inspect(str(artifact), "--json", cwd=artifact.parent)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    text = result.stdout.strip()
    data, end = json.JSONDecoder().raw_decode(text)
    assert end == len(text)
    assert isinstance(data, dict)
    assert list(data) == JSON_KEYS
    assert data == {
        "schema": 1,
        "program": "demo_pkg",
        "version": "1.2.3",
        "revision": built["revision"],
        "branch": "main",
        "dirty": False,
        "tag": "v1.2.3",
        "commit_date": built["commit_date"],
        "build_user": "alice",
        "build_date": "2026-01-02T03:04:05Z",
        "dependencies": [],
    }


ODD_LINES = {
    "module with a dependency of four parts": "dependencies = (('a', 'b', 'c', 'd'),)",
    "module with a bytes branch": "branch = b'main'",
    "module with a call": "branch = __import__('os').getcwd()",
}


def corrupt_member_data(wheel: Path, destination: Path) -> None:
    """A copy of `wheel` whose zip directory is intact but whose generated module's deflate data is garbage."""
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("demo_pkg/_buildinfo.py")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for index in range(start, start + info.compress_size):
        data[index] ^= 0xA5
    destination.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "case",
    [
        "text file",
        "junk named .whl",
        "wheel with corrupt member data",
        "junk named .tar.gz",
        "wheel built without the hook",
        "missing wheel",
        "missing path",
        "unknown distribution",
        "module with a dependency of four parts",
        "module with a bytes branch",
        "module with a call",
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_bad_target_prints_one_line_and_exits_2(built, unhooked_wheel, tmp_path, case, as_json):
    if case == "text file":
        (tmp_path / "notes.txt").write_text("not an artifact\n")
        target = "notes.txt"
    elif case == "junk named .whl":
        (tmp_path / "x.whl").write_bytes(b"this is not a zip file\n")
        target = "x.whl"
    elif case == "wheel with corrupt member data":
        corrupt_member_data(built["wheel"], tmp_path / "corrupt-1.0-py3-none-any.whl")
        target = "corrupt-1.0-py3-none-any.whl"
    elif case == "junk named .tar.gz":
        (tmp_path / "x.tar.gz").write_bytes(b"this is not gzip\n")
        target = "x.tar.gz"
    elif case == "wheel built without the hook":
        target = str(unhooked_wheel)
    elif case == "missing wheel":
        target = "demo_pkg-9.9.9-py3-none-any.whl"
    elif case == "missing path":
        target = str(tmp_path / "nowhere" / "artifact")
    elif case.startswith("module with"):
        target = "odd-1.0-py3-none-any.whl"
        with zipfile.ZipFile(tmp_path / target, "w") as archive:
            archive.writestr("odd/_buildinfo.py", f"{MARKER}\nprogram = 'odd'\nversion = '1.0'\n{ODD_LINES[case]}\n")
    else:
        target = "no-such-distribution-xyzzy"

    result = inspect(target, *(["--json"] if as_json else []), cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m hatch_buildinfo: error: "), lines[0]
    assert target in lines[0]


def test_installed_distribution_by_name(built, tmp_path):
    env = clean_environment(UV_OFFLINE="1", UV_NO_INDEX="1", UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    venv = tmp_path / "venv"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    run(UV, "pip", "install", "--quiet", "--no-deps", "--python", python, built["wheel"], cwd=tmp_path, env=env)

    # hatch-buildinfo itself is not installed there: -m resolves it from the checkout.
    env["PYTHONPATH"] = str(ROOT)
    result = inspect("demo-pkg", "--json", python=python, cwd=tmp_path, env=env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.count("\n") == 1
    data = json.loads(result.stdout)
    assert list(data) == JSON_KEYS
    assert (data["program"], data["version"], data["revision"], data["branch"], data["tag"]) == (
        "demo_pkg",
        "1.2.3",
        built["revision"],
        "main",
        "v1.2.3",
    )

    text = inspect("demo-pkg", python=python, cwd=tmp_path, env=env)
    assert (text.returncode, text.stderr) == (0, ""), text.stderr
    assert text.stdout.splitlines()[0] == "demo-pkg: demo_pkg 1.2.3"
