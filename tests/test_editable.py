"""An editable install imports the generated module from the source tree."""

from __future__ import annotations

import sys

from conftest import UV, run


def test_editable_install_can_import_build_info(repo, offline, tmp_path):
    venv = tmp_path / "venv"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path, env=offline)
    run(UV, "pip", "install", "--quiet", "--python", venv, "--editable", repo.path, cwd=tmp_path, env=offline)
    code = "from demo_pkg import _buildinfo; print(_buildinfo.revision, _buildinfo.branch)"
    output = run(venv / "bin" / "python", "-c", code, cwd=tmp_path, env=offline).stdout
    assert output.split() == [repo.git("rev-parse", "HEAD"), "main"]
    # The module lives in the source tree, untracked, as the README says; the tree is otherwise clean.
    assert repo.git("status", "--porcelain") == "?? demo_pkg/_buildinfo.py"
