"""When git cannot answer, the build still succeeds, records the best truth and warns once."""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import zipfile

import pytest
from conftest import clean_environment, new_project, read_target, run, sdist_in, wheel_in

WARNING = "hatch-buildinfo: warning:"


def warnings_in(result) -> list[str]:
    """The hook's warning lines on a build's stderr."""
    return [line for line in result.stderr.splitlines() if line.startswith(WARNING)]


def the_warning(result) -> str:
    """The one warning line a build emitted; fails when there is none or more than one."""
    warnings = warnings_in(result)
    assert len(warnings) == 1, result.stderr
    return warnings[0]


def built_wheel(project, env: dict[str, str] | None = None):
    """Build a wheel; return what it records and the build's result."""
    result = project.build("wheel", env=env)
    return read_target(str(wheel_in(result.outdir))), result


def collected(project, capsys, env: dict[str, str] | None = None):
    """What the hook, made as hatchling makes it, collects in this process; and its one warning line, if any."""
    info = project.collected(env)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith(WARNING)]
    assert len(warnings) <= 1, warnings
    return info, (warnings or [None])[0]


# 1. Detached HEAD


def test_detached_head_records_revision_and_warns_about_the_branch(repo):
    revision = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "--quiet", "--detach")

    info, result = built_wheel(repo)
    assert (info.revision, info.branch, info.dirty, info.tag) == (revision, "unknown", False, None)
    assert info.commit_date is not None
    warning = the_warning(result)
    assert "detached" in warning
    assert warning == "hatch-buildinfo: warning: HEAD is detached; recorded as unknown: branch"


def test_detached_head_takes_the_branch_from_ci(repo):
    """One real build; every CI system's variables, and git before CI, are in test_hook.py."""
    revision = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "--quiet", "--detach")

    info, result = built_wheel(repo, clean_environment(GITHUB_REF_TYPE="branch", GITHUB_HEAD_REF="fix/typo"))
    assert (info.revision, info.branch) == (revision, "fix/typo")
    assert warnings_in(result) == []


# 2. Shallow clone


def test_shallow_clone_records_revision_and_branch_but_warns_about_the_tag(repo, tmp_path, capsys):
    repo.git("tag", "v1.0")
    repo.write("demo_pkg/later.py", "LATER = 1\n")
    revision = repo.commit("later")

    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", "--depth", "1", f"file://{repo.path}", clone, cwd=tmp_path)
    assert (clone / ".git" / "shallow").is_file()
    shallow = new_project(clone)  # rewrites identical files: the clone stays clean

    info, warning = collected(shallow, capsys)
    assert (info.revision, info.branch, info.dirty, info.tag) == (revision, "main", False, None)
    assert warning == "hatch-buildinfo: warning: the clone is shallow; recorded as unknown: tag"


def test_full_clone_sees_the_older_tag(repo, tmp_path, capsys):
    repo.git("tag", "v1.0")
    repo.write("demo_pkg/later.py", "LATER = 1\n")
    revision = repo.commit("later")

    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", f"file://{repo.path}", clone, cwd=tmp_path)
    info, warning = collected(new_project(clone), capsys)
    assert info.tag == f"v1.0-1-g{revision[:7]}"
    assert warning is None


# 3 and 4. A repository with no commits, and no repository at all


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("git init", "the git repository has no commits"),
        ("nothing", "no git repository at {path}"),
    ],
    ids=["no-commits", "no-repository"],
)
def test_without_a_commit_everything_from_git_is_unknown(project, capsys, setup, reason):
    if setup == "git init":
        project.git("init", "--quiet", "--initial-branch=main")

    info, warning = collected(project, capsys)
    assert (info.revision, info.branch, info.dirty, info.tag, info.commit_date) == (
        "unknown",
        "unknown",
        None,
        None,
        None,
    )
    assert warning == (
        f"hatch-buildinfo: warning: {reason.format(path=project.path)}; "
        "recorded as unknown: revision, branch, dirty, tag, commit_date"
    )


def test_git_speaking_another_language_still_reads_as_no_repository(project, capsys):
    german = clean_environment(LANG="C.UTF-8", LANGUAGE="de")
    said = run("git", "status", cwd=project.path, env=german, check=False).stderr
    if "not a git repository" in said:
        pytest.skip("this git has no German messages")

    info, warning = collected(project, capsys, german)
    assert info.revision == "unknown"
    assert warning == (
        f"hatch-buildinfo: warning: no git repository at {project.path}; "
        "recorded as unknown: revision, branch, dirty, tag, commit_date"
    )


