"""A build whose lock cannot be read fails with one line naming the file and the entry.

Each malformed lock is written by hand into a committed git repository and built with
`python -m build` (an sdist, then a wheel from it): the build fails, one line of its output
names the lock file, that line names the entry, no artifact is made, and the source tree is
as it was (`git status --porcelain --ignored` says nothing). A project without a lock builds
and says so once; the lock options fail the build naming the option and its value.
"""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from conftest import new_project, read_target, wheel_in
from test_lock_poetry import GOOD_PACKAGE as POETRY_PACKAGE
from test_lock_poetry import METADATA_2_1 as POETRY_METADATA
from test_lock_uv import IDNA, ROOT_ENTRY

# The hand-written malformed locks of the reader tests, built here with the hook.
UV_ROOT = ROOT_ENTRY + IDNA
PDM_METADATA = """\
[metadata]
groups = ["default", "dev"]
strategy = ["inherit_metadata"]
lock_version = "4.5.0"
"""
PYLOCK = """\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "idna"
version = "3.10"
wheels = [{ url = "https://index.example.invalid/idna-3.10-py3-none-any.whl", hashes = { sha256 = "00" } }]
"""


def pipfile_lock(default: dict, spec: object = 6) -> str:
    meta = {"hash": {"sha256": "0"}, "pipfile-spec": spec, "requires": {}, "sources": []}
    return json.dumps({"_meta": meta, "default": default, "develop": {}}, indent=4)


# (lock file name, its text, what the one line says after the file's path)
MALFORMED = [
    pytest.param("uv.lock", 'version = 1\n[[package]\nname = "x"\n', [": not valid TOML", "line 2"], id="uv-bad-toml"),
    pytest.param("uv.lock", UV_ROOT.replace('version = "3.7"\n', ""), [": idna: has no version"], id="uv-no-version"),
    pytest.param(
        "uv.lock", UV_ROOT.replace("version = 1", "version = 99"), [": version: ", "99"], id="uv-lock-version"
    ),
    pytest.param(
        "poetry.lock",
        POETRY_PACKAGE + '[[package]]\nname = "requests"\noptional = false\ngroups = ["main"]\n' + POETRY_METADATA,
        [": requests: has no version"],
        id="poetry-no-version",
    ),
    pytest.param(
        "poetry.lock",
        POETRY_PACKAGE + POETRY_METADATA.replace('"2.1"', '"9.0"'),
        [": [metadata]: lock-version '9.0' is not supported"],
        id="poetry-lock-version",
    ),
    pytest.param("pdm.lock", "[metadata\ngroups = 1\n", [": not valid TOML", "line 1"], id="pdm-bad-toml"),
    pytest.param(
        "pdm.lock",
        PDM_METADATA + '\n[[package]]\nname = "Some_Thing"\ngroups = ["default"]\n',
        [": Some_Thing: has no version"],
        id="pdm-no-version",
    ),
    pytest.param(
        "pdm.lock",
        PDM_METADATA.replace('"4.5.0"', '"5.0.0"'),
        ["lock_version: unsupported '5.0.0'", "only 4.x is supported"],
        id="pdm-lock-version",
    ),
    pytest.param(
        "Pipfile.lock",
        '{"_meta": {"pipfile-spec": 6},\n "default": {',
        [": not valid JSON", "line 2"],
        id="pipfile-json",
    ),
    pytest.param(
        "Pipfile.lock",
        pipfile_lock({"idna": {"version": "==3.7"}, "Some_Lib": {"git": "https://example.invalid/lib.git"}}),
        [": Some_Lib: has no version"],
        id="pipfile-no-version",
    ),
    pytest.param(
        "Pipfile.lock",
        pipfile_lock({}, spec=7),
        ["pipfile-spec: unsupported 7", "only 6 is supported"],
        id="pipfile-spec",
    ),
    pytest.param(
        "pylock.toml",
        PYLOCK + '\n[[packages]]\nname = "other-pkg"\ndirectory = { path = "../other" }\n',
        [": other-pkg: installed from a directory with no version"],
        id="pylock-no-version",
    ),
    pytest.param(
        "pylock.toml",
        PYLOCK.replace('"1.0"', '"9.0"', 1),
        [": lock-version: lock-version '9.0' is not supported"],
        id="pylock-lock-version",
    ),
]
LOOSE_REQUIREMENTS = "idna==3.10\n# a comment\nrequests>=2\n"


