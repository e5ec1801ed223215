"""`hatch-buildinfo exporter` as a real process: it asks a real Prometheus (Debian's), which scrapes services
exposing python_mod_info and records python_mod:services:count with the shipped rule, and matches the answer
against the real OSV records of tests/fixtures/osv/ and a real package index (deploy/index_server.py's tree on
loopback). What a user sees is its /metrics: the advisory and release series, and its own health when
Prometheus stops, when the database breaks, when an HTTP server answers 500, garbage, too much or too late.
Every process a test starts, it stops."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from conftest import ROOT, debian_prometheus
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from hatch_buildinfo.fleet.advisories import load
from hatch_buildinfo.fleet.exporter import index_families
from hatch_buildinfo.fleet.index import Project, newest_release

sys.path.insert(0, str(ROOT / "deploy"))
from fleet import wait_for
from index_server import File, IndexServer, write_tree
from tiers import free_port

OSV = ROOT / "tests" / "fixtures" / "osv"
SCRIPT = Path(sys.executable).with_name("hatch-buildinfo")
INFO = "python_mod_advisory_info"
INFO_KEYS = ("program", "name", "version", "advisory", "aliases", "severity", "fixed")
SERVICES_SERIES = "python_mod_advisory_services"
BEHIND = "python_program_mod_behind_latest_seconds"
LIBYEARS = "python_program_libyears"
OUTDATED = "python_program_outdated_modules"
OLDEST = "python_mod_oldest_running_release_timestamp_seconds"
YEAR = 365.25 * 86400
PUBLISHED = "python_advisory_published_timestamp_seconds"
LATEST = "python_mod_latest_info"
RELEASED = "python_mod_release_timestamp_seconds"
TIMES_KNOWN = "hatch_buildinfo_exporter_index_release_times_known"
# What each service (instance) runs, as (program, name, version): one shop, three billing, the last of which
# is mid-rollout to requests 2.32.3. requests 2.31.0 runs in one shop and two billing services; urllib3 1.26.4,
# which three advisories affect, in one and three.
BILLING = [("billing", "urllib3", "1.26.4"), ("billing", "py", "1.11.0"), ("billing", "flask", "3.0.0")]
INSTANCES = [
    [
        ("shop", "requests", "2.31.0"),
        ("shop", "idna", "3.6"),
        ("shop", "urllib3", "1.26.4"),
        ("shop", "jinja2", "3.1.4"),
    ],
    [("billing", "requests", "2.31.0"), *BILLING],
    [("billing", "requests", "2.31.0"), *BILLING],
    [("billing", "requests", "2.32.3"), *BILLING],
]
# How many services run each (program, name, version): what python_mod:services:count records.
SERVICES = Counter(series for instance in INSTANCES for series in instance)
AFFECTED = {("requests", "2.31.0"), ("idna", "3.6"), ("urllib3", "1.26.4"), ("py", "1.11.0")}


# --- the processes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> Iterator[list[str]]:
    """A loopback target per instance of INSTANCES exposing its python_mod_info, as the hook's collector does."""
    servers = []
    try:
        for instance in INSTANCES:
            registry = CollectorRegistry()
            info = Gauge(
                "python_mod_info",
                "A metric with a constant '1' value.",
                ["name", "program", "version"],
                registry=registry,
            )
            for program, name, version in instance:
                info.labels(name=name, program=program, version=version).set(1)
            servers.append(start_http_server(0, "127.0.0.1", registry))
        yield [f"127.0.0.1:{server.server_port}" for server, _ in servers]
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join()


class PrometheusServer:
    """Debian's prometheus scraping `targets` every second and recording python_mod:services:count with
    deploy/rules.yml's own expression; it can be stopped and started again on the same port and data."""

    def __init__(self, directory: Path, targets: list[str]) -> None:
        (rule,) = [
            rule
            for group in yaml.safe_load((ROOT / "deploy" / "rules.yml").read_text(encoding="utf-8"))["groups"]
            for rule in group["rules"]
            if rule.get("record") == "python_mod:services:count"
        ]
        directory.mkdir()
        (directory / "rules.yml").write_text(
            yaml.safe_dump({"groups": [{"name": "t", "interval": "1s", "rules": [rule]}]})
        )
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [{"job_name": "services", "static_configs": [{"targets": targets}]}],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            debian_prometheus("prometheus"),
            f"--config.file={self.directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with open(self.directory / "prometheus.log", "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for("python_mod:services:count", self._recorded)

    def _recorded(self) -> bool:
        """Whether the count records every service of INSTANCES (each target scraped since the last start)."""
        query = urllib.parse.quote("sum(python_mod:services:count)")
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?query={query}", timeout=2) as answer:
                result = json.load(answer)["data"]["result"]
        except OSError:
            return False
        return bool(result) and float(result[0]["value"][1]) == sum(SERVICES.values())

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process)
            self.process = None


