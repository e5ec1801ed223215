"""`hatch-buildinfo audit`: real wheels built with the hook, real SBOMs, the real OSV records in tests/fixtures/osv."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import UV, clean_environment, new_project, run, sdist_in, wheel_in

OSV = Path(__file__).parent / "fixtures" / "osv"
# A runtime lock: requests at a release the 2024 advisory affects, certifi only where the marker holds (not here).
LOCK = """\
requests==2.31.0
urllib3==2.2.2
certifi==2022.12.7 ; sys_platform == "win32"
"""
FIXED_LOCK = "requests==2.32.3\nurllib3==2.2.2\n"


def audit(*arguments: str | Path, cwd: Path):
    return run(sys.executable, "-m", "hatch_buildinfo", "audit", *arguments, cwd=cwd, check=False)


def built(path: Path, lock: str, *targets: str) -> Path:
    """The output directory of a build of `targets` of a project whose runtime lock is `lock`."""
    project = new_project(path)
    text = (path / "pyproject.toml").read_text()
    dependencies = 'dependencies = ["requests", "urllib3", "certifi; sys_platform == \'win32\'"]\n'
    (path / "pyproject.toml").write_text(text.replace('version = "1.2.3"\n', f'version = "1.2.3"\n{dependencies}'))
    project.write("requirements.txt", lock)
    project.git("init", "--quiet", "--initial-branch=main")
    project.commit("initial")
    return project.build(*targets).outdir


@pytest.fixture(scope="module")
def affected(tmp_path_factory) -> Path:
    return built(tmp_path_factory.mktemp("affected") / "demo", LOCK, "sdist", "wheel")


@pytest.fixture(scope="module")
def affected_wheel(affected) -> Path:
    return wheel_in(affected)


@pytest.fixture(scope="module")
def fixed_wheel(tmp_path_factory) -> Path:
    return wheel_in(built(tmp_path_factory.mktemp("fixed") / "demo", FIXED_LOCK, "wheel"))


def test_a_wheel_locking_an_affected_version_exits_1_with_one_line_per_advisory(affected_wheel, tmp_path):
    """Every locked entry counts, the one under a marker that does not hold here too (certifi, for Windows)."""
    result = audit(affected_wheel, "--osv", OSV, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        f"{affected_wheel}: certifi 2022.12.7 PYSEC-2023-135 aliases=CVE-2023-37920,GHSA-xqr8-7jwr-rhp7 "
        "severity=unknown fixed=2023.7.22",
        f"{affected_wheel}: requests 2.31.0 GHSA-9wx4-h78v-vm56 aliases=CVE-2024-35195 severity=medium fixed=2.32.2",
    ]


def test_an_sdist_and_an_installed_distribution_audit_as_the_wheel_does(affected, affected_wheel, tmp_path):
    expected = audit(affected_wheel, "--osv", OSV, cwd=tmp_path).stdout
    sdist = sdist_in(affected)
    result = audit(sdist, "--osv", OSV, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, expected.replace(str(affected_wheel), str(sdist)))
    site = tmp_path / "site"
    run(UV, "pip", "install", "--quiet", "--no-deps", "--target", site, affected_wheel, cwd=tmp_path)
    installed = run(
        sys.executable,
        "-m",
        "hatch_buildinfo",
        "audit",
        "demo-pkg",
        "--osv",
        OSV,
        cwd=tmp_path,
        env=clean_environment(PYTHONPATH=str(site)),
        check=False,
    )
    assert (installed.returncode, installed.stdout) == (1, expected.replace(str(affected_wheel), "demo-pkg"))


def test_json_names_the_same_findings(affected_wheel, tmp_path):
    result = audit(affected_wheel, "--osv", OSV, "--json", cwd=tmp_path)
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(each["name"], each["version"], each["advisory"]) for each in findings] == [
        ("certifi", "2022.12.7", "PYSEC-2023-135"),
        ("requests", "2.31.0", "GHSA-9wx4-h78v-vm56"),
    ]
    assert findings[1] == {
        "target": str(affected_wheel),
        "name": "requests",
        "version": "2.31.0",
        "advisory": "GHSA-9wx4-h78v-vm56",
        "aliases": ["CVE-2024-35195"],
        "severity": "medium",
        "fixed": "2.32.2",
        "published": 1716236100.0,
    }


def test_a_wheel_on_the_fixed_versions_exits_0_and_prints_nothing(fixed_wheel, tmp_path):
    result = audit(fixed_wheel, "--osv", OSV, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_sbom_a_wheel_ships_audits_as_the_wheel_does(affected_wheel, tmp_path):
    sbom = tmp_path / "demo.cdx.json"
    sbom.write_bytes(
        run(sys.executable, "-m", "hatch_buildinfo", "inspect", affected_wheel, "--sbom", cwd=tmp_path).stdout.encode()
    )
    result = audit(sbom, "--osv", OSV, cwd=tmp_path)
    assert result.returncode == 1
    from_wheel = audit(affected_wheel, "--osv", OSV, cwd=tmp_path).stdout
    assert result.stdout == from_wheel.replace(str(affected_wheel), str(sbom))


def test_any_cyclonedx_sbom_with_pypi_purls(tmp_path):
    """Another tool's SBOM: nested components, qualifiers, a percent-encoded name, non-PyPI purls ignored."""
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"name": "web", "purl": "pkg:npm/left-pad@1.0.0"},
            {
                "name": "bundle",
                "components": [{"name": "Jinja2", "purl": "pkg:pypi/Jinja2@2.11.2?file_name=Jinja2-2.11.2.tar.gz"}],
            },
            {"name": "py", "purl": "pkg:pypi/py@1.11.0"},
            {"name": "unversioned", "purl": "pkg:pypi/urllib3"},
        ],
    }
    path = tmp_path / "other.json"
    path.write_text(json.dumps(sbom))
    result = audit(path, "--osv", OSV, cwd=tmp_path)
    assert result.returncode == 1
    assert [line.split()[1:4] for line in result.stdout.splitlines()] == [
        ["jinja2", "2.11.2", "PYSEC-2021-66"],
        ["py", "1.11.0", "PYSEC-2022-42969"],
    ]


@pytest.mark.parametrize(
    ("target", "osv", "message"),
    [
        ("missing.whl", str(OSV), "missing.whl: no such file"),
        ("broken.json", str(OSV), "broken.json is not a readable CycloneDX SBOM (JSON)"),
        ("wheel", "nowhere", "nowhere: no such file or directory"),
        ("wheel", "all.zip", "all.zip is not a zip of OSV records"),
    ],
)
def test_bad_input_exits_2_with_one_line(affected_wheel, tmp_path, target, osv, message):
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "all.zip").write_text("not a zip")
    result = audit(affected_wheel if target == "wheel" else target, "--osv", osv, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert result.stderr.startswith("python -m hatch_buildinfo: error: ")


def test_an_unreadable_record_is_one_warning_line_and_the_rest_still_counts(affected_wheel, tmp_path):
    database = tmp_path / "osv"
    shutil.copytree(OSV, database)
    (database / "broken.json").write_text('{"id": "PYSEC-0000-1", "affected": "requests"}')
    result = audit(affected_wheel, "--osv", database, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == audit(affected_wheel, "--osv", OSV, cwd=tmp_path).stdout
    assert result.stderr == f"warning: skipped {database / 'broken.json'}: PYSEC-0000-1: `affected` is not a list\n"
