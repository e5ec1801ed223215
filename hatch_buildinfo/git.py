"""Collect: what the git repository around the project says about HEAD."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from contextlib import ExitStack
from datetime import datetime, timezone


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the one date format build info uses."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


VCS_FACTS = ("revision", "branch", "dirty", "tag", "commit_date")
NO_COMMITS = dict.fromkeys(VCS_FACTS, "the git repository has no commits")


def collect(root: str) -> tuple[dict[str, object], dict[str, str]]:
    """Git facts for the repository holding `root`, and why each missing fact is missing.

    The `git` executable answers three short questions. Only where there is none is gitpython
    imported (its import alone costs more than all of hatch-vcs), to read revision, branch and
    commit date from `.git` itself; dirty state and tag then stay unknown.
    """
    if shutil.which("git") is None:
        return _collect_without_git(root)
    # The questions are independent and each costs mostly git's start-up, so all three run at once.
    (in_repository, status), (dated, commit_date), (tagged, tag) = _ask(
        root,
        ("status", "--porcelain=v2", "--branch", "--untracked-files=no"),
        ("show", "-s", "--format=%cI", "HEAD"),
        ("describe", "--tags"),
    )
    if not in_repository:
        if "not a git repository" not in status:
            return {}, dict.fromkeys(VCS_FACTS, f"`git` failed: {status}")
        return _no_repository(root)

    lines = status.splitlines()
    headers = dict(line[2:].split(" ", 1) for line in lines if line.startswith("# "))
    if headers.get("branch.oid") == "(initial)":
        return {}, dict(NO_COMMITS)
    facts: dict[str, object] = {
        "revision": headers["branch.oid"],
        # Every line but a header is a tracked file that differs from HEAD, staged or not.
        "dirty": len(lines) > len(headers),
    }
    gaps = {}
    if dated:
        facts["commit_date"] = utc_timestamp(datetime.fromisoformat(commit_date))
    else:
        gaps["commit_date"] = f"`git show` failed: {commit_date}"
    if headers.get("branch.head") == "(detached)":
        gaps["branch"] = "HEAD is detached"
    else:
        facts["branch"] = headers["branch.head"]
    if tagged:
        facts["tag"] = tag
        return facts, gaps
    [(checked, shallow)] = _ask(root, ("rev-parse", "--is-shallow-repository"))
    if not checked:
        gaps["tag"] = f"`git rev-parse` failed: {shallow}"
    elif shallow == "true":
        gaps["tag"] = "the clone is shallow"  # unknown rather than none: a tag may lie beyond the boundary
    else:
        facts["tag"] = None  # no tag reachable from HEAD
    return facts, gaps


def _no_repository(root: str) -> tuple[dict[str, object], dict[str, str]]:
    """Outside a repository: what a `git archive` tarball's `.git_archival.txt` says, if anything."""
    facts = archival_facts(root)
    reason = f"no git repository at {root}" + (", only .git_archival.txt" if facts else "")
    return facts, {name: reason for name in VCS_FACTS if name not in facts}


def _ask(root: str, *commands: tuple[str, ...]) -> list[tuple[bool, str]]:
    """Run `git` commands side by side; for each, whether it succeeded and its output (else its first error line).

    `--no-optional-locks` so that reading never rewrites the index; `LC_ALL=C` so that git's
    messages are the English ones `collect` matches. Every process is waited for, come what may.
    """
    environment = {**os.environ, "LC_ALL": "C"}
    answers = []
    with ExitStack() as processes:
        started = [
            processes.enter_context(
                subprocess.Popen(
                    ["git", "--no-optional-locks", *command],
                    cwd=root,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    encoding="utf-8",
                    errors="replace",
                )
            )
            for command in commands
        ]
        for process in started:
            stdout, stderr = process.communicate()
            succeeded = process.returncode == 0
            answers.append((succeeded, stdout.strip() if succeeded else _first_line(stderr)))
    return answers


def _collect_without_git(root: str) -> tuple[dict[str, object], dict[str, str]]:
    """Revision, branch and commit date read from `.git` by gitpython's pure-Python object database."""
    # Without this, importing gitpython fails outright when no `git` is on PATH.
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    try:
        import git
        from gitdb.db import GitDB
    except ImportError as error:
        return {}, dict.fromkeys(VCS_FACTS, f"no `git` executable on PATH and no gitpython ({error})")
    try:
        repo = git.Repo(root, search_parent_directories=True, odbt=GitDB)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return _no_repository(root)
    with repo:
        try:
            commit = repo.head.commit
        except ValueError:
            return {}, dict(NO_COMMITS)
        facts: dict[str, object] = {
            "revision": commit.hexsha,
            "commit_date": utc_timestamp(commit.committed_datetime),
        }
        gaps = dict.fromkeys(("dirty", "tag"), "no `git` executable on PATH")
        if repo.head.is_detached:
            gaps["branch"] = "HEAD is detached"
        else:
            facts["branch"] = repo.active_branch.name
        return facts, gaps


def archival_facts(root: str) -> dict[str, object]:
    """What `git archive` wrote into `.git_archival.txt` (the file hatch-vcs and setuptools-scm use).

    The file holds `$Format:…$` placeholders that `export-subst` in `.gitattributes`
    expands; an unexpanded placeholder says nothing.
    """
    try:
        with open(os.path.join(root, ".git_archival.txt"), encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        if value.strip() and "$Format" not in value:
            fields[key.strip()] = value.strip()

    facts: dict[str, object] = {}
    if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", fields.get("node", "")):
        facts["revision"] = fields["node"]
    try:
        facts["commit_date"] = utc_timestamp(datetime.fromisoformat(fields["node-date"]))
    except (KeyError, ValueError):
        pass
    if "describe-name" in fields:
        facts["tag"] = fields["describe-name"]
    head = re.search(r"(?:^|, )HEAD -> ([^,]+)", fields.get("ref-names", ""))
    if head:
        facts["branch"] = head.group(1)
    return facts


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "no output"