@pytest.mark.parametrize(
    ("failing", "fact"), [("show", "commit_date"), ("rev-parse", "tag")], ids=["show", "shallow-check"]
)
def test_a_git_command_that_fails_leaves_its_fact_unknown_with_the_reason(repo, tmp_path, capsys, failing, fact):
    # A `git` ahead on PATH that fails one command and hands every other to the real git.
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'for argument; do [ "$argument" = {failing} ] && {{ echo "fatal: refused" >&2; exit 128; }}; done\n'
        f'exec {shutil.which("git")} "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)

    env = clean_environment(PATH=f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    info, warning = collected(repo, capsys, env)
    assert getattr(info, fact) is None and info.revision == repo.git("rev-parse", "HEAD")
    assert warning == (f"hatch-buildinfo: warning: `git {failing}` failed: fatal: refused; recorded as unknown: {fact}")


def test_sdist_of_a_directory_without_repository_warns_once_too(project):
    result = project.build("sdist")
    info = read_target(str(sdist_in(result.outdir)))
    assert (info.revision, info.branch) == ("unknown", "unknown")
    assert str(project.path) in the_warning(result)


# 5. A `git archive` tarball without .git_archival.txt


def test_git_archive_without_archival_file_records_unknown(repo, tmp_path):
    archive = tmp_path / "source.tar"
    repo.git("archive", "--format=tar", "--prefix=unpacked/", "-o", str(archive), "HEAD")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(fresh)
    unpacked = fresh / "unpacked"
    assert not (unpacked / ".git").exists()

    result = run(
        sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", fresh / "dist", ".", cwd=unpacked
    )
    info = read_target(str(wheel_in(fresh / "dist")))
    assert (info.version, info.revision, info.branch, info.dirty, info.tag) == (
        "1.2.3",
        "unknown",
        "unknown",
        None,
        None,
    )
    assert the_warning(result) == (
        f"hatch-buildinfo: warning: no git repository at {unpacked}; "
        "recorded as unknown: revision, branch, dirty, tag, commit_date"
    )


# 6. No `git` executable


def test_without_git_executable_revision_branch_and_date_come_from_dot_git(repo, tmp_path):
    revision = repo.git("rev-parse", "HEAD")
    with_git = repo.built_info()

    # `python -m build` runs by absolute path and spawns the backend with sys.executable: no PATH lookup.
    env = clean_environment(PATH=str(tmp_path / "nonexistent"))
    assert run("/bin/sh", "-c", "command -v git", cwd=tmp_path, env=env, check=False).returncode != 0
    info, result = built_wheel(repo, env)
    assert (info.revision, info.branch, info.commit_date) == (revision, "main", with_git.commit_date)
    assert (info.dirty, info.tag) == (None, None)
    warning = the_warning(result)
    assert "no `git` executable" in warning
    assert warning == "hatch-buildinfo: warning: no `git` executable on PATH; recorded as unknown: dirty, tag"


def test_without_git_executable_a_detached_head_warns_once_with_both_reasons(repo, tmp_path):
    revision = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "--quiet", "--detach")

    info, result = built_wheel(repo, clean_environment(PATH=str(tmp_path / "nonexistent")))
    assert (info.revision, info.branch, info.dirty, info.tag) == (revision, "unknown", None, None)
    assert the_warning(result) == (
        "hatch-buildinfo: warning: HEAD is detached; no `git` executable on PATH; "
        "recorded as unknown: branch, dirty, tag"
    )


# 7. require-vcs


def test_require_vcs_fails_the_build_without_a_revision(tmp_path):
    project = new_project(tmp_path / "demo", "require-vcs = true\n")

    result = project.build("wheel", check=False)
    assert result.returncode != 0
    assert not list(result.outdir.glob("*.whl"))
    # `build` closes with lines of its own ("TIP …", "ERROR Backend subprocess exited …");
    # the backend's last line, the one a user reads, is the hook's message.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    backend = [line for line in lines if not line.startswith(("* ", "TIP ", "ERROR "))]
    assert "require-vcs" in backend[-1], result.stderr
    assert "no git revision" in backend[-1]
    assert "Traceback" not in result.stderr
    assert backend[-1] == (
        f"Build hook `buildinfo` found no git revision (no git repository at {project.path}) "
        "and `require-vcs` is true; build from a git checkout or set BUILDINFO_REVISION"
    )
    assert warnings_in(result) == []


def test_require_vcs_is_satisfied_by_the_revision_override(tmp_path):
    project = new_project(tmp_path / "demo", "require-vcs = true\n")

    info, result = built_wheel(project, clean_environment(BUILDINFO_REVISION="0123abc"))
    assert (info.revision, info.branch) == ("0123abc", "unknown")
    warning = the_warning(result)
    assert warning == (
        f"hatch-buildinfo: warning: no git repository at {project.path}; "
        "recorded as unknown: branch, dirty, tag, commit_date"
    )


