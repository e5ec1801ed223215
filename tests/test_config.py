"""`[tool.hatch.build.hooks.buildinfo]`: bad options fail the build cleanly, good ones are honoured."""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import Project, clean_environment, new_project, read_target, sdist_in, wheel_in

HOOK_MESSAGE = "for build hook `buildinfo`"


def committed(project: Project) -> Project:
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("initial")
    return project


def hook_error_line(stderr: str) -> str:
    """The line carrying the hook's message, else the last non-empty line of stderr."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "the failed build printed nothing on stderr"
    return next((line for line in lines if HOOK_MESSAGE in line), lines[-1])


def assert_fails_cleanly(project: Project, target: str, tmp_path: Path) -> str:
    """Build `target`, expect failure, check nothing was left behind; return the hook's error line."""
    temporary = tmp_path / "build-tmp"
    temporary.mkdir()
    outdir = tmp_path / "out"
    result = project.build(target, env=clean_environment(TMPDIR=str(temporary)), outdir=outdir, check=False)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    # Nothing half-written: the source tree is exactly the commit, no artifact, no leftover staging directory.
    assert project.git("status", "--porcelain", "--ignored") == ""
    assert not (project.path / "dist").exists()
    assert not outdir.exists() or list(outdir.iterdir()) == []
    assert list(temporary.iterdir()) == []
    return hook_error_line(result.stderr)


BAD_OPTIONS = {
    # id: (hook configuration, option the message must name, value the message must name)
    # The README: "An unknown key or a wrong value fails the build with a message naming the key and the value".
    "unknown key": ('colour = "red"\n', "colour", "'red'"),
    "include-user string": ('include-user = "yes"\n', "include-user", "'yes'"),
    "require-vcs integer": ("require-vcs = 1\n", "require-vcs", "1"),
    "path integer": ("path = 3\n", "path", "3"),
    "program integer": ("program = 2\n", "program", "2"),
    "path escapes upwards": ('path = "../escape.py"\n', "path", "'../escape.py'"),
    "path escapes through the package": ('path = "demo_pkg/../../escape.py"\n', "path", "'demo_pkg/../../escape.py'"),
    "path absolute outside": ('path = "/tmp/escape.py"\n', "path", "'/tmp/escape.py'"),
    "path not python": ('path = "demo_pkg/about.txt"\n', "path", "'demo_pkg/about.txt'"),
    "path a directory": ('path = "demo_pkg/"\n', "path", "'demo_pkg/'"),
    "program leading digit": ('program = "9lives"\n', "program", "'9lives'"),
    "program dash": ('program = "my-app"\n', "program", "'my-app'"),
    "program space": ('program = "a b"\n', "program", "'a b'"),
    "program empty": ('program = ""\n', "program", "''"),
    "tag-match integer": ("tag-match = 3\n", "tag-match", "3"),
    "tag-match empty glob": ('tag-match = ["app-v*", ""]\n', "tag-match", "['app-v*', '']"),
    "lockfile true": ("lockfile = true\n", "lockfile", "True"),
    "require-lock without lockfile": ("lockfile = false\nrequire-lock = true\n", "require-lock", "true"),
    "extras not an array": ('extras = "cli"\n', "extras", "'cli'"),
    "sbom string": ('sbom = "yes"\n', "sbom", "'yes'"),
}


@pytest.mark.parametrize("target", ["sdist", "wheel"])
@pytest.mark.parametrize("case", BAD_OPTIONS)
def test_bad_option_fails_the_build_naming_option_and_value(tmp_path, capsys, case, target):
    """The hook as hatchling makes it; `test_unknown_key_message_lists_the_known_options` builds for real."""
    config, option, value = BAD_OPTIONS[case]
    project = committed(new_project(tmp_path / "demo", config))
    build_data: dict = {"force_include": {}}

    with pytest.raises(SystemExit) as aborted:
        project.hook(target).initialize("standard", build_data)

    assert aborted.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert f"`{option}`" in line, line
    assert HOOK_MESSAGE in line, line
    assert re.search(rf"(?<!\w){re.escape(value)}(?!\w)", line), line
    assert build_data == {"force_include": {}}
    assert project.git("status", "--porcelain", "--ignored") == ""


