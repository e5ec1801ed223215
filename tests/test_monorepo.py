"""A monorepo of two projects with interleaved tag series: `tag-match` keeps each to its own, sdist and wheel."""

from __future__ import annotations

import re
import sys

from conftest import new_project, read_target, run, sdist_in, wheel_in


def test_each_project_records_its_own_tag_series_through_python_m_build(tmp_path, offline):
    root = tmp_path / "monorepo"
    new_project(root / "app", 'tag-match = "app-v*"\n', name="app")
    new_project(root / "lib", 'tag-match = ["lib-v*"]\n', name="lib")
    run("git", "init", "--quiet", "--initial-branch=main", cwd=root)
    # Successive commits, each tagged for one project, so the nearest tag is always the sibling's.
    for number, tag in enumerate(["app-v1.0.0", "lib-v3.0.0", "app-v1.1.0", "lib-v3.1.0", None]):
        (root / "CHANGES.txt").write_text(f"change {number}\n", encoding="utf-8")
        run("git", "add", "-A", cwd=root)
        run("git", "commit", "--quiet", "-m", f"change {number}", cwd=root)
        if tag:
            run("git", "tag", tag, cwd=root)
    head = run("git", "rev-parse", "HEAD", cwd=root).stdout.strip()
    assert run("git", "describe", "--tags", cwd=root).stdout.startswith("lib-v3.1.0-1-g")

    for name, expected in [("app", "app-v1.1.0-2-g"), ("lib", "lib-v3.1.0-1-g")]:
        outdir = tmp_path / f"{name}-dist"
        # The sdist from the checkout, then the wheel from the unpacked sdist, where there is no .git.
        run(sys.executable, "-m", "build", "--outdir", outdir, ".", cwd=root / name, env=offline)
        for artifact in (sdist_in(outdir), wheel_in(outdir)):
            info = read_target(str(artifact))
            assert info.tag is not None and info.tag.startswith(f"{name}-v"), (artifact.name, info.tag)
            assert info.tag.startswith(expected), (artifact.name, info.tag)
            abbreviated = re.fullmatch(rf"{re.escape(expected)}([0-9a-f]{{7,}})", info.tag)
            assert abbreviated and head.startswith(abbreviated.group(1)), (artifact.name, info.tag)
            assert (info.revision, info.branch, info.dirty) == (head, "main", False), artifact.name
