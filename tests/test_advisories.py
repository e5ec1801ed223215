"""The advisory database: real OSV records (tests/fixtures/osv, copied unchanged) loaded, deduplicated and matched."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from hatch_buildinfo.fleet.advisories import DatabaseError, Finding, load

FIXTURES = Path(__file__).parent / "fixtures" / "osv"
PYSEC = FIXTURES / "pypa" / "vulns"
GHSA_2023 = "github/advisories/github-reviewed/2023/05/GHSA-j8r2-6x86-q33q/GHSA-j8r2-6x86-q33q.json"
# Records whose own `versions` list disagrees with their own ECOSYSTEM ranges (see the agreement test).
INCONSISTENT: dict[str, str] = {}


@pytest.fixture(scope="module")
def database():
    return load(FIXTURES)


def records() -> list[tuple[Path, dict]]:
    found = sorted(FIXTURES.rglob("*.yaml")) + sorted(FIXTURES.rglob("*.json"))
    return [
        (path, yaml.safe_load(path.read_text()) if path.suffix == ".yaml" else json.loads(path.read_text()))
        for path in found
    ]


def test_requests_2_31_0_is_affected_by_the_2024_advisory_fixed_in_2_32_2(database):
    assert database.affecting("requests", "2.31.0") == [
        Finding("GHSA-9wx4-h78v-vm56", ("CVE-2024-35195",), "medium", "2.32.2", 1716236100.0)
    ]
    assert database.affecting("requests", "2.32.2") == []


def test_an_advisory_under_three_ids_counts_once_under_its_pysec_id(database):
    """PYSEC-2023-74 names GHSA-j8r2-6x86-q33q, which is a record of its own here: one finding, CVSS from the GHSA."""
    (proxy,) = [finding for finding in database.affecting("requests", "2.30.0") if "CVE-2023-32681" in finding.aliases]
    assert proxy.advisory == "PYSEC-2023-74"
    assert proxy.aliases == ("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")
    assert proxy.severity == "medium"  # CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N is 6.1
    assert proxy.fixed == "2.31.0"


def test_the_earliest_publication_of_the_ids_is_the_advisorys(database):
    (proxy,) = [finding for finding in database.affecting("requests", "2.30.0") if finding.advisory == "PYSEC-2023-74"]
    # PYSEC-2023-74: 2023-05-26T18:15:00Z; GHSA-j8r2-6x86-q33q: 2023-05-22T20:36:32Z, the earlier.
    assert proxy.published == 1684787792.0


def test_the_ghsa_record_alone_is_chosen_by_its_own_id(tmp_path):
    target = tmp_path / GHSA_2023
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / GHSA_2023, target)
    (finding,) = load(tmp_path).affecting("requests", "2.30.0")
    assert (finding.advisory, finding.aliases) == ("GHSA-j8r2-6x86-q33q", ("CVE-2023-32681",))


def test_last_affected_includes_its_version_and_nothing_above(database):
    (finding,) = database.affecting("py", "1.11.0")
    assert (finding.advisory, finding.fixed) == ("PYSEC-2022-42969", "")
    assert database.affecting("py", "1.11.1") == []
    assert database.affecting("py", "0.1") != []


def test_withdrawn_records_do_not_count(database):
    """aiohttp PYSEC-2022-43059 and ansible PYSEC-2020-221 are withdrawn: their versions match nothing."""
    assert [finding.advisory for finding in database.affecting("aiohttp", "3.8.1")] == ["PYSEC-2023-246"]
    assert database.affecting("ansible", "2.9.0") == []


def test_names_match_by_pep_503(database):
    assert database.affecting("Jinja2", "2.10") == database.affecting("jinja2", "2.10") != []
    assert database.affecting("URLLIB3", "1.26.5") == database.affecting("urllib3", "1.26.5") != []


def test_the_lowest_fixed_version_above_the_running_one(database):
    """urllib3 1.26.5: PYSEC-2023-192 is fixed in 1.26.17 and 2.0.6; the lowest above 1.26.5 is 1.26.17."""
    fixed = {finding.advisory: finding.fixed for finding in database.affecting("urllib3", "1.26.5")}
    assert fixed == {"PYSEC-2023-192": "1.26.17", "PYSEC-2023-212": "1.26.18"}
    fixed = {finding.advisory: finding.fixed for finding in database.affecting("urllib3", "2.0.5")}
    assert fixed == {"PYSEC-2023-192": "2.0.6", "PYSEC-2023-212": "2.0.7"}


def test_severity_from_cvss_else_unknown(database):
    (aiohttp,) = database.affecting("aiohttp", "3.8.5")
    assert aiohttp.severity == "high"  # CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N is 7.5
    assert {finding.severity for finding in database.affecting("requests", "2.19.0")} >= {"unknown"}


def test_severity_from_the_qualitative_database_severity_without_a_vector(tmp_path):
    record = json.loads((FIXTURES / GHSA_2023).read_text())
    del record["severity"]
    (tmp_path / "GHSA.json").write_text(json.dumps(record))
    assert [finding.severity for finding in load(tmp_path).affecting("requests", "2.30.0")] == ["medium"]
    record["severity"] = [
        {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}
    ]
    (tmp_path / "GHSA.json").write_text(json.dumps(record))
    assert [finding.severity for finding in load(tmp_path).affecting("requests", "2.30.0")] == ["critical"]


def test_a_version_that_is_not_pep_440_matches_only_by_exact_string(database):
    """py lists `0.8.0-alpha2`; its range starts at "0", which a non-PEP 440 string cannot be placed in."""
    assert [finding.advisory for finding in database.affecting("py", "0.8.0-alpha2")] == ["PYSEC-2022-42969"]
    assert database.affecting("py", "not-a-version") == []
    assert database.affecting("py", "0.8.0a2") != []  # its PEP 440 spelling: the same release


def test_an_all_zip_loads_as_the_directory_does(tmp_path, database):
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for _, record in records():
            zipped.writestr(f"{record['id']}.json", json.dumps(record, default=str))
    from_zip = load(archive)
    assert from_zip.skipped == ()
    for name, version in [("requests", "2.30.0"), ("py", "1.0.0"), ("urllib3", "1.26.5"), ("certifi", "2022.12.7")]:
        assert from_zip.affecting(name, version) == database.affecting(name, version) != []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path / "missing", "missing: no such file or directory"),
        (lambda path: path, "holds no OSV record (.json or .yaml files)"),
        (lambda path: _write(path / "all.zip", "not a zip"), "all.zip is not a zip of OSV records"),
        (lambda path: _write(path / "PYSEC-1.json", "{").parent, "not one OSV record could be read"),
    ],
)
def test_a_database_that_cannot_be_read_is_one_line_naming_it(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DatabaseError) as raised:
        load(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_bad_record_is_skipped_with_one_line_naming_the_file_and_the_rest_loads(tmp_path, database):
    shutil.copytree(FIXTURES, tmp_path / "db")
    record = yaml.safe_load((PYSEC / "requests" / "PYSEC-2023-74.yaml").read_text())
    record["affected"][0]["ranges"][1]["events"][1] = {"fixed": "2.31.0-garbage"}
    bad_version = tmp_path / "db" / "pypa" / "vulns" / "requests" / "PYSEC-2023-74.yaml"
    bad_version.write_text(yaml.safe_dump(record))
    record["affected"][0]["ranges"][1]["events"][1] = {"patched": "2.31.0"}
    bad_range = tmp_path / "db" / "bad-range.json"
    bad_range.write_text(json.dumps(record))
    not_yaml = tmp_path / "db" / "broken.yaml"
    not_yaml.write_text("id: [unclosed")
    loaded = load(tmp_path / "db")
    assert loaded.skipped == (
        f"{bad_range}: PYSEC-2023-74: range event {{'patched': '2.31.0'}} is not one of introduced, fixed, "
        "last_affected, limit",
        f"{not_yaml}: is not YAML: while parsing a flow sequence",
        f"{bad_version}: PYSEC-2023-74: range event fixed '2.31.0-garbage' is not a PEP 440 version",
    )
    # The GHSA record of the same advisory still loads, so does everything else.
    assert [finding.advisory for finding in loaded.affecting("requests", "2.30.0")] == [
        "GHSA-9wx4-h78v-vm56",
        "GHSA-j8r2-6x86-q33q",
    ]
    assert loaded.affecting("urllib3", "1.26.5") == database.affecting("urllib3", "1.26.5")


def test_range_matching_agrees_with_each_records_own_versions_list(tmp_path):
    """Every release a record lists is in its ranges; every other release of that package any record lists is not.

    Each record alone, its `versions` lists taken out: the lists are the ground truth its ranges are held to.
    """
    releases: dict[str, set[str]] = {}
    for _, record in records():
        for affected in record.get("affected", []):
            releases.setdefault(affected["package"]["name"].lower(), set()).update(affected.get("versions", []))
    disagreements = {}
    for _, record in records():
        if record.get("withdrawn") or not any(each.get("versions") for each in record["affected"]):
            continue  # GitHub's records list no versions: nothing to agree with
        folder = tmp_path / record["id"]
        folder.mkdir()
        ranges_only = dict(record, affected=[dict(each, versions=[]) for each in record["affected"]])
        (folder / "record.json").write_text(json.dumps(ranges_only, default=str))
        alone = load(folder)
        listed = {version for each in record["affected"] for version in each.get("versions", [])}
        name = record["affected"][0]["package"]["name"].lower()
        wrong = sorted(
            version
            for version in releases[name]
            if _pep440(version) and bool(alone.affecting(name, version)) != (version in listed)
        )
        if wrong:
            disagreements[record["id"]] = wrong
    assert disagreements == INCONSISTENT


def _pep440(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


SPELLINGS = ["0.8.0-alpha2", "1.0RC1", "01.2", "1.0.0.post1.dev3", "2.0-1", "1!2.0", "1.0+Local.7", "v1.4", "1.0c1"]


def test_a_listed_version_matches_however_either_side_spells_it(tmp_path):
    """A record with `versions` only: every listed release matches as listed and as PEP 440 spells it."""
    listed = sorted(
        {text for _, record in records() for each in record["affected"] for text in each.get("versions", [])}
    )
    listed += SPELLINGS
    record = {
        "id": "PYSEC-0000-1",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "versions": listed}],
    }
    (tmp_path / "record.json").write_text(json.dumps(record))
    database = load(tmp_path)
    spelled = {str(Version(text)) for text in listed if _pep440(text)}
    assert {"0.8.0a2", "1.0rc1", "1.2", "1.0.0.post1.dev3", "2.0.post1", "1!2.0", "1.0+local.7"} <= spelled
    missed = [text for text in sorted(spelled | set(listed)) if not database.affecting("demo", text)]
    assert missed == []
    assert database.affecting("demo", "0.8.0a3") == database.affecting("demo", "1.0rc2") == []


def test_limit_events_and_git_ranges(tmp_path):
    """`limit` bounds a range from above ("*": no bound); a GIT range names commits and is left out."""
    package = {"ecosystem": "PyPI", "name": "demo"}
    limited = {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"limit": "1.5"}, {"limit": "*"}]}
    git = {"type": "GIT", "repo": "https://example.invalid/demo", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}
    unbounded = {"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"limit": "*"}]}
    for ident, ranges in (("PYSEC-0000-1", [limited, git]), ("PYSEC-0000-2", [unbounded])):
        record = {"id": ident, "affected": [{"package": package, "ranges": ranges, "versions": ["0.1"]}]}
        (tmp_path / f"{ident}.json").write_text(json.dumps(record))
    database = load(tmp_path)
    assert database.skipped == ()
    matched = {
        version: [finding.advisory for finding in database.affecting("demo", version)]
        for version in ("0.1", "0.2", "1.0", "1.4.9", "1.5", "2.0", "3.0", "99")
    }
    assert matched == {
        "0.1": ["PYSEC-0000-1", "PYSEC-0000-2"],  # listed in both
        "0.2": [],  # the GIT range's introduced "0" is not read as a version
        "1.0": ["PYSEC-0000-1"],
        "1.4.9": ["PYSEC-0000-1"],
        "1.5": [],
        "2.0": [],
        "3.0": ["PYSEC-0000-2"],
        "99": ["PYSEC-0000-2"],
    }


def test_one_cve_in_two_packages_keeps_each_packages_own_id(tmp_path):
    """Records join as one advisory per package: a CVE both name does not make one's id stand for the other's."""
    for ident, name in (("PYSEC-0000-1", "alpha"), ("GHSA-aaaa-bbbb-cccc", "beta")):
        affected = [{"package": {"ecosystem": "PyPI", "name": name}, "versions": ["1.0"]}]
        (tmp_path / f"{ident}.json").write_text(
            json.dumps({"id": ident, "aliases": ["CVE-0000-1"], "affected": affected})
        )
    database = load(tmp_path)
    assert [(f.advisory, f.aliases) for f in database.affecting("alpha", "1.0")] == [("PYSEC-0000-1", ("CVE-0000-1",))]
    assert [(f.advisory, f.aliases) for f in database.affecting("beta", "1.0")] == [
        ("GHSA-aaaa-bbbb-cccc", ("CVE-0000-1",))
    ]
