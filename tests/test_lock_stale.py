"""A stale lock — pyproject.toml or the Pipfile changed since it was locked — is named in one warning line.

Each tool locks a small project once; each case copies it, edits what a user edits (a runtime
dependency, an extra, a dependency group, a line that changes nothing the tool fingerprints) and
asks two judges: the hook, constructed as hatchling makes it, and the tool's own check (`poetry
check --lock`, `uv lock --check`, `pdm lock --check`, `pipenv verify`). They give the same answer,
with one exception that is uv's: a dependency group never reaches the runtime set, so the hook
says fresh where `uv lock --check` says stale. One real `python -m build` shows the line under a
real frontend, and `require-lock = true` turns it into the build's one error line.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Project, read_target, run_tool, wheel_in
from hypothesis import given, settings
from hypothesis import strategies as st
from lock_build import SAMPLE_PYPROJECT, hooked_copy
from packaging.markers import Marker
from test_lock_pdm import pdm
from test_lock_pipfile import pipenv, pipenv_project  # noqa: F401  # the fixture, locked by pipenv
from test_lock_poetry import POETRIES, SIMPLE_INDEX
from test_lock_uv import locked, uv

from hatch_buildinfo.hook.locks import Project as LockProject
from hatch_buildinfo.hook.locks import stale

WARNING = "hatch-buildinfo: warning:"
POETRY, _, POETRY_PYPROJECT, _ = POETRIES["poetry-2"]
# The sample project with markers spelled as users write them; uv writes each otherwise (see uv_project).
SPELLED = (
    "\"idna; python_version<'3.11'\", \"six; python_version <= '3.12' and os_name == 'nt' or python_version == '3.13'\""
)
UV_PYPROJECT = SAMPLE_PYPROJECT.replace(
    "\"colorama; sys_platform == 'win32'\"", f"\"colorama; sys_platform == 'win32'\", {SPELLED}"
)


def edited(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def in_pyproject(old: str, new: str) -> Callable[[Path], None]:
    return lambda project: edited(project / "pyproject.toml", old, new)


def in_pipfile(old: str, new: str) -> Callable[[Path], None]:
    return lambda project: edited(project / "Pipfile", old, new)


def unchanged(project: Path) -> None:
    """No edit: the lock as the tool wrote it."""


ADD_HTTPX = in_pyproject('"requests>=2.31"', '"requests>=2.31", "httpx>=0.27"')


def hook_warnings(project: Project, capsys) -> list[str]:
    """The warning lines of the hook, made as hatchling makes it, reading the project's lock."""
    capsys.readouterr()
    assert project.hook()._locked, "the lock is read and recorded as it is, stale or not"
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith(WARNING)]


def tool_says_fresh(check: Callable[[], object], stale_words: str) -> bool:
    """The tool's verdict: True when its check passes; False when it fails saying the lock is out of date."""
    try:
        check()
    except AssertionError as failed:  # conftest.run's failure, with the tool's output
        assert stale_words in str(failed), failed
        return False
    return True


def judged(source: Path, edit: Callable[[Path], None], lock: str, tmp_path: Path, capsys) -> str | None:
    """The hook's one warning line for a copy of `source` with `edit` made, naming the lock; None: no warning."""
    project = hooked_copy(source, tmp_path / "project")
    edit(project.path)
    warnings = hook_warnings(project, capsys)
    assert len(warnings) <= 1, warnings
    for warning in warnings:
        assert warning.startswith(f"{WARNING} {project.path / lock} is stale: "), warning
    return warnings[0] if warnings else None


def assert_verdict(warning: str | None, fresh: bool, says: str) -> None:
    """No warning for a fresh lock; for a stale one, a line that says `says` and ends recording the lock."""
    if fresh:
        assert warning is None, warning
    else:
        assert warning is not None and warning.endswith(f"{says}; recording it as it is"), warning


# uv


@pytest.fixture(scope="module")
def uv_project(tmp_path_factory) -> Path:
    project = locked(tmp_path_factory.mktemp("uv-stale") / "demo", UV_PYPROJECT)
    # What the marker cases need: the lock spells each marker otherwise than pyproject.toml.
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert "marker = \"python_full_version < '3.11'\"" in lock
    assert "python_full_version == '3.13.*' or (python_full_version < '3.13' and os_name == 'nt')" in lock
    assert "python_version" not in lock
    return project


