"""uv workspace members: each records its own runtime closure from the one uv.lock at the workspace root.

A real workspace, made and locked by real uv in a git repository: `app` depends on its sibling
`lib` and has an extra; `lib` depends on `plugin`, a member with a dynamic version, and names the
root lock in `lockfile`; `scratch` matches `members` but is excluded. What each member records is
checked against `uv export --package MEMBER`.
"""

from __future__ import annotations

import posixpath
import shutil
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from conftest import UV, Project, read_target, run, run_tool, sdist_in, wheel_in
from hatchling.metadata.core import ProjectMetadata
from lock_build import BUILD_SYSTEM, exported_pins
from test_lock_pdm import pdm
from test_lock_poetry import SIMPLE_INDEX
from test_lock_uv import assert_same_as, uv

from hatch_buildinfo.hook.build_hook import BuildInfoBuildHook
from hatch_buildinfo.hook.errors import BuildInfoError
from hatch_buildinfo.hook.locks import Locked
from hatch_buildinfo.hook.locks.workspace import uv_workspace_root

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

UNHOOKED = BUILD_SYSTEM.replace(', "hatch-buildinfo"', "")
MEMBERS = {
    "packages/app": """\
        [project]
        name = "app"
        version = "1.0.0"
        requires-python = ">=3.9"
        dependencies = ["lib>=2", "idna>=3", "colorama; platform_system == 'Windows'"]

        [project.optional-dependencies]
        cli = ["click"]

        [tool.uv.sources]
        lib = { workspace = true }

        [tool.hatch.build.hooks.buildinfo]
        """,
    "packages/lib": """\
        [project]
        name = "lib"
        version = "2.0.0"
        requires-python = ">=3.9"
        dependencies = ["certifi", "plugin"]

        [tool.uv.sources]
        plugin = { workspace = true }

        [tool.hatch.build.hooks.buildinfo]
        lockfile = "../../uv.lock"
        """,
    "packages/scratch": """\
        [project]
        name = "scratch"
        version = "0.1.0"
        dependencies = ["idna"]

        [tool.hatch.build.hooks.buildinfo]
        """,
}
PLUGIN = """\
[project]
name = "plugin"
dynamic = ["version"]
requires-python = ">=3.9"

[tool.hatch.version]
path = "plugin/__init__.py"
"""
ROOT = """\
[project]
name = "mono"
version = "0.0.0"
requires-python = ">=3.9"

[tool.uv.workspace]
members = ["packages/*"]
exclude = ["packages/scratch"]
"""
DYNAMIC_NOTE = "plugin: the lock records no version (a source tree with a dynamic version)"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The workspace, locked by `uv lock` at its root and committed."""
    root = tmp_path_factory.mktemp("workspace") / "mono"
    project = Project(root)
    project.write("pyproject.toml", ROOT)
    for member, pyproject in MEMBERS.items():
        project.write(f"{member}/pyproject.toml", BUILD_SYSTEM + textwrap.dedent(pyproject))
        name = member.rsplit("/", 1)[1]
        project.write(f"{member}/{name}/__init__.py", f'"""The {name} package."""\n')
    project.write("packages/plugin/pyproject.toml", UNHOOKED + PLUGIN)
    project.write("packages/plugin/plugin/__init__.py", '__version__ = "0.3.0"\n')
    uv("lock", cwd=root)
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("a uv workspace")
    return root


def exported(root: Path, member: str, *extras: str) -> dict[tuple[str, str], str | None]:
    """{(name, version): marker} of `uv export --package member`; a sibling member at the version the lock gives it.

    uv exports a sibling as `-e ./packages/<name>`; one the lock records without a version (a
    dynamic version) is left out, as the hook leaves it out.
    """
    flags = [argument for extra in extras for argument in ("--extra", extra)]
    text = uv(
        "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--package", member, *flags, cwd=root
    )
    found = {(name, version): str(marker) if marker else None for name, version, marker in exported_pins(text)}
    lock = tomllib.loads((root / "uv.lock").read_text(encoding="utf-8"))
    members = {entry["source"]["editable"]: entry for entry in lock["package"] if "editable" in entry["source"]}
    for line in text.splitlines():
        if line.startswith("-e "):
            path, _, marker = line[len("-e ") :].partition(";")
            entry = members[posixpath.normpath(path.strip())]
            if "version" in entry:
                found[(entry["name"], entry["version"])] = marker.strip() or None
    return found


def as_locked(dependencies: tuple[tuple[str, ...], ...]) -> tuple[Locked, ...]:
    """Recorded (name, version[, marker]) tuples as Locked, for assert_same_as."""
    return tuple(Locked(name, version, marker[0] if marker else None) for name, version, *marker in dependencies)


def hook_with(directory: Path, **config: object) -> BuildInfoBuildHook:
    """The hook of the project in `directory` with `config` instead of its pyproject.toml's table."""
    metadata = ProjectMetadata(str(directory), None)
    return BuildInfoBuildHook(str(directory), config, None, metadata, str(directory / "dist"), "wheel")


