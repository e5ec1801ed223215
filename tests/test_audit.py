"""`hatch-buildinfo audit`: real wheels built with the hook, real SBOMs, the real OSV records in tests/fixtures/osv,
and with `--index` a real package index (deploy/index_server.py's PEP 691/700 tree, served on loopback)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ROOT, UV, clean_environment, new_project, run, sdist_in, wheel_in

sys.path.insert(0, str(ROOT / "deploy"))
from index_server import File, IndexServer, write_tree
from tiers import free_port

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
        "fixed_released": None,
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
        ("deep.json", str(OSV), "deep.json is not a readable CycloneDX SBOM (JSON): maximum recursion depth"),
        ("wheel", "nowhere", "nowhere: no such file or directory"),
        ("wheel", "all.zip", "all.zip is not a zip of OSV records"),
    ],
)
def test_bad_input_exits_2_with_one_line(affected_wheel, tmp_path, target, osv, message):
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "deep.json").write_text("[" * 100_000)
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


# --- against a package index ----------------------------------------------------------------------

YEAR = 365.25 * 86400  # a libyear, as libyear.com counts it
# The public index: requests 2.32.3 exactly a year after 2.31.0, a yanked 2.32.4 and a pre-release after it, and
# not 2.32.2, the fix of its advisory; certifi's fix 2023.7.22, and 2024.2.2 whose files were uploaded weeks apart
# (its release time is the first); Foo_Bar spelled as its author does, with the release candidate a program runs.
PUBLIC = {
    "requests": [
        File("requests-2.31.0-py3-none-any.whl", "2023-05-22T00:00:00Z"),
        File("requests-2.31.0.tar.gz", "2023-05-22T00:05:00Z"),
        File("requests-2.32.3-py3-none-any.whl", "2024-05-21T06:00:00.000000Z"),
        File("requests-2.32.3.tar.gz", "2024-05-21T06:01:00Z"),
        File("requests-2.32.4-py3-none-any.whl", "2024-06-01T00:00:00Z", yanked="breaks proxies"),
        File("requests-2.33.0rc1-py3-none-any.whl", "2024-07-01T00:00:00Z"),
    ],
    "urllib3": [File("urllib3-2.2.2-py3-none-any.whl", "2024-06-17T00:00:00Z")],
    "certifi": [
        File("certifi-2022.12.7-py3-none-any.whl", "2022-12-07T00:00:00Z"),
        File("certifi-2023.7.22-py3-none-any.whl", "2023-07-22T09:00:00Z"),
        File("certifi-2024.2.2.tar.gz", "2024-02-02T00:00:00Z"),
        File("certifi-2024.2.2-py3-none-any.whl", "2024-03-15T00:00:00Z"),
    ],
    "Foo_Bar": [
        File("Foo_Bar-1.0-py3-none-any.whl", "2021-01-01T00:00:00Z"),
        File("Foo_Bar-2.0rc1-py3-none-any.whl", "2022-01-01T00:00:00Z"),
        File("Foo_Bar-2.0-py3-none-any.whl", "2022-07-02T12:00:00Z"),
    ],
    "nightly": [File("nightly-0.1.dev5.tar.gz", "2024-01-01T00:00:00Z"), File("nightly-0.2a1.tar.gz", None)],
}
# A mirror asked second, without PEP 700 data: it knows legacy, and a requests the public index answers for first.
MIRROR = {
    "legacy": [File("legacy-1.0.tar.gz", None), File("legacy-1.1.tar.gz", None)],
    "requests": [File("requests-9.0-py3-none-any.whl", None)],
}


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def years(running: str, newest: str) -> float:
    return (at(newest) - at(running)) / YEAR


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Iterator[IndexServer]:
    root = tmp_path_factory.mktemp("public")
    write_tree(root, PUBLIC)
    with IndexServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Iterator[IndexServer]:
    root = tmp_path_factory.mktemp("mirror")
    write_tree(root, MIRROR, pep700=False)
    with IndexServer(root) as server:
        yield server


@pytest.fixture
def broken(public) -> Iterator[IndexServer]:
    """The public index, made to answer every request as a test says; serving again after it."""
    try:
        yield public
    finally:
        public.break_with(None, None)


def sbom_of(path: Path, *components: tuple[str, str]) -> Path:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"name": name, "purl": f"pkg:pypi/{name}@{version}"} for name, version in components],
    }
    path.write_text(json.dumps(document))
    return path


def test_index_gives_each_entry_its_newest_release_and_libyears_and_a_total(affected_wheel, public, tmp_path):
    """Newest: not the yanked 2.32.4, not the 2.33.0rc1; certifi's release time is its first file's upload.
    Being behind is no advisory: the exit status stays 0 without --osv."""
    result = audit(affected_wheel, "--index", public.url, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    certifi = years("2022-12-07T00:00:00Z", "2024-02-02T00:00:00Z")
    assert result.stdout.splitlines() == [
        f"{affected_wheel}: certifi 2022.12.7 newest=2024.2.2 libyears={certifi:.2f}",
        f"{affected_wheel}: requests 2.31.0 newest=2.32.3 libyears=1.00",
        f"{affected_wheel}: urllib3 2.2.2 newest=2.2.2 libyears=0.00",
        f"{affected_wheel}: total libyears={certifi + 1:.2f} behind=2 of 3",
    ]


def test_osv_and_index_together_keep_the_advisory_exit_status_and_say_when_each_fix_was_released(
    affected_wheel, fixed_wheel, public, tmp_path
):
    certifi, requests = audit(affected_wheel, "--osv", OSV, cwd=tmp_path).stdout.splitlines()
    behind = audit(affected_wheel, "--index", public.url, cwd=tmp_path).stdout.splitlines()
    both = audit(affected_wheel, "--osv", OSV, "--index", public.url, cwd=tmp_path)
    assert both.returncode == 1
    assert both.stdout.splitlines() == [
        f"{certifi} fixed_released=2023-07-22",
        f"{requests} fixed_released=unknown",
        *behind,
    ]
    fixed = audit(fixed_wheel, "--osv", OSV, "--index", public.url, cwd=tmp_path)
    assert (fixed.returncode, fixed.stderr) == (0, "")
    assert fixed.stdout.splitlines()[-1] == f"{fixed_wheel}: total libyears=0.00 behind=0 of 2"


def test_names_as_the_fleet_spells_them_indexes_in_order_and_what_is_unknown(public, mirror, tmp_path):
    """foo-bar is Foo_Bar on the index, and runs a release candidate: compared with the newest release anyway.
    The public index answers for requests before the mirror; the mirror knows legacy but no upload times; no
    index knows private-thing. Unknowns are said, counted, and change no exit status."""
    sbom = sbom_of(
        tmp_path / "app.cdx.json",
        ("foo-bar", "2.0rc1"),
        ("requests", "2.31.0"),
        ("legacy", "1.0"),
        ("private-thing", "0.1"),
    )
    result = audit(sbom, "--index", public.url, "--index", mirror.url, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    foo_bar = years("2022-01-01T00:00:00Z", "2022-07-02T12:00:00Z")
    assert result.stdout.splitlines() == [
        f"{sbom}: foo-bar 2.0rc1 newest=2.0 libyears={foo_bar:.2f}",
        f"{sbom}: legacy 1.0 newest=1.1 libyears=unknown (no release time for 1.0 on the index)",
        f"{sbom}: private-thing 0.1 newest=unknown (no index knows private-thing)",
        f"{sbom}: requests 2.31.0 newest=2.32.3 libyears=1.00",
        f"{sbom}: total libyears={foo_bar + 1:.2f} behind=3 of 4 (libyears unknown for 2)",
    ]


def test_a_release_newer_than_the_newest_is_not_behind_and_what_cannot_be_compared_is_said(public, tmp_path):
    """A program on the pre-release after the newest release, or on the newest spelled 2.2.2.0, is 0 libyears;
    a version that is not PEP 440 cannot be compared, and a project of pre-releases only has no newest release."""
    sbom = sbom_of(
        tmp_path / "next.cdx.json",
        ("requests", "2.33.0rc1"),
        ("urllib3", "2.2.2.0"),
        ("certifi", "system"),
        ("nightly", "0.1.dev5"),
    )
    result = audit(sbom, "--index", public.url, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"{sbom}: certifi system newest=2024.2.2 libyears=unknown (system is not a PEP 440 version)",
        f"{sbom}: nightly 0.1.dev5 newest=none (no final release on the index)",
        f"{sbom}: requests 2.33.0rc1 newest=2.32.3 libyears=0.00",
        f"{sbom}: urllib3 2.2.2.0 newest=2.2.2 libyears=0.00",
        f"{sbom}: total libyears=0.00 behind=0 of 4 (libyears unknown for 2)",
    ]


def test_json_adds_freshness_and_totals_and_keeps_findings(affected_wheel, public, tmp_path):
    result = audit(affected_wheel, "--osv", OSV, "--index", public.url, "--json", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["schema"] == 1
    offline = json.loads(audit(affected_wheel, "--osv", OSV, "--json", cwd=tmp_path).stdout)["findings"]
    released = [finding.pop("fixed_released") for finding in document["findings"]]
    assert released == [at("2023-07-22T09:00:00Z"), None]  # requests' fix, 2.32.2, is not on this index
    assert [finding.pop("fixed_released") for finding in offline] == [None, None]
    assert document["findings"] == offline
    assert document["index"] == [public.url]
    certifi, requests, urllib3 = document["freshness"]
    assert certifi == {
        "target": str(affected_wheel),
        "name": "certifi",
        "version": "2022.12.7",
        "on_index": True,
        "newest": "2024.2.2",
        "released": at("2022-12-07T00:00:00Z"),
        "newest_released": at("2024-02-02T00:00:00Z"),
        "behind": True,
        "libyears": pytest.approx(years("2022-12-07T00:00:00Z", "2024-02-02T00:00:00Z")),
    }
    assert (requests["newest"], requests["libyears"]) == ("2.32.3", pytest.approx(1.0))
    assert (urllib3["behind"], urllib3["libyears"]) == (False, 0.0)
    assert document["totals"] == [
        {
            "target": str(affected_wheel),
            "libyears": pytest.approx(certifi["libyears"] + 1),
            "behind": 2,
            "entries": 3,
            "unknown": 0,
        }
    ]


def test_json_without_index_says_nothing_was_asked_and_without_osv_nothing_was_checked(
    affected_wheel, public, tmp_path
):
    offline = json.loads(audit(affected_wheel, "--osv", OSV, "--json", cwd=tmp_path).stdout)
    assert (offline["index"], offline["freshness"], offline["totals"]) == ([], None, None)
    result = audit(affected_wheel, "--index", public.url, "--json", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout)["findings"]) == (0, None)


PROBE = """\
import os, sys