@pytest.mark.parametrize("target", ["sdist", "wheel"])
def test_unknown_key_message_lists_the_known_options(tmp_path, target):
    project = committed(new_project(tmp_path / "demo", 'colour = "red"\n'))
    line = assert_fails_cleanly(project, target, tmp_path)
    assert "Unknown option `colour`" in line, line
    for known in ("include-user", "path", "program", "require-vcs"):
        assert f"`{known}`" in line, line


def test_absolute_path_fails_even_inside_the_project(tmp_path):
    project = new_project(tmp_path / "demo")
    absolute = str(project.path / "demo_pkg" / "about.py")
    project = committed(new_project(project.path, f"path = {absolute!r}\n"))
    line = assert_fails_cleanly(project, "wheel", tmp_path)
    assert "`path`" in line, line
    assert repr(absolute) in line, line


@pytest.mark.parametrize("target", ["sdist", "wheel"])
def test_project_name_without_a_valid_default_program_fails(tmp_path, target):
    project = new_project(tmp_path / "nine", name="9lives")
    committed(project)
    line = assert_fails_cleanly(project, target, tmp_path)
    assert "`program`" in line, line
    assert "'9lives'" in line, line


@pytest.mark.parametrize("target", ["sdist", "wheel"])
def test_project_without_package_directory_or_path_fails(tmp_path, target):
    project = new_project(tmp_path / "demo")
    (project.path / "demo_pkg" / "__init__.py").unlink()
    (project.path / "demo_pkg").rmdir()
    project.write("demo_module.py", "X = 1\n")
    committed(project)
    line = assert_fails_cleanly(project, target, tmp_path)
    assert "`path`" in line, line
    assert "demo_pkg" in line, line


def test_custom_path_and_program_are_honoured(tmp_path):
    project = committed(new_project(tmp_path / "demo", 'path = "demo_pkg/meta/about.py"\nprogram = "custom_name"\n'))
    temporary = tmp_path / "build-tmp"
    temporary.mkdir()
    # No flags: the sdist first, then the wheel from the unpacked sdist, which has no .git.
    result = project.build(env=clean_environment(TMPDIR=str(temporary)))

    wheel = wheel_in(result.outdir)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "demo_pkg/meta/about.py" in names
    assert "demo_pkg/_buildinfo.py" not in names
    with tarfile.open(sdist_in(result.outdir)) as archive:
        assert "demo_pkg-1.2.3/demo_pkg/meta/about.py" in archive.getnames()

    revision = project.git("rev-parse", "HEAD")
    for artifact in (wheel, sdist_in(result.outdir)):
        info = read_target(str(artifact))
        assert (info.program, info.version, info.revision, info.branch) == ("custom_name", "1.2.3", revision, "main")
    assert project.git("status", "--porcelain", "--ignored") == ""
    assert list(temporary.iterdir()) == []


def test_src_layout_puts_the_module_in_the_package(tmp_path):
    project = new_project(tmp_path / "demo")
    (project.path / "demo_pkg" / "__init__.py").unlink()
    (project.path / "demo_pkg").rmdir()
    project.write("src/demo_pkg/__init__.py", '"""A package to stamp."""\n')
    committed(project)
    result = project.build()

    wheel = wheel_in(result.outdir)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "demo_pkg/_buildinfo.py" in names
    assert not any(name.startswith("src/") for name in names), names
    sdist = sdist_in(result.outdir)
    with tarfile.open(sdist) as archive:
        assert "demo_pkg-1.2.3/src/demo_pkg/_buildinfo.py" in archive.getnames()

    revision = project.git("rev-parse", "HEAD")
    for artifact in (wheel, sdist):
        info = read_target(str(artifact))
        assert (info.program, info.revision, info.branch) == ("demo_pkg", revision, "main")
    assert project.git("status", "--porcelain", "--ignored") == ""
