"""Adopting the hook in an existing project with the README's snippet alone.

Real projects have what our first fixtures lacked: a `requirements.txt` of development tools,
a runtime lock named in configuration that the sdist does not carry, an import package named
unlike the project. Each is built here by real frontends in isolation, and what the artifacts
record is checked, not only that the build passed.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import (
    UV,
    Project,
    clean_environment,
    new_project,
    read_target,
    renamed_package,
    run,
    sdist_in,
    wheel_in,
    wheel_table,
    with_pyproject,
)

# Each frontend's command, building the project in the working directory into `{out}`.
BUILD = [sys.executable, "-m", "build", "--outdir", "{out}", "."]  # the sdist, then the wheel from the sdist
ISOLATED = {"python -m build": BUILD, "uv build": [UV, "build", "--out-dir", "{out}", "."]}


def committed(project: Project) -> Project:
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("initial")
    return project


def build(project: Project, frontend: list[str], environment: dict[str, str], outdir: Path, check: bool = True):
    command = [str(outdir) if part == "{out}" else part for part in frontend]
    return run(*command, cwd=project.path, env=environment, check=check)


# A root requirements.txt of development tools, as many libraries keep one.
DEV_TOOLS = """\
-e .[cli,docs]
pytest==8.3.3
mypy==1.13.0
mkdocs==1.6.1
"""


@pytest.mark.parametrize("frontend", ISOLATED)
def test_a_requirements_file_of_development_tools_records_no_dependencies_and_says_why(tmp_path, offline, frontend):
    project = new_project(tmp_path / "demo")
    project.write("requirements.txt", DEV_TOOLS)
    with_pyproject(project, '[project.optional-dependencies]\ncli = ["click"]\ndocs = ["mkdocs"]\n\n')
    committed(project)

    result = build(project, ISOLATED[frontend], offline, tmp_path / "out")

    for artifact in (sdist_in(tmp_path / "out"), wheel_in(tmp_path / "out")):
        info = read_target(str(artifact))
        assert (info.revision, info.dependencies) == (project.git("rev-parse", "HEAD"), ()), artifact.name
    said = [line for line in (result.stdout + result.stderr).splitlines() if "requirements.txt" in line]
    assert said, result.stdout + result.stderr
    assert set(said) == {
        f"hatch-buildinfo: {project.path / 'requirements.txt'}:1: -e .[cli,docs]: installs the project itself, "
        "as a development requirements file does, so it is not read as the runtime lock "
        "(name that with option `lockfile`); recording no dependencies and no SBOM"
    }
    assert project.git("status", "--porcelain", "--ignored") == ""


@pytest.fixture(scope="module")
def pinned_outside_the_sdist(tmp_path_factory) -> Project:
    """A project whose runtime lock, named in `lockfile`, includes a second file; the sdist carries neither."""
    project = new_project(tmp_path_factory.mktemp("pinned") / "demo", 'lockfile = "requirements/runtime.txt"\n')
    with_pyproject(project, '[tool.hatch.build.targets.sdist]\nexclude = ["requirements"]\n\n')
    project.write("requirements/runtime.txt", "-r base.txt\nidna==3.10\n")
    project.write("requirements/base.txt", "certifi==2024.8.30\n")
    return committed(project)


PINNED = (("certifi", "2024.8.30"), ("idna", "3.10"))


@pytest.mark.parametrize("frontend", ISOLATED)
def test_a_named_lock_reaches_the_wheel_built_from_the_sdist(pinned_outside_the_sdist, offline, tmp_path, frontend):
    outdir = tmp_path / "out"
    build(pinned_outside_the_sdist, ISOLATED[frontend], offline, outdir)

    with tarfile.open(sdist_in(outdir)) as sdist:
        assert not [name for name in sdist.getnames() if "requirements" in name]
    for artifact in (sdist_in(outdir), wheel_in(outdir)):
        assert read_target(str(artifact)).dependencies == PINNED, artifact.name


def test_pip_wheel_of_that_sdist_records_the_lock(pinned_outside_the_sdist, offline, tmp_path):
    # The sdist in this environment (its build is not what is tested); pip builds the wheel in isolation.
    sdist = sdist_in(pinned_outside_the_sdist.build("sdist", outdir=tmp_path / "sdist").outdir)

    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--wheel-dir",
        tmp_path / "out",
        sdist,
        cwd=tmp_path,
        env=offline,
    )

    assert read_target(str(wheel_in(tmp_path / "out"))).dependencies == PINNED


@pytest.mark.parametrize("frontend", ISOLATED)
def test_a_package_named_unlike_its_project_holds_the_module(tmp_path, offline, frontend):
    project = committed(renamed_package(new_project(tmp_path / "foo-cffi", name="foo-cffi"), "foo"))

    build(project, ISOLATED[frontend], offline, tmp_path / "out")

    with zipfile.ZipFile(wheel_in(tmp_path / "out")) as wheel:
        assert "foo/_buildinfo.py" in wheel.namelist()
    for artifact in (sdist_in(tmp_path / "out"), wheel_in(tmp_path / "out")):
        info = read_target(str(artifact))
        assert (info.program, info.revision) == ("foo_cffi", project.git("rev-parse", "HEAD")), artifact.name


# Where the module goes: hatchling's own choice of the wheel's packages, asked of the hook as hatchling makes it.


@pytest.mark.parametrize(
    ("table", "packages", "expected"),
    [
        pytest.param('packages = ["src/foo"]', ["src/foo"], "src/foo/_buildinfo.py", id="packages"),
        pytest.param('only-include = ["src"]\nsources = ["src"]', ["src/foo"], "src/foo/_buildinfo.py", id="sources"),
        pytest.param('packages = ["lib/acme"]', ["lib/acme/foo"], "lib/acme/foo/_buildinfo.py", id="namespace"),
        pytest.param(
            'packages = ["src/demo_pkg", "src/demo_pkg_testing"]',
            ["src/demo_pkg", "src/demo_pkg_testing"],
            "src/demo_pkg/_buildinfo.py",
            id="one-named-after-the-project",
        ),
        pytest.param('include = ["lib/demo_pkg"]\nsources = ["lib"]', ["lib/demo_pkg"], "lib/demo_pkg/_buildinfo.py"),
        pytest.param(
            'include = ["/pymdownx"]', ["pymdownx", "pymdownx/slugs"], "pymdownx/_buildinfo.py", id="include-pattern"
        ),
    ],
)
def test_the_default_path_is_in_the_package_hatchling_ships(tmp_path, table, packages, expected):
    project = wheel_table(new_project(tmp_path / "demo"), table)
    for package in packages:
        project.write(f"{package}/__init__.py", "")

    for target in ("wheel", "sdist"):
        assert project.hook(target).config_path == expected


def test_several_packages_ask_for_path_naming_them(tmp_path, capsys):
    project = wheel_table(new_project(tmp_path / "demo"), 'packages = ["src/foo", "src/bar"]')
    project.write("src/foo/__init__.py", "")
    project.write("src/bar/__init__.py", "")

    with pytest.raises(SystemExit) as aborted:
        project.hook().initialize("standard", {"force_include": {}})

    assert aborted.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "Option `path` for build hook `buildinfo` is required: the wheel ships 2 packages (src/bar, src/foo): "
        "name one, e.g. 'src/bar/_buildinfo.py'"
    ]


# Errors reach the user as one line, whatever the frontend.

FRONTENDS = {
    **ISOLATED,
    "pip wheel": [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", "{out}", "."],
    "hatch build": [UV, "tool", "run", "--from", "hatch", "hatch", "build", "{out}"],
}


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_an_error_is_one_line_without_a_traceback_under_every_frontend(tmp_path, offline, wheelhouse, frontend):
    project = committed(new_project(tmp_path / "demo", 'program = "my-app"\n'))
    environment = offline
    if frontend == "hatch build":
        # hatch itself comes from the index; the hook from the wheelhouse, in environments hatch keeps in tmp_path.
        environment = clean_environment(
            PIP_FIND_LINKS=str(wheelhouse),
            UV_FIND_LINKS=str(wheelhouse),
            UV_CACHE_DIR=offline["UV_CACHE_DIR"],
            HATCH_DATA_DIR=str(tmp_path / "hatch-data"),
            HATCH_CACHE_DIR=str(tmp_path / "hatch-cache"),
        )

    result = build(project, FRONTENDS[frontend], environment, tmp_path / "out", check=False)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    message = "Option `program` for build hook `buildinfo` must be a valid metric name prefix: 'my-app'"
    assert [line.strip(" │") for line in output.splitlines() if "`program`" in line] == [message], output
    assert not list(tmp_path.glob("**/*.whl")) and not list(project.path.glob("dist/*"))
