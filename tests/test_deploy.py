"""deploy/: the example Prometheus configurations (one server; shards and a global server), the rules and
their unit tests, and the Grafana dashboard, all checked by Debian's promtool (2.42).

promtool has no command that parses a lone PromQL expression, so every dashboard query is put into a
temporary rules file: `promtool check rules` parses it, and `promtool test rules` evaluates it over a
small fleet and compares its answer with the one written here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
MODULE = "requests"  # what the dashboard's $module stands for in these tests
EXPORTER_JOB = "hatch_buildinfo_exporter"
# Its `severity` is the advisory's, a label of the series it fires on, not one the rule sets.
SEVERITY_OF_THE_SERIES = "PythonModuleVulnerable"
# What global-rules.yml may read besides recorded series: the advisory exporter's families and its health, scraped
# on the server that runs global-rules.yml itself.
EXPORTER_FAMILIES = (
    "python_mod_advisory_services",
    "python_program_libyears",
    "python_program_outdated_modules",
    "python_mod_oldest_running_release_timestamp_seconds",
    "python_mod_advisory_info",
    "python_advisory_published_timestamp_seconds",
    "python_mod_latest_info",
    "python_mod_release_timestamp_seconds",
    "hatch_buildinfo_exporter_source_up",
    'up{job="hatch_buildinfo_exporter"}',
)


def run_promtool(promtool: str, *arguments: str | os.PathLike) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *map(str, arguments)], capture_output=True, text=True, cwd=ROOT)


def explain(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


# --- (a) the shipped files ---------------------------------------------------------------------------


@pytest.mark.parametrize(("config", "rule_files"), [("prometheus.yml", 2), ("shard.yml", 1), ("global.yml", 1)])
def test_config_is_valid(promtool, config, rule_files):
    result = run_promtool(promtool, "check", "config", DEPLOY / config)
    assert result.returncode == 0, explain(result)
    assert f"{rule_files} rule files found" in result.stdout, explain(result)


def test_rules_are_valid(promtool):
    result = run_promtool(promtool, "check", "rules", DEPLOY / "rules.yml", DEPLOY / "global-rules.yml")
    assert result.returncode == 0, explain(result)


UNIT_TESTS = ("rules_test.yml", "global-rules_test.yml", "freshness_test.yml")


@pytest.mark.parametrize("tests", UNIT_TESTS)
def test_rule_unit_tests_pass(promtool, tests):
    result = run_promtool(promtool, "test", "rules", DEPLOY / tests)
    assert result.returncode == 0, explain(result)
    assert "SUCCESS" in result.stdout, explain(result)


def test_the_rules_name_no_program():
    """One pair of files serves every program: no rule names one."""
    for name in ("rules.yml", "global-rules.yml"):
        rules = (DEPLOY / name).read_text(encoding="utf-8")
        assert "example_app" not in rules, name


def test_every_alert_is_tested_firing_and_not_firing():
    """Each alert in global-rules.yml has `for:`, a severity (a label of its own, or the one its expression keeps),
    a summary and a description, and the unit tests expect it both with alerts and with `exp_alerts: []`."""
    rules = (DEPLOY / "global-rules.yml").read_text(encoding="utf-8")
    tests = "\n".join((DEPLOY / name).read_text(encoding="utf-8") for name in UNIT_TESTS)
    alerts = set(re.findall(r"^\s*- alert: (\w+)$", rules, flags=re.MULTILINE))
    assert alerts == set(
        [
            "PythonModuleVersionSpread",
            "PythonModuleBadVersion",
            "PythonModuleDrift",
            "ServiceNotOnNewestRevision",
            "BuildOlderThanNDays",
            "DirtyBuildInProduction",
            "PythonModuleVulnerable",
            "AdvisoryExporterDown",
            "PythonModuleFixNotDeployed",
            "PythonProgramOutdated",
        ]
    )
    for block in re.split(r"^\s*- (?=alert:|record:)", rules, flags=re.MULTILINE)[1:]:
        if block.startswith("alert:"):
            for needed in ("\n        for: ", "\n          summary: ", "\n          description: "):
                assert needed in block, f"{block.splitlines()[0]} has no {needed.strip()}"
            kept = re.search(r"sum by \(([^)]*)\)", block.split("expr:", 1)[1])
            assert (
                "\n          severity: " in block
                or block.startswith(f"alert: {SEVERITY_OF_THE_SERIES}\n")
                or (kept and "severity" in kept.group(1))
            ), block.splitlines()[0]
    cases = re.findall(r"alertname: (\w+)\n\s+exp_alerts:( \[\])?", tests)
    for alert in alerts:
        assert (alert, " []") in cases, f"no test expects {alert} not to fire"
        assert (alert, "") in cases, f"no test expects {alert} to fire"


def _rules(name: str) -> list[dict]:
    """Every rule of a rule file of deploy/, parsed."""
    groups = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _federated(name: str, selectors: list[str]) -> bool:
    """Whether one of global.yml's match[] selectors (a metric name, or `{__name__=~"REGEX"}`) selects `name`."""
    for selector in selectors:
        if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", selector):
            if selector == name:
                return True
            continue
        pattern = re.fullmatch(r'\{__name__=~"([^"]+)"\}', selector)
        assert pattern, f"a match[] selector this test cannot read: {selector}"
        if re.fullmatch(pattern.group(1), name):
            return True
    return False


