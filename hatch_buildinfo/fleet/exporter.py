"""`hatch-buildinfo exporter`: which running module versions a published advisory affects, and how far each
lags behind the newest release on a package index, as Prometheus metrics.

Each interval it asks Prometheus how many services of each program run each (name, version), reloads the
advisory database when its files changed, and matches the one against the other; with `--index` it then asks
the package indexes about the running names, and only those. It joins per program here, where one version
affected by many advisories and run by many programs is no problem, so that the rules only record what it
serves. A scrape hands back the families the last refresh computed, so it does no I/O. A source that fails
keeps its last good data, and the failure shows in the exporter's own health series and one log line; the
exporter never exits for it.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

from prometheus_client import start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from .advisories import Database, DatabaseError, Finding, load
from .index import YEAR, PackageIndex, Project
from .prometheus import RUNNING_QUERY, TIMEOUT, CredentialsError, Prometheus, PrometheusError
from .web import URLError, check_http_url, check_index_url

log = logging.getLogger(__name__)

ADVISORY_INFO = "python_mod_advisory_info"
PUBLISHED = "python_advisory_published_timestamp_seconds"
LATEST_INFO = "python_mod_latest_info"
RELEASED = "python_mod_release_timestamp_seconds"
TIMES_KNOWN = "hatch_buildinfo_exporter_index_release_times_known"
ADVISORY_SERVICES = "python_mod_advisory_services"
BEHIND = "python_program_mod_behind_latest_seconds"
LIBYEARS = "python_program_libyears"
OUTDATED = "python_program_outdated_modules"
OLDEST = "python_mod_oldest_running_release_timestamp_seconds"
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


@dataclass(frozen=True)
class Freshness:
    """How far behind the newest releases the fleet runs, per program, from the index's release times."""

    behind: dict[tuple[str, str], float]  # (program, name) -> seconds its oldest running release is behind; > 0
    programs: frozenset[str]  # the programs running at least one module whose release times are known
    oldest: dict[str, float]  # name -> the earliest release time among the versions the fleet runs


def freshness(
    running: Iterable[tuple[str, str, str]], released: Mapping[tuple[str, str], float], latest: Mapping[str, str]
) -> Freshness:
    """Per program and module the fleet runs (`running`: (program, name, version)): how long before the newest
    release (`latest`: name -> version) the oldest version it runs was released (`released`: (name, version) ->
    release time, where the index gives one). "Behind" is by release times, not version strings: a pre-release
    newer than the newest release is not behind. A module whose newest release has no release time counts
    nowhere, nor for a program that runs no version of it with one: unknown, not up to date."""
    oldest_in: dict[tuple[str, str], float] = {}  # (program, name) -> the earliest release time it runs
    for program, name, version in running:
        seconds = released.get((name, version))
        if seconds is not None:
            oldest_in[program, name] = min(seconds, oldest_in.get((program, name), seconds))
    oldest: dict[str, float] = {}
    behind = {}
    programs = set()
    for (program, name), seconds in oldest_in.items():
        oldest[name] = min(seconds, oldest.get(name, seconds))
        newest = released.get((name, latest[name])) if name in latest else None
        if newest is None:
            continue
        programs.add(program)
        if newest > seconds:
            behind[program, name] = newest - seconds
    return Freshness(behind=behind, programs=frozenset(programs), oldest=oldest)


