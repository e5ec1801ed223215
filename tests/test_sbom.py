"""The CycloneDX SBOM in every wheel (PEP 770), read back as users read it: `inspect`, `inspect --sbom`."""

from __future__ import annotations

import json
import sys
import tarfile
import uuid
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, Project, clean_environment, new_project, run, sdist_in, wheel_in
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given
from hypothesis import strategies as st
from packageurl import PackageURL
from packaging.version import Version

from hatch_buildinfo.hook.locks import Locked
from hatch_buildinfo.hook.sbom import cyclonedx, purl
from hatch_buildinfo.info import BuildInfo

SHA256 = {"attrs": "a" * 64, "idna": "b" * 64}
SHA512_IDNA = "c" * 128
# A requirements file in pip's hash-checking mode: hashes, and no dependency graph.
REQUIREMENTS = f"""\
attrs==23.2.0 \\
    --hash=sha256:{SHA256["attrs"]}
idna==3.6 --hash=sha256:{SHA256["idna"]} --hash=sha512:{SHA512_IDNA}
"""
EPOCH = "1700000000"  # 2023-11-14T22:13:20Z


def inspect(*arguments: str | Path, python: str | Path = sys.executable, env=None):
    return run(python, "-m", "hatch_buildinfo", "inspect", *map(str, arguments), cwd=ROOT, env=env, check=False)