def committed(tmp_path, hook_config: str = "", files: dict[str, str] | None = None):
    """A project in a git repository whose one commit holds `files` too."""
    project = new_project(tmp_path / "demo", hook_config)
    for relative, text in (files or {}).items():
        (project.path / relative).write_text(text, encoding="utf-8")
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("initial")
    return project


def failed_build(project):
    """Build (an sdist, then a wheel from it) and expect a failure that leaves nothing behind, and no traceback."""
    result = project.build(check=False)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert not any(result.outdir.glob("*.whl")) and not any(result.outdir.glob("*.tar.gz"))
    assert project.git("status", "--porcelain", "--ignored") == ""
    return result


def lines_naming(result, text: str) -> list[str]:
    """The lines of a build's output (stdout and stderr) that contain `text`."""
    return [line for line in (result.stdout + result.stderr).splitlines() if text in line]


@pytest.mark.parametrize(("name", "text", "says"), MALFORMED)
def test_a_malformed_lock_fails_the_build_with_one_line(tmp_path, name, text, says):
    project = committed(tmp_path, files={name: textwrap.dedent(text)})
    lock = str(project.path / name)

    result = failed_build(project)

    (line,) = lines_naming(result, lock)  # one line, not the message and a dump of the lock or of the message
    assert line in result.stderr.splitlines()
    where = line[line.index(lock) + len(lock) :]
    for fragment in says:
        assert fragment in where, line
    if says[0].startswith(":"):  # `<path>: <entry>: <problem>` (or `<path>:<line>: <entry>: <problem>`)
        assert where.startswith(says[0]), line


def test_a_named_requirements_file_that_pins_loosely_fails_the_build_with_one_line(tmp_path):
    project = committed(tmp_path, 'lockfile = "requirements.txt"\n', {"requirements.txt": LOOSE_REQUIREMENTS})
    lock = str(project.path / "requirements.txt")

    (line,) = lines_naming(failed_build(project), lock)

    problem = "not pinned with ==: a requirements file is a lock only when every line pins a version"
    assert line == f"{lock}:3: requests>=2: {problem}"


def test_a_found_requirements_file_that_pins_loosely_is_passed_over_saying_why(tmp_path):
    project = committed(tmp_path, files={"requirements.txt": LOOSE_REQUIREMENTS})

    result = project.build()

    assert read_target(str(wheel_in(result.outdir))).dependencies == ()
    (line,) = lines_naming(result, "requirements.txt")
    assert line.startswith(f"hatch-buildinfo: {project.path / 'requirements.txt'}:3: requests>=2: not pinned with ==")
    assert line.endswith(
        "not read as the runtime lock (name that with option `lockfile`); recording no dependencies and no SBOM"
    )


def test_lockfile_false_reads_no_lock(tmp_path):
    project = committed(tmp_path, "lockfile = false\n", {"uv.lock": UV_ROOT})

    result = project.build()

    assert read_target(str(wheel_in(result.outdir))).dependencies == ()
    assert lines_naming(result, "lock") == []


def test_no_lock_builds_recording_no_dependencies_and_says_so_once(tmp_path):
    project = committed(tmp_path)

    result = project.build()

    assert read_target(str(wheel_in(result.outdir))).dependencies == ()
    said = [line for line in (result.stdout + result.stderr).splitlines() if "lock" in line]
    assert len(said) == 1, said
    assert re.fullmatch(r"hatch-buildinfo: no lock file \(.+\); recording no dependencies and no SBOM", said[0]), said
    assert project.git("status", "--porcelain", "--ignored") == ""


def test_require_lock_fails_a_build_without_a_lock(tmp_path):
    result = failed_build(committed(tmp_path, "require-lock = true\n"))

    (line,) = lines_naming(result, "no lock file")
    assert "`require-lock`" in line


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param("missing.lock", "must name a lock file of a known format", id="unknown-name"),
        pytest.param("deps/runtime.txt", "names no file", id="missing-file"),
        pytest.param("uv.lock", "names no file", id="missing-uv-lock"),
    ],
)
def test_a_lockfile_option_that_names_no_lock_fails_naming_option_and_value(tmp_path, value, says):
    result = failed_build(committed(tmp_path, f'lockfile = "{value}"\n'))

    (line,) = lines_naming(result, repr(value))
    assert "`lockfile`" in line and says in line


def test_an_extra_the_project_lacks_fails_naming_the_value(tmp_path):
    result = failed_build(committed(tmp_path, 'extras = ["nope"]\n', {"uv.lock": UV_ROOT}))

    (line,) = lines_naming(result, "'nope'")
    assert "`extras`" in line