def output_lines(result, text: str) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if text in line]


FRONTENDS = {
    # From the member's own directory: the sdist, then the wheel from the unpacked sdist.
    "python -m build": lambda root, member, outdir: (
        [sys.executable, "-m", "build", "--outdir", outdir, "."],
        root / "packages" / member,
    ),
    # From the workspace root: uv builds the sdist, then the wheel from it.
    "uv build --package": lambda root, member, outdir: ([UV, "build", "--package", member, "--out-dir", outdir], root),
}


@pytest.mark.parametrize("member", ["app", "lib"])
@pytest.mark.parametrize("frontend", FRONTENDS)
def test_a_member_records_what_uv_export_package_gives_in_sdist_and_wheel(
    workspace, offline, tmp_path, frontend, member
):
    outdir = tmp_path / "dist"
    command, cwd = FRONTENDS[frontend](workspace, member, outdir)

    result = run(*command, cwd=cwd, env=offline)

    expected = exported(workspace, member)
    sdist, wheel = sdist_in(outdir), wheel_in(outdir)
    with tarfile.open(sdist) as archive:
        assert not [name for name in archive.getnames() if name.endswith("uv.lock")], "the sdist carries no lock"
    for artifact in (sdist, wheel):
        assert_same_as(as_locked(read_target(str(artifact)).dependencies), expected)
    # Once, when the sdist read the lock; the wheel took the sdist's record.
    assert len(output_lines(result, DYNAMIC_NOTE)) == 1, result.stdout + result.stderr
    # uv writes `lib>=2` as the workspace source it is and `platform_system == 'Windows'` as `sys_platform ==
    # 'win32'`: the lock is fresh, as `uv lock --check` says.
    assert output_lines(result, "is stale") == [], result.stdout + result.stderr
    uv("lock", "--check", cwd=workspace)
    assert run("git", "status", "--porcelain", "--ignored", cwd=workspace).stdout == ""


def test_the_expected_sets_hold_a_sibling_leave_out_the_dynamic_member_and_dev_tools(workspace):
    """What the comparisons above compare with: uv's own answer, read as the docstring of `exported` says."""
    app = exported(workspace, "app")
    assert ("lib", "2.0.0") in app
    assert {name for name, _ in app} == {"lib", "certifi", "idna", "colorama"}
    text = uv("export", "--frozen", "--no-dev", "--no-emit-project", "--package", "app", cwd=workspace)
    assert "-e ./packages/plugin" in text  # uv installs it; the lock only has no version for it
    assert {name for name, _ in exported(workspace, "lib")} == {"certifi"}


def test_an_extra_of_a_member_records_uv_export_package_extra(workspace):
    recorded = hook_with(workspace / "packages" / "app", extras=["cli"]).collect().dependencies

    assert_same_as(as_locked(recorded), exported(workspace, "app", "cli"))
    assert "click" in {name for name, *_ in recorded}


def test_a_member_without_the_extra_records_no_extra(workspace):
    recorded = Project(workspace / "packages" / "app").collected().dependencies

    assert_same_as(as_locked(recorded), exported(workspace, "app"))


def test_an_excluded_project_reads_no_workspace_lock(workspace, capsys):
    assert Project(workspace / "packages" / "scratch").collected().dependencies == ()
    said = [line for line in capsys.readouterr().err.splitlines() if "lock" in line]
    assert len(said) == 1 and said[0].startswith("hatch-buildinfo: no lock file ("), said