UV_CASES = [
    pytest.param(unchanged, True, None, id="fresh"),
    pytest.param(
        in_pyproject("idna; python_version<'3.11'", "idna ; python_full_version < '3.11'"),
        True,
        None,
        id="marker-respelled",
    ),
    pytest.param(
        in_pyproject("colorama; sys_platform == 'win32'", "colorama; platform_system == 'Windows'"),
        True,
        None,
        id="platform-respelled",
    ),
    pytest.param(ADD_HTTPX, False, "requires-dist lacks `httpx>=0.27`", id="runtime-added"),
    pytest.param(
        in_pyproject("python_version<'3.11'", "python_version<'3.12'"),
        False,
        "requires-dist lacks `idna; python_version < '3.12'`; "
        "requires-dist has undeclared `idna; python_full_version < '3.11'`",
        id="marker-changed",
    ),
    pytest.param(
        in_pyproject('cli = ["click"]', 'cli = ["click"]\nsocks = ["pysocks"]'),
        False,
        "requires-dist lacks `pysocks (extra socks)`; provides-extras lacks `socks`",
        id="extra-added",
    ),
]


@pytest.mark.parametrize(("edit", "fresh", "change"), UV_CASES)
def test_uv_verdict_is_uv_lock_checks(uv_project, edit, fresh, change, tmp_path, capsys):
    warning = judged(uv_project, edit, "uv.lock", tmp_path, capsys)
    assert tool_says_fresh(lambda: uv("lock", "--check", cwd=tmp_path / "project"), "uv lock") is fresh
    assert_verdict(
        warning, fresh, f"its entry for demo-pkg does not match pyproject.toml: {change}; lock again with `uv lock`"
    )


def test_uv_dependency_group_change_is_fresh_for_the_runtime(uv_project, tmp_path, capsys):
    # uv fingerprints dependency groups too (`requires-dev`), so its check says stale; but no group
    # reaches the runtime set the hook records, so the lock still says what the project runs with.
    edit = in_pyproject('dev = ["pytest"]', 'dev = ["pytest", "ruff"]')
    assert judged(uv_project, edit, "uv.lock", tmp_path, capsys) is None
    assert tool_says_fresh(lambda: uv("lock", "--check", cwd=tmp_path / "project"), "uv lock") is False


# Poetry


