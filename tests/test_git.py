"""`hatch_buildinfo.hook.git` on tiny real repositories: what `collect` and `.git_archival.txt` give, tag-match too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import clean_environment, run

from hatch_buildinfo.hook.git import NO_COMMITS, archival_facts, collect

COMMIT_DATE = "2024-01-02T03:04:05+01:00"


@pytest.fixture(autouse=True)
def no_git_configuration(monkeypatch):
    """`collect` runs git in this process's environment: keep the user's and the system's git config out."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", clean_environment()["GIT_CONFIG_GLOBAL"])


def git(path: Path, *arguments: str) -> str:
    return run("git", *arguments, cwd=path, env=clean_environment(GIT_COMMITTER_DATE=COMMIT_DATE)).stdout.strip()


def commit(path: Path, message: str) -> str:
    (path / "file.txt").write_text(message, encoding="utf-8")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", message)
    return git(path, "rev-parse", "HEAD")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git repository on `main` with no commits yet."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    return path


@pytest.fixture
def interleaved(repository: Path) -> Path:
    """Commit 1 tagged app-v1.0.0, commit 2 tagged lib-v3.0.0, commit 3 untagged."""
    commit(repository, "one")
    git(repository, "tag", "app-v1.0.0")
    commit(repository, "two")
    git(repository, "tag", "lib-v3.0.0")
    commit(repository, "three")
    return repository


def assert_described(value: object, tag: str, distance: int, path: Path) -> None:
    """`value` is `git describe` output `<tag>-<distance>-g<abbreviated HEAD>`."""
    match = re.fullmatch(rf"{re.escape(tag)}-{distance}-g(?P<hex>[0-9a-f]{{7,}})", str(value))
    assert match, value
    assert git(path, "rev-parse", "HEAD").startswith(match.group("hex"))


# What `collect` already reported before tag-match


def test_clean_repository_gives_revision_branch_date_and_no_tag(repository):
    revision = commit(repository, "one")
    facts, gaps = collect(str(repository))
    assert facts == {
        "revision": revision,
        "branch": "main",
        "dirty": False,
        "commit_date": "2024-01-02T02:04:05Z",
        "tag": None,
    }
    assert gaps == {}


def test_a_subdirectory_reads_the_repository_around_it(repository):
    revision = commit(repository, "one")
    (repository / "app").mkdir()
    facts, _ = collect(str(repository / "app"))
    assert facts["revision"] == revision


@pytest.mark.parametrize("staged", [False, True], ids=["unstaged", "staged"])
def test_a_modified_tracked_file_makes_it_dirty(repository, staged):
    commit(repository, "one")
    (repository / "file.txt").write_text("changed", encoding="utf-8")
    if staged:
        git(repository, "add", "file.txt")
    facts, _ = collect(str(repository))
    assert facts["dirty"] is True


def test_an_untracked_file_alone_does_not_make_it_dirty(repository):
    commit(repository, "one")
    (repository / "new.txt").write_text("untracked", encoding="utf-8")
    facts, _ = collect(str(repository))
    assert facts["dirty"] is False


def test_detached_head_has_no_branch_and_says_why(repository):
    first = commit(repository, "one")
    commit(repository, "two")
    git(repository, "checkout", "--quiet", "--detach", first)
    facts, gaps = collect(str(repository))
    assert facts["revision"] == first
    assert "branch" not in facts
    assert gaps == {"branch": "HEAD is detached"}


def test_repository_without_commits_gives_no_facts(repository):
    assert collect(str(repository)) == ({}, NO_COMMITS)
    assert collect(str(repository), ("app-v*",)) == ({}, NO_COMMITS)


# tag-match: which tags `git describe` may use


def test_without_tag_match_describe_names_the_nearest_tag(interleaved):
    facts, _ = collect(str(interleaved))
    assert_described(facts["tag"], "lib-v3.0.0", 1, interleaved)
    assert collect(str(interleaved), ()) == (facts, {})


def test_tag_match_passes_over_a_nearer_sibling_tag(interleaved):
    facts, gaps = collect(str(interleaved), ("app-v*",))
    assert_described(facts["tag"], "app-v1.0.0", 2, interleaved)
    assert gaps == {}


@pytest.mark.parametrize(
    ("globs", "tag", "distance"),
    [(("app-v*", "lib-v*"), "lib-v3.0.0", 1), (("nothing-*", "app-v*"), "app-v1.0.0", 2)],
    ids=["both-series", "one-matches"],
)
def test_tag_match_array_accepts_a_tag_matching_any_glob(interleaved, globs, tag, distance):
    facts, _ = collect(str(interleaved), globs)
    assert_described(facts["tag"], tag, distance, interleaved)


def test_tag_match_matching_no_tag_gives_no_tag_not_an_error(interleaved):
    facts, gaps = collect(str(interleaved), ("nothing-*",))
    assert facts["tag"] is None
    assert facts["revision"] == git(interleaved, "rev-parse", "HEAD")
    assert gaps == {}