def test_the_global_tier_reads_only_what_every_shard_records_and_federates():
    """The two tiers give one server's answers: every series rules.yml records reaches the global server
    (global.yml's match[]), global-rules.yml reads nothing else (no per-instance family), and no expression
    there keeps or groups by `shard`."""
    (job,) = [job for job in _scrape_jobs("global.yml") if job["job_name"] == "federate"]
    selectors = job["params"]["match[]"]
    recorded = [rule["record"] for rule in _rules("rules.yml") if "record" in rule]
    assert "python_mod:drifted_services:count" in recorded
    for name in recorded:
        assert _federated(name, selectors), f"{name} is recorded on the shards but global.yml does not federate it"
    assert not [rule for rule in _rules("rules.yml") if "alert" in rule], "alerts belong to global-rules.yml"
    global_rules = _rules("global-rules.yml")
    recorded_here = {rule["record"] for rule in global_rules if "record" in rule}
    recorded_name = r"\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*"  # recording rules' names have a colon
    for rule in global_rules:
        expr = rule["expr"]
        label = rule.get("record") or rule["alert"]
        read = set(re.findall(recorded_name, re.sub(r'"[^"]*"', '""', expr)))  # not in strings: "fixed in: $1"
        assert read or any(family in expr for family in EXPORTER_FAMILIES), f"{label} reads no recorded series"
        for name in read:
            assert name in recorded_here or name in recorded, f"{label} reads {name}, which no rule records"
        rest = re.sub("|".join((recorded_name, *map(re.escape, EXPORTER_FAMILIES))), "", expr)
        for raw in ("__name__", "python_mod_", "_build_info", "_timestamp_seconds"):
            assert raw not in rest, f"{label} reads a per-instance family ({raw}): {expr}"
        assert "without" not in expr, f"{label}: `without` keeps `shard`"
        for labels in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
            assert "shard" not in labels, f"{label} groups by shard: {expr}"


def _scrape_jobs(config: str) -> list[dict]:
    return yaml.safe_load((DEPLOY / config).read_text(encoding="utf-8"))["scrape_configs"]


@pytest.mark.parametrize(("config", "scraped"), [("prometheus.yml", True), ("global.yml", True), ("shard.yml", False)])
def test_the_advisory_exporter_is_scraped_where_the_answers_are_made(config, scraped):
    """The servers that load global-rules.yml scrape the exporter at its documented address; a shard, which
    does not, leaves it alone."""
    jobs = {job["job_name"]: job for job in _scrape_jobs(config)}
    assert (EXPORTER_JOB in jobs) == scraped, config
    rule_files = yaml.safe_load((DEPLOY / config).read_text(encoding="utf-8"))["rule_files"]
    assert ("global-rules.yml" in rule_files) == scraped, config
    if scraped:
        assert jobs[EXPORTER_JOB]["static_configs"] == [{"targets": ["127.0.0.1:9817"]}]
        assert "127.0.0.1:9817" in (DEPLOY / "README.md").read_text(encoding="utf-8")


