"""Find the uv workspace a project is a member of, as uv itself finds it.

A uv workspace keeps one `uv.lock` at its root, the directory whose pyproject.toml has
`[tool.uv.workspace]`; a member directory holds none. uv (crates/uv-workspace, `find_workspace`)
decides membership like this: a project that sets `tool.uv.managed = false` is in no workspace; a
project with its own `[tool.uv.workspace]` is its workspace's root; otherwise the nearest
pyproject.toml above the project decides alone. If it has `[tool.uv.workspace]`, the project is a
member when its path matches a glob of `members` and none of `exclude`; any other pyproject.toml
(another project's) ends the search with no workspace.

uv lists the directories each glob, joined to the workspace root, matches (the glob crate's
`glob`): `*` matches within one path component, hidden ones too, `**` any number of components.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from . import LockError, load_toml


def uv_workspace_root(project: Path, pyproject: dict, top: Path | None) -> Path | None:
    """The root of the uv workspace whose member is the project at `project` with `pyproject`, or None.

    The search goes up no further than `top` (the git worktree's top), or to the filesystem root
    when `top` is None.
    """
    project = project.resolve()
    uv = _uv_table(project / "pyproject.toml", pyproject)
    if uv.get("managed") is False:
        return None
    if _workspace_table(project / "pyproject.toml", uv) is not None:
        return project
    for directory in project.parents:
        if top is not None and directory != top and top not in directory.parents:
            return None
        path = directory / "pyproject.toml"
        if not path.is_file():
            continue
        workspace = _workspace_table(path, _uv_table(path, load_toml(path)))
        if workspace is None:
            return None  # another project's directory: uv looks no further
        member = project.relative_to(directory).parts
        included = any(_matches(member, glob) for glob in _globs(path, workspace, "members"))
        excluded = any(_matches(member, glob) for glob in _globs(path, workspace, "exclude"))
        return directory if included and not excluded else None
    return None


def _uv_table(path: Path, pyproject: dict) -> dict:
    tool = pyproject.get("tool", {})
    if not isinstance(tool, dict):
        raise LockError(path, f"is not a table: {tool!r}", entry="tool")
    uv = tool.get("uv", {})
    if not isinstance(uv, dict):
        raise LockError(path, f"is not a table: {uv!r}", entry="tool.uv")
    return uv


def _workspace_table(path: Path, uv: dict) -> dict | None:
    """The `[tool.uv.workspace]` table of a pyproject.toml, None where it has none."""
    workspace = uv.get("workspace")
    if workspace is not None and not isinstance(workspace, dict):
        raise LockError(path, f"is not a table: {workspace!r}", entry="tool.uv.workspace")
    return workspace


def _globs(path: Path, workspace: dict, key: str) -> list[str]:
    globs = workspace.get(key, [])
    if not isinstance(globs, list) or not all(isinstance(glob, str) for glob in globs):
        raise LockError(path, f"is not an array of globs: {globs!r}", entry=f"tool.uv.workspace.{key}")
    return globs


def _matches(member: tuple[str, ...], glob: str) -> bool:
    """Whether the path of `member` (its parts below the workspace root) is one that `glob` lists."""
    return _parts_match(member, tuple(part for part in glob.split("/") if part not in ("", ".")))


def _parts_match(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_parts_match(parts[skip:], pattern[1:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], pattern[0]) and _parts_match(parts[1:], pattern[1:])