def test_tag_match_matching_no_tag_in_a_shallow_clone_leaves_the_tag_unknown(interleaved, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--depth=1", f"file://{interleaved}", str(clone))
    facts, gaps = collect(str(clone), ("app-v*",))
    assert "tag" not in facts
    assert gaps == {"tag": "the clone is shallow"}


@pytest.mark.parametrize(("glob", "tag"), [("app-v*", "app-v1.1.0"), ("lib-v*", "lib-v3.1.0")])
def test_tag_exactly_at_head_is_the_tag_alone(interleaved, glob, tag):
    git(interleaved, "tag", "app-v1.1.0")
    git(interleaved, "tag", "-a", "-m", "lib release", "lib-v3.1.0")
    facts, _ = collect(str(interleaved), (glob,))
    assert facts["tag"] == tag


def test_star_matches_a_slash_in_git_and_in_git_archival(repository, tmp_path):
    commit(repository, "one")
    git(repository, "tag", "app/v2.0.0")
    facts, _ = collect(str(repository), ("app*0",))
    assert facts["tag"] == "app/v2.0.0"
    unpacked = archival(tmp_path, describe="app/v2.0.0", refs="HEAD -> main, tag: app/v2.0.0")
    assert archival_facts(str(unpacked), ("app*0",))["tag"] == "app/v2.0.0"


# tag-match in a `git archive` tarball's .git_archival.txt

NODE = "0123456789abcdef0123456789abcdef01234567"


def archival(tmp_path: Path, describe: str | None, refs: str = "HEAD -> main") -> Path:
    """A directory outside any repository holding an expanded .git_archival.txt."""
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir(exist_ok=True)
    lines = [f"node: {NODE}", f"node-date: {COMMIT_DATE}", f"describe-name: {describe or ''}", f"ref-names: {refs}"]
    (unpacked / ".git_archival.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return unpacked


def test_archival_without_tag_match_keeps_describe_name_as_it_is(tmp_path):
    unpacked = archival(tmp_path, "lib-v3.0.0-1-gabcdef0", "HEAD -> main, tag: app-v1.1.0")
    assert archival_facts(str(unpacked)) == {
        "revision": NODE,
        "commit_date": "2024-01-02T02:04:05Z",
        "tag": "lib-v3.0.0-1-gabcdef0",
        "branch": "main",
    }


def test_archival_describe_name_of_a_matching_tag_is_the_tag(tmp_path):
    unpacked = archival(tmp_path, "app-v1.0.0-2-gabcdef0")
    assert archival_facts(str(unpacked), ("lib-v*", "app-v*"))["tag"] == "app-v1.0.0-2-gabcdef0"


def test_archival_describe_name_of_a_sibling_tag_leaves_the_tag_unknown_and_says_why(tmp_path):
    unpacked = archival(tmp_path, "lib-v3.0.0-1-gabcdef0")
    assert "tag" not in archival_facts(str(unpacked), ("app-v*",))

    facts, gaps = collect(str(unpacked), ("app-v*", "web-*"))
    assert (facts["revision"], facts["branch"], "tag" in facts) == (NODE, "main", False)
    assert gaps == {
        "dirty": f"no git repository at {unpacked}, only .git_archival.txt",
        "tag": ".git_archival.txt names no tag matching tag-match `app-v*` or `web-*`",
    }


def test_archival_without_describe_name_and_tag_match_says_no_matching_tag(tmp_path):
    facts, gaps = collect(str(archival(tmp_path, None)), ("app-v*",))
    assert "tag" not in facts
    assert gaps["tag"] == ".git_archival.txt names no tag matching tag-match `app-v*`"


def test_unexpanded_archival_file_with_tag_match_says_only_that_there_is_no_repository(tmp_path):
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    (unpacked / ".git_archival.txt").write_text(
        "node: $Format:%H$\ndescribe-name: $Format:%(describe:tags=true)$\n", encoding="utf-8"
    )
    facts, gaps = collect(str(unpacked), ("app-v*",))
    assert facts == {}
    assert gaps["tag"] == f"no git repository at {unpacked}"


def test_archival_matching_tag_at_head_wins_over_describe_name_of_a_sibling(tmp_path):
    unpacked = archival(tmp_path, "lib-v3.1.0", "HEAD -> main, tag: lib-v3.1.0, tag: app-v1.1.0, origin/main")
    facts = archival_facts(str(unpacked), ("app-v*",))
    assert (facts["tag"], facts["branch"]) == ("app-v1.1.0", "main")
    assert archival_facts(str(unpacked), ("lib-v*",))["tag"] == "lib-v3.1.0"


@pytest.mark.parametrize(
    ("refs", "glob", "tag"),
    [
        # Not at HEAD: `-4-gabcdef0` is describe's suffix and the tag is app-v1-2-3.
        ("HEAD -> main", "app-v1-2-3", "app-v1-2-3-4-gabcdef0"),
        ("HEAD -> main", "app-v1-2-?", "app-v1-2-3-4-gabcdef0"),
        ("HEAD -> main", "app-v1-2-3-4-g*", None),
        # At HEAD: the tag itself is app-v1-2-3-4-gabcdef0, suffix and all.
        ("HEAD -> main, tag: app-v1-2-3-4-gabcdef0", "app-v1-2-3-4-g*", "app-v1-2-3-4-gabcdef0"),
        ("HEAD -> main, tag: app-v1-2-3-4-gabcdef0", "app-v1-2-3", None),
    ],
    ids=["off-tag", "off-tag-wildcard", "off-tag-suffix-glob", "at-tag", "at-tag-prefix-glob"],
)
def test_archival_describe_name_loses_only_describes_own_suffix(tmp_path, refs, glob, tag):
    facts = archival_facts(str(archival(tmp_path, "app-v1-2-3-4-gabcdef0", refs)), (glob,))
    assert facts.get("tag") == tag
