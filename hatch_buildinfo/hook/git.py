"""Collect: what the git repository around the project says about HEAD."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path

from ..gitcommands import ask


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the one date format build info uses."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def worktree_top(root: str) -> Path | None:
    """The top of the git worktree holding `root`, as git finds it: the nearest directory up with a `.git`.

    `.git` is a directory in a clone and a file in a linked worktree or a submodule. None outside any.
    """
    start = Path(root).resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


VCS_FACTS = ("revision", "branch", "dirty", "tag", "commit_date")
NO_COMMITS = dict.fromkeys(VCS_FACTS, "the git repository has no commits")


def collect(root: str, tag_match: tuple[str, ...] = ()) -> tuple[dict[str, object], dict[str, str]]:
    """Git facts for the repository holding `root`, and why each missing fact is missing.

    Only tags matching a glob in `tag_match` name the tag (all tags when it is empty), so that in
    a monorepo a sibling project's tag series is passed over.

    The `git` executable answers three short questions. Only where there is none is gitpython
    imported (its import alone costs more than all of hatch-vcs), to read revision, branch and
    commit date from `.git` itself; dirty state and tag then stay unknown.
    """
    if shutil.which("git") is None:
        return _collect_without_git(root, tag_match)
    # The questions are independent and each costs mostly git's start-up, so all three run at once.
    (in_repository, status), (dated, commit_date), (tagged, tag) = ask(
        root,
        ("status", "--porcelain=v2", "--branch", "--untracked-files=no"),
        ("show", "-s", "--format=%cI", "HEAD"),
        ("describe", "--tags", *(argument for glob in tag_match for argument in ("--match", glob))),
    )
    if not in_repository:
        if "not a git repository" not in status:
            return {}, dict.fromkeys(VCS_FACTS, f"`git` failed: {status}")
        return _no_repository(root, tag_match)

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
    [(checked, shallow)] = ask(root, ("rev-parse", "--is-shallow-repository"))
    if not checked:
        gaps["tag"] = f"`git rev-parse` failed: {shallow}"
    elif shallow == "true":
        gaps["tag"] = "the clone is shallow"  # unknown rather than none: a tag may lie beyond the boundary
    else:
        facts["tag"] = None  # no tag (matching tag-match) reachable from HEAD
    return facts, gaps


def _no_repository(root: str, tag_match: tuple[str, ...]) -> tuple[dict[str, object], dict[str, str]]:
    """Outside a repository: what a `git archive` tarball's `.git_archival.txt` says, if anything."""
    facts = archival_facts(root, tag_match)
    reason = f"no git repository at {root}" + (", only .git_archival.txt" if facts else "")
    gaps = {name: reason for name in VCS_FACTS if name not in facts}
    if facts and tag_match and "tag" not in facts:
        globs = " or ".join(f"`{glob}`" for glob in tag_match)
        gaps["tag"] = f".git_archival.txt names no tag matching tag-match {globs}"
    return facts, gaps


def _tag_matches(tag: str, tag_match: tuple[str, ...]) -> bool:
    """Whether `tag` is this project's: it matches a glob of `tag_match`, or `tag_match` is empty.

    `fnmatchcase` stands in for the wildmatch of `git describe --match` (case-sensitive, no pathname
    flag, so `*` matches `/` too); they agree on the usual globs, not on `[^…]` or backslash escapes.
    """
    return not tag_match or any(fnmatchcase(tag, glob) for glob in tag_match)


def _collect_without_git(root: str, tag_match: tuple[str, ...]) -> tuple[dict[str, object], dict[str, str]]:
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
        return _no_repository(root, tag_match)
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


def archival_facts(root: str, tag_match: tuple[str, ...] = ()) -> dict[str, object]:
    """What `git archive` wrote into `.git_archival.txt` (the file hatch-vcs and setuptools-scm use).

    The file holds `$Format:…$` placeholders that `export-subst` in `.gitattributes`
    expands; an unexpanded placeholder says nothing. With `tag_match`, a tag that matches none
    of its globs is no tag of this project and is left out.
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
    tag = _archival_tag(fields, tag_match)
    if tag is not None:
        facts["tag"] = tag
    head = re.search(r"(?:^|, )HEAD -> ([^,]+)", fields.get("ref-names", ""))
    if head:
        facts["branch"] = head.group(1)
    return facts


def _archival_tag(fields: dict[str, str], tag_match: tuple[str, ...]) -> str | None:
    """The tag `.git_archival.txt` gives: a matching tag at HEAD, else `describe-name` if its tag matches."""
    described = fields.get("describe-name")
    if not tag_match:
        return described
    # `describe-name` was described from every tag (or the template's own `match=`), so it may name
    # a sibling's tag while one of ours sits at HEAD; `ref-names` lists every tag at HEAD.
    at_head = [ref[len("tag: ") :] for ref in fields.get("ref-names", "").split(", ") if ref.startswith("tag: ")]
    for tag in at_head:
        if _tag_matches(tag, tag_match):
            return tag
    if described is None:
        return None
    # Off a tag, describe appends `-<n>-g<hex>`; at a tag it is the tag alone, which may itself end
    # like that suffix (`app-v1-2-3-4-gabcdef0`), so only a tag not at HEAD loses it.
    tag = described if described in at_head else re.sub(r"-[0-9]+-g[0-9a-f]{4,}$", "", described)
    return described if _tag_matches(tag, tag_match) else None