def sbom_of(target: str | Path, python: str | Path = sys.executable, env=None) -> bytes:
    result = inspect("--sbom", target, python=python, env=env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout.encode("utf-8")


def assert_valid(document: str | bytes) -> dict:
    """The document, after CycloneDX 1.6's JSON schema, checked by cyclonedx-python-lib, accepted it."""
    text = document.decode("utf-8") if isinstance(document, bytes) else document
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    return json.loads(document)


def locked_project(path: Path, tables: str = "") -> Project:
    """A project locked by a requirements file in hash-checking mode, committed; `tables` end its pyproject.toml."""
    project = new_project(path, 'lockfile = "requirements.txt"\n' + tables)
    project.write("requirements.txt", REQUIREMENTS)
    pyproject = (project.path / "pyproject.toml").read_text()
    project.write(
        "pyproject.toml",
        pyproject.replace('version = "1.2.3"\n', 'version = "1.2.3"\ndependencies = ["attrs", "idna"]\n').replace(
            "[tool.hatch.build.hooks.buildinfo]",
            '[project.urls]\nSource = "https://example.invalid/demo"\n\n[tool.hatch.build.hooks.buildinfo]',
        ),
    )
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("initial")
    return project


@pytest.fixture(scope="module")
def reproducible(tmp_path_factory) -> dict[str, Path]:
    """One project, built reproducibly by two users: a wheel from the tree each, and sdist + wheel from it."""
    # With the lock out of the sdist, a wheel built from it can only ship the SBOM the sdist carries.
    without_lock = '\n[tool.hatch.build.targets.sdist]\nexclude = ["requirements.txt"]\n'
    project = locked_project(tmp_path_factory.mktemp("sbom") / "demo", without_lock)
    built = {}
    for user in ("alice", "bob"):
        env = clean_environment(SOURCE_DATE_EPOCH=EPOCH, USER=user, LOGNAME=user)
        built[user] = wheel_in(project.build("wheel", env=env, outdir=project.path.parent / user).outdir)
    env = clean_environment(SOURCE_DATE_EPOCH=EPOCH)
    result = project.build("sdist", "wheel", env=env, outdir=project.path.parent / "from-sdist")
    built["sdist"], built["wheel from sdist"] = sdist_in(result.outdir), wheel_in(result.outdir)
    with tarfile.open(built["sdist"]) as sdist:
        assert not [name for name in sdist.getnames() if name.endswith("requirements.txt")]
    built["revision"] = project.git("rev-parse", "HEAD")
    return built


def test_example_app_wheel_sbom_lists_exactly_its_runtime_set(example_wheel):
    document = assert_valid(sbom_of(example_wheel))
    info = json.loads(inspect(example_wheel, "--json").stdout)

    root = document["metadata"]["component"]
    assert (root["name"], root["version"], root["purl"]) == ("example-app", "0.1.0", "pkg:pypi/example-app@0.1.0")
    assert {"name": "hatch-buildinfo:revision", "value": info["revision"]} in root["properties"]
    components = {(component["name"], component["version"]) for component in document["components"]}
    assert components == {(dependency["name"], dependency["version"]) for dependency in info["dependencies"]}
    for component in document["components"]:
        assert component["purl"] == f"pkg:pypi/{component['name']}@{component['version']}"
    # uv.lock has a graph: example-app -> hatch-buildinfo[prometheus] -> prometheus-client (one per Python fork).
    edges = {edge["ref"]: edge["dependsOn"] for edge in document["dependencies"]}
    assert edges[root["purl"]] == ["pkg:pypi/hatch-buildinfo@" + dict(components)["hatch-buildinfo"]]
    clients = [component for component in document["components"] if component["name"] == "prometheus-client"]
    assert clients and all(component["hashes"] for component in clients)
    assert sorted(edges[f"pkg:pypi/hatch-buildinfo@{dict(components)['hatch-buildinfo']}"]) == sorted(
        component["purl"] for component in clients
    )
    if len(clients) > 1:  # a forked entry keeps its marker
        assert all(property["name"] == "hatch-buildinfo:marker" for c in clients for property in c["properties"])


def test_text_output_reports_the_sbom_and_its_component_count(example_wheel):
    result = inspect(example_wheel)
    assert result.returncode == 0, result.stderr
    count = len(json.loads(inspect(example_wheel, "--json").stdout)["dependencies"])
    assert f"  sbom:             example-app.cdx.json (CycloneDX 1.6, {count} components)" in result.stdout.splitlines()


def test_requirements_hashes_are_kept_and_the_root_has_its_edges(reproducible):
    document = assert_valid(sbom_of(reproducible["alice"]))
    hashes = {component["name"]: component["hashes"] for component in document["components"]}
    assert hashes == {
        "attrs": [{"alg": "SHA-256", "content": SHA256["attrs"]}],
        "idna": [{"alg": "SHA-256", "content": SHA256["idna"]}, {"alg": "SHA-512", "content": SHA512_IDNA}],
    }
    # A requirements file has no graph: only the project's own edges are known.
    assert document["dependencies"] == [
        {"ref": "pkg:pypi/demo-pkg@1.2.3", "dependsOn": ["pkg:pypi/attrs@23.2.0", "pkg:pypi/idna@3.6"]}
    ]
    root = document["metadata"]["component"]
    revision = reproducible["revision"]
    assert root["externalReferences"] == [
        {"type": "vcs", "url": f"git+https://example.invalid/demo@{revision}", "comment": f"revision {revision}"}
    ]
    assert document["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"


def test_an_extra_spelled_otherwise_still_gives_the_root_its_edges(tmp_path):
    project = locked_project(tmp_path / "demo")
    pyproject = (project.path / "pyproject.toml").read_text()
    for old, new in (
        ('dependencies = ["attrs", "idna"]\n', 'dependencies = ["attrs"]\n'),
        ("[project.urls]", '[project.optional-dependencies]\nMy_Extra = ["idna"]\n\n[project.urls]'),
        ('lockfile = "requirements.txt"', 'lockfile = "requirements.txt"\nextras = ["my.extra"]'),
    ):
        pyproject = pyproject.replace(old, new)
    project.write("pyproject.toml", pyproject)
    project.commit("an extra")
    document = assert_valid(sbom_of(wheel_in(project.build("wheel").outdir)))
    root = next(edge for edge in document["dependencies"] if edge["ref"] == "pkg:pypi/demo-pkg@1.2.3")
    assert root["dependsOn"] == ["pkg:pypi/attrs@23.2.0", "pkg:pypi/idna@3.6"]


def test_two_users_reproducible_builds_write_the_same_bytes(reproducible):
    alice, bob = (zipfile.ZipFile(reproducible[user]) for user in ("alice", "bob"))
    name = "demo_pkg-1.2.3.dist-info/sboms/demo-pkg.cdx.json"
    assert alice.read(name) == bob.read(name)
    serial = json.loads(alice.read(name))["serialNumber"]
    assert uuid.UUID(serial.removeprefix("urn:uuid:")).version == 5


def test_wheel_from_the_sdist_carries_the_tree_wheels_sbom(reproducible):
    from_tree = sbom_of(reproducible["alice"])
    assert sbom_of(reproducible["wheel from sdist"]) == from_tree
    assert sbom_of(reproducible["sdist"]) == from_tree
    with zipfile.ZipFile(reproducible["wheel from sdist"]) as wheel:
        assert [name for name in wheel.namelist() if name.endswith(".cdx.json")] == [
            "demo_pkg-1.2.3.dist-info/sboms/demo-pkg.cdx.json"
        ]


def test_installed_distribution_sbom_is_found_in_its_dist_info(example_wheel, example_venv):
    python = example_venv / "bin" / "python"
    assert sbom_of("example-app", python=python) == sbom_of(example_wheel)
    text = inspect("example-app", python=python).stdout
    assert "  sbom:             example-app.cdx.json (CycloneDX 1.6, " in text


@pytest.mark.parametrize("config", ["sbom = false\n", ""])
def test_no_sbom_when_turned_off_or_no_lock_was_read(tmp_path, config):
    project = new_project(tmp_path / "demo", config + ("" if config else "lockfile = false\n"))
    if config:
        project.write("requirements.txt", REQUIREMENTS)
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit()
    wheel = wheel_in(project.build("wheel").outdir)
    with zipfile.ZipFile(wheel) as archive:
        assert not [name for name in archive.namelist() if "/sboms/" in name]
    assert "  sbom:             none" in inspect(wheel).stdout.splitlines()
    result = inspect("--sbom", wheel)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"python -m hatch_buildinfo: error: {wheel} carries no SBOM (PEP 770: .dist-info/sboms/)\n"


def test_hatchling_without_sbom_support_builds_without_one_and_says_so(tmp_path, capfd):
    build_data: dict = {"force_include": {}}  # what hatchling before 1.28 hands a hook: no `sbom_files`
    hook = locked_project(tmp_path / "demo").hook("wheel")
    hook.initialize("standard", build_data)
    try:
        assert list(build_data) == ["force_include"]
        warnings = [line for line in capfd.readouterr().err.splitlines() if "SBOM" in line]
        assert len(warnings) == 1 and "cannot put an SBOM into a wheel (hatchling 1.28 and later can)" in warnings[0]
    finally:
        hook.finalize("standard", build_data, "")


def test_unknown_hash_algorithms_and_wrong_lengths_are_left_out_and_the_document_stays_valid():
    info = BuildInfo("demo", "1.0", revision="abc", build_date="2026-01-02T03:04:05Z")
    # md5 kept; sha256 and blake2b of the wrong length, and whirlpool, left out
    hashes = ("md5:" + "d" * 32, "sha256:deadbeef", "whirlpool:" + "e" * 128, "blake2b_256:" + "f" * 40)
    packages = [
        Locked("a", "1.0", hashes=hashes),
        Locked("b", "2.0", 'sys_platform == "linux"', requires=("a",)),
    ]
    document = assert_valid(cyclonedx(info, "demo", packages, direct=["B"], tool_version="0"))
    assert [component.get("hashes") for component in document["components"]] == [
        [{"alg": "MD5", "content": "d" * 32}],
        None,
    ]
    assert {edge["ref"]: edge["dependsOn"] for edge in document["dependencies"]} == {
        "pkg:pypi/demo@1.0": ["pkg:pypi/b@2.0"],
        "pkg:pypi/a@1.0": [],
        "pkg:pypi/b@2.0": ["pkg:pypi/a@1.0"],
    }


PROJECT_NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True)
VERSIONS = st.builds(
    lambda epoch, release, pre, post, dev, local: str(
        Version(
            (f"{epoch}!" if epoch else "")
            + ".".join(map(str, release))
            + (f"{pre[0]}{pre[1]}" if pre else "")
            + (f".post{post}" if post is not None else "")
            + (f".dev{dev}" if dev is not None else "")
            + (f"+{local}" if local else "")
        )
    ),
    st.integers(0, 3),
    st.lists(st.integers(0, 999), min_size=1, max_size=4),
    st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 9)),
    st.none() | st.integers(0, 9),
    st.none() | st.integers(0, 9),
    st.none() | st.from_regex(r"[a-z0-9]+(\.[a-z0-9]+){0,2}", fullmatch=True),
)


@given(PROJECT_NAMES, VERSIONS)
def test_purl_is_the_package_url_libraries_write(name, version):
    assert purl(name, version) == PackageURL(type="pypi", name=name, version=version).to_string()
