"""End to end: a fleet of example_app builds, scraped by Debian's real Prometheus, answers the
article's questions exactly — and changes its answers when a member goes down and comes back. A
two-tier set-up of the shipped shard.yml and global.yml scrapes the same fleet and answers the same. The advisory
exporter, beside the one server and the global server, on real OSV records and a package index on loopback, makes
both name the member whose lock pins a version a real advisory affects, and say how many libyears that puts the
program behind; rebuilding it on the fixed version, the newest release, clears both."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import socket
import sys
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, UV, debian_prometheus

sys.path.insert(0, str(ROOT / "deploy"))
from fleet import (
    ADVISORY,
    AFFECTED,
    EXPORTED,
    FIXED,
    MEMBERS,
    MODULE,
    NEWEST,
    OSV,
    PROGRAM,
    QUESTIONS,
    SHARDS,
    STALE,
    VULNERABLE,
    Fleet,
    wait_for,
)
from packaging.version import Version
from tiers import shard_of

from hatch_buildinfo.fleet.advisories import load

DASHBOARD = ROOT / "deploy" / "grafana-dashboard.json"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    prometheus = debian_prometheus("prometheus")
    workdir = tmp_path_factory.mktemp("fleet")
    with Fleet(workdir, UV, prometheus) as running:
        running.build()
        running.start()
        yield running
    processes = list(running.processes.values())
    assert not processes, f"left running: {processes}"
    ports = [
        *running.ports.values(),
        *running.exporters.values(),
        *(int(url.rsplit(":", 1)[1]) for url in running.servers.values()),
        urlsplit(running.index.url).port,
    ]
    listening = [port for port in ports if _listening(port)]
    assert not listening, f"still listening after the fleet stopped: {listening}"


def _by(label: str, result: list) -> dict[str, float]:
    return {labels[label]: value for labels, value in result}


def _versions_built(locked_versions: dict[str, str]) -> dict[str, int]:
    versions: dict[str, int] = {}
    for member in MEMBERS:
        version = member.pinned or locked_versions[MODULE]
        versions[version] = versions.get(version, 0) + 1
    return versions


def test_how_many_versions_of_x_run(fleet, locked_versions):
    [(_, count)] = fleet.query(QUESTIONS["how many versions of X run"])
    assert count == len(_versions_built(locked_versions)) == 4


def test_which_versions_and_how_many_series_each(fleet, locked_versions):
    split = _by("version", fleet.query(QUESTIONS["which versions, how many series each"]))
    assert split == _versions_built(locked_versions)


def test_who_has_not_deployed_the_update(fleet):
    counts = _by("revision", fleet.query(QUESTIONS["who has not deployed the update"]))
    assert counts == {NEWEST: 3, STALE: 2}
    stale = {labels["instance"] for labels, _ in fleet.query(f'example_app_build_info{{revision!="{NEWEST}"}}')}
    assert stale == {f"127.0.0.1:{fleet.ports[member.name]}" for member in MEMBERS if member.revision == STALE}


def test_spread_alert_expression_fires_above_the_threshold(fleet):
    spread = fleet.rule_query("PythonModuleVersionSpread")
    result = wait_for("the spread rule's recorded series", lambda: fleet.query(spread))
    assert _by("name", result) == {MODULE: 4}


def test_every_dashboard_query_runs(fleet):
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [panel for row in dashboard["panels"] for panel in [row, *row.get("panels", [])]]
    expressions = [target["expr"] for panel in panels for target in panel.get("targets", []) if target.get("expr")]
    assert expressions
    for expression in expressions:
        fleet.query(expression.replace("$module", MODULE))  # raises on any query Prometheus rejects


def test_each_shard_scrapes_the_members_hashmod_gives_it(fleet):
    for shard in range(SHARDS):
        scraped = {labels["instance"] for labels, _ in fleet.query("up", f"shard-{shard}")}
        expected = {
            f"127.0.0.1:{port}" for port in fleet.ports.values() if shard_of(f"127.0.0.1:{port}", SHARDS) == shard
        }
        assert scraped == expected
        assert expected, f"shard {shard} scrapes no member"


def test_the_global_tier_answers_as_one_server_does(fleet, locked_versions):
    # The alerts are a group apart from the records they read: each server may hold the records a round before
    # the alerts, and the two servers would be equal, alert-less, for that round.
    wait_for(
        "both servers' advisory answers and alerts",
        lambda: all(
            fleet.advised(server)
            and fleet.alerts("PythonModuleVulnerable", server)
            and fleet.alerts("PythonModuleFixNotDeployed", server)
            for server in EXPORTED
        ),
    )
    same = wait_for("the global tier's answers", lambda: fleet.answers("single") == fleet.answers("global"))
    assert same
    answers = fleet.answers("global")
    assert answers["how many versions of X run"] == [({"__name__": "python_mod:versions:count", "name": MODULE}, 4)]
    versions = {labels["version"]: value for labels, value in answers["which versions, how many services each"]}
    assert versions == _versions_built(locked_versions)
    revisions = {labels["revision"]: value for labels, value in answers["who has not deployed the update"]}
    assert revisions == {NEWEST: 3, STALE: 2}
    alerts = {(labels["alertname"], labels.get("name")) for labels, _ in answers["alerts pending or firing"]}
    assert ("PythonModuleVersionSpread", MODULE) in alerts
    assert ("PythonModuleVulnerable", VULNERABLE) in alerts
    advised = answers["which services an advisory affects"]
    assert [(labels["program"], labels["name"], labels["version"], labels["advisory"]) for labels, _ in advised] == [
        (PROGRAM, VULNERABLE, AFFECTED, ADVISORY)
    ]
    assert answers["targets down"] == []


def test_a_member_down_changes_the_answers_and_coming_back_restores_them(fleet):
    """The last member alone runs 0.20.0: without it the fleet runs 3 versions, at the threshold, not above.
    The global tier sees it down through the shard that scraped it, and gives the same answers."""
    (gone,) = [member for member in MEMBERS if member.pinned == "0.20.0"]
    instance = f"127.0.0.1:{fleet.ports[gone.name]}"
    spread = fleet.rule_query("PythonModuleVersionSpread")
    fleet.stop_member(gone.name)
    try:
        wait_for(f"{instance} to show down", lambda: fleet.query(f'up{{instance="{instance}"}} == 0'))
        wait_for("3 versions", lambda: fleet.query(QUESTIONS["how many versions of X run"])[0][1] == 3)
        wait_for("the spread alert to stop", lambda: not fleet.query(spread))
        assert "0.20.0" not in _by("version", fleet.query(QUESTIONS["which versions, how many series each"]))
        shard = f"shard-{shard_of(instance, SHARDS)}"
        wait_for(f"{shard} to count it down", lambda: fleet.query("job:targets_down:count", shard))
        wait_for("the global tier to count it down", lambda: fleet.answers("global")["targets down"])
        assert fleet.answers("global")["targets down"] == [({"job": "example_app"}, 1)]
        wait_for("the global tier's answers without it", lambda: fleet.answers("single") == fleet.answers("global"))
        [(_, versions)] = fleet.answers("global")["how many versions of X run"]
        assert versions == 3
    finally:
        fleet.start_member(gone.name)
    wait_for(f"{instance} to come back", lambda: fleet.query(f'up{{instance="{instance}"}} == 1'))
    wait_for("4 versions again", lambda: fleet.query(QUESTIONS["how many versions of X run"])[0][1] == 4)
    wait_for("the spread alert again", lambda: fleet.query(spread))
    wait_for("the global tier to see it back", lambda: not fleet.answers("global")["targets down"])


# --- which services an advisory affects ------------------------------------------------------------
# PythonModuleVulnerable waits `for: 5m` before it fires, longer than a test may run: the tests read the recorded
# python_mod:advisory_services:count and the alert as it stands, pending, with the labels it will fire with.


def _advised_member():
    (member,) = [member for member in MEMBERS if member.dependency == (VULNERABLE, AFFECTED)]
    return member


def test_the_member_built_on_an_affected_lock_runs_that_version_as_the_hook_recorded_it(fleet):
    """The version comes from the member's own lock, recorded by the build hook and installed from that lock: its
    python_mod_info shows it, and no drift."""
    member = _advised_member()
    instance = f"127.0.0.1:{fleet.ports[member.name]}"
    running = fleet.query(f'python_mod_info{{name="{VULNERABLE}"}}')
    assert [(labels["instance"], labels["program"], labels["version"]) for labels, _ in running] == [
        (instance, PROGRAM, AFFECTED)
    ]
    assert not fleet.query(f'python_mod_drift_info{{instance="{instance}"}}')


def test_an_advisory_names_the_program_module_version_on_one_server_and_the_global_tier(fleet):
    (finding,) = load(OSV).affecting(VULNERABLE, AFFECTED)
    assert finding.advisory == ADVISORY and finding.fixed == FIXED
    labels = {"program": PROGRAM, "name": VULNERABLE, "version": AFFECTED, "advisory": ADVISORY}
    labels["severity"] = finding.severity
    for server in EXPORTED:
        # Exactly one series: the fleet's other modules (prometheus-client, hatch-buildinfo) are affected by none.
        wait_for(f"{server}'s advisory answer", lambda server=server: fleet.advised(server))
        assert fleet.advised(server) == [(labels, 1.0)], server
        alert = {"alertname": "PythonModuleVulnerable", "alertstate": "pending", **labels}
        wait_for(f"{server}'s alert", lambda server=server: fleet.alerts("PythonModuleVulnerable", server))
        assert fleet.alerts("PythonModuleVulnerable", server) == [(alert, 1.0)], server


# --- how outdated the fleet is ----------------------------------------------------------------------
# The index holds certifi at the affected and the fixed version, uploaded on their real release days (the days their
# versions spell), and the fleet's other modules at the versions it runs, all uploaded at one made-up time, with a
# prometheus-client release candidate newer than its newest release: the one member on the affected certifi is the
# only one behind.
LIBYEAR = 365.25 * 86400  # libyear.com's year, in seconds
AFFECTED_RELEASED = datetime.date(2022, 12, 7)
FIXED_RELEASED = datetime.date(2023, 7, 22)


def _exporter_series(fleet, expression: str, server: str) -> dict[str, float]:
    """`expression` (an exporter's series) on `server`, by its labels but the exporter's own job and instance."""
    drop = ("__name__", "job", "instance")
    result = fleet.query(expression, server)
    return {",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in drop): value for labels, value in result}


def test_the_exporters_name_each_running_module_s_newest_release_from_the_index(fleet, locked_versions):
    """The newest release of prometheus-client is the newest the fleet runs, not the newer release candidate on the
    index; certifi's is the fixed version, which no member runs yet; the index is up and gives release times."""
    recorded = {name for modules in fleet.modules.values() for name, _ in modules}
    assert recorded == {"hatch-buildinfo", MODULE, VULNERABLE}
    candidates = json.loads((fleet.workdir / "index" / MODULE / "index.json").read_text())["versions"]
    assert any(Version(version) > Version(locked_versions[MODULE]) for version in candidates), candidates
    newest = {
        "hatch-buildinfo": importlib.metadata.version("hatch-buildinfo"),
        MODULE: locked_versions[MODULE],
        VULNERABLE: FIXED,
    }
    health = {"source=index": 1.0}
    for server in EXPORTED:
        wait_for(
            f"{server}'s newest releases",
            lambda server=server: len(fleet.query("python_mod_latest_info", server)) == len(newest),
        )
        latest = _exporter_series(fleet, "python_mod_latest_info", server)
        assert latest == {f"name={name},version={version}": 1.0 for name, version in newest.items()}, server
        assert _exporter_series(fleet, 'hatch_buildinfo_exporter_source_up{source="index"}', server) == health
        known = _exporter_series(fleet, "hatch_buildinfo_exporter_index_release_times_known", server)
        assert known == {f"index={fleet.index.url}": 1.0}, server


def test_the_stale_member_puts_its_program_behind_by_certifi_s_libyears_on_both_servers(fleet):
    """One outdated module (certifi), behind by the time between its two releases in years; the fix out for years and
    not deployed is pending as PythonModuleFixNotDeployed, whose summary counts the days."""
    libyears = (FIXED_RELEASED - AFFECTED_RELEASED).days * 86400 / LIBYEAR  # 227 days: 0.6215 libyears
    (finding,) = load(OSV).affecting(VULNERABLE, AFFECTED)
    labels = {"program": PROGRAM, "name": VULNERABLE, "version": AFFECTED, "advisory": ADVISORY, "fixed": FIXED}
    alert = {"alertname": "PythonModuleFixNotDeployed", "alertstate": "pending", "severity": finding.severity}
    for server in EXPORTED:
        wait_for(f"{server}'s libyears", lambda server=server: fleet.query("python_program:libyears:sum", server))
        [(outdated, count)] = fleet.query("python_program:outdated_modules:count", server)
        assert (outdated["program"], count) == (PROGRAM, 1), server
        [(behind, years)] = fleet.query("python_program:libyears:sum", server)
        assert behind["program"] == PROGRAM and years == pytest.approx(libyears, rel=1e-9), server
        wait_for(f"{server}'s alert", lambda server=server: fleet.alerts("PythonModuleFixNotDeployed", server))
        assert fleet.alerts("PythonModuleFixNotDeployed", server) == [({**alert, **labels}, 1.0)], server
        before = (datetime.datetime.now(datetime.timezone.utc).date() - FIXED_RELEASED).days
        (summary,) = fleet.summaries("PythonModuleFixNotDeployed", server)
        after = (datetime.datetime.now(datetime.timezone.utc).date() - FIXED_RELEASED).days
        said = f"{PROGRAM} still runs {VULNERABLE} {AFFECTED}: {FIXED} fixed {ADVISORY} {{}} days ago"
        assert summary in {said.format(before), said.format(after)}, summary


def test_the_exporters_later_refreshes_of_the_unchanged_index_are_all_304s(fleet):
    """Each exporter refreshes every second; after its first refresh the index sends no page again."""
    index = fleet.index
    for server in EXPORTED:
        wait_for(f"{server}'s first index refresh", lambda server=server: fleet.query("python_mod_latest_info", server))
    index.reset()
    # Two refreshes of each exporter, a request per running name each, every one answered 304 and none in flight.
    names = len({name for modules in fleet.modules.values() for name, _ in modules})
    enough = 2 * len(EXPORTED) * names
    wait_for(f"{enough} 304s", lambda: index.not_modified >= enough and index.requests == index.not_modified)
    assert index.body_bytes == 0  # no page sent: a 304 is headers only


def test_a_rebuild_on_the_fixed_version_clears_it(fleet):
    """Last of this file: it changes the fleet. The member is rebuilt with its lock moved to the fixed version and
    redeployed on its port; both servers stop naming it, and the alert goes. The fixed version is certifi's newest
    release, so the program is behind on nothing: its libyears and outdated count are 0 (served and recorded as 0,
    not absent), and the fix waits no more."""
    member = _advised_member()
    instance = f"127.0.0.1:{fleet.ports[member.name]}"
    wait_for("the advisory answer", lambda: all(fleet.advised(server) for server in EXPORTED))
    fleet.rebuild(dataclasses.replace(member, dependency=(VULNERABLE, FIXED)))
    wait_for(
        f"{instance} to run {VULNERABLE} {FIXED}",
        lambda: fleet.query(f'python_mod_info{{instance="{instance}", name="{VULNERABLE}", version="{FIXED}"}}'),
    )
    assert load(OSV).affecting(VULNERABLE, FIXED) == []
    fixed_released = datetime.datetime.combine(FIXED_RELEASED, datetime.time(), datetime.timezone.utc).timestamp()
    for server in EXPORTED:
        # While the member restarted nothing ran certifi, and nothing was behind: wait until the exporter sees the
        # fixed version run (the only certifi release time it serves now: running, newest, no advisory's fix).
        wait_for(
            f"{server}'s exporter to see {VULNERABLE} {FIXED} run",
            lambda server=server: fleet.release_times(VULNERABLE, server) == {FIXED: fixed_released},
        )
        wait_for(
            f"{server} to clear {ADVISORY}",
            lambda server=server: not fleet.advised(server) and not fleet.alerts("PythonModuleVulnerable", server),
        )
        wait_for(f"{server} to find {PROGRAM} behind on nothing", lambda server=server: not fleet.behind(server))
        for record in ("python_program:outdated_modules:count", "python_program:libyears:sum"):
            assert fleet.query(f'{record}{{program="{PROGRAM}"}}', server) == [
                ({"__name__": record, "program": PROGRAM}, 0.0)
            ]
        latest = _exporter_series(fleet, f'python_mod_latest_info{{name="{VULNERABLE}"}}', server)
        assert latest == {f"name={VULNERABLE},version={FIXED}": 1.0}, server
