"""`hatch-buildinfo exporter`: which running module versions a published advisory affects, as Prometheus metrics.

Each interval it asks Prometheus for the (name, version) pairs the fleet runs, reloads the advisory database
when its files changed, and matches the one against the other. A scrape hands back the families the last
refresh computed, so it does no I/O. A source that fails keeps its last good data, and the failure shows in
the exporter's own health series and one log line; the exporter never exits for it.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

import httpx
from prometheus_client import start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from .advisories import Database, DatabaseError, Finding, load
from .prometheus import RUNNING_QUERY, TIMEOUT, CredentialsError, Prometheus, PrometheusError

log = logging.getLogger(__name__)

SOURCES = ("prometheus", "osv")
ADVISORY_INFO = "python_mod_advisory_info"
PUBLISHED = "python_advisory_published_timestamp_seconds"
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
    """The state between refreshes: the last good running set and database, and each source's health."""

    def __init__(self, prometheus: Prometheus, osv: Path) -> None:
        self.prometheus = prometheus
        self.osv = osv
        self.health = {source: Health() for source in SOURCES}
        self.collector = _Families()
        self._running: set[tuple[str, str]] = set()
        self._database: Database | None = None
        self._fingerprint: object = None
        self.collector.families = families([], self.health)

    def refresh(self) -> None:
        """Ask both sources once, then publish what the last good data of each gives."""
        self._refresh_database()
        self._refresh_running()
        self.collector.families = families(self.affected(), self.health)

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

    def _refresh_database(self) -> None:
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

    def _failed(self, source: str, message: str) -> None:
        health = self.health[source]
        health.up = False
        health.errors += 1
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


class StartError(Exception):
    """One line: the exporter cannot start as asked (a bad option, credentials in the URL, a port in use)."""


def run(prometheus_url: str, osv: str | os.PathLike, listen: str, interval: float) -> None:
    """`hatch-buildinfo exporter`: log to stderr and serve until SIGTERM or SIGINT."""
    # Our lines only: httpx would log every request at INFO.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.WARNING)
    log.setLevel(logging.INFO)
    if not (interval > 0 and math.isfinite(interval)):
        raise StartError(f"--interval {interval:g}: give a finite number of seconds above 0")
    address = listen_address(listen)
    try:
        url = httpx.URL(prometheus_url)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise StartError(f"--prometheus {prometheus_url}: give an http:// or https:// URL, e.g. http://127.0.0.1:9090")
    try:
        # A refresh never runs into the next one: a request may take the interval, at most TIMEOUT.
        prometheus = Prometheus(prometheus_url, timeout=min(TIMEOUT, interval))
    except CredentialsError as error:
        raise StartError(str(error)) from None
    try:
        serve(prometheus, Path(osv), address, interval)
    finally:
        prometheus.close()


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


def serve(prometheus: Prometheus, osv: Path, listen: tuple[str, int], interval: float) -> None:
    """Refresh every `interval` seconds and serve /metrics on `listen` until SIGTERM or SIGINT."""
    exporter = Exporter(prometheus, osv)
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
