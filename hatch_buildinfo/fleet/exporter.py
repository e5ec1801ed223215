"""`hatch-buildinfo exporter`: which running module versions a published advisory affects, and how far each
lags behind the newest release on a package index, as Prometheus metrics.

Each interval it asks Prometheus for the (name, version) pairs the fleet runs, reloads the advisory database
when its files changed, and matches the one against the other; with `--index` it then asks the package
indexes about the running names, and only those. A scrape hands back the families the last refresh computed,
so it does no I/O. A source that fails keeps its last good data, and the failure shows in
the exporter's own health series and one log line; the exporter never exits for it.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

from prometheus_client import start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from .advisories import Database, DatabaseError, Finding, load
from .index import PackageIndex, Project
from .prometheus import RUNNING_QUERY, TIMEOUT, CredentialsError, Prometheus, PrometheusError
from .urls import URLError, check_http_url, check_index_url

log = logging.getLogger(__name__)

ADVISORY_INFO = "python_mod_advisory_info"
PUBLISHED = "python_advisory_published_timestamp_seconds"
LATEST_INFO = "python_mod_latest_info"
RELEASED = "python_mod_release_timestamp_seconds"
TIMES_KNOWN = "hatch_buildinfo_exporter_index_release_times_known"
INFO_LABELS = ("name", "version", "advisory", "aliases", "severity", "fixed")


@dataclass
class Health:
    """How one source fared: whether its last refresh worked, when one last did, and how many failed."""

    up: bool = False
    refreshed: float | None = None
    errors: int = 0


@dataclass(frozen=True)
class Affected:
    """One running module version and one advisory that affects it."""

    name: str
    version: str
    finding: Finding


class _Families(Collector):
    """The metric families of the last refresh, handed back as they are to every scrape."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> list[Metric]:
        return self.families


