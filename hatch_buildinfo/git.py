"""Collect: what the git repository around the project says about HEAD."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the one date format build info uses."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


VCS_FACTS = ("revision", "branch", "dirty", "tag", "commit_date")


def collect(root: str) -> tuple[dict[str, object], dict[str, str]]:
    """Git facts for the repository holding `root`, and why each missing fact is missing.

    Revision, branch and commit date are read from `.git` directly, so they survive a
    missing `git` executable; dirty state and tag need `git` itself.
    """
    # Without this, importing gitpython fails outright when no `git` is on PATH.
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    try:
        import git
        from gitdb.db import GitDB
    except ImportError as error:
        return {}, dict.fromkeys(VCS_FACTS, f"gitpython is not installed ({error})")

    try:
        repo = git.Repo(root, search_parent_directories=True, odbt=GitDB)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        facts = archival_facts(root)
        reason = f"no git repository at {root}" + (", only .git_archival.txt" if facts else "")
        return facts, {name: reason for name in VCS_FACTS if name not in facts}

    with repo:
        try:
            commit = repo.head.commit
        except ValueError:
            return {}, dict.fromkeys(VCS_FACTS, "the git repository has no commits")

        facts: dict[str, object] = {
            "revision": commit.hexsha,
            "commit_date": utc_timestamp(commit.committed_datetime),
        }
        gaps = {}
        if repo.head.is_detached:
            gaps["branch"] = "HEAD is detached"
        else:
            facts["branch"] = repo.active_branch.name

        try:
            facts["dirty"] = repo.is_dirty(index=True, working_tree=True, untracked_files=False)
            facts["tag"] = _describe(repo)
        except git.GitCommandNotFound:
            gaps.update(dirty="no `git` executable on PATH", tag="no `git` executable on PATH")
        except git.GitCommandError as error:
            gaps.update(dict.fromkeys(("dirty", "tag"), f"`git` failed: {_first_line(error.stderr)}"))
        else:
            if facts["tag"] is None and os.path.exists(os.path.join(repo.git_dir, "shallow")):
                del facts["tag"]  # unknown rather than none: a tag may lie beyond the shallow boundary
                gaps["tag"] = "the clone is shallow"
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


def _describe(repo: object) -> str | None:
    """The exact tag at HEAD, else `git describe --tags` output, else None."""
    import git

    try:
        return repo.git.describe("--tags")
    except git.GitCommandError as error:
        if "No names found" in error.stderr or "No tags can describe" in error.stderr:
            return None
        raise


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "no output"