@pytest.fixture(scope="module")
def prometheus(services, tmp_path_factory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus") / "server", services)
    server.start()
    yield server
    server.stop()


def _terminate(process: subprocess.Popen, signum: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(signum)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"{process.args[0]} did not stop on {signal.Signals(signum).name}") from None
    return process.returncode


class Exporter:
    """`hatch-buildinfo exporter` running as its own process, its stderr in a file."""

    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def samples(self, name: str) -> dict[frozenset, float]:
        """The samples of `name` on /metrics now: {frozenset of label items: value}."""
        with urllib.request.urlopen(self.url, timeout=5) as response:
            text = response.read().decode()
        return {
            frozenset(sample.labels.items()): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        }

    def health(self, name: str) -> dict[str, float]:
        """A health family by source: `up`, `refresh_timestamp_seconds` or `refresh_errors_total`."""
        prefix = "hatch_buildinfo_exporter_source_" if name == "up" else "hatch_buildinfo_exporter_"
        return {dict(labels)["source"]: value for labels, value in self.samples(prefix + name).items()}

    def affected(self) -> set[tuple[str, ...]]:
        """The advisory series as (name, version, advisory, aliases, severity, fixed)."""
        series = self.keyed(INFO, *INFO_KEYS[1:])
        assert set(series.values()) <= {1.0}
        return set(series)

    def stderr(self) -> str:
        return self.log.read_text()

    def asked(self) -> bool:
        """Whether each source was asked once: refreshed, or counted as an error."""
        if self.process.poll() is not None:
            raise AssertionError(f"the exporter exited ({self.process.returncode}):\n{self.stderr()}")
        try:
            refreshed = self.health("refresh_timestamp_seconds")
            errors = self.health("refresh_errors_total")
        except OSError:
            return False
        return bool(errors) and all(source in refreshed or errors[source] for source in errors)

    def pairs(self, name: str) -> dict[tuple[str, ...], float]:
        """The samples of a {name, version} family by (name, version)."""
        return self.keyed(name, "name", "version")

    def keyed(self, name: str, *keys: str) -> dict[tuple[str, ...], float]:
        """The samples of `name` by the values of their labels `keys`, in that order."""
        return {tuple(dict(labels)[key] for key in keys): value for labels, value in self.samples(name).items()}


@contextmanager
def exporter(
    tmp_path: Path,
    prometheus_url: str,
    osv: Path | None,
    interval: str = "0.5",
    indexes: tuple[str, ...] = (),
    index_interval: str = "0",
    **environ: str,
) -> Iterator[Exporter]:
    """The exporter, serving once each source was asked; stopped by SIGTERM, which it must obey with 0. It asks
    its indexes every refresh unless `index_interval` says otherwise."""
    port = free_port()
    log = tmp_path / f"exporter-{port}.log"
    command = [SCRIPT, "exporter", "--prometheus", prometheus_url, "--listen", f"127.0.0.1:{port}"]
    command += ["--osv", osv] if osv is not None else []
    command += [argument for url in indexes for argument in ("--index", url)]
    command += ["--index-interval", index_interval] if indexes else []
    # Only the credentials a test gives, and no proxy between the exporter and a loopback server.
    clean = {
        key: value
        for key, value in os.environ.items()
        if not (key.startswith("PROMETHEUS_") or key.upper().endswith("_PROXY"))
    }
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [*map(str, command), "--interval", interval],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env={**clean, **environ},
        )
    running = Exporter(process, f"http://127.0.0.1:{port}/metrics", log)
    try:
        wait_for("the exporter's first refresh", running.asked)
        yield running
    finally:
        returncode = _terminate(process)
    assert returncode == 0, running.stderr()


def more_errors(running: Exporter, source: str, than: float) -> Callable[[], bool]:
    """A check that `source` has more refresh errors than `than`, for wait_for."""
    return lambda: running.health("refresh_errors_total")[source] > than


def expected(pairs: set[tuple[str, str]], osv: Path = OSV) -> set[tuple[str, ...]]:
    """What the advisory database says of `pairs`, as Exporter.affected() gives it."""
    database = load(osv)
    return {
        (name, version, f.advisory, ",".join(f.aliases), f.severity, f.fixed)
        for name, version in pairs
        for f in database.affecting(name, version)
    }


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class FakePrometheus(http.server.ThreadingHTTPServer):
    """A loopback HTTP server answering /api/v1/query as `mode` says, and keeping each Authorization header."""

    daemon_threads = True
    # mode: (status, body, declared Content-Length or None, seconds before the answer, seconds between bytes)
    answers: ClassVar[dict[str, tuple[int, bytes, int | None, float, float]]] = {
        "500": (500, b"internal error\n", None, 0, 0),
        "garbage": (200, b"<html>not an API</html>", None, 0, 0),
        "deep": (200, b"[" * 100_000, None, 0, 0),
        "matrix": (200, b'{"status": "success", "data": {"resultType": "matrix", "result": []}}', None, 0, 0),
        "unlabelled": (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{}]}}', None, 0, 0),
        "valueless": (
            200,
            b'{"status": "success", "data": {"resultType": "vector", "result": '
            b'[{"metric": {"program": "app", "name": "idna", "version": "3.6"}, "value": [0, "many"]}]}}',
            None,
            0,
            0,
        ),
        "error": (400, b'{"status": "error", "errorType": "bad_data", "error": "parse error"}', None, 0, 0),
        "huge": (200, b"[" * (33 * 1024 * 1024), None, 0, 0),
        "declared": (200, b"[", 33 * 1024 * 1024, 0, 0),
        "silent": (200, b"{}", None, 3, 0),
        "dribbling": (200, b"[" * 20, None, 0, 0.1),
    }

    def __init__(self, running: Mapping[tuple[str, str, str], float]) -> None:
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.mode = "good"
        self.authorizations: list[str | None] = []
        self.good = running_answer(running)
        self.url = f"http://127.0.0.1:{self.server_port}"


