"""Pinned requirements files: pip-compile's and pip freeze's output, and pip's syntax by hand."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from conftest import run_tool
from lock_build import SAMPLE_PYPROJECT, built_dependencies, hooked_copy, pairs

from hatch_buildinfo.hook.locks import Locked, LockError, NotARuntimeLock, Project, normalize_name, read_lock

DEMO = Project("demo-pkg")
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)
HASH = re.compile(r"--hash[= ](\S+)")


def exported_hashes(text: str) -> dict[tuple[str, str], set[str]]:
    """{(name, version): its `--hash` values} of a requirements file with hashes, read with two regexes.

    The referee for the hashes of every lock format: what its tool writes into a requirements
    file for pip's hash-checking mode.
    """
    found: dict[tuple[str, str], set[str]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        pin = PIN.match(line)
        if pin:
            found.setdefault((normalize_name(pin[1]), pin[2]), set()).update(HASH.findall(line))
    return found


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """pip-compile's lock of the demo project's runtime dependencies, with hashes."""
    path = tmp_path_factory.mktemp("pip-tools") / "demo"
    path.mkdir()
    (path / "pyproject.toml").write_text(SAMPLE_PYPROJECT, encoding="utf-8")
    run_tool(
        "pip-tools", "pip-compile", "--quiet", "--generate-hashes", "-o", "requirements.txt", "pyproject.toml", cwd=path
    )
    return path / "requirements.txt"


def test_pip_compile_output(compiled):
    text = compiled.read_text(encoding="utf-8")
    assert "--hash=sha256:" in text and "# via" in text

    locked = read_lock(compiled, DEMO)

    assert {(package.name, package.version) for package in locked} == {
        (normalize_name(name), version) for name, version in PIN.findall(text)
    }
    assert {"requests", "idna", "urllib3"} <= {package.name for package in locked}
    assert not {"click", "pytest", "demo-pkg"} & {package.name for package in locked}


def test_pip_compile_hashes_are_read_and_no_graph(compiled):
    """Each pin carries its --hash options; the `# via` comments are no graph a lock records."""
    locked = read_lock(compiled, DEMO)

    assert {(package.name, package.version): set(package.hashes) for package in locked} == exported_hashes(
        compiled.read_text(encoding="utf-8")
    )
    assert all(package.hashes and package.hashes == tuple(sorted(set(package.hashes))) for package in locked)
    assert all(hash.startswith("sha256:") for package in locked for hash in package.hashes)
    assert not any(package.requires for package in locked)


def test_a_wheel_built_with_the_hook_records_what_pip_compile_pinned(compiled, tmp_path):
    """The compiled file under a name the hook does not look for, named by the `lockfile` option."""
    project = hooked_copy(compiled.parent, tmp_path / "demo", 'lockfile = "requirements/runtime.txt"\n')
    (project.path / "requirements").mkdir()
    (project.path / "requirements.txt").rename(project.path / "requirements" / "runtime.txt")

    recorded = built_dependencies(project)

    pinned = PIN.findall(compiled.read_text(encoding="utf-8"))
    assert pairs(recorded) == {(normalize_name(name), version) for name, version in pinned}
    assert not {"click", "pytest", "pluggy", "iniconfig", "demo-pkg"} & {name for name, _ in pairs(recorded)}


def test_pip_freeze_output(compiled, tmp_path):
    """Install pip-compile's pins, then read back what `pip freeze` says is installed."""
    target = tmp_path / "site"
    run_tool(
        "pip", "pip", "install", "--quiet", "--no-deps", "--target", str(target), "-r", str(compiled), cwd=tmp_path
    )
    frozen = tmp_path / "requirements-frozen.txt"
    frozen.write_text(run_tool("pip", "pip", "freeze", "--path", str(target), cwd=tmp_path), encoding="utf-8")

    # pip freeze writes no hashes: the same pins, none hashed.
    assert [Locked(package.name, package.version, package.marker) for package in read_lock(compiled, DEMO)] == list(
        read_lock(frozen, DEMO)
    )


# pip's syntax, by hand: no tool writes all of it into one file.


