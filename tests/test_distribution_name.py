"""`build_info()` given a distribution's name instead of its import package's.

A real project `foo-cffi` whose package is `foo` is built with the hook and installed in a fresh
venv, next to a project without the hook whose two packages each carry a generated module; each
question is put to that venv's python.
"""

from __future__ import annotations

import glob
import json
import zipfile
from pathlib import Path

import pytest
from conftest import (
    ROOT,
    UV,
    Project,
    clean_environment,
    install,
    new_project,
    renamed_package,
    run,
    unhooked_project,
    wheel_in,
)

from hatch_buildinfo.hook.render import render
from hatch_buildinfo.info import BuildInfo

REVISION = "0123456789abcdef0123456789abcdef01234567"
STAMP = {"BUILDINFO_REVISION": REVISION, "BUILDINFO_BRANCH": "release/1.0"}
ADVICE = "build_info() takes the import package"
TWIN_INFO = BuildInfo("twin", "0.1.0", revision="f" * 40)


def foo_cffi(path: Path) -> Project:
    """The project `foo-cffi`, import package `foo` in src/, with the README's empty hook table."""
    return renamed_package(new_project(path, name="foo-cffi"), "foo")


def twin_pkgs(path: Path) -> Project:
    """The project `twin-pkgs`, built without the hook: packages alpha and beta each carry a generated module."""
    project = unhooked_project(path, "twin-pkgs", '[tool.hatch.build.targets.wheel]\npackages = ["alpha", "beta"]\n')
    for package in ("alpha", "beta"):
        project.write(f"{package}/__init__.py", "")
        (project.path / package / "_buildinfo.py").write_text(render(TWIN_INFO), encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    foo = foo_cffi(tmp_path_factory.mktemp("foo-cffi") / "foo-cffi")
    foo_wheel = wheel_in(foo.build("wheel", env=clean_environment(**STAMP)).outdir)
    twin = twin_pkgs(tmp_path_factory.mktemp("twin-pkgs") / "twin-pkgs")
    return {"foo-cffi": foo_wheel, "twin-pkgs": wheel_in(twin.build("wheel").outdir)}


@pytest.fixture(scope="module")
def venv(wheels, wheelhouse, tmp_path_factory) -> Path:
    """foo-cffi, twin-pkgs and hatch-buildinfo (the wheelhouse's wheel of this checkout) in a fresh venv."""
    (shim,) = wheelhouse.glob("hatch_buildinfo-*.whl")
    venv = tmp_path_factory.mktemp("names") / "venv"
    return install(wheels["foo-cffi"], venv, wheelhouse, wheels["twin-pkgs"], shim)


ASK = """if True:
    import json, sys
    from hatch_buildinfo import build_info
    answers = {}
    for name in sys.argv[1:]:
        try:
            answers[name] = {"info": build_info(name).as_dict()}
        except ModuleNotFoundError as error:
            answers[name] = {"error": str(error), "name": error.name}
    print(json.dumps(answers))
"""


def ask(python: Path, *names: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, dict]:
    """What `build_info(name)` answers for each name in a fresh `python`: its info, or its error and `.name`."""
    result = run(python, "-c", ASK, *names, cwd=cwd or python.parents[2], env=env)
    return json.loads(result.stdout)


def test_the_wheel_holds_the_module_in_the_import_package(wheels):
    with zipfile.ZipFile(wheels["foo-cffi"]) as archive:
        assert "foo/_buildinfo.py" in archive.namelist()


@pytest.mark.parametrize("name", ["foo_cffi", "foo-cffi", "Foo.CFFI", "FOO__cffi"])
def test_a_distribution_name_reads_its_package_module(venv, name):
    answers = ask(venv / "bin" / "python", "foo", name)
    assert "info" in answers[name], answers[name]
    assert answers[name] == answers["foo"]
    info = answers[name]["info"]
    assert (info["program"], info["version"], info["revision"], info["branch"]) == (
        "foo_cffi",
        "1.2.3",
        REVISION,
        "release/1.0",
    )


def test_reading_by_package_name_does_not_load_importlib_metadata(venv):
    script = """if True:
        import json, sys
        from hatch_buildinfo import build_info
        info = build_info("foo")
        print(json.dumps([info.revision, "importlib.metadata" in sys.modules]))
    """
    result = run(venv / "bin" / "python", "-c", script, cwd=venv.parent)
    assert json.loads(result.stdout) == [REVISION, False]


def one_line_error(answer: dict) -> str:
    assert "error" in answer, answer
    assert len(answer["error"].splitlines()) == 1, answer["error"]
    return answer["error"]


def test_no_such_package_or_distribution(venv):
    answer = ask(venv / "bin" / "python", "nothing_here")["nothing_here"]
    assert one_line_error(answer) == (
        f"No package named 'nothing_here'; {ADVICE}, and no installed distribution is named 'nothing_here'"
    )
    assert answer["name"] == "nothing_here"


def test_a_distribution_without_a_generated_module_names_what_it_installs(venv):
    answer = ask(venv / "bin" / "python", "hatch-buildinfo")["hatch-buildinfo"]
    assert one_line_error(answer) == (
        f"No package named 'hatch-buildinfo'; {ADVICE}, and distribution 'hatch-buildinfo' installs: hatch_buildinfo"
    )
    assert answer["name"] == "hatch-buildinfo"


def test_a_distribution_with_several_generated_modules_is_not_guessed(venv):
    python = venv / "bin" / "python"
    answers = ask(python, "twin_pkgs", "alpha", "beta")
    assert one_line_error(answers["twin_pkgs"]) == (
        f"No package named 'twin_pkgs'; {ADVICE}, and distribution 'twin-pkgs' installs: alpha, beta"
        " (alpha, beta each with build info of its own)"
    )
    assert answers["twin_pkgs"]["name"] == "twin_pkgs"
    assert answers["alpha"] == answers["beta"] == {"info": TWIN_INFO.as_dict()}


def test_a_package_that_imports_without_a_module_still_falls_back_to_metadata(venv):
    # hatch_buildinfo has no generated module: its installed metadata answers, as before.
    answer = ask(venv / "bin" / "python", "hatch_buildinfo")["hatch_buildinfo"]
    assert answer["info"]["program"] == "hatch_buildinfo"
    assert answer["info"]["revision"] == "unknown"


def test_a_module_missing_inside_the_package_is_not_taken_for_a_distribution_name(venv, tmp_path):
    # foo_broken imports something that is not there: that error is the package's own, raised as it was.
    (tmp_path / "foo_broken").mkdir()
    (tmp_path / "foo_broken" / "__init__.py").write_text("import not_installed_anywhere\n")
    answer = ask(venv / "bin" / "python", "foo_broken", env=clean_environment(PYTHONPATH=str(tmp_path)))
    assert answer["foo_broken"] == {
        "error": "No module named 'not_installed_anywhere'",
        "name": "not_installed_anywhere",
    }


def _pyenv_python(version: str) -> Path:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no Python {version} under /root/.pyenv/versions on this machine")
    return Path(found[-1])


def test_python_38_finds_the_distribution_by_any_spelling(wheels, tmp_path):
    """3.8's importlib.metadata looks names up more narrowly than 3.10's; hatch_buildinfo from this checkout."""
    python = _pyenv_python("3.8")
    environ = clean_environment(UV_PYTHON_DOWNLOADS="never")
    run(UV, "venv", "--quiet", "--python", python, tmp_path / "venv", cwd=tmp_path, env=environ)
    venv = tmp_path / "venv"
    run(
        UV,
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--python",
        venv,
        wheels["foo-cffi"],
        cwd=tmp_path,
        env=environ,
    )
    environ["PYTHONPATH"] = str(ROOT)
    python = tmp_path / "venv" / "bin" / "python"
    answers = ask(python, "foo", "foo_cffi", "Foo.CFFI", "nothing_here", env=environ)
    assert answers["foo"]["info"]["revision"] == REVISION
    assert answers["foo_cffi"] == answers["Foo.CFFI"] == answers["foo"]
    assert ADVICE in one_line_error(answers["nothing_here"])


def test_python_37_says_to_pass_the_import_package(tmp_path):
    """3.7 has no importlib.metadata: no distribution can be looked up, and the error says what to pass."""
    python = _pyenv_python("3.7")
    answers = ask(python, "foo_cffi", env=clean_environment(PYTHONPATH=str(ROOT)), cwd=tmp_path)
    assert one_line_error(answers["foo_cffi"]) == (
        f"No package named 'foo_cffi'; {ADVICE} (the name you import), not a distribution's name"
    )
    assert answers["foo_cffi"]["name"] == "foo_cffi"
