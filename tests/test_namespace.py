"""PEP 420 namespace packages: many distributions share `company/`, each ships its own portion of it.

The module goes into the distribution's portion (`company-sdk` → `company/sdk/`), which no other
distribution of the namespace ships; two such distributions, built for real and installed into one
venv, each report their own build, by distribution name and by import name.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import (
    UV,
    Project,
    clean_environment,
    new_project,
    read_target,
    run,
    wheel_in,
    wheel_table,
    with_pyproject,
)

# Both portions as Google's and Azure's libraries lay them out: `src/company/` has no `__init__.py`.
NAMESPACE_TABLE = 'packages = ["src/company"]'


def namespace_project(path: Path, name: str, files: list[str], table: str = NAMESPACE_TABLE) -> Project:
    """Project `name` whose wheel ships `files` (project-relative, each with a line of Python) as `table` says."""
    project = wheel_table(new_project(path, name=name), table)
    for file in files:
        project.write(file, f'"""{file} of {name}."""\n')
    return project


# Where the module goes: the hook as hatchling makes it, no build.


@pytest.mark.parametrize(
    ("name", "files", "table", "expected"),
    [
        pytest.param(
            "company-sdk",
            ["src/company/sdk/client.py", "src/company/sdk/auth/__init__.py", "src/company/sdk/models/__init__.py"],
            NAMESPACE_TABLE,
            "src/company/sdk/_buildinfo.py",
            id="portion-without-init",
        ),
        pytest.param(
            "company-sdk",
            ["src/company/sdk/__init__.py", "src/company/sdk/auth/__init__.py"],
            NAMESPACE_TABLE,
            "src/company/sdk/_buildinfo.py",
            id="portion-with-init",
        ),
        pytest.param(
            "company-sdk",
            ["src/company/sdk/auth/__init__.py"],
            NAMESPACE_TABLE,
            "src/company/sdk/_buildinfo.py",
            id="portion-with-one-package",
        ),
        pytest.param(
            "Company.Cloud.Storage",
            ["src/company/cloud/storage/blobs/__init__.py", "src/company/cloud/storage/queues/__init__.py"],
            NAMESPACE_TABLE,
            "src/company/cloud/storage/_buildinfo.py",
            id="two-deep",
        ),
        pytest.param(
            "company-cloud-storage",
            ["src/company/cloud_storage/__init__.py", "src/company/cloud_storage_v1/__init__.py"],
            NAMESPACE_TABLE,
            "src/company/cloud_storage/_buildinfo.py",
            id="portion-named-with-underscores",
        ),
        pytest.param(
            "company-sdk",
            ["src/company/sdk/auth/__init__.py", "src/company/sdk/models/__init__.py"],
            'only-include = ["src/company/sdk"]\nsources = ["src"]',
            "src/company/sdk/_buildinfo.py",
            id="only-include-the-portion",
        ),
        pytest.param(
            "company-sdk",
            ["lib/sdk/auth/__init__.py", "lib/sdk/models/__init__.py"],
            'only-include = ["lib"]\nsources = {"lib" = "company"}',
            "lib/sdk/_buildinfo.py",
            id="sources-renamed",
        ),
    ],
)
def test_the_default_path_is_the_distributions_own_portion(tmp_path, name, files, table, expected):
    project = namespace_project(tmp_path / "demo", name, files, table)

    for target in ("wheel", "sdist"):
        assert project.hook(target).config_path == expected, target


def test_a_package_named_like_the_portion_inside_a_regular_package_changes_nothing(tmp_path):
    """`foo/` has an `__init__.py`: no namespace, so `foo-bar` stamps the one package it ships, as before."""
    project = namespace_project(
        tmp_path / "demo", "foo-bar", ["src/foo/__init__.py", "src/foo/bar/__init__.py"], 'packages = ["src/foo"]'
    )

    assert project.hook().config_path == "src/foo/_buildinfo.py"


@pytest.mark.parametrize(
    ("name", "files", "table", "line"),
    [
        pytest.param(
            "company-sdk-tools",
            ["src/company/sdk/auth/__init__.py", "src/company/sdk/models/__init__.py", "src/company/util/__init__.py"],
            NAMESPACE_TABLE,
            "the wheel ships 3 packages in namespace 'company' (src/company/sdk/auth, src/company/sdk/models, "
            "src/company/util), none in 'company/sdk/tools': name the project's portion, "
            "e.g. 'src/company/sdk/tools/_buildinfo.py'",
            id="no-portion-of-the-name",
        ),
        pytest.param(  # opentelemetry-api's shape: its packages lie straight in the shared namespace
            "company-api",
            ["src/company/_logs/__init__.py", "src/company/trace/__init__.py"],
            NAMESPACE_TABLE,
            "the wheel ships 2 packages in namespace 'company' (src/company/_logs, src/company/trace), "
            "none in 'company/api': name the project's portion, e.g. 'src/company/api/_buildinfo.py'",
            id="packages-straight-in-the-namespace",
        ),
        pytest.param(
            "company-sdk",
            ["src/company/sdk/auth/__init__.py", "gen/company/sdk/models/__init__.py"],
            'only-include = ["src", "gen"]\nsources = ["src", "gen"]',
            "the wheel ships the project's portion 'company/sdk' from 2 directories (gen/company/sdk, "
            "src/company/sdk): name one, e.g. 'gen/company/sdk/_buildinfo.py'",
            id="portion-from-two-directories",
        ),
    ],
)
def test_an_ambiguous_namespace_asks_for_path_naming_a_portion(tmp_path, capsys, name, files, table, line):
    project = namespace_project(tmp_path / "demo", name, files, table)

    with pytest.raises(SystemExit) as aborted:
        project.hook().initialize("standard", {"force_include": {}})

    assert aborted.value.code == 1
    assert capsys.readouterr().err.splitlines() == [f"Option `path` for build hook `buildinfo` is required: {line}"]


def test_the_suggested_portion_builds_though_no_directory_holds_it_yet(tmp_path):
    """`path` as the message suggests: the wheel ships the module in the project's new portion, `company/api/`."""
    files = ["src/company/_logs/__init__.py", "src/company/trace/__init__.py"]
    project = with_pyproject(
        namespace_project(tmp_path / "demo", "company-api", files), in_hook='path = "src/company/api/_buildinfo.py"\n'
    )
    project.git("init", "--quiet")
    project.commit()

    wheel = wheel_in(project.build("wheel").outdir)

    with zipfile.ZipFile(wheel) as archive:
        assert "company/api/_buildinfo.py" in archive.namelist()
        assert not [name for name in archive.namelist() if name.endswith("/__init__.py") and "/api/" in name]
    assert read_target(str(wheel)).program == "company_api"
    assert not (project.path / "src/company/api").exists()


