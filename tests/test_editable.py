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


def test_module_left_by_an_editable_install_is_replaced_in_later_builds(repo):
    import zipfile

    from conftest import wheel_in

    repo.write("demo_pkg/_buildinfo.py", "# a stale module an editable install left behind\n")
    result = repo.build("wheel")
    with zipfile.ZipFile(wheel_in(result.outdir)) as wheel:
        assert wheel.namelist().count("demo_pkg/_buildinfo.py") == 1
        assert b"stale" not in wheel.read("demo_pkg/_buildinfo.py")
