"""The hook as hatchling makes it, asked directly: where each fact comes from, in milliseconds.

Each fact comes from the first source that has it: the `BUILDINFO_*` overrides, the git
repository, the sdist being built into a wheel, the CI system's branch variables, else
`unknown` with one warning. A few real-frontend builds of each behaviour live beside the
behaviour's other tests (test_capture.py, test_fallbacks.py, test_frontends.py).
"""

from __future__ import annotations

import pytest
from conftest import clean_environment, new_project

from hatch_buildinfo.hook import environment
from hatch_buildinfo.hook.render import render

WARNING = "hatch-buildinfo: warning:"


def warnings(err: str) -> list[str]:
    """The hook's warning lines among what it printed."""
    return [line for line in err.splitlines() if line.startswith(WARNING)]


@pytest.mark.parametrize(
    ("variables", "branch"),
    [
        pytest.param({"GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "feature/x"}, "feature/x", id="github-push"),
        pytest.param(
            {"GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "17/merge", "GITHUB_HEAD_REF": "fix/typo"},
            "fix/typo",
            id="github-pull-request",
        ),
        pytest.param({"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1.2.3"}, None, id="github-tag-is-no-branch"),
        pytest.param({"GITHUB_REF_NAME": "main"}, None, id="github-without-ref-type"),
        pytest.param({"GITHUB_HEAD_REF": "", "CI_COMMIT_BRANCH": "gitlab/branch"}, "gitlab/branch", id="gitlab"),
        pytest.param({"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "mr/1"}, "mr/1", id="gitlab-merge-request"),
        pytest.param({"BUILDKITE_BRANCH": "bk"}, "bk", id="buildkite"),
        pytest.param({"CIRCLE_BRANCH": "circle"}, "circle", id="circleci"),
        pytest.param({"CIRCLE_BRANCH": ""}, None, id="empty-is-unset"),
        pytest.param({}, None, id="no-ci"),
    ],
)
def test_ci_branch(variables, branch):
    assert environment.ci_branch(variables) == branch


@pytest.fixture
def detached(repo):
    repo.git("checkout", "--quiet", "--detach")
    return repo


def test_detached_head_takes_the_ci_branch_without_a_warning(detached, capsys):
    info = detached.collected(clean_environment(CI_COMMIT_BRANCH="gitlab/branch"))

    assert (info.revision, info.branch) == (detached.git("rev-parse", "HEAD"), "gitlab/branch")
    assert warnings(capsys.readouterr().err) == []


def test_detached_head_with_a_github_tag_ref_records_no_branch_and_warns(detached, capsys):
    info = detached.collected(clean_environment(GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v1.2.3"))

    assert info.branch == "unknown"
    assert warnings(capsys.readouterr().err) == [f"{WARNING} HEAD is detached; recorded as unknown: branch"]


def test_git_wins_over_the_ci_branch(repo):
    assert repo.collected(clean_environment(CI_COMMIT_BRANCH="elsewhere")).branch == "main"


def test_overrides_win_over_git(repo):
    overrides = clean_environment(
        BUILDINFO_VERSION="9.9.9", BUILDINFO_REVISION="r" * 40, BUILDINFO_BRANCH="b", BUILDINFO_USER="u"
    )
    info = repo.collected(overrides)

    assert (info.version, info.revision, info.branch, info.build_user) == ("9.9.9", "r" * 40, "b", "u")
    assert info.commit_date is not None  # what no override names still comes from git


def test_an_unpacked_sdist_answers_where_there_is_no_git(tmp_path, repo, capsys):
    """The sdist's module says what git said when the sdist was made; CI and overrides still come first."""
    recorded = repo.collected()
    sdist = new_project(tmp_path / "unpacked")
    sdist.write("PKG-INFO", "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.2.3\n")
    sdist.write("demo_pkg/_buildinfo.py", render(recorded))

    info = sdist.collected(clean_environment(CI_COMMIT_BRANCH="ci-branch"))

    assert (info.revision, info.branch, info.tag, info.dirty) == (recorded.revision, "main", None, False)
    assert sdist.collected(clean_environment(BUILDINFO_BRANCH="override")).branch == "override"
    assert warnings(capsys.readouterr().err) == []


def test_without_any_source_each_fact_is_unknown_with_one_warning(project, capsys):
    info = project.collected(clean_environment(CI_COMMIT_BRANCH=""))

    assert (info.revision, info.branch, info.dirty, info.tag) == ("unknown", "unknown", None, None)
    (warning,) = warnings(capsys.readouterr().err)
    assert warning == (
        f"{WARNING} no git repository at {project.path}; recorded as unknown: revision, branch, dirty, tag, commit_date"
    )
