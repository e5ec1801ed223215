"""Real isolated PEP 517 builds, as users run them: `python -m build`, `uv build`, `pip wheel`."""

from __future__ import annotations

import sys

import pytest
from conftest import UV, clean_environment, read_target, run, sdist_in, wheel_in

FRONTENDS = {
    # Builds the sdist, then the wheel from the unpacked sdist, where there is no .git.
    "python -m build": [sys.executable, "-m", "build", "--outdir"],
    "uv build": [UV, "build", "--out-dir"],
    "pip wheel": [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir"],
}


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_isolated_build_records_repository_revision_and_branch(repo, offline, tmp_path, frontend):
    repo.git("checkout", "--quiet", "-b", "release/1.x")
    outdir = tmp_path / "out"
    run(*FRONTENDS[frontend], outdir, ".", cwd=repo.path, env=offline)

    expected = (repo.git("rev-parse", "HEAD"), "release/1.x")
    artifacts = [wheel_in(outdir)] + ([] if frontend == "pip wheel" else [sdist_in(outdir)])
    for artifact in artifacts:
        info = read_target(str(artifact))
        assert (info.revision, info.branch, info.dirty) == (*expected, False), artifact.name
    assert repo.git("status", "--porcelain", "--ignored") == ""


def test_same_source_date_epoch_gives_byte_identical_wheels_for_different_users(repo, tmp_path):
    wheels = []
    for user in ("alice", "bob"):
        env = clean_environment(SOURCE_DATE_EPOCH="1700000000", USER=user, LOGNAME=user, HOME=str(tmp_path / user))
        result = repo.build("wheel", env=env, outdir=tmp_path / user)
        wheels.append(wheel_in(result.outdir).read_bytes())
    assert wheels[0] == wheels[1]
    assert read_target(str(wheel_in(tmp_path / "alice"))).build_user is None


def test_without_source_date_epoch_the_build_user_is_recorded(repo):
    env = clean_environment(USER="alice", LOGNAME="alice")
    assert repo.built_info(env).build_user == "alice"