def test_the_workspace_lock_wins_over_a_lock_file_in_the_member_and_says_so(workspace, tmp_path, capsys):
    copy = tmp_path / "mono"
    shutil.copytree(workspace, copy)
    (copy / "packages" / "app" / "requirements.txt").write_text("idna==3.7\n", encoding="utf-8")

    recorded = Project(copy / "packages" / "app").collected().dependencies

    assert_same_as(as_locked(recorded), exported(workspace, "app"))
    said = [line for line in capsys.readouterr().err.splitlines() if "requirements.txt" in line]
    assert said == [
        "hatch-buildinfo: reading ../../uv.lock, the lock of the uv workspace the project is a member of, "
        "not requirements.txt (name that with option `lockfile` to read it)"
    ]


def test_a_member_of_a_workspace_without_a_lock_says_where_the_lock_belongs(workspace, tmp_path, capsys):
    copy = tmp_path / "mono"
    shutil.copytree(workspace, copy)
    (copy / "uv.lock").unlink()

    assert Project(copy / "packages" / "app").collected().dependencies == ()

    said = [line for line in capsys.readouterr().err.splitlines() if "lock" in line]
    assert len(said) == 1 and said[0].startswith("hatch-buildinfo: no lock file ("), said
    assert said[0].endswith(
        f", nor a uv.lock at the root of its uv workspace ({copy}: run `uv lock` there); "
        "recording no dependencies and no SBOM"
    )


def test_lockfile_may_name_the_workspace_lock_inside_the_worktree(workspace):
    hook = hook_with(workspace / "packages" / "app", lockfile="../../uv.lock")

    assert hook.config_lockfile == "../../uv.lock"
    assert_same_as(as_locked(hook.collect().dependencies), exported(workspace, "app"))


def test_lockfile_outside_the_worktree_is_refused_with_one_line(workspace):
    outside = workspace.parent / "uv.lock"
    shutil.copy(workspace / "uv.lock", outside)
    hook = hook_with(workspace / "packages" / "app", lockfile="../../../uv.lock")

    with pytest.raises(BuildInfoError) as raised:
        hook._validate_config()

    assert str(raised.value) == (
        "Option `lockfile` for build hook `buildinfo` must be a path inside the git worktree that holds the "
        f"project ({workspace}): '../../../uv.lock'"
    )


