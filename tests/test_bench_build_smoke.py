"""bench/build.py --smoke runs end to end and prints its tables; timings are not asserted.

The benchmark makes its own venvs under build/bench-venv (with uv, from the package index) the
first time, and reuses them after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section(output: str, title: str) -> list[str]:
    """The lines of the section whose heading starts with `title`, up to the next `==` heading."""
    lines = output.split(title, 1)[1].splitlines()[1:]
    end = next((index for index, line in enumerate(lines) if line.startswith("== ")), len(lines))
    return lines[:end]


def header(lines: list[str], first: str) -> str:
    return next(line for line in lines if line.split()[:1] == [first])


def test_build_benchmark_smoke(tmp_path):
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("BUILDINFO_", "GIT_"))}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "build.py"), "--smoke"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert output.startswith("machine: nproc=") or "\nmachine: nproc=" in output
    assert "bench venvs: Python " in output

    builds = section(output, "== Build overhead: `python -m hatchling build -t wheel`")
    for column in ("variant", "venv", "wall ms", "net ms", "CPU ms", "git procs", "check"):
        assert column in header(builds, "variant"), column
    rows: dict[str, str] = {}
    for line in builds:  # the table rows come first; "(b) git processes, …" lines follow the ratios
        if line.split()[:1] in (["(a)"], ["(b)"], ["(c)"], ["(d)"]):
            rows.setdefault(line.split()[0], line)
    assert set(rows) == {"(a)", "(b)", "(c)", "(d)"}
    assert "plain hatchling" in rows["(a)"]
    assert "hatch-vcs" in rows["(b)"] and "1.0.1.dev" in rows["(b)"]
    assert "buildinfo hook" in rows["(c)"] and " 0 deps" in rows["(c)"]
    assert "uv.lock (300 packages)" in rows["(d)"] and " 300 deps" in rows["(d)"]
    assert any(line.strip().startswith("(c-a)/(b-a):") for line in builds)
    assert any(line.strip().startswith("(d-a)/(b-a):") for line in builds)

    memory = section(output, "== Memory: peak RSS of the whole build process")
    assert "peak MiB" in header(memory, "variant")
    assert sum(line.split()[:1] in (["(a)"], ["(b)"], ["(c)"], ["(d)"]) for line in memory) == 4

    steps = section(output, "== Where the time goes:")
    for row in (
        "import git (gitpython, gitdb, smmap)",
        "import setuptools_scm",
        "import git / whole hatch-vcs overhead (b-a):",
        "-- modules each build imports beyond (a)'s",
        "import git, gitdb.db (only where no `git` is on PATH)",
        "git.collect(root), import excluded",
        "read_lock(uv.lock), first call",
        "render(info)",
        "default path: the package among hatchling's wheel files",
        "sum of the steps (first calls):",
    ):
        assert any(row in line for line in steps), row

    scale = section(output, "== Repository scale: hatch_buildinfo.hook.git.collect(root)")
    columns = header(scale, "repository")
    for column in ("commits", "files", "tags", "wall ms", "import ms", "collect ms", "git procs", "scm wall ms"):
        assert column in columns, column
    labels = [line.strip() for line in scale]
    for label in ("100 commits", "1k commits", "1k commits, 100's tags", "100 files", "1k files"):
        assert any(line.startswith(label + " ") for line in labels), label
    assert not any(line.startswith("100k") for line in labels)  # --smoke skips the big repositories
    for what in ("history alone, 1k commits, 100's tags", "history and tags, 1k commits"):
        for part in ("collect, import excluded:", "whole process, import included:"):
            assert any(line.startswith(f"{what} / 100 commits, {part}") for line in labels), (what, part)
    assert any(line.startswith("collect, import excluded:") and "µs a tag" in line for line in labels)