class Exporter:
    """The state between refreshes: the last good running set, database and index projects, and the health
    of each source asked (`osv` and `index` only when given)."""

    def __init__(self, prometheus: Prometheus, osv: Path | None, index: PackageIndex | None = None) -> None:
        self.prometheus = prometheus
        self.osv = osv
        self.index = index
        sources = ["prometheus", *(["osv"] if osv is not None else []), *(["index"] if index is not None else [])]
        self.health = {source: Health() for source in sources}
        self.collector = _Families()
        self._running: set[tuple[str, str]] = set()
        self._database: Database | None = None
        self._fingerprint: object = None
        self._projects: dict[str, Project] = {}
        self._publish()

    def refresh(self) -> None:
        """Ask each source once, then publish what the last good data of each gives."""
        if self.osv is not None:
            self._refresh_database()
        self._refresh_running()
        if self.index is not None:
            self._refresh_index(self.index)
        self._publish()

    def _publish(self) -> None:
        affected = self.affected()
        self.collector.families = families(affected, self.health)
        if self.index is not None:
            self.collector.families += index_families(self._running, self._projects, affected, self.index.times_known)

    def affected(self) -> list[Affected]:
        """Every running (name, version) and advisory affecting it, by name, version and advisory."""
        if self._database is None:
            return []
        database = self._database
        return [
            Affected(name, version, finding)
            for name, version in sorted(self._running)
            for finding in database.affecting(name, version)
        ]

    def _refresh_running(self) -> None:
        try:
            running = self.prometheus.running()
        except PrometheusError as error:
            self._failed("prometheus", str(error))
            return
        if not running and (self._running or self.health["prometheus"].refreshed is None):
            log.warning("prometheus: %s is empty: does the server record it with deploy/rules.yml?", RUNNING_QUERY)
        self._running = running
        self._succeeded("prometheus", f"{len(running)} running (name, version) pairs")

    def _refresh_index(self, index: PackageIndex) -> None:
        """Ask the indexes about the running names; a name that fails keeps its last good project."""
        names = {name for name, _ in self._running}
        answer = index.refresh(names)
        # Names the fleet no longer runs, or that every index now answers 404 for, are dropped.
        self._projects = {
            name: project
            for name, project in {**self._projects, **answer.projects}.items()
            if name in names and name not in answer.unknown
        }
        if answer.errors:
            more = f" (and {len(answer.errors) - 1} more)" if len(answer.errors) > 1 else ""
            self._failed("index", f"{answer.errors[0]}{more}", len(answer.errors))
        else:
            self._succeeded(
                "index", f"{len(answer.projects)} of {len(names)} running names known, {answer.requests} requests"
            )

    def _refresh_database(self) -> None:
        assert self.osv is not None
        fingerprint = files_fingerprint(self.osv)
        if fingerprint is not None and fingerprint == self._fingerprint and self.health["osv"].up:
            self.health["osv"].refreshed = time.time()
            return
        try:
            database = load(self.osv)
        except DatabaseError as error:
            self._failed("osv", str(error))
            return
        except Exception as error:  # a file that vanished mid-load, or a bug: counted, never the end of the exporter
            self._failed("osv", f"{self.osv}: {type(error).__name__}: {error}")
            return
        for line in database.skipped:
            log.warning("osv: skipped %s", line)
        self.health["osv"].errors += len(database.skipped)
        self._database = database
        # Taken before the load: files that changed during it make the next refresh load again.
        self._fingerprint = fingerprint
        self._succeeded("osv", f"loaded {self.osv}")

    def _failed(self, source: str, message: str, errors: int = 1) -> None:
        health = self.health[source]
        health.up = False
        health.errors += errors
        if health.refreshed is None:
            log.error("%s: %s; nothing read from it yet", source, message)
        else:
            last = datetime.fromtimestamp(health.refreshed, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            log.error("%s: %s; serving what it gave at %s", source, message, last)

    def _succeeded(self, source: str, message: str) -> None:
        health = self.health[source]
        if not health.up:
            log.info("%s: %s", source, message)
        health.up = True
        health.refreshed = time.time()


def files_fingerprint(path: Path) -> object:
    """What changes when the database at `path` changes: each file's and directory's mtime and size; None
    when `path` cannot be read, so that the load that follows says why."""
    try:
        top = path.stat()
        if path.is_file():
            return (top.st_mtime_ns, top.st_size)
        entries = []
        for directory, _, names in os.walk(path):
            for name in [".", *names]:
                status = os.stat(os.path.join(directory, name))
                entries.append((directory, name, status.st_mtime_ns, status.st_size))
    except OSError:
        return None
    return sorted(entries)


def families(affected: Iterable[Affected], health: dict[str, Health]) -> list[Metric]:
    """The exporter's metric families for `affected`, and its health."""
    info = GaugeMetricFamily(
        ADVISORY_INFO,
        "A metric with a constant '1' value labeled by name and version of a running module, and advisory, "
        "aliases, severity and fixed version of a published advisory that affects it.",
        labels=INFO_LABELS,
    )
    published = GaugeMetricFamily(
        PUBLISHED, "Publication time of the advisory since unix epoch in seconds.", labels=["advisory"]
    )
    dates: dict[str, float] = {}
    for one in affected:
        finding = one.finding
        values = [one.name, one.version, finding.advisory, ",".join(finding.aliases), finding.severity, finding.fixed]
        info.add_metric(values, 1)
        if finding.published is not None:
            dates[finding.advisory] = finding.published
    for advisory, seconds in sorted(dates.items()):
        published.add_metric([advisory], seconds)
    up = GaugeMetricFamily(
        "hatch_buildinfo_exporter_source_up",
        "Whether the last refresh from the source succeeded (1) or failed (0).",
        labels=["source"],
    )
    refreshed = GaugeMetricFamily(
        "hatch_buildinfo_exporter_refresh_timestamp_seconds",
        "Time of the last successful refresh from the source since unix epoch in seconds.",
        labels=["source"],
    )
    errors = CounterMetricFamily(
        "hatch_buildinfo_exporter_refresh_errors",
        "Total number of failed refreshes from the source, and of records it held that could not be read.",
        labels=["source"],
    )
    for source, state in health.items():
        up.add_metric([source], 1 if state.up else 0)
        if state.refreshed is not None:
            refreshed.add_metric([source], state.refreshed)
        errors.add_metric([source], state.errors)
    return [info, published, up, refreshed, errors]


def index_families(
    running: Iterable[tuple[str, str]],
    projects: dict[str, Project],
    affected: Iterable[Affected],
    times_known: dict[str, bool],
) -> list[Metric]:
    """The newest release of each running module, and the release times of the running versions, of the
    newest, and of each version that fixes an advisory affecting a running version."""
    latest = GaugeMetricFamily(
        LATEST_INFO,
        "A metric with a constant '1' value labeled by name and version of the newest release of a running module "
        "on the package index.",
        labels=["name", "version"],
    )
    released = GaugeMetricFamily(
        RELEASED,
        "Release time of the module version on the package index (its earliest upload) since unix epoch in seconds.",
        labels=["name", "version"],
    )
    wanted = set(running)
    for name, project in projects.items():
        if project.latest is not None:
            latest.add_metric([name, project.latest], 1)
            wanted.add((name, project.latest))
    wanted.update((one.name, one.finding.fixed) for one in affected if one.finding.fixed)
    for name, version in sorted(wanted):
        seconds = projects[name].release_time(version) if name in projects else None
        if seconds is not None:
            released.add_metric([name, version], seconds)
    known = GaugeMetricFamily(
        TIMES_KNOWN,
        "Whether every page read from the package index gave upload times (PEP 700) (1), or one lacked them (0).",
        labels=["index"],
    )
    for url, flag in times_known.items():
        known.add_metric([url], 1 if flag else 0)
    return [latest, released, known]


class StartError(Exception):
    """One line: the exporter cannot start as asked (a bad option, credentials in the URL, a port in use)."""


def run(
    prometheus_url: str,
    osv: str | os.PathLike | None,
    listen: str,
    interval: float,
    indexes: Sequence[str] = (),
    index_concurrency: int = 4,
) -> None:
    """`hatch-buildinfo exporter`: log to stderr and serve until SIGTERM or SIGINT."""
    # Our lines only: httpx would log every request at INFO.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.WARNING)
    log.setLevel(logging.INFO)
    if not (interval > 0 and math.isfinite(interval)):
        raise StartError(f"--interval {interval:g}: give a finite number of seconds above 0")
    if osv is None and not indexes:
        raise StartError("give --osv PATH, --index URL or both: the exporter has nothing to match the fleet against")
    if index_concurrency < 1:
        raise StartError(f"--index-concurrency {index_concurrency}: give a number of requests at once, 1 or more")
    address = listen_address(listen)
    try:
        check_http_url("--prometheus", prometheus_url, "http://127.0.0.1:9090")
        for given in indexes:
            check_index_url(given)
    except URLError as error:
        raise StartError(str(error)) from None
    try:
        # A refresh never runs into the next one: a request may take the interval, at most TIMEOUT.
        prometheus = Prometheus(prometheus_url, timeout=min(TIMEOUT, interval))
    except CredentialsError as error:
        raise StartError(str(error)) from None
    # A refresh never runs into the next one: each request takes at most the interval.
    index = PackageIndex(indexes, concurrency=index_concurrency, timeout=min(TIMEOUT, interval)) if indexes else None
    try:
        serve(Exporter(prometheus, Path(osv) if osv is not None else None, index), address, interval)
    finally:
        prometheus.close()
        if index is not None:
            index.close()


class _Stop(Exception):
    """SIGTERM or SIGINT arrived."""


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop(signum: int, frame: FrameType | None) -> None:
    for each in STOP_SIGNALS:  # the first one stops it; another must not break into the shutdown
        signal.signal(each, signal.SIG_IGN)
    raise _Stop(signal.Signals(signum).name)


def listen_address(listen: str) -> tuple[str, int]:
    """(host, port) of `HOST:PORT` (`[::1]:9817` for IPv6; an empty host: every interface)."""
    host, colon, port = listen.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise StartError(f"--listen {listen}: give HOST:PORT, e.g. 127.0.0.1:9817")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(exporter: Exporter, listen: tuple[str, int], interval: float) -> None:
    """Refresh every `interval` seconds and serve /metrics on `listen` until SIGTERM or SIGINT."""
    registry = CollectorRegistry()
    registry.register(exporter.collector)
    host, port = listen
    try:
        server, thread = start_http_server(port, host, registry)
    except OSError as error:
        raise StartError(f"--listen {host}:{port}: {error.strerror or error}") from None
    log.info("serving http://%s:%d/metrics", f"[{host}]" if ":" in host else host, server.server_port)
    previous = {signum: signal.signal(signum, _stop) for signum in STOP_SIGNALS}
    try:
        while True:
            exporter.refresh()
            time.sleep(interval)  # a signal's _Stop ends the sleep, or the refresh, at once
    except _Stop as signalled:
        log.info("stopping on %s", signalled)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