def test_require_vcs_is_satisfied_by_a_repository(tmp_path):
    project = new_project(tmp_path / "demo", "require-vcs = true\n")
    project.git("init", "--quiet", "--initial-branch=main")
    revision = project.commit("initial")

    info, result = built_wheel(project)
    assert info.revision == revision
    assert warnings_in(result) == []


# 8. Monorepo


def test_project_in_a_monorepo_subdirectory_records_the_repository_head(tmp_path):
    monorepo = tmp_path / "monorepo"
    project = new_project(monorepo / "services" / "demo")
    (monorepo / "README").write_text("the monorepo\n", encoding="utf-8")
    run("git", "init", "--quiet", "--initial-branch=trunk", cwd=monorepo)
    run("git", "add", "-A", cwd=monorepo)
    run("git", "commit", "--quiet", "-m", "monorepo", cwd=monorepo)
    revision = run("git", "rev-parse", "HEAD", cwd=monorepo).stdout.strip()

    info, result = built_wheel(project)
    assert (info.revision, info.branch, info.dirty) == (revision, "trunk", False)
    assert warnings_in(result) == []

    # A change elsewhere in the repository makes the build dirty: the state is the repository's.
    (monorepo / "README").write_text("changed\n", encoding="utf-8")
    info, result = built_wheel(project)
    assert (info.revision, info.dirty) == (revision, True)


# 9. The wheel built from the sdist


def test_wheel_built_from_the_sdist_keeps_its_facts_without_a_warning(repo):
    repo.git("checkout", "--quiet", "-b", "release/1.x")
    repo.git("tag", "v1.2.3")
    revision = repo.git("rev-parse", "HEAD")

    result = repo.build()  # no flags: the sdist, then the wheel from the unpacked sdist, where there is no .git
    sdist = read_target(str(sdist_in(result.outdir)))
    wheel = read_target(str(wheel_in(result.outdir)))
    expected = (revision, "release/1.x", False, "v1.2.3")
    assert (sdist.revision, sdist.branch, sdist.dirty, sdist.tag) == expected
    assert (wheel.revision, wheel.branch, wheel.dirty, wheel.tag) == expected
    assert wheel.commit_date == sdist.commit_date
    with zipfile.ZipFile(wheel_in(result.outdir)) as archive:
        assert archive.namelist().count("demo_pkg/_buildinfo.py") == 1
    assert warnings_in(result) == [], result.stderr


def test_wheel_built_from_an_untagged_sdist_keeps_no_tag_without_a_warning(repo):
    revision = repo.git("rev-parse", "HEAD")

    result = repo.build()
    wheel = read_target(str(wheel_in(result.outdir)))
    assert (wheel.revision, wheel.branch, wheel.dirty, wheel.tag) == (revision, "main", False, None)
    assert warnings_in(result) == [], result.stderr


def test_wheel_built_from_an_sdist_without_revision_warns_once_per_build(project):
    result = project.build()
    wheel = read_target(str(wheel_in(result.outdir)))
    assert (wheel.revision, wheel.branch) == ("unknown", "unknown")
    warnings = warnings_in(result)
    # One build of the sdist, one of the wheel from it; each says what it did not find.
    assert len(warnings) == 2, result.stderr
    assert warnings[0] == (
        f"hatch-buildinfo: warning: no git repository at {project.path}; "
        "recorded as unknown: revision, branch, dirty, tag, commit_date"
    )
    # The wheel's build has neither .git nor a revision in the sdist; the sdist's None (dirty, tag,
    # commit date) is its answer, so only what the sdist recorded as "unknown" is named again.
    assert warnings[1].startswith("hatch-buildinfo: warning: no git repository at ")
    assert warnings[1].endswith("recorded as unknown: revision, branch")


def test_unpacked_sdist_is_read_only_when_its_module_is_there(repo, tmp_path):
    """An sdist unpacked by hand and built again keeps its facts, the way frontends do it."""
    revision = repo.git("rev-parse", "HEAD")
    result = repo.build("sdist")
    with tarfile.open(sdist_in(result.outdir)) as tar:
        tar.extractall(tmp_path / "unpacked")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert (unpacked / "PKG-INFO").is_file()

    outdir = tmp_path / "wheel"
    result = run(sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", outdir, ".", cwd=unpacked)
    info = read_target(str(wheel_in(outdir)))
    assert (info.revision, info.branch, info.dirty, info.tag) == (revision, "main", False, None)
    assert warnings_in(result) == [], result.stderr