def running_answer(running: Mapping[tuple[str, str, str], float]) -> bytes:
    """What Prometheus answers to the exporter's query when `running` says how many services of each program run
    each (name, version)."""
    vector = [
        {"metric": {"program": program, "name": name, "version": version}, "value": [0, f"{services:g}"]}
        for (program, name, version), services in running.items()
    ]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": vector}}).encode()


def app(*pairs: tuple[str, str]) -> dict[tuple[str, str, str], float]:
    """One service of one program, `app`, running `pairs` (name, version)."""
    return {("app", name, version): 1 for name, version in pairs}


class _FakeHandler(http.server.BaseHTTPRequestHandler):
    server: FakePrometheus

    def do_GET(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization"))
        status, body, declared, delay, pause = self.server.answers.get(
            self.server.mode, (200, self.server.good, None, 0, 0)
        )
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if declared is not None:  # otherwise none: the exporter must count what it reads
                self.send_header("Content-Length", str(declared))
            self.end_headers()
            for start in range(0, len(body), 1 if pause else len(body)):
                self.wfile.write(body[start : start + (1 if pause else len(body))])
                self.wfile.flush()
                time.sleep(pause)
        except OSError:  # the exporter gave up on a huge or slow answer
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def fake_prometheus(running: Mapping[tuple[str, str, str], float]) -> Iterator[FakePrometheus]:
    server = FakePrometheus(running)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def records(osv: Path = OSV) -> dict[str, dict]:
    """Each record of the fixture database by id, as JSON would hold it."""
    found = {}
    for path in sorted([*osv.rglob("*.json"), *osv.rglob("*.yaml")]):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML reads JSON too
        found[record["id"]] = json.loads(json.dumps(record, default=_rfc3339))
    return found


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def write_zip(path: Path, documents: dict[str, bytes]) -> None:
    """An all.zip as OSV exports one: a flat `ID.json` per record; written aside and renamed into place."""
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, data in documents.items():
            archive.writestr(name, data)
    partial.replace(path)


# --- the tests ----------------------------------------------------------------------------------------


def test_the_exporter_names_each_running_version_an_advisory_affects(prometheus, tmp_path):
    with exporter(tmp_path, prometheus.url, OSV) as running:
        series = running.affected()
        published = {dict(labels)["advisory"]: value for labels, value in running.samples(PUBLISHED).items()}
        up = running.health("up")
        errors = running.health("refresh_errors_total")
        refreshed = running.health("refresh_timestamp_seconds")
    assert {(name, version) for name, version, *_ in series} == AFFECTED
    assert series == expected({(name, version) for _, name, version in SERVICES})
    (idna,) = [one for one in series if one[0] == "idna"]
    assert {idna[2], *idna[3].split(",")} == {"PYSEC-2024-60", "CVE-2024-3651"}
    assert idna[4:] == ("high", "3.7")
    (py,) = [one for one in series if one[0] == "py"]
    assert py[5] == ""  # last_affected 1.11.0: no release fixes it
    (cve,) = [one for one in series if "CVE-2024-35195" in {one[2], *one[3].split(",")}]
    assert cve[:2] == ("requests", "2.31.0")
    assert cve[4:] == ("medium", "2.32.2")
    assert len([one for one in series if one[0] == "urllib3"]) > 1  # several advisories, one series each
    assert set(published) == {advisory for _, _, advisory, *_ in series}
    assert published[idna[2]] == epoch("2024-07-07T18:15:00Z")
    assert up == {"prometheus": 1, "osv": 1}
    assert errors == {"prometheus": 0, "osv": 0}
    assert all(time.time() - 60 < seconds <= time.time() for seconds in refreshed.values()), refreshed


def test_each_program_running_an_affected_version_is_served_with_its_services_per_advisory(prometheus, tmp_path):
    """The join PromQL could not make in one rule: one version, several advisories, several programs."""
    with exporter(tmp_path, prometheus.url, OSV) as running:
        services = running.keyed(SERVICES_SERIES, "program", "name", "version", "advisory")
        labelled = running.keyed(SERVICES_SERIES, *INFO_KEYS)
        affected = running.affected()
    assert {key: value for key, value in services.items() if key[1] == "requests"} == {
        ("shop", "requests", "2.31.0", "GHSA-9wx4-h78v-vm56"): 1,
        ("billing", "requests", "2.31.0", "GHSA-9wx4-h78v-vm56"): 2,
    }
    urllib3 = {key: value for key, value in services.items() if key[1] == "urllib3"}
    advisories = {advisory for name, _, advisory, *_ in affected if name == "urllib3"}
    assert len(advisories) == 3
    assert urllib3 == {
        **{("shop", "urllib3", "1.26.4", advisory): 1 for advisory in advisories},
        **{("billing", "urllib3", "1.26.4", advisory): 3 for advisory in advisories},
    }
    # Every program running an affected version, once per advisory, with the advisory's labels.
    assert services == {
        (program, name, version, advisory): count
        for (program, name, version), count in SERVICES.items()
        for affected_name, affected_version, advisory, *_ in affected
        if (affected_name, affected_version) == (name, version)
    }
    assert {key[1:] for key in labelled} == affected


def test_prometheus_down_keeps_the_last_answer_and_counts_each_failure(prometheus, tmp_path):
    with exporter(tmp_path, prometheus.url, OSV) as running:
        before = running.affected()
        prometheus.stop()
        try:
            wait_for("source_up 0", lambda: running.health("up") == {"prometheus": 0, "osv": 1})
            errors = running.health("refresh_errors_total")["prometheus"]
            assert errors >= 1
            assert running.affected() == before
            wait_for("a second failure counted", more_errors(running, "prometheus", errors))
            lines = [line for line in running.stderr().splitlines() if prometheus.url in line]
            assert lines and "ConnectError" in lines[0] and "serving what it gave at" in lines[0], running.stderr()
        finally:
            prometheus.start()
        wait_for("source_up 1 again", lambda: running.health("up")["prometheus"] == 1)
        assert running.affected() == before


def test_a_database_that_breaks_keeps_the_last_answer_until_a_good_one_replaces_it(tmp_path):
    """An all.zip: a record it cannot read is counted and named, the rest loads; a zip that is not one leaves the
    last database serving; the next good one is loaded because it changed."""
    database = tmp_path / "all.zip"
    known = {f"{advisory}.json": json.dumps(record).encode() for advisory, record in records().items()}
    write_zip(database, {**known, "BROKEN-1.json": b'{"id": "BROKEN-1", "affected": ['})
    with fake_prometheus(SERVICES) as server, exporter(tmp_path, server.url, database) as running:
        before = running.affected()
        assert before == expected({(name, version) for _, name, version in SERVICES})
        assert running.health("refresh_errors_total")["osv"] == 1
        assert running.health("up")["osv"] == 1
        first = running.health("refresh_timestamp_seconds")["osv"]
        wait_for("two more refreshes", lambda: running.health("refresh_timestamp_seconds")["osv"] > first + 0.9)
        # Not loaded again while unchanged: still the one warning, the one error.
        (warning,) = [line for line in running.stderr().splitlines() if "BROKEN-1.json" in line]
        assert "WARNING" in warning
        assert running.health("refresh_errors_total")["osv"] == 1
        database.write_bytes(b"not a zip")
        wait_for("source_up 0", lambda: running.health("up") == {"prometheus": 1, "osv": 0})
        assert running.health("refresh_errors_total")["osv"] >= 2
        assert running.affected() == before
        assert any(str(database) in line for line in running.stderr().splitlines()[-3:]), running.stderr()
        del known["PYSEC-2024-60.json"]
        write_zip(database, known)
        wait_for("source_up 1 again", lambda: running.health("up")["osv"] == 1)
        assert running.affected() == {one for one in before if one[0] != "idna"}


def test_a_record_nested_too_deep_for_the_parser_does_not_stop_it(tmp_path):
    """Whether the loader skips such a record or gives up on the database, the exporter counts it and keeps
    serving what it had."""
    database = tmp_path / "all.zip"
    known = {f"{advisory}.json": json.dumps(record).encode() for advisory, record in records().items()}
    write_zip(database, known)
    with fake_prometheus(app(("idna", "3.6"))) as server, exporter(tmp_path, server.url, database) as running:
        before = running.affected()
        assert before == expected({("idna", "3.6")})
        write_zip(database, {**known, "DEEP-1.json": b"[" * 100_000})
        wait_for("the error counted", more_errors(running, "osv", 0))
        first = running.health("refresh_timestamp_seconds")["prometheus"]
        wait_for("another refresh", lambda: running.health("refresh_timestamp_seconds")["prometheus"] > first)
        assert running.affected() == before
        assert "DEEP-1.json" in running.stderr() or "RecursionError" in running.stderr()


def test_a_database_missing_then_empty_is_counted_until_it_arrives(tmp_path):
    database = tmp_path / "osv"
    with fake_prometheus(app(("idna", "3.6"))) as server, exporter(tmp_path, server.url, database) as running:
        assert running.health("up") == {"prometheus": 1, "osv": 0}
        assert running.affected() == set()
        line = next(line for line in running.stderr().splitlines() if "ERROR osv" in line)
        assert f"{database}: no such file or directory" in line and "nothing read from it yet" in line
        database.mkdir()
        wait_for("the empty database named", lambda: f"{database} holds no OSV record" in running.stderr())
        assert running.health("up")["osv"] == 0
        errors = running.health("refresh_errors_total")["osv"]
        assert errors >= 2
        shutil.copytree(OSV, database, dirs_exist_ok=True)
        wait_for("source_up 1", lambda: running.health("up")["osv"] == 1)
        assert running.affected() == expected({("idna", "3.6")})
        assert running.health("refresh_errors_total")["osv"] >= errors


def test_a_record_changed_in_place_in_a_directory_tree_is_reloaded(tmp_path):
    """As a `git pull` of the advisory database does: the file changes, its directory does not."""
    database = tmp_path / "osv"
    shutil.copytree(OSV, database)
    (record,) = database.rglob("PYSEC-2024-60.yaml")
    with fake_prometheus(app(("idna", "3.6"), ("py", "1.11.0"))) as server, exporter(
        tmp_path, server.url, database
    ) as running:
        before = running.affected()
        assert {name for name, *_ in before} == {"idna", "py"}
        record.write_text(record.read_text() + "withdrawn: '2024-08-01T00:00:00Z'\n")
        wait_for("the withdrawn record gone", lambda: {name for name, *_ in running.affected()} == {"py"})
        assert running.affected() == {one for one in before if one[0] == "py"}
        assert running.health("up")["osv"] == 1


def test_an_answer_of_500_garbage_too_much_or_too_late_is_counted_and_the_last_one_kept(tmp_path):
    token = {"PROMETHEUS_BEARER_TOKEN": "s3cret"}
    with fake_prometheus(app(("idna", "3.6"))) as server, exporter(
        tmp_path, server.url, OSV, "0.5", **token
    ) as running:
        before = running.affected()
        assert before == expected({("idna", "3.6")})
        for mode, says in [
            ("500", "HTTP 500: internal error"),
            ("garbage", "the answer is not JSON from the Prometheus API: b'<html>"),
            ("deep", "the answer is not JSON from the Prometheus API: b'[[["),
            ("matrix", "the answer holds no instant vector"),
            ("unlabelled", "has no program, name or version: {}"),
            ("valueless", "has no number: {'metric': {'program': 'app'"),
            ("error", "HTTP 400: bad_data: parse error"),
            ("huge", f"the answer is more than {32 * 1024 * 1024} bytes"),
            ("declared", f"the answer is {33 * 1024 * 1024} bytes, more than {32 * 1024 * 1024}"),
            ("silent", "ReadTimeout"),
            ("dribbling", "the answer took more than 0.5 s"),
        ]:
            errors = running.health("refresh_errors_total")["prometheus"]
            server.mode = mode
            wait_for(f"{mode}: an error counted", more_errors(running, "prometheus", errors))
            assert running.health("up")["prometheus"] == 0
            assert running.affected() == before
            assert says in running.stderr().splitlines()[-1], running.stderr()
            server.mode = "good"
            wait_for(f"{mode}: source_up 1 again", lambda: running.health("up")["prometheus"] == 1)
        authorizations = set(server.authorizations)
    assert authorizations == {"Bearer s3cret"}
    assert "s3cret" not in running.stderr()


def test_basic_auth_comes_from_the_environment_and_an_empty_answer_is_said_once(tmp_path):
    credentials = {"PROMETHEUS_USERNAME": "ops", "PROMETHEUS_PASSWORD": "pw"}
    with fake_prometheus({}) as server, exporter(tmp_path, server.url, OSV, **credentials) as running:
        assert running.health("up") == {"prometheus": 1, "osv": 1}
        assert running.affected() == set()
        first = running.health("refresh_timestamp_seconds")["prometheus"]
        wait_for("another refresh", lambda: running.health("refresh_timestamp_seconds")["prometheus"] > first)
    assert len(server.authorizations) > 1
    assert set(server.authorizations) == {"Basic b3BzOnB3"}  # base64 of ops:pw
    # An empty answer is no error, but a server without the recording rule gives one: said once.
    (empty,) = [line for line in running.stderr().splitlines() if "is empty" in line]
    assert "WARNING prometheus: sum by (program, name, version) (python_mod:services:count) is empty" in empty


def test_sigint_stops_it_at_once_even_in_the_middle_of_a_request_and_frees_the_port(tmp_path):
    """The server takes 3 s to answer and the exporter would wait 5 (its interval): SIGINT does not wait."""
    with fake_prometheus({}) as server, exporter(tmp_path, server.url, OSV, "5") as running:
        asked = len(server.authorizations)
        server.mode = "silent"
        wait_for("the next request", lambda: len(server.authorizations) > asked)
        started = time.monotonic()
        assert _terminate(running.process, signal.SIGINT) == 0
        assert time.monotonic() - started < 1.5
        with pytest.raises(OSError):
            urllib.request.urlopen(running.url, timeout=2)
    assert "stopping on SIGINT" in running.stderr()


# --- the package index --------------------------------------------------------------------------------

# What the index holds: name as the index spells it -> version -> upload day. flask is not on it.
RELEASES = {
    "requests": {"2.31.0": "2023-05-22", "2.32.2": "2024-05-21", "2.32.3": "2024-05-29", "2.33.0rc1": "2024-09-01"},
    "idna": {"3.6": "2023-11-25", "3.7": "2024-04-11", "3.8": "2024-08-23"},
    "urllib3": {
        "1.26.4": "2021-03-15",
        "1.26.5": "2021-05-26",
        "1.26.17": "2023-10-02",
        "1.26.18": "2023-10-17",
        "2.2.2": "2024-06-17",
    },
    "Jinja2": {"3.1.4": "2024-05-05", "3.1.5": "2024-12-21"},
    "py": {"1.11.0": "2021-11-04"},
}
NEWEST = {("requests", "2.32.3"), ("idna", "3.8"), ("urllib3", "2.2.2"), ("jinja2", "3.1.5"), ("py", "1.11.0")}


def index_tree(root: Path, releases: dict[str, dict[str, str]], pep700: bool = True) -> Path:
    write_tree(
        root,
        {
            name: [File(f"{name.lower()}-{version}.tar.gz", f"{day}T10:00:00Z") for version, day in versions.items()]
            for name, versions in releases.items()
        },
        pep700=pep700,
    )
    return root


def released(name: str, version: str) -> float:
    (day,) = [days[version] for spelled, days in RELEASES.items() if spelled.lower() == name]
    return epoch(f"{day}T10:00:00Z")


def test_the_index_series_name_newest_releases_and_release_times(prometheus, tmp_path):
    with IndexServer(index_tree(tmp_path / "index", RELEASES)) as index, exporter(
        tmp_path, prometheus.url, OSV, indexes=(index.url,)
    ) as running:
        affected = running.affected()
        latest = running.pairs(LATEST)
        times = running.pairs(RELEASED)
        known = running.samples(TIMES_KNOWN)
        up = running.health("up")
        errors = running.health("refresh_errors_total")
        fresh = freshness_of(running)
        # Later refreshes only revalidate: 304s, and no page sent again (only flask's 404, 10 bytes each).
        index.reset()
        wait_for("two refreshes of 304s", lambda: index.not_modified >= 2 * len(NEWEST))
        resent = index.body_bytes
    smallest = min(path.stat().st_size for path in (tmp_path / "index").glob("*/index.json"))
    assert resent < smallest, (resent, smallest)
    assert latest == dict.fromkeys(NEWEST, 1)  # flask: no index knows it; Jinja2 is jinja2
    fixes = {(name, fixed) for name, _, _, _, _, fixed in affected if fixed}
    assert ("requests", "2.32.2") in fixes and ("idna", "3.7") in fixes
    running_versions = {(name, version) for _, name, version in SERVICES if name != "flask"}
    assert set(times) == running_versions | NEWEST | fixes
    assert times == {pair: released(*pair) for pair in times}
    assert known == {frozenset({("index", index.url)}): 1}
    assert up == {"prometheus": 1, "osv": 1, "index": 1}
    assert errors["index"] == 0
    # Per program: billing, mid-rollout from requests 2.31.0 to 2.32.3, counts the older once; its py is the
    # newest release and flask is on no index: neither counts.
    behind = {
        ("shop", "requests"): lag("requests", "2.31.0", "2.32.3"),
        ("shop", "idna"): lag("idna", "3.6", "3.8"),
        ("shop", "urllib3"): lag("urllib3", "1.26.4", "2.2.2"),
        ("shop", "jinja2"): lag("jinja2", "3.1.4", "3.1.5"),
        ("billing", "requests"): lag("requests", "2.31.0", "2.32.3"),
        ("billing", "urllib3"): lag("urllib3", "1.26.4", "2.2.2"),
    }
    assert fresh == {
        BEHIND: behind,
        LIBYEARS: {
            (program,): sum(seconds for (each, _), seconds in behind.items() if each == program) / YEAR
            for program in ("shop", "billing")
        },
        OUTDATED: {("shop",): 4, ("billing",): 2},
        OLDEST: {
            (name,): released(name, version)
            for name, version in [
                ("requests", "2.31.0"),
                ("idna", "3.6"),
                ("urllib3", "1.26.4"),
                ("jinja2", "3.1.4"),
                ("py", "1.11.0"),
            ]
        },
    }


def lag(name: str, running: str, newest: str) -> float:
    """How long before `newest` `running` was released, from RELEASES."""
    return released(name, newest) - released(name, running)


def freshness_of(running: Exporter) -> dict[str, dict[tuple[str, ...], float]]:
    """The per-program and per-module freshness families, by their labels."""
    return {
        BEHIND: running.keyed(BEHIND, "program", "name"),
        LIBYEARS: running.keyed(LIBYEARS, "program"),
        OUTDATED: running.keyed(OUTDATED, "program"),
        OLDEST: running.keyed(OLDEST, "name"),
    }


# Programs and what they run, with how many services: "rollout" is mid-rollout from requests 2.31.0 to 2.32.2;
# "preview" runs a release candidate newer than the newest release; "mixed" runs an idna the index has not
# released (no release time) and an old urllib3; "local" runs only what the index has no time for;
# "current" the newest releases.
FLEET = {
    ("rollout", "requests", "2.31.0"): 3,
    ("rollout", "requests", "2.32.2"): 1,
    ("preview", "requests", "2.33.0rc1"): 1,
    ("preview", "py", "1.11.0"): 2,
    ("mixed", "idna", "9.9"): 1,
    ("mixed", "urllib3", "1.26.4"): 1,
    ("local", "flask", "3.0.0"): 1,
    ("local", "idna", "9.9"): 1,
    ("current", "idna", "3.8"): 2,
    ("current", "jinja2", "3.1.5"): 2,
}


def test_each_program_is_as_far_behind_as_the_oldest_release_it_runs_and_keeps_it_while_the_index_is_down(tmp_path):
    with IndexServer(index_tree(tmp_path / "index", RELEASES)) as index, fake_prometheus(FLEET) as server, exporter(
        tmp_path, server.url, None, indexes=(index.url,)
    ) as running:
        fresh = freshness_of(running)
        errors = running.health("refresh_errors_total")["index"]
        index.break_with(500, b"down")
        wait_for("source_up 0", lambda: running.health("up")["index"] == 0)
        wait_for("two errors counted", more_errors(running, "index", errors + 1))
        kept = freshness_of(running)
        index.break_with()
        wait_for("source_up 1 again", lambda: running.health("up")["index"] == 1)
        rolled_out = {key: count for key, count in FLEET.items() if key[0] != "rollout"}
        server.good = running_answer({**rolled_out, ("rollout", "requests", "2.32.3"): 4})
        wait_for("the rollout done", lambda: ("rollout",) not in running.keyed(BEHIND, "program"))
        done = freshness_of(running)
    behind = {
        ("rollout", "requests"): lag("requests", "2.31.0", "2.32.3"),
        ("mixed", "urllib3"): lag("urllib3", "1.26.4", "2.2.2"),
    }
    assert fresh == {
        BEHIND: behind,
        LIBYEARS: {
            ("rollout",): behind["rollout", "requests"] / YEAR,
            ("mixed",): behind["mixed", "urllib3"] / YEAR,
            ("preview",): 0,
            ("current",): 0,
        },
        OUTDATED: {("rollout",): 1, ("mixed",): 1, ("preview",): 0, ("current",): 0},
        OLDEST: {
            ("requests",): released("requests", "2.31.0"),
            ("py",): released("py", "1.11.0"),
            ("idna",): released("idna", "3.8"),
            ("urllib3",): released("urllib3", "1.26.4"),
            ("jinja2",): released("jinja2", "3.1.5"),
        },
    }
    assert kept == fresh
    assert done[LIBYEARS][("rollout",)] == 0 and done[OUTDATED][("rollout",)] == 0
    assert done[OLDEST][("requests",)] == released("requests", "2.32.3")


def test_a_broken_index_keeps_the_last_good_releases_and_health_says_so(tmp_path):
    fleet = app(("idna", "3.6"), ("jinja2", "3.1.4"))
    with IndexServer(index_tree(tmp_path / "index", RELEASES)) as index, fake_prometheus(fleet) as server, exporter(
        tmp_path, server.url, OSV, indexes=(index.url,)
    ) as running:
        latest = running.pairs(LATEST)
        times = running.pairs(RELEASED)
        assert latest == {("idna", "3.8"): 1, ("jinja2", "3.1.5"): 1}
        for status, body, says in [(500, b"oops", "HTTP 500"), (None, b"{not json", "the page is not JSON")]:
            errors = running.health("refresh_errors_total")["index"]
            index.break_with(status, body)
            wait_for(f"{says}: source_up 0", lambda: running.health("up")["index"] == 0)
            wait_for(f"{says}: the errors counted", more_errors(running, "index", errors + 1))
            assert running.pairs(LATEST) == latest and running.pairs(RELEASED) == times
            line = [line for line in running.stderr().splitlines() if "ERROR index" in line][-1]
            assert f"{index.url}" in line and says in line and "(and 1 more)" in line, line
            assert "serving what it gave at" in line
            index.break_with()
            wait_for(f"{says}: source_up 1 again", lambda: running.health("up")["index"] == 1)
        assert running.health("up") == {"prometheus": 1, "osv": 1, "index": 1}


def test_without_index_no_index_is_asked_and_no_series_appear(tmp_path):
    """Not even the one pip or uv would use."""
    with IndexServer(index_tree(tmp_path / "index", RELEASES)) as index, fake_prometheus(
        app(("idna", "3.6"))
    ) as server:
        configured = {"PIP_INDEX_URL": index.url, "UV_INDEX_URL": index.url, "UV_DEFAULT_INDEX": index.url}
        with exporter(tmp_path, server.url, OSV, **configured) as running:
            first = running.health("refresh_timestamp_seconds")["prometheus"]
            wait_for("another refresh", lambda: running.health("refresh_timestamp_seconds")["prometheus"] > first)
            names = {
                sample.name for family in text_string_to_metric_families(_text(running)) for sample in family.samples
            }
            assert running.health("up") == {"prometheus": 1, "osv": 1}
        assert index.requests == 0
    assert not names & {LATEST, RELEASED, TIMES_KNOWN, BEHIND, LIBYEARS, OUTDATED, OLDEST}
    assert {INFO, SERVICES_SERIES} <= names


def test_a_name_is_asked_again_after_the_index_interval_and_a_name_newly_run_at_once(tmp_path):
    with IndexServer(index_tree(tmp_path / "index", RELEASES)) as index, fake_prometheus(
        app(("idna", "3.6"))
    ) as server, exporter(tmp_path, server.url, None, indexes=(index.url,), index_interval="3600") as running:
        assert running.pairs(LATEST) == {("idna", "3.8"): 1}
        index.reset()
        first = running.health("refresh_timestamp_seconds")["prometheus"]
        wait_for("two more refreshes", lambda: running.health("refresh_timestamp_seconds")["prometheus"] > first + 0.9)
        assert index.requests == 0
        server.good = running_answer(app(("idna", "3.6"), ("py", "1.11.0")))
        wait_for("py asked for", lambda: len(running.pairs(LATEST)) == 2)
        assert running.pairs(LATEST) == {("idna", "3.8"): 1, ("py", "1.11.0"): 1}
        assert index.requests == 1


def _text(running: Exporter) -> str:
    with urllib.request.urlopen(running.url, timeout=5) as response:
        return response.read().decode()


def test_an_index_without_upload_times_says_so_and_index_alone_needs_no_osv(tmp_path):
    with IndexServer(index_tree(tmp_path / "first", {"idna": RELEASES["idna"]})) as first, IndexServer(
        index_tree(tmp_path / "second", {"py": RELEASES["py"], "idna": {"9.0": "2025-01-01"}}, pep700=False)
    ) as second, fake_prometheus(app(("idna", "3.6"), ("py", "1.11.0"))) as server, exporter(
        tmp_path, server.url, None, indexes=(first.url, second.url)
    ) as running:
        known = {dict(labels)["index"]: value for labels, value in running.samples(TIMES_KNOWN).items()}
        latest = running.pairs(LATEST)
        times = running.pairs(RELEASED)
        up = running.health("up")
        advisories = {**running.samples(INFO), **running.samples(SERVICES_SERIES)}
    assert known == {first.url: 1, second.url: 0}
    assert latest == {("idna", "3.8"): 1, ("py", "1.11.0"): 1}  # idna from the first index that knows it
    assert times == {("idna", "3.6"): released("idna", "3.6"), ("idna", "3.8"): released("idna", "3.8")}
    assert up == {"prometheus": 1, "index": 1}
    assert advisories == {}


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--osv", "{osv}", "--prometheus", "http://ops:pw@127.0.0.1:9090"], "PROMETHEUS_USERNAME"),
        (["--osv", "{osv}", "--prometheus", "127.0.0.1:9090"], "give an http:// or https:// URL"),
        (["--osv", "{osv}", "--listen", "localhost"], "--listen localhost: give HOST:PORT"),
        (["--osv", "{osv}", "--interval", "0"], "--interval 0: give a finite number of seconds above 0"),
        (["--osv", "{osv}", "--interval", "inf"], "--interval inf: give a finite number of seconds above 0"),
        (["--osv", "{osv}", "--listen", "127.0.0.1:{busy}"], "Address already in use"),
        ([], "give --osv PATH, --index URL or both"),
        (["--index", "mirror.example/simple/"], "--index mirror.example/simple/: give an http:// or https:// URL"),
        (["--index", "https://ops:pw@mirror.example/simple/"], "credentials in an index URL are not supported"),
        (["--index", "http://127.0.0.1:9/simple/", "--index-concurrency", "0"], "--index-concurrency 0"),
        (["--index", "http://127.0.0.1:9/simple/", "--index-interval", "-1"], "--index-interval -1: give a finite"),
    ],
)
def test_it_will_not_start_as_asked_with_one_line(arguments, says, busy_port, tmp_path):
    command = [SCRIPT, "exporter", "--prometheus", "http://127.0.0.1:9"]
    arguments = [argument.format(busy=busy_port, osv=OSV) for argument in arguments]
    result = subprocess.run([*map(str, command), *arguments], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("hatch-buildinfo: error: ") and says in line, line
    assert "pw" not in line


# --- the per-program join, for any fleet -------------------------------------------------------------------

# The versions an index may list (a pre-release among them) and those a program may run besides: 1.0 is the
# index's 1.0.0 by PEP 440, 9.9 and 3.0rc1 are on no index.
LISTED = ["0.9", "1.0.0", "1.1", "2.0", "2.1rc1"]
RUN = [*LISTED, "1.0", "9.9", "3.0rc1"]
MODULES = ["alpha", "beta", "gamma"]


@st.composite
def fleets(draw: st.DrawFn) -> tuple[set[tuple[str, str, str]], dict[str, Project]]:
    """Programs running versions of modules, and what the index says of each module: the versions it lists,
    of which some have a release time."""
    projects = {}
    for name in draw(st.sets(st.sampled_from(MODULES))):
        listed = draw(st.sets(st.sampled_from(LISTED)))
        times = draw(st.lists(st.none() | st.floats(1.5e9, 1.8e9), min_size=len(listed), max_size=len(listed)))
        released = {version: seconds for version, seconds in zip(sorted(listed), times) if seconds is not None}
        projects[name] = Project(name, newest_release(listed), released, times_known=len(released) == len(listed))
    running = draw(st.sets(st.tuples(st.sampled_from(["p", "q", "r"]), st.sampled_from(MODULES), st.sampled_from(RUN))))
    return running, projects


@settings(max_examples=300, deadline=None)
@given(fleets())
def test_the_per_program_series_are_the_definitions_read_literally(fleet):
    running, projects = fleet
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in index_families(running, projects, [], {})
        for sample in family.samples
        if sample.name in {BEHIND, LIBYEARS, OUTDATED, OLDEST}
    }

    def release(name: str, version: str | None) -> float | None:
        """The release time of `version` of `name`, by PEP 440 equality; None where the index gives none."""
        project = projects.get(name)
        if project is None or version is None:
            return None
        return next((t for listed, t in project.released.items() if Version(listed) == Version(version)), None)

    # Every known release time of a version each program runs of each module, and of each newest release.
    ran: dict[tuple[str, str], list[float]] = {}
    for program, name, version in running:
        ran.setdefault((program, name), [])
        seconds = release(name, version)
        if seconds is not None:
            ran[program, name].append(seconds)
    expected = {}
    known_programs = set()
    for (program, name), times in ran.items():
        newest = release(name, projects[name].latest) if name in projects else None
        lags = [newest - seconds for seconds in times] if newest is not None else []
        if lags:
            known_programs.add(program)
        if lags and max(lags) > 0:
            expected[BEHIND, (program, name)] = max(lags)
    for program in known_programs:
        mine = [seconds for (family, (each, *_)), seconds in expected.items() if family == BEHIND and each == program]
        expected[LIBYEARS, (program,)] = sum(mine) / YEAR
        expected[OUTDATED, (program,)] = len(mine)
    for name in {name for _, name in ran}:
        everywhere = [seconds for (_, module), times in ran.items() if module == name for seconds in times]
        if everywhere:
            expected[OLDEST, (name,)] = min(everywhere)
    assert samples.keys() == expected.keys()
    for key, value in expected.items():
        assert samples[key] == pytest.approx(value), key