def test_without_git_lockfile_stays_inside_the_project(tmp_path):
    (tmp_path / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    project = Project(tmp_path / "app")
    project.write("pyproject.toml", BUILD_SYSTEM + textwrap.dedent(MEMBERS["packages/app"]))
    project.write("app/__init__.py", "")

    with pytest.raises(BuildInfoError) as raised:
        hook_with(project.path, lockfile="../uv.lock")._validate_config()

    assert (
        str(raised.value)
        == "Option `lockfile` for build hook `buildinfo` must be a path inside the project: '../uv.lock'"
    )


def test_the_search_for_the_workspace_stops_at_the_top_of_the_git_worktree(workspace, tmp_path):
    """A workspace root above the repository that holds the project is not the project's workspace."""
    outer = tmp_path / "outer"
    shutil.copytree(workspace, outer, ignore=shutil.ignore_patterns(".git"))
    app = Project(outer / "packages" / "app")

    assert_same_as(as_locked(app.collected().dependencies), exported(workspace, "app"))  # no git: up to `/`
    app.git("init", "--quiet", "--initial-branch=main")
    assert app.collected().dependencies == ()


def test_lockfile_naming_a_root_requirements_file_records_all_of_it_or_refuses_an_unpinned_sibling(workspace, tmp_path):
    """A requirements file at a monorepo's root is one set for all its projects, and pins no sibling project."""
    copy = tmp_path / "mono"
    shutil.copytree(workspace, copy)
    (copy / "requirements.txt").write_text("certifi==2024.8.30\nidna==3.7\nsix==1.16.0\n", encoding="utf-8")

    # scratch needs idna alone, yet records all the file pins.
    recorded = hook_with(copy / "packages" / "scratch", lockfile="../../requirements.txt").collect().dependencies
    assert recorded == (("certifi", "2024.8.30"), ("idna", "3.7"), ("six", "1.16.0"))
    # app needs its sibling lib, which the file does not pin: one line says so.
    with pytest.raises(BuildInfoError) as raised:
        hook_with(copy / "packages" / "app", lockfile="../../requirements.txt").collect()
    assert str(raised.value) == (
        f"{copy / 'requirements.txt'}: lib>=2: the project depends on it, but the file pins no version: "
        "it is not the runtime lock"
    )


# Projects around a workspace root, and whether each is a member: uv decides, the test compares.
LAYOUT_ROOT = """\
[project]
name = "root"
version = "0.0.0"

[tool.uv.workspace]
members = ["packages/*", "libs/**/x*", "./tools/one"]
exclude = ["packages/ex*", "packages/sub"]
"""
LAYOUT = (
    "packages/a",  # a member through `packages/*`
    "packages/.hidden",  # `*` matches a hidden directory too
    "packages/excluded",  # `exclude` wins over `members`
    "packages/sub/deep",  # `*` matches one path component, not two
    "packages/a/examples/demo",  # inside another project: uv looks no further
    "libs/one/two/xlib",  # `**` matches any number of components
    "libs/ylib",  # matches no glob
    "tools/one",  # a literal path, written with `./`
)


def test_a_project_is_a_workspace_member_where_uv_says_it_is(tmp_path):
    root = tmp_path / "layout"
    layout = Project(root)
    layout.write("pyproject.toml", LAYOUT_ROOT)
    for directory in LAYOUT:
        layout.write(
            f"{directory}/pyproject.toml",
            f'[project]\nname = "{directory.rsplit("/", 1)[1].strip(".")}"\nversion = "1"\n',
        )
    layout.git("init", "--quiet")

    for directory in LAYOUT:
        path = root / directory
        said = run(UV, "workspace", "dir", cwd=path).stdout.strip()
        ours = uv_workspace_root(path, ProjectMetadata(str(path), None).config, root)
        assert (ours or path) == Path(said), directory
    assert {directory for directory in LAYOUT if uv_workspace_root(root / directory, {}, root)} == {
        "packages/a",
        "packages/.hidden",
        "libs/one/two/xlib",
        "tools/one",
    }


# A monorepo's root locked by a tool without workspaces: the root project depends on every project by path.
MONOREPO_MEMBERS = {"app": '"lib", "idna>=3"', "lib": '"certifi"', "other": '"six"'}
MONOREPO_ROOTS = {
    "poetry.lock": (
        lambda root: run_tool("poetry", "poetry", "lock", cwd=root),
        textwrap.dedent("""\
        [project]
        name = "mono"
        version = "0.0.0"
        requires-python = ">=3.9"

        [tool.poetry]
        package-mode = false

        [tool.poetry.dependencies]
        app = { path = "packages/app", develop = true }
        lib = { path = "packages/lib", develop = true }
        other = { path = "packages/other", develop = true }
        """)
        + SIMPLE_INDEX,
    ),
    "pdm.lock": (
        lambda root: pdm("lock", cwd=root),
        """\
        [project]
        name = "mono"
        version = "0.0.0"
        requires-python = ">=3.9"
        dependencies = [
            "app @ file:///${PROJECT_ROOT}/packages/app",
            "lib @ file:///${PROJECT_ROOT}/packages/lib",
            "other @ file:///${PROJECT_ROOT}/packages/other",
        ]

        [tool.pdm]
        distribution = false
        """,
    ),
}


@pytest.mark.parametrize("lock", MONOREPO_ROOTS)
def test_a_member_naming_a_root_poetry_or_pdm_lock_records_the_roots_whole_runtime_set(tmp_path, lock):
    """Such a lock is the root project's: a member that names it records its siblings' packages too."""
    command, pyproject = MONOREPO_ROOTS[lock]
    root = Project(tmp_path / "mono")
    root.write("pyproject.toml", pyproject)
    # Poetry's virtualenv, if it makes one, in the tmp dir rather than the user's cache.
    root.write("poetry.toml", "[virtualenvs]\nin-project = true\n")
    for name, dependencies in MONOREPO_MEMBERS.items():
        root.write(
            f"packages/{name}/pyproject.toml",
            f'{UNHOOKED}\n[project]\nname = "{name}"\nversion = "1.0.0"\nrequires-python = ">=3.9"\n'
            f"dependencies = [{dependencies}]\n",
        )
        root.write(f"packages/{name}/{name}/__init__.py", "")
    command(root.path)
    root.git("init", "--quiet")

    recorded = hook_with(root.path / "packages" / "app", lockfile=f"../../{lock}").collect().dependencies

    assert {name for name, *_ in recorded} == {"lib", "idna", "certifi", "other", "six"}
