"""The hook records what the repository says, in sdists and wheels built from it.

A few real builds; the rest ask the hook as hatchling makes it (`Project.collected`), in milliseconds.
"""

from __future__ import annotations

import re

from conftest import clean_environment, read_target, sdist_in, wheel_in


def test_wheel_records_the_repository_state(repo):
    revision = repo.git("rev-parse", "HEAD")
    info = repo.built_info()
    assert info.program == "demo_pkg"
    assert info.version == "1.2.3"
    assert info.revision == revision
    assert info.branch == "main"
    assert info.dirty is False
    assert info.tag is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info.commit_date)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info.build_date)
    assert info.build_user


def test_tag_is_exact_at_head_else_describe(repo):
    repo.git("tag", "v1.2.3")
    assert repo.collected().tag == "v1.2.3"
    repo.write("demo_pkg/more.py", "X = 1\n")
    revision = repo.commit("more")
    assert repo.collected().tag == f"v1.2.3-1-g{revision[:7]}"


def test_changed_tracked_file_is_dirty_untracked_file_is_not(repo):
    repo.write("notes.txt", "untracked\n")
    assert repo.collected().dirty is False
    repo.write("demo_pkg/__init__.py", "CHANGED = True\n")
    assert repo.collected().dirty is True


def test_staged_change_is_dirty(repo):
    repo.write("demo_pkg/new.py", "NEW = 1\n")
    repo.git("add", "demo_pkg/new.py")
    assert repo.collected().dirty is True


def test_sdist_and_wheel_agree_and_source_tree_stays_clean(repo):
    result = repo.build("sdist", "wheel")
    wheel = read_target(str(wheel_in(result.outdir)))
    sdist = read_target(str(sdist_in(result.outdir)))
    assert (wheel.revision, wheel.branch) == (sdist.revision, sdist.branch) == (repo.git("rev-parse", "HEAD"), "main")
    assert repo.git("status", "--porcelain", "--ignored") == ""


def test_environment_overrides_win(repo):
    env = clean_environment(
        BUILDINFO_VERSION="9.9.9",
        BUILDINFO_REVISION="deadbeef",
        BUILDINFO_BRANCH="release",
        BUILDINFO_USER="ci-bot",
        BUILDINFO_DATE="20250101-12:00:00",
    )
    info = repo.built_info(env)
    assert (info.version, info.revision, info.branch, info.build_user, info.build_date) == (
        "9.9.9",
        "deadbeef",
        "release",
        "ci-bot",
        "20250101-12:00:00",
    )


def test_source_date_epoch_sets_build_date_and_drops_the_machine_user(repo):
    info = repo.collected(clean_environment(SOURCE_DATE_EPOCH="1700000000"))
    assert info.build_date == "2023-11-14T22:13:20Z"
    assert info.build_user is None
    info = repo.collected(clean_environment(SOURCE_DATE_EPOCH="1700000000", BUILDINFO_USER="release-bot"))
    assert info.build_user == "release-bot"


def test_include_user_false_records_no_user(tmp_path):
    from conftest import new_project

    project = new_project(tmp_path / "demo", "include-user = false\n")
    assert project.collected().build_user is None


def test_git_archive_with_archival_file_records_its_revision(repo, tmp_path):
    import tarfile

    from conftest import new_project

    repo.write(
        ".git_archival.txt",
        "node: $Format:%H$\n"
        "node-date: $Format:%cI$\n"
        "describe-name: $Format:%(describe:tags=true,match=*[0-9]*)$\n"
        "ref-names: $Format:%D$\n",
    )
    repo.write(".gitattributes", ".git_archival.txt export-subst\n")
    revision = repo.commit("archival")
    repo.git("tag", "v1.0")
    archive = tmp_path / "source.tar"
    repo.git("archive", "--format=tar", "--prefix=unpacked/", "-o", str(archive), "HEAD")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path)
    unpacked = new_project(tmp_path / "unpacked")

    result = unpacked.build("wheel")
    info = read_target(str(wheel_in(result.outdir)))
    assert (info.revision, info.branch, info.tag, info.dirty) == (revision, "main", "v1.0", None)
    assert info.commit_date == repo.built_info().commit_date
    warnings = [line for line in result.stderr.splitlines() if line.startswith("hatch-buildinfo: warning:")]
    assert warnings == [
        f"hatch-buildinfo: warning: no git repository at {unpacked.path}, only .git_archival.txt; "
        "recorded as unknown: dirty"
    ]