# Two distributions of one namespace, built for real and installed side by side.

# Each: its version, its branch, the files its wheel ships (the sdk's portion has no `__init__.py`, the cloud's has).
DISTRIBUTIONS = {
    "company-sdk": ("1.0.0", "main", ["src/company/sdk/client.py", "src/company/sdk/auth/__init__.py"]),
    "company-cloud": ("2.0.0", "release", ["src/company/cloud/__init__.py", "src/company/cloud/storage/__init__.py"]),
}
READ_BUILD_INFO = """if True:
    import json, sys
    from hatch_buildinfo import build_info
    print(json.dumps(build_info(sys.argv[1]).as_dict()))
"""


@pytest.fixture(scope="module")
def installed(wheelhouse, tmp_path_factory) -> tuple[Path, dict[str, tuple[Path, str]]]:
    """A venv with hatch-buildinfo and both distributions' wheels, each built (sdist, then wheel from it) from a
    repository of its own: the venv's python, and by distribution name its wheel and the revision it was built at."""
    root = tmp_path_factory.mktemp("namespace")
    built = {}
    for name, (version, branch, files) in DISTRIBUTIONS.items():
        project = namespace_project(root / name, name, files)
        pyproject = project.path / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"1.2.3"', f'"{version}"'), encoding="utf-8")
        project.git("init", "--quiet", f"--initial-branch={branch}")
        revision = project.commit()
        built[name] = (wheel_in(project.build().outdir), revision)
    (hook,) = wheelhouse.glob("hatch_buildinfo-*.whl")
    wheels = [wheel for wheel, _ in built.values()]
    venv = root / "venv"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=root)
    run(UV, "pip", "install", "--quiet", "--no-index", "--no-deps", "--python", venv, hook, *wheels, cwd=root)
    return venv / "bin" / "python", built


def test_each_wheel_ships_its_module_in_its_own_portion_and_no_namespace_init(installed):
    _, built = installed

    for name, (wheel, _) in built.items():
        with zipfile.ZipFile(wheel) as archive:
            shipped = archive.namelist()
        portion = name.replace("-", "/")
        assert [file for file in shipped if file.endswith("_buildinfo.py")] == [f"{portion}/_buildinfo.py"], name
        assert "company/__init__.py" not in shipped, name
        # The portion ships as it is written: the hook adds no `__init__.py` to it.
        assert (f"{portion}/__init__.py" in shipped) == (f"src/{portion}/__init__.py" in DISTRIBUTIONS[name][2]), name


def own_build(name: str, wheel: Path, revision: str) -> dict:
    """What distribution `name` recorded, as its wheel has it, checked against how it was built."""
    recorded = read_target(str(wheel)).as_dict()
    version, branch, _ = DISTRIBUTIONS[name]
    assert (recorded["version"], recorded["branch"], recorded["revision"]) == (version, branch, revision)
    return recorded


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("spelling", ["distribution", "import"])
def test_build_info_in_the_venv_reads_each_distributions_own_build(installed, name, spelling):
    python, built = installed
    asked = name if spelling == "distribution" else name.replace("-", ".")

    result = run(python, "-c", READ_BUILD_INFO, asked, cwd=python.parent, env=clean_environment())

    assert json.loads(result.stdout) == own_build(name, *built[name])


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_inspect_in_the_venv_shows_each_distributions_own_build(installed, name):
    python, built = installed

    result = run(python, "-m", "hatch_buildinfo", "inspect", name, "--json", cwd=python.parent)

    assert json.loads(result.stdout) == own_build(name, *built[name])


def test_the_shared_namespace_is_no_single_distributions(installed):
    """`company` is both distributions' namespace: neither one's version is its version."""
    python, _ = installed

    result = run(python, "-c", READ_BUILD_INFO, "company", cwd=python.parent, env=clean_environment())

    info = json.loads(result.stdout)
    assert (info["program"], info["version"], info["revision"]) == ("company", "unknown", "unknown")


def test_a_portion_in_a_checkout_reads_its_git_facts(tmp_path):
    """No `__init__.py` and not installed: `build_info(..., git=True)` asks git in the portion's directory."""
    project = namespace_project(tmp_path / "company-sdk", "company-sdk", ["src/company/sdk/client.py"])
    project.git("init", "--quiet", "--initial-branch=trunk")
    revision = project.commit()
    script = READ_BUILD_INFO.replace("build_info(sys.argv[1])", "build_info(sys.argv[1], git=True)")

    source = clean_environment(PYTHONPATH=str(project.path / "src"))
    result = run(sys.executable, "-c", script, "company.sdk", cwd=tmp_path, env=source)

    info = json.loads(result.stdout)
    assert (info["revision"], info["branch"], info["dirty"]) == (revision, "trunk", False)