@pytest.fixture(scope="module")
def poetry_project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("poetry-stale")
    (path / "pyproject.toml").write_text(textwrap.dedent(POETRY_PYPROJECT) + SIMPLE_INDEX, encoding="utf-8")
    (path / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n", encoding="utf-8")
    run_tool(POETRY, "poetry", "lock", cwd=path)
    return path


def test_a_lock_of_poetry_before_2_3_is_fresh_by_the_hash_without_dependency_groups(poetry_project, tmp_path, capsys):
    # Poetry 2.3 began to hash [dependency-groups]; a lock an older Poetry wrote holds the hash without them.
    project = hooked_copy(poetry_project, tmp_path / "project")
    lock = project.path / "poetry.lock"
    header, rest = lock.read_text(encoding="utf-8").split("\n", 1)
    assert re.search(r"Poetry \d", header), header
    grouped = '[dependency-groups]\nlint = ["ruff"]\n\n[tool.poetry.group'
    edited(project.path / "pyproject.toml", "[tool.poetry.group", grouped)
    lock.write_text(re.sub(r"Poetry [^ ]+", "Poetry 2.2.1", header) + "\n" + rest, encoding="utf-8")
    assert hook_warnings(project, capsys) == []
    assert tool_says_fresh(lambda: run_tool(POETRY, "poetry", "check", "--lock", cwd=project.path), "") is True


# pdm


@pytest.fixture(scope="module")
def pdm_project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pdm-stale") / "demo"
    path.mkdir()
    (path / "pyproject.toml").write_text(SAMPLE_PYPROJECT, encoding="utf-8")
    pdm("lock", cwd=path)
    return path


# pipenv


@pytest.fixture(scope="module")
def pipenv_locked(pipenv_project) -> Path:  # noqa: F811  # the fixture test_lock_pipfile shares
    return pipenv_project["project"]


# Each tool's locked project (a fixture), its lock, its own check, the words that check says a stale lock
# with, and the hook's words for one.
CHECKS = {
    "poetry": (
        "poetry_project",
        "poetry.lock",
        lambda project: run_tool(POETRY, "poetry", "check", "--lock", cwd=project),
        "changed significantly since poetry.lock was last generated",
        "its content-hash is not that of pyproject.toml's dependencies, sources and requires-python;"
        " lock again with `poetry lock`",
    ),
    "pdm": (
        "pdm_project",
        "pdm.lock",
        lambda project: pdm("lock", "--check", "-v", cwd=project),
        "out of date",
        "its content_hash is not that of pyproject.toml's dependencies, sources, requires-python and resolution;"
        " lock again with `pdm lock`",
    ),
    "pipenv": (
        "pipenv_locked",
        "Pipfile.lock",
        lambda project: pipenv("verify", cwd=project),
        "out-of-date",
        "its _meta hash is not that of the packages, sources and requires of the Pipfile beside it;"
        " lock again with `pipenv lock`",
    ),
}
CASES = [
    *(pytest.param(tool, unchanged, True, id=f"{tool}-fresh") for tool in CHECKS),
    *(pytest.param(tool, ADD_HTTPX, False, id=f"{tool}-runtime-added") for tool in ("poetry", "pdm")),
    pytest.param("poetry", in_pyproject('version = "0.1.0"', 'version = "0.2.0"'), True, id="poetry-version-changed"),
    pytest.param("poetry", in_pyproject('pytest = "*"', 'pytest = "*"\nruff = "*"'), False, id="poetry-group-changed"),
    pytest.param(
        "poetry",
        in_pyproject("[tool.poetry.group", '[dependency-groups]\nlint = ["ruff"]\n\n[tool.poetry.group'),
        False,
        id="poetry-pep-735-group-added",
    ),
    pytest.param("pdm", in_pyproject('version = "1.2.3"', 'version = "1.3.0"'), True, id="pdm-version-changed"),
    pytest.param("pdm", in_pyproject('cli = ["click"]', 'cli = ["click>=8"]'), False, id="pdm-extra-changed"),
    pytest.param("pdm", in_pyproject('dev = ["pytest"]', 'dev = ["pytest", "ruff"]'), False, id="pdm-group-changed"),
    pytest.param(
        "pipenv", in_pipfile('requests = ">=2.31"', 'Requests = ">=2.31"'), True, id="pipenv-name-spelled-otherwise"
    ),
    pytest.param(
        "pipenv",
        in_pipfile('requests = ">=2.31"', 'requests = ">=2.31"\nhttpx = ">=0.27"'),
        False,
        id="pipenv-package-added",
    ),
    pytest.param(
        "pipenv", in_pipfile('pytest = "*"', 'pytest = "*"\nruff = "*"'), False, id="pipenv-dev-package-added"
    ),
]


@pytest.mark.parametrize(("tool", "edit", "fresh"), CASES)
def test_verdict_is_the_tools_own(tool, edit, fresh, request, tmp_path, capsys):
    fixture, lock, check, stale_words, says = CHECKS[tool]
    warning = judged(request.getfixturevalue(fixture), edit, lock, tmp_path, capsys)
    assert tool_says_fresh(lambda: check(tmp_path / "project"), stale_words) is fresh
    assert_verdict(warning, fresh, says)


def test_a_pipfile_without_sources_is_not_checked(pipenv_locked, tmp_path, capsys):
    # pipenv hashes such a Pipfile with the indexes of the pip configuration of the machine it runs
    # on, which no file of the project records: the hook cannot tell, so it says nothing, though
    # here (the lock was made with a [[source]]) pipenv says the lock is out of date.
    without = in_pipfile(re.search(r"\[\[source\]\]\n(?:.+\n)+\n", (pipenv_locked / "Pipfile").read_text())[0], "")
    assert judged(pipenv_locked, without, "Pipfile.lock", tmp_path, capsys) is None
    assert "[[source]]" not in (tmp_path / "project" / "Pipfile").read_text()
    assert tool_says_fresh(lambda: pipenv("verify", cwd=tmp_path / "project"), "out-of-date") is False


# Under a real frontend


def stale_uv_copy(uv_project: Path, destination: Path, hook_config: str = "") -> Project:
    """A copy of the uv project, built with the hook, to which a runtime dependency was added after `uv lock`."""
    project = hooked_copy(uv_project, destination, hook_config)
    ADD_HTTPX(project.path)
    return project


STALE_UV = (
    "is stale: its entry for demo-pkg does not match pyproject.toml: requires-dist lacks `httpx>=0.27`;"
    " lock again with `uv lock`"
)


def test_a_build_warns_of_a_stale_lock_in_one_line_and_records_it(uv_project, tmp_path):
    project = stale_uv_copy(uv_project, tmp_path / "project")
    result = project.build("wheel")
    stale = [line for line in (result.stdout + result.stderr).splitlines() if "is stale" in line]
    assert stale == [f"{WARNING} {project.path / 'uv.lock'} {STALE_UV}; recording it as it is"], result.stderr
    recorded = {name for name, *_ in read_target(str(wheel_in(result.outdir))).dependencies}
    assert "requests" in recorded and "httpx" not in recorded, recorded


def test_require_lock_fails_the_build_with_that_one_line(uv_project, tmp_path):
    project = stale_uv_copy(uv_project, tmp_path / "project", "require-lock = true\n")
    result = project.build("wheel", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    (line,) = [line for line in output.splitlines() if "is stale" in line]
    assert line.endswith(f"Build hook `buildinfo`: {project.path / 'uv.lock'} {STALE_UV}, and `require-lock` is true")
    assert "Traceback" not in output, output
    assert not list(result.outdir.glob("*.whl"))


# Markers uv could write for one a user wrote: the same where they hold in the same environments


@pytest.mark.parametrize(
    ("declared", "recorded", "same"),
    [
        ("python_version <= '3.12'", "python_full_version < '3.13'", True),
        ("python_version <= '3.12'", "python_full_version < '3.12'", False),
        ("python_version > '3.9'", "python_full_version >= '3.10'", True),
        ("python_version > '3.9'", "python_full_version > '3.9'", False),
        ("python_full_version ~= '3.8.1'", "python_full_version >= '3.8.1' and python_full_version < '3.9'", True),
        ("sys_platform == 'win32' and os_name == 'nt'", "os_name == 'nt' and sys_platform == 'win32'", True),
        ("sys_platform == 'win32' or os_name == 'nt'", "os_name == 'nt' and sys_platform == 'win32'", False),
        ("'linux' in sys_platform", "sys_platform == 'linux'", False),
    ],
)
def test_markers_compare_by_meaning(declared, recorded, same, tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\nrequires-python = ">=3.9"\n\n[[package]]\nname = "demo-pkg"\nversion = "1.2.3"\n'
        'source = { editable = "." }\n\n[package.metadata]\n'
        f'requires-dist = [{{ name = "idna", marker = "{recorded}" }}]\n',
        encoding="utf-8",
    )
    project = LockProject("demo-pkg", (f"idna; {declared}",), root=tmp_path)
    assert (stale(lock, project) is None) is same


# Held to packaging: two markers the check calls the same hold in the same environments

PLATFORMS = [  # sys_platform, platform_system, os_name as one interpreter reports them
    ("linux", "Linux", "posix"),
    ("win32", "Windows", "nt"),
    ("darwin", "Darwin", "posix"),
    ("emscripten", "Emscripten", "posix"),
    ("freebsd14", "FreeBSD", "posix"),
]
# Final releases only: uv, whose verdict the check follows, takes `python_version > '3.9'` for
# `python_full_version >= '3.10'`, which a pre-release such as 3.10.0rc1 tells apart.
PYTHONS = ["3.8.18", "3.9.0", "3.9.18", "3.10.0", "3.10.1", "3.10.13", "3.11.0", "3.11.7", "3.12.1", "3.13.0"]
atoms = st.builds(
    lambda variable, op, value: f"{variable} {op} '{value}'",
    st.sampled_from(["python_version", "python_full_version"]),
    st.sampled_from(["<", "<=", "==", "!=", ">=", ">"]),
    st.sampled_from(["3.9", "3.10", "3.10.1", "3.11"]),
) | st.builds(
    lambda variable, op, value: f"{variable} {op} '{value}'",
    st.sampled_from(["sys_platform", "platform_system", "os_name"]),
    st.sampled_from(["==", "!="]),
    st.sampled_from(["win32", "linux", "Windows", "Linux", "nt", "posix", "FreeBSD"]),
)
small_markers = st.recursive(
    atoms,
    lambda inner: st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["and", "or"]), inner),
    max_leaves=3,
)


@settings(max_examples=300, deadline=None)
@given(declared=small_markers, recorded=small_markers)
def test_markers_called_the_same_hold_in_the_same_environments(declared, recorded, tmp_path_factory):
    lock = tmp_path_factory.mktemp("marker") / "uv.lock"
    lock.write_text(
        'version = 1\n\n[[package]]\nname = "demo-pkg"\nversion = "1.2.3"\nsource = { editable = "." }\n\n'
        f'[package.metadata]\nrequires-dist = [{{ name = "idna", marker = "{recorded}" }}]\n',
        encoding="utf-8",
    )
    if stale(lock, LockProject("demo-pkg", (f"idna; {declared}",), root=lock.parent)) is not None:
        return
    for python in PYTHONS:
        for sys_platform, platform_system, os_name in PLATFORMS:
            environment = {
                "python_full_version": python,
                "python_version": ".".join(python.split(".")[:2]),
                "sys_platform": sys_platform,
                "platform_system": platform_system,
                "os_name": os_name,
            }
            assert Marker(declared).evaluate(environment) == Marker(recorded).evaluate(environment), environment