def _record(event, arguments):
    if event in ("socket.connect", "socket.getaddrinfo"):
        with open(os.environ["NETWORK_LOG"], "a") as log:
            log.write(f"{event} {arguments[1:]!r}\\n")

sys.addaudithook(_record)
"""


def test_without_index_audit_makes_no_request(affected_wheel, public, tmp_path):
    """Every socket connection and name look-up the process makes is logged by an audit hook (PEP 578): none
    without --index; with it, the probe sees the connections to the index, so it can see them at all."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(PROBE)
    log = tmp_path / "network.log"
    env = clean_environment(PYTHONPATH=str(probe), NETWORK_LOG=str(log))

    def audited(*arguments: str | Path):
        return run(sys.executable, "-m", "hatch_buildinfo", "audit", *arguments, cwd=tmp_path, env=env, check=False)

    assert audited(affected_wheel, "--osv", OSV).returncode == 1
    assert not log.exists()
    assert audited(affected_wheel, "--osv", OSV, "--index", public.url).returncode == 1
    port = public.url.split(":")[2].split("/")[0]
    assert f"('127.0.0.1', {port})" in log.read_text()


def test_neither_osv_nor_index_is_one_line_and_exit_2(affected_wheel, tmp_path):
    result = audit(affected_wheel, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "python -m hatch_buildinfo: error: audit needs --osv PATH, --index URL or both\n"


def test_help_says_the_exit_status_is_about_advisories(tmp_path):
    result = audit("--help", cwd=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Exit status: 0 no advisory affects anything, 1 one does (how outdated the entries are never" in text
    assert "Without --index no request is made." in text


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, b"down for maintenance"), (200, b"<html>a captive portal</html>"), (None, None)],
    ids=["503", "garbage", "nothing-listening"],
)
def test_an_index_that_cannot_answer_is_one_line_and_exit_2(affected_wheel, broken, tmp_path, status, body):
    if status is None:
        url = f"http://127.0.0.1:{free_port()}/simple/"
    else:
        broken.break_with(status, body)
        url = broken.url
    result = audit(affected_wheel, "--osv", OSV, "--index", url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("python -m hatch_buildinfo: error: ")
    assert url.rstrip("/") in result.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mirror.example/simple/", "--index mirror.example/simple/: give an http:// or https:// URL"),
        ("http://[::1", "--index http://[::1: give an http:// or https:// URL"),
        ("https://ops:secret@mirror.example/simple/", "credentials in an index URL are not supported"),
    ],
)
def test_an_index_url_that_cannot_be_used_is_one_line_that_never_shows_credentials(affected_wheel, tmp_path, url, says):
    result = audit(affected_wheel, "--index", url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith("python -m hatch_buildinfo: error: ") and says in line, line
    assert "secret" not in line