class _Families(Collector):
    """The metric families of the last refresh, handed back as they are to every scrape."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> list[Metric]:
        return self.families


class Exporter:
    """The state between refreshes: the last good running set, database and index projects, and the health
    of each source asked (`osv` and `index` only when given)."""

    def __init__(
        self,
        prometheus: Prometheus,
        osv: Path | None,
        index: PackageIndex | None = None,
        index_interval: float = 0.0,
    ) -> None:
        self.prometheus = prometheus
        self.osv = osv
        self.index = index
        self.index_interval = index_interval
        self._asked: dict[str, float] = {}  # name -> when an index last answered for it
        sources = ["prometheus", *(["osv"] if osv is not None else []), *(["index"] if index is not None else [])]
        self.health = {source: Health() for source in sources}
        self.collector = _Families()
        self._running: dict[tuple[str, str, str], float] = {}  # (program, name, version) -> services
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
        self.collector.families = families(affected, self._running, self.health)
        if self.index is not None:
            self.collector.families += index_families(self._running, self._projects, affected, self.index.times_known)

    def affected(self) -> list[Affected]:
        """Every running (name, version) and advisory affecting it, by name, version and advisory."""
        if self._database is None:
            return []
        database = self._database
        return [
            Affected(name, version, finding)
            for name, version in sorted(running_pairs(self._running))
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
        self._succeeded("prometheus", f"{len(running)} running (program, name, version) series")

    def _refresh_index(self, index: PackageIndex) -> None:
        """Ask the indexes about the running names not asked for `index_interval` (a name the fleet has just
        started to run at once); a name that fails keeps its last good project and is asked again next time."""
        names = {name for _, name, _ in self._running}
        now = time.time()
        self._asked = {name: when for name, when in self._asked.items() if name in names}
        due = {name for name in names if now - self._asked.get(name, -math.inf) >= self.index_interval}
        if not due:
            return
        answer = index.refresh(due)
        self._asked.update(dict.fromkeys([*answer.projects, *answer.unknown], now))
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
                "index", f"{len(answer.projects)} of {len(due)} running names known, {answer.requests} requests"
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


def running_pairs(running: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """The (name, version) pairs of (program, name, version) series."""
    return {(name, version) for _, name, version in running}


def families(
    affected: Iterable[Affected], running: Mapping[tuple[str, str, str], float], health: dict[str, Health]
) -> list[Metric]:
    """The exporter's metric families for `affected`, the services of each program that run each, and its
    health."""
    info = GaugeMetricFamily(
        ADVISORY_INFO,
        "A metric with a constant '1' value labeled by name and version of a running module, and advisory, "
        "aliases, severity and fixed version of a published advisory that affects it.",
        labels=INFO_LABELS,
    )
    services = GaugeMetricFamily(
        ADVISORY_SERVICES,
        "Number of services of the program that run the module version, labeled by an advisory that affects it "
        "and its aliases, severity and fixed version.",
        labels=["program", *INFO_LABELS],
    )
    published = GaugeMetricFamily(
        PUBLISHED, "Publication time of the advisory since unix epoch in seconds.", labels=["advisory"]
    )
    programs = defaultdict(list)  # (name, version) -> [(program, services)]
    for (program, name, version), count in sorted(running.items()):
        programs[name, version].append((program, count))
    dates: dict[str, float] = {}
    for one in affected:
        finding = one.finding
        values = [one.name, one.version, finding.advisory, ",".join(finding.aliases), finding.severity, finding.fixed]
        info.add_metric(values, 1)
        for program, count in programs[one.name, one.version]:
            services.add_metric([program, *values], count)
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
    return [info, services, published, up, refreshed, errors]


def index_families(
    running: Collection[tuple[str, str, str]],
    projects: dict[str, Project],
    affected: Iterable[Affected],
    times_known: dict[str, bool],
) -> list[Metric]:
    """The newest release of each running module; the release times of the running versions, of the newest,
    and of each version that fixes an advisory affecting a running version; how far behind the newest
    releases each program is."""
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
    wanted = running_pairs(running)
    newest = {name: project.latest for name, project in projects.items() if project.latest is not None}
    for name, version in newest.items():
        latest.add_metric([name, version], 1)
        wanted.add((name, version))
    wanted.update((one.name, one.finding.fixed) for one in affected if one.finding.fixed)
    times = {}  # (name, version) -> release time, where the index gives one
    for name, version in sorted(wanted):
        seconds = projects[name].release_time(version) if name in projects else None
        if seconds is not None:
            released.add_metric([name, version], seconds)
            times[name, version] = seconds
    known = GaugeMetricFamily(
        TIMES_KNOWN,
        "Whether every page read from the package index gave upload times (PEP 700) (1), or one lacked them (0).",
        labels=["index"],
    )
    for url, flag in times_known.items():
        known.add_metric([url], 1 if flag else 0)
    return [latest, released, known, *freshness_families(freshness(running, times, newest))]


def freshness_families(fresh: Freshness) -> list[Metric]:
    """Per program and module behind, per program (0 for one on the newest releases), and per module."""
    behind = GaugeMetricFamily(
        BEHIND,
        "How long before the newest release on the package index the oldest version of the module the program "
        "runs was released, in seconds; only modules behind.",
        labels=["program", "name"],
    )
    lagging = dict.fromkeys(fresh.programs, 0.0)  # program -> the sum of its modules' seconds behind
    outdated_modules = dict.fromkeys(fresh.programs, 0)
    for (program, name), seconds in sorted(fresh.behind.items()):
        behind.add_metric([program, name], seconds)
        lagging[program] += seconds
        outdated_modules[program] += 1
    libyears = GaugeMetricFamily(
        LIBYEARS,
        "Sum over the program's modules of how long before the newest release the oldest version it runs was "
        "released, in years (libyear.com).",
        labels=["program"],
    )
    outdated = GaugeMetricFamily(
        OUTDATED,
        "Number of the program's modules whose oldest running version was released before the newest release.",
        labels=["program"],
    )
    for program in sorted(fresh.programs):
        libyears.add_metric([program], lagging[program] / YEAR)
        outdated.add_metric([program], outdated_modules[program])
    oldest = GaugeMetricFamily(
        OLDEST,
        "Release time of the oldest version of the module the fleet runs since unix epoch in seconds.",
        labels=["name"],
    )
    for name, seconds in sorted(fresh.oldest.items()):
        oldest.add_metric([name], seconds)
    return [behind, libyears, outdated, oldest]


class StartError(Exception):
    """One line: the exporter cannot start as asked (a bad option, credentials in the URL, a port in use)."""


def run(
    prometheus_url: str,
    osv: str | os.PathLike | None,
    listen: str,
    interval: float,
    indexes: Sequence[str] = (),
    index_concurrency: int = 4,
    index_interval: float = 3600.0,
) -> None:
    """`hatch-buildinfo exporter`: log to stderr and serve until SIGTERM or SIGINT."""
    # Our lines only: httpx would log every request at INFO.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.WARNING)
    log.setLevel(logging.INFO)
    if not (interval > 0 and math.isfinite(interval)):
        raise StartError(f"--interval {interval:g}: give a finite number of seconds above 0")
    if osv is None and not indexes:
        raise StartError("give --osv PATH, --index URL or both: the exporter has nothing to match the fleet against")
    if not (index_interval >= 0 and math.isfinite(index_interval)):
        raise StartError(f"--index-interval {index_interval:g}: give a finite number of seconds, 0 or more")
    if index_concurrency < 1:
        raise StartError(f"--index-concurrency {index_concurrency}: give a number of requests at once, 1 or more")
    address = listen_address(listen)
    try:
        check_http_url("--prometheus", prometheus_url, "http://127.0.0.1:9090")
        for given in indexes:
            check_index_url(given)
    except URLError as error:
        raise StartError(str(error)) from None
    # A refresh never runs into the next one: each request, to Prometheus or an index, may take the interval,
    # at most TIMEOUT.
    try:
        prometheus = Prometheus(prometheus_url, timeout=min(TIMEOUT, interval))
    except CredentialsError as error:
        raise StartError(str(error)) from None
    index = PackageIndex(indexes, concurrency=index_concurrency, timeout=min(TIMEOUT, interval)) if indexes else None
    try:
        serve(Exporter(prometheus, Path(osv) if osv is not None else None, index, index_interval), address, interval)
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