def write(directory: Path, relative: str, text: str) -> Path:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_includes_continuations_comments_markers_and_options(tmp_path):
    write(tmp_path, "pyproject.toml", SAMPLE_PYPROJECT)
    write(
        tmp_path,
        "requirements.txt",
        """\
        # Runtime pins.
        --index-url https://user:secret@example.invalid/simple
        --extra-index-url=https://example.invalid/extra
        --find-links ./wheels
        -c constraints-that-install-nothing.txt
        -r locks/base.txt

        requests[socks]==2.32.3 \\
            --hash=sha256:bbbb \\
            --hash sha256:aaaa \\
            --hash=SHA256:BBBB
            # via demo-pkg
        tomli==2.0.1 ; python_version < "3.11"  # an inline comment
        Foo_Bar==1.0 --hash=sha256:cccc --hash=sha384:dddd
        -e .
        demo-pkg @ file:///somewhere/demo
        """,
    )
    write(tmp_path, "locks/base.txt", "-r common.txt\nidna==3.10 \\\n  ; python_version >= '3.9'\n")
    write(tmp_path, "locks/common.txt", "certifi==2024.8.30\n-r ../locks/tail.txt\n")
    write(tmp_path, "locks/tail.txt", "urllib3==2.2.3\n")

    assert read_lock(tmp_path / "requirements.txt", DEMO) == (
        Locked("certifi", "2024.8.30"),
        Locked("foo-bar", "1.0", hashes=("sha256:cccc", "sha384:dddd")),
        Locked("idna", "3.10", 'python_version >= "3.9"'),
        Locked("requests", "2.32.3", hashes=("sha256:aaaa", "sha256:bbbb")),
        Locked("tomli", "2.0.1", 'python_version < "3.11"'),
        Locked("urllib3", "2.2.3"),
    )


def test_a_file_included_twice_is_no_cycle(tmp_path):
    write(tmp_path, "requirements.txt", "-r a.txt\n-r b.txt\n")
    write(tmp_path, "a.txt", "-r common.txt\n")
    write(tmp_path, "b.txt", "-r common.txt\n")
    write(tmp_path, "common.txt", "idna==3.10\n")
    assert read_lock(tmp_path / "requirements.txt", DEMO) == (Locked("idna", "3.10"),)


# Malformed input.


def lock_error(path: Path, project: Project = DEMO, kind: type[LockError] = LockError) -> str:
    with pytest.raises(kind) as error:
        read_lock(path, project)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_requirement_that_is_not_pinned(tmp_path):
    path = write(tmp_path, "requirements.txt", "idna==3.10\n# a comment\nrequests>=2\n")
    assert lock_error(path) == (
        f"{path}:3: requests>=2: not pinned with ==: a requirements file is a lock only when every line pins a version"
    )


@pytest.mark.parametrize("line", ["requests", "requests==2.*", "requests>=2,<3", "requests~=2.32"])
def test_other_loose_requirements(tmp_path, line):
    path = write(tmp_path, "requirements.txt", f"{line}\n")
    assert lock_error(path).startswith(f"{path}:1: {line}: not pinned with ==")


def test_a_missing_include(tmp_path):
    path = write(tmp_path, "requirements.txt", "idna==3.10\n-r missing.txt\n")
    assert lock_error(path) == (
        f"{path}:2: -r missing.txt: the included file {tmp_path / 'missing.txt'} does not exist"
    )


def test_an_include_cycle(tmp_path):
    first = write(tmp_path, "requirements.txt", "-r sub/second.txt\n")
    second = write(tmp_path, "sub/second.txt", "idna==3.10\n--requirement=../requirements.txt\n")
    cycle = f"{first.resolve()} -> {second.resolve()} -> {first.resolve()}"
    assert lock_error(first) == f"{second}:2: -r ../requirements.txt: include cycle: {cycle}"


def test_a_missing_file(tmp_path):
    assert "cannot read the lock" in lock_error(tmp_path / "requirements.txt")


def test_an_editable_install_of_another_project(tmp_path):
    path = write(tmp_path, "requirements.txt", "idna==3.10\n-e ../other\n")
    assert lock_error(path) == (
        f"{path}:2: -e ../other: an editable install has no version; a lock of runtime dependencies pins every version"
    )


def test_an_editable_install_of_the_project_itself_is_left_out(tmp_path):
    write(tmp_path, "pyproject.toml", SAMPLE_PYPROJECT)
    path = write(
        tmp_path, "requirements.txt", "idna==3.10\n-e .\n-e git+https://example.invalid/demo.git#egg=demo_pkg\n"
    )
    assert read_lock(path, DEMO) == (Locked("idna", "3.10"),)