def test_the_readme_names_every_rule_and_alert():
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for name in ("rules.yml", "global-rules.yml"):
        for rule in _rules(name):
            label = rule.get("record") or rule["alert"]
            assert f"`{label}`" in readme, f"deploy/README.md does not name {label}"


# --- (b) negative controls: the unit tests can fail ----------------------------------------------------


def copy_deploy(tmp_path: Path) -> tuple[Path, Path]:
    """The rule files and rules_test.yml side by side in `tmp_path`, so the test file's rule files are the copies;
    returns global-rules.yml's copy and the test file's."""
    for name in ("rules.yml", "global-rules.yml", "rules_test.yml"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    return tmp_path / "global-rules.yml", tmp_path / "rules_test.yml"


def replace_first(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_flipped_expectation_fails(promtool, tmp_path):
    """The spread alert, still pending at 59m, expected to fire then."""
    _, tests = copy_deploy(tmp_path)
    pending = "alertname: PythonModuleVersionSpread\n        exp_alerts: []\n"
    firing = (
        "alertname: PythonModuleVersionSpread\n        exp_alerts: [{exp_labels: {severity: warning, name: idna}}]\n"
    )
    replace_first(tests, pending, firing)
    result = run_promtool(promtool, "test", "rules", tests)
    assert result.returncode == 1, explain(result)
    assert "alertname: PythonModuleVersionSpread, time: 59m" in result.stdout + result.stderr, explain(result)


def test_a_spread_threshold_of_3_inclusive_fails(promtool, tmp_path):
    """The spread alert must fire above 3 versions and not at 3: `>= 3` breaks the test of certifi at 3."""
    rules, tests = copy_deploy(tmp_path)
    replace_first(rules, "expr: python_mod:versions:count > 3", "expr: python_mod:versions:count >= 3")
    result = run_promtool(promtool, "test", "rules", tests)
    assert result.returncode == 1, explain(result)
    assert 'name="certifi"' in result.stdout + result.stderr, explain(result)


def advisory_rules_replaced(tmp_path: Path, record: str, old: str, new: str) -> Path:
    """global-rules.yml with `old` replaced by `new` in the expression of the rule recording `record`, beside a copy
    of global-rules_test.yml; the test file's path."""
    document = yaml.safe_load((DEPLOY / "global-rules.yml").read_text(encoding="utf-8"))
    (rule,) = [rule for group in document["groups"] for rule in group["rules"] if rule.get("record") == record]
    assert old in rule["expr"], rule["expr"]
    rule["expr"] = rule["expr"].replace(old, new)
    (tmp_path / "global-rules.yml").write_text(json.dumps(document), encoding="utf-8")
    shutil.copy(DEPLOY / "global-rules_test.yml", tmp_path / "global-rules_test.yml")
    return tmp_path / "global-rules_test.yml"


def test_an_ha_pair_of_exporters_added_up_fails(promtool, tmp_path):
    """Two exporters serving the same answer count once: `sum by` instead of `max by` doubles example_app's 3
    services in global-rules_test.yml's HA pair."""
    tests = advisory_rules_replaced(tmp_path, "python_mod:advisory_services:count", "max by", "sum by")
    result = run_promtool(promtool, "test", "rules", tests)
    assert result.returncode == 1, explain(result)
    output = result.stdout + result.stderr
    assert 'expr: "python_mod:advisory_services:count", time: 10m' in output, explain(result)
    assert re.search(r'program="example_app"[^}]*\} 6E\+00', output), explain(result)


def test_no_rule_reads_the_per_program_counts_but_the_version_count():
    """The exporter joins per program (it reads python_mod:services:count every interval); of global-rules.yml's
    rules only python_mod:versions:count reads those counts, and none the exporter's per-module series."""
    for rule in _rules("global-rules.yml"):
        label = rule.get("record") or rule["alert"]
        if label != "python_mod:versions:count":
            assert "python_mod:services:count" not in rule["expr"], label
        assert "python_program_mod_behind_latest_seconds" not in rule["expr"], label


def freshness_copy(tmp_path: Path, rule: str, old: str, new: str, tests: str) -> Path:
    """The rule files beside a copy of freshness_test.yml holding only its tests whose name contains `tests`, with
    `old` replaced by `new` in the expression of the rule or alert `rule`; the test file's path."""
    shutil.copy(DEPLOY / "rules.yml", tmp_path / "rules.yml")
    document = yaml.safe_load((DEPLOY / "global-rules.yml").read_text(encoding="utf-8"))
    rules = [found for group in document["groups"] for found in group["rules"]]
    (found,) = [found for found in rules if rule in (found.get("record"), found.get("alert"))]
    assert old in found["expr"], found["expr"]
    found["expr"] = found["expr"].replace(old, new)
    (tmp_path / "global-rules.yml").write_text(json.dumps(document), encoding="utf-8")
    unit = yaml.safe_load((DEPLOY / "freshness_test.yml").read_text(encoding="utf-8"))
    unit["tests"] = [test for test in unit["tests"] if tests in test["name"]]
    assert unit["tests"], tests
    (tmp_path / "freshness_test.yml").write_text(json.dumps(unit), encoding="utf-8")
    return tmp_path / "freshness_test.yml"


@pytest.mark.parametrize(
    ("rule", "old", "new", "tests", "failure"),
    [
        # an HA pair of exporters added up: example_app's 3.5 libyears counted twice
        (
            "python_program:libyears:sum",
            "max by (program)",
            "sum by (program)",
            "HA pair",
            ('program="example_app"} 7E+00',),
        ),
        # 6 days instead of 7: the urllib3 fix out for 6 days fires at 29m
        (
            "PythonModuleFixNotDeployed",
            ">= 7 * 86400",
            ">= 6 * 86400",
            "one out for 6 does not",
            ("alertname: PythonModuleFixNotDeployed, time: 29m", "fixed GHSA-g4mx-q9vg-27p4 6 days ago"),
        ),
        # libyears at the threshold firing: big_app's 10
        (
            "PythonProgramOutdated",
            "> 10",
            ">= 10",
            "one at 10 does not",
            ("alertname: PythonProgramOutdated, time: 1d2m", 'summary="big_app is 10.0 libyears behind"'),
        ),
    ],
)
def test_the_freshness_tests_fail_on_a_wrong_rule(promtool, tmp_path, rule, old, new, tests, failure):
    result = run_promtool(promtool, "test", "rules", freshness_copy(tmp_path, rule, old, new, tests))
    assert result.returncode == 1, explain(result)
    for text in failure:
        assert text in result.stdout + result.stderr, explain(result)


def test_check_rules_rejects_a_bad_expression(promtool, tmp_path):
    """`promtool check rules` parses expressions, which is what the dashboard check below relies on."""
    rules = tmp_path / "bad.yml"
    rules.write_text(json.dumps({"groups": [{"name": "g", "rules": [{"record": "r", "expr": "count by (x (y)"}]}]}))
    result = run_promtool(promtool, "check", "rules", rules)
    assert result.returncode == 1, explain(result)


# --- (c) the dashboard -------------------------------------------------------------------------------

# A small fleet: three example_app instances (revisions aaa, aaa, bbb; 8002 dirty and a commit behind;
# 8000 built 31 days before t=0, promtool's clock starting at 0) and one other_app instance. 8000 and 8001
# run requests 2.32.4 where their lock pins 2.32.3; other_app runs without the requests its lock pins.
EXAMPLE = 'job="example_app", instance="127.0.0.1:{}", program="example_app"'
DAY = 86400
LIBYEAR = 365.25 * DAY
BUILD_LABELS = 'version="0.1.0", branch="main", pythonversion="3.11.7", os="linux", arch="x86_64"'
FLEET: dict[str, float] = {}
RUNS: dict[tuple[str, str, str], int] = {}  # (program, name, version) -> services, as the exporter reads them
for _port, _revision, _dirty, _commit, _build, _requests, _idna in [
    ("8000", "aaa", "false", 1700000000, -31 * 86400, "2.32.3", "3.4"),
    ("8001", "aaa", "false", 1700000000, -86400, "2.32.3", "3.6"),
    ("8002", "bbb", "true", 1690000000, -86400, "2.31.0", "3.7"),
]:
    _target = EXAMPLE.format(_port)
    FLEET[f'example_app_build_info{{{_target}, revision="{_revision}", dirty="{_dirty}", {BUILD_LABELS}}}'] = 1
    FLEET[f"example_app_commit_timestamp_seconds{{{_target}}}"] = _commit
    FLEET[f"example_app_build_timestamp_seconds{{{_target}}}"] = _build
    for _name, _version in [("requests", _requests), ("idna", _idna)]:
        FLEET[f'python_mod_info{{{_target}, name="{_name}", version="{_version}"}}'] = 1
        RUNS[("example_app", _name, _version)] = RUNS.get(("example_app", _name, _version), 0) + 1
OTHER = 'job="other_app", instance="127.0.0.1:8100", program="other_app"'
for _name, _version in [("requests", "2.32.3"), ("idna", "3.10")]:
    FLEET[f'python_mod_info{{{OTHER}, name="{_name}", version="{_version}"}}'] = 1
    RUNS[("other_app", _name, _version)] = 1
for _target, _installed in [(EXAMPLE.format("8000"), "2.32.4"), (EXAMPLE.format("8001"), "2.32.4"), (OTHER, "none")]:
    FLEET[f'python_mod_drift_info{{{_target}, name="requests", locked="2.32.3", installed="{_installed}"}}'] = 1
# The advisory exporter: one advisory on requests 2.32.3 (run by both programs), two on 2.31.0 (8002 only),
# published 40 and 400 days before t=0.
EXPORTER = 'job="hatch_buildinfo_exporter", instance="127.0.0.1:9817"'
NEW_ADVISORY = 'advisory="GHSA-9hjg-9r4m-mvj7", aliases="CVE-2024-47081", severity="medium", fixed="2.32.4"'
OLD_ADVISORY = 'advisory="GHSA-9wx4-h78v-vm56", aliases="CVE-2024-35195", severity="medium", fixed="2.32.0"'
for _version, _advisory in [("2.32.3", NEW_ADVISORY), ("2.31.0", NEW_ADVISORY), ("2.31.0", OLD_ADVISORY)]:
    FLEET[f'python_mod_advisory_info{{{EXPORTER}, name="requests", version="{_version}", {_advisory}}}'] = 1
    for (_program, _name, _running), _services in RUNS.items():
        if (_name, _running) == ("requests", _version):
            _labels = f'program="{_program}", name="requests", version="{_version}", {_advisory}'
            FLEET[f"python_mod_advisory_services{{{EXPORTER}, {_labels}}}"] = _services
FLEET[f'python_advisory_published_timestamp_seconds{{{EXPORTER}, advisory="GHSA-9hjg-9r4m-mvj7"}}'] = -40 * 86400
FLEET[f'python_advisory_published_timestamp_seconds{{{EXPORTER}, advisory="GHSA-9wx4-h78v-vm56"}}'] = -400 * 86400
# The exporter's index series: the newest releases (requests 2.32.4, idna 3.10) and, days before t=0, the release
# times of the running versions, the newest and the advisories' fixed versions (requests 2.32.4 and 2.32.0).
RELEASED = {
    "requests": {"2.32.4": 180, "2.32.3": 550, "2.32.0": 560, "2.31.0": 930},
    "idna": {"3.10": 400, "3.7": 600, "3.6": 700, "3.4": 1000},
}
for _name, _releases in RELEASED.items():
    FLEET[f'python_mod_latest_info{{{EXPORTER}, name="{_name}", version="{next(iter(_releases))}"}}'] = 1
    for _version, _days in _releases.items():
        _release = f'python_mod_release_timestamp_seconds{{{EXPORTER}, name="{_name}", version="{_version}"}}'
        FLEET[_release] = -_days * DAY
# and what it joins from them and RUNS: per program and module, the days between the newest release and the release
# of the oldest version the program runs
OLDEST: dict[tuple[str, str], int] = {}
for _program, _name, _version in RUNS:
    OLDEST[(_program, _name)] = max(OLDEST.get((_program, _name), 0), RELEASED[_name][_version])
BEHIND = {(_program, _name): days - next(iter(RELEASED[_name].values())) for (_program, _name), days in OLDEST.items()}
for (_program, _name), _days in BEHIND.items():
    if _days > 0:
        FLEET[f'python_program_mod_behind_latest_seconds{{{EXPORTER}, program="{_program}", name="{_name}"}}'] = (
            _days * DAY
        )
for _program in {owner for owner, _ in BEHIND}:
    _behind = [days for (owner, _), days in BEHIND.items() if owner == _program and days > 0]
    FLEET[f'python_program_libyears{{{EXPORTER}, program="{_program}"}}'] = sum(_behind) * DAY / LIBYEAR
    FLEET[f'python_program_outdated_modules{{{EXPORTER}, program="{_program}"}}'] = len(_behind)
for _name in RELEASED:
    _oldest = max(days for (_, name), days in OLDEST.items() if name == _name)
    FLEET[f'python_mod_oldest_running_release_timestamp_seconds{{{EXPORTER}, name="{_name}"}}'] = -_oldest * DAY

EVAL_TIME = "10m"
# (labels, services, days since the advisory's publication) of each exposure in FLEET
NEWER = ("GHSA-9hjg-9r4m-mvj7", "2.32.4", "CVE-2024-47081")  # (advisory, fixed, aliases)
OLDER = ("GHSA-9wx4-h78v-vm56", "2.32.0", "CVE-2024-35195")
EXPOSED = [
    (
        f'{{program="{program}", name="requests", version="{version}", advisory="{advisory}", severity="medium", '
        f'fixed="{fixed}", aliases="{aliases}"}}',
        *answer,
    )
    for program, version, (advisory, fixed, aliases), *answer in [
        ("example_app", "2.32.3", NEWER, 2, 40),
        ("other_app", "2.32.3", NEWER, 1, 40),
        ("example_app", "2.31.0", NEWER, 1, 40),
        ("example_app", "2.31.0", OLDER, 1, 400),
    ]
]
# (program, version, advisory, fixed, services) of each exposure with a fix on the index; the days since the fix
FIXES = [
    ("example_app", "2.32.3", NEWER[0], "2.32.4", 2),
    ("other_app", "2.32.3", NEWER[0], "2.32.4", 1),
    ("example_app", "2.31.0", NEWER[0], "2.32.4", 1),
    ("example_app", "2.31.0", OLDER[0], "2.32.0", 1),
]
FIX_LABELS = '{{program="{}", name="requests", version="{}", advisory="{}", fixed="{}"}}'
# What each panel must show for FLEET at EVAL_TIME, with $module = requests; for a panel of several queries, a
# list: each query's answer, in order.
EXPECTED = {
    "Services by program and revision": {
        '{program="example_app", revision="aaa"}': 2,
        '{program="example_app", revision="bbb"}': 1,
    },
    "Services behind their job's newest commit": {'{job="example_app", program="example_app"}': 1},
    "Services on builds older than 30 days": {'{job="example_app", program="example_app"}': 1},
    "Dirty builds": {'{job="example_app", program="example_app", version="0.1.0", revision="bbb"}': 1},
    "Distinct versions of $module": {'python_mod:versions:count{name="requests"}': 2},
    "Versions of $module across the fleet": {
        '{name="requests", version="2.32.3"}': 3,
        '{name="requests", version="2.31.0"}': 1,
    },
    "Programs running $module": {
        '{name="requests", version="2.32.3", program="example_app"}': 2,
        '{name="requests", version="2.32.3", program="other_app"}': 1,
        '{name="requests", version="2.31.0", program="example_app"}': 1,
    },
    # from global-rules.yml's recording rule
    "Modules by version spread": {
        'python_mod:versions:count{name="idna"}': 4,
        'python_mod:versions:count{name="requests"}': 2,
    },
    "Drifted modules": {
        '{program="example_app", name="requests", locked="2.32.3", installed="2.32.4"}': 2,
        '{program="other_app", name="requests", locked="2.32.3", installed="none"}': 1,
    },
    "Services exposed to advisories": [
        {  # services
            f"python_mod:advisory_services:count{labels}": services for labels, services, _ in EXPOSED
        },
        {labels: days for labels, _, days in EXPOSED},  # days exposed: since the advisory's publication
    ],
    # example_app runs requests 2.31.0 (750 days before 2.32.4) and idna 3.4 (600 days before 3.10); other_app
    # requests 2.32.3 (370 days) and idna at its newest
    "Libyears by program": {
        'python_program:libyears:sum{program="example_app"}': (750 * DAY + 600 * DAY) / LIBYEAR,
        'python_program:libyears:sum{program="other_app"}': 370 * DAY / LIBYEAR,
    },
    "Outdated modules by program": {
        'python_program:outdated_modules:count{program="example_app"}': 2,
        'python_program:outdated_modules:count{program="other_app"}': 1,
    },
    "Fixes waiting longest": [
        {FIX_LABELS.format(*fix[:4]): fix[4] for fix in FIXES},  # services
        {FIX_LABELS.format(*fix[:4]): RELEASED["requests"][fix[3]] for fix in FIXES},  # days since the fix
    ],
}


def panels(container: dict) -> list[dict]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for panel in container.get("panels", []):
        found.append(panel)
        found.extend(panels(panel))
    return found


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def queries(dashboard) -> list[tuple[str, str]]:
    """(panel title, expr) for every target of every panel that has targets."""
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            found.append((panel["title"], target.get("expr", "")))
    return found


def test_dashboard_shape(dashboard, queries):
    assert dashboard["schemaVersion"] >= 36
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert variables["module"]["definition"] == "label_values(python_mod:services:count, name)"
    for panel in panels(dashboard):
        if panel.get("type") != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    assert len(queries) >= 6
    for title, expr in queries:
        assert expr.strip(), f"{title}: empty expr"
        # Only $module may be left for Grafana to fill in: no $__range, $__interval, ${...}.
        assert not re.search(r"\$(?!module\b)", expr), f"{title}: a Grafana variable other than $module: {expr}"
    assert set(EXPECTED) == {title for title, _ in queries}, "every panel needs its expected answer in EXPECTED"


def test_dashboard_queries_parse_and_answer(promtool, queries, tmp_path):
    """Each panel's query, $module filled in, parses (check rules), evaluates without error at every step
    next to the shipped rules (a failing rule fails `test rules`), and gives the expected answer."""
    exprs = [(title, expr.replace("$module", MODULE)) for title, expr in queries]
    answers = {title: answer if isinstance(answer, list) else [answer] for title, answer in EXPECTED.items()}
    expected = [answers[title].pop(0) for title, _ in exprs]
    assert not any(answers.values()), "EXPECTED has more answers than the panel has queries"
    recording = [{"record": f"dashboard:query_{index}", "expr": expr} for index, (_, expr) in enumerate(exprs)]
    dashboard_rules = tmp_path / "dashboard_rules.yml"
    # JSON is YAML: no YAML library needed.
    dashboard_rules.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": recording}]}, indent=2))
    result = run_promtool(promtool, "check", "rules", dashboard_rules)
    assert result.returncode == 0, explain(result)
    assert f"{len(exprs)} rules found" in result.stdout, explain(result)

    test = {
        "rule_files": [str(DEPLOY / "rules.yml"), str(DEPLOY / "global-rules.yml"), str(dashboard_rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": series, "values": f"{value}x20"} for series, value in FLEET.items()],
                "promql_expr_test": [
                    {
                        "expr": expr,
                        "eval_time": EVAL_TIME,
                        "exp_samples": [{"labels": labels, "value": value} for labels, value in answer.items()],
                    }
                    for (_, expr), answer in zip(exprs, expected)
                ],
            }
        ],
    }
    test_file = tmp_path / "dashboard_test.yml"
    test_file.write_text(json.dumps(test, indent=2))
    result = run_promtool(promtool, "test", "rules", test_file)
    assert result.returncode == 0, explain(result)
    assert "SUCCESS" in result.stdout, explain(result)

    # Negative control: the same harness fails on a wrong answer.
    test["tests"][0]["promql_expr_test"][0]["exp_samples"][0]["value"] += 1
    test_file.write_text(json.dumps(test, indent=2))
    result = run_promtool(promtool, "test", "rules", test_file)
    assert result.returncode == 1, explain(result)
