"""End to end: a fleet of example_app builds, scraped by Debian's real Prometheus, answers the
article's questions exactly — and changes its answers when a member goes down and comes back. A
two-tier set-up of the shipped shard.yml and global.yml scrapes the same fleet and answers the same."""

from __future__ import annotations

import json
import socket
import sys

import pytest
from conftest import ROOT, UV, debian_prometheus

sys.path.insert(0, str(ROOT / "deploy"))
from fleet import MEMBERS, MODULE, NEWEST, QUESTIONS, SHARDS, STALE, Fleet, wait_for
from tiers import shard_of

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
    ports = [*running.ports.values(), *(int(url.rsplit(":", 1)[1]) for url in running.servers.values())]
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