def test_urls_in_errors_lose_their_credentials(tmp_path):
    path = write(tmp_path, "requirements.txt", "-e git+https://user:secret@example.invalid/other.git\n")
    message = lock_error(path)
    assert "secret" not in message and "https://***@example.invalid/other.git" in message

    path = write(tmp_path, "requirements.txt", "other @ https://user:secret@example.invalid/other-1.0.tar.gz\n")
    assert lock_error(path) == f"{path}:1: other: installed from a URL, not pinned to a version"


@pytest.mark.parametrize("option", ["--hash=sha256", "--hash=sha256:not-hex", "--hash=:abcd", "--hash"])
def test_a_malformed_hash(tmp_path, option):
    path = write(tmp_path, "requirements.txt", f"certifi==2024.8.30\nidna==3.10 \\\n    {option}\n")
    assert lock_error(path).startswith(f"{path}:2: idna: has a hash that is not <algorithm>:<hex digest>: ")


def test_a_name_pinned_twice(tmp_path):
    path = write(tmp_path, "requirements.txt", "idna==3.10\nIDNA==3.7\n")
    assert lock_error(path) == f"{path}:2: idna: pinned again at 3.7, already at 3.10 in {path}:1"


# What makes a requirements file no lock of the project's runtime.

DETECTED = Project("demo-pkg", detected=True)
# A development file as many libraries keep one: it installs the project with extras, then the tools.
DEV_TOOLS = "-e .[cli,test]\npytest==8.3.3\nmypy==1.13.0\n"


@pytest.mark.parametrize(
    "line",
    [
        "-e .[cli,test]",
        "-e ./[cli]",
        "--editable=.",
        ".[cli]",
        "./",
        "-e file://{root}[cli]",
        "-e git+https://example.invalid/demo.git#egg=demo_pkg[cli]",
    ],
)
def test_the_project_itself_with_extras_is_left_out_of_a_named_file(tmp_path, line):
    write(tmp_path, "pyproject.toml", SAMPLE_PYPROJECT)
    path = write(tmp_path, "requirements.txt", f"idna==3.10\n{line.format(root=tmp_path)}\n")
    assert read_lock(path, DEMO) == (Locked("idna", "3.10"),)


def test_a_found_file_that_installs_the_project_itself_is_no_runtime_lock(tmp_path):
    write(tmp_path, "pyproject.toml", SAMPLE_PYPROJECT)
    path = write(tmp_path, "requirements.txt", DEV_TOOLS)
    message = lock_error(path, DETECTED, NotARuntimeLock)
    assert message == f"{path}:1: -e .[cli,test]: installs the project itself, as a development requirements file does"


def test_a_local_install_of_another_project_is_no_pin(tmp_path):
    path = write(tmp_path, "requirements.txt", "idna==3.10\n../other[extra]\n")
    message = lock_error(path, kind=NotARuntimeLock)
    assert message == (
        f"{path}:2: ../other[extra]: a local install has no version; a lock of runtime dependencies pins every version"
    )


@pytest.mark.parametrize("detected", [False, True])
def test_a_declared_dependency_left_unpinned_makes_no_runtime_lock(tmp_path, detected):
    """pip-compile of the project pins `requests`; a file of tools does not. A marker-gated need may be absent."""
    project = Project(
        "demo-pkg",
        dependencies=("requests>=2.31", "colorama; sys_platform == 'win32'"),
        optional_dependencies={"CLI": ("click>=8",)},
        detected=detected,
    )
    path = write(tmp_path, "requirements.txt", "requests==2.32.3\npytest==8.3.3\n")
    assert read_lock(path, project) == (Locked("pytest", "8.3.3"), Locked("requests", "2.32.3"))

    with_extra = Project(**{**vars(project), "extras": ("cli",)})
    message = lock_error(path, with_extra, NotARuntimeLock)
    assert (
        message
        == f"{path}: click>=8: the project depends on it, but the file pins no version: it is not the runtime lock"
    )


@pytest.mark.parametrize("marker", ["os_name ~= 'posix'", "extra == 'cli'"])
def test_a_marker_run_time_could_not_evaluate_fails_naming_the_entry(tmp_path, marker):
    path = write(tmp_path, "requirements.txt", f"idna==3.10 ; {marker}\n")
    assert lock_error(path).startswith(f"{path}: idna: cannot evaluate marker ")
