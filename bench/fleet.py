"""What a real Prometheus costs with deploy/'s rules at fleet scale: one server, or shards and a global server.

    python bench/fleet.py [--sizes 1000,10000] [--shards 2,4] [--minutes 5] [--runs 9] [--evaluations 2]
                          [--per-target 100] [--smoke]

For each fleet size, a seeded simulated fleet is served by bench/children/fleet_server.py (100
services a target by default, one loopback port a target). Debian's `prometheus` scrapes it in these
configurations, one after another, each made from the shipped YAML:

- baseline: bench/fleet-baseline-rules.yml (the rules before the two-tier change) with its
  per-program group once for each program, on one server (deploy/prometheus.yml);
- one server: deploy/prometheus.yml with deploy/rules.yml and deploy/global-rules.yml;
- two-tier, N shards: deploy/shard.yml N times and deploy/global.yml federating from them.

It measures each rule group's evaluation time (/api/v1/rules), the article's queries
(/api/v1/query, wall time, medians), head series and peak RSS (/proc/PID/status), alert series
per program, and whether the global server's answers equal the single server's. It prints
figures and ratios against the baseline measured in the same run, and asserts no timing.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import datetime
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml
from timing import CHILDREN, cpu_model, median_ms, verdict

# deploy/tiers.py: the shipped configurations, made to run (the same code deploy/fleet.py uses).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
import tiers

from hatch_buildinfo.fleet.prometheus import RUNNING_QUERY  # what the advisory exporter reads every interval

ROOT = Path(__file__).resolve().parents[1]
BASELINE_RULES = ROOT / "bench" / "fleet-baseline-rules.yml"
PER_PROGRAM_GROUP = "example_app-builds"  # the baseline's group that users copied once per program
TEMPLATE_PROGRAM = "example_app"
GLOBAL_RULES = "global-rules.yml"  # its groups read what the other rule files record
JOB = "services"  # the scrape job of the simulated fleet
SEED = 20261130
DAY = 86400

# The article's questions. Raw ones read python_mod_info, so only a server that scrapes the fleet
# can answer them; the recorded ones read what the rules record, on one server or the global one.
MODULE = "requests"
RAW_QUERIES = (
    f'count(count by (version)(python_mod_info{{name="{MODULE}"}}))',
    f'count by (version)(python_mod_info{{name="{MODULE}"}})',
    f'count by (program)(python_mod_info{{name="{MODULE}",version="2.31.0"}})',
)


def recorded_queries(program: str) -> tuple[str, ...]:
    return (
        f'python_mod:versions:count{{name="{MODULE}"}}',
        f'sum by (version) (python_mod:services:count{{name="{MODULE}"}})',
        f'sum by (revision) (python_build:services:count{{program="{program}"}})',
        "python_mod:versions:count > 3",
    )


# Not timed: all that global-rules.yml reads and records, compared between one server and a global one.
EQUALITY_QUERIES = (
    "sum by (name, version) (python_mod:services:count)",
    "sum by (name, version, program) (python_mod:bad_version_services:count)",
    "sum by (job, program, version, revision, branch, dirty) (python_build:services:count)",
    "max by (job, program, revision) (python_build:commit_timestamp_seconds:max)",
    "sum by (job, program) (python_build:stale_services:count)",
    "python_mod:versions:count",
    "python_mod:advisory_services:count",
    "python_program:libyears:sum",
    "python_program:outdated_modules:count",
    "python_mod:running_release_timestamp_seconds:min",
    "python_mod:fix_released_days",
)
# Labels that differ between the two set-ups by construction: the global server's federation adds them.
FEDERATION_LABELS = ("shard", "instance")

# The module pool: 300 names of 1 to 6 versions each. The two below carry rules.yml's listed bad versions.
POOL_SIZE = 300
GOOD_VERSIONS = {"requests": ("2.28.2", "2.32.3", "2.32.4"), "urllib3": ("1.26.20", "2.2.3", "2.3.0")}
BAD_VERSION = {"requests": "2.31.0", "urllib3": "2.0.6"}
OTHER_NAMES = ("certifi", "idna", "charset-normalizer", "packaging", "prometheus-client", "pydantic", "attrs", "click")

# What the advisory exporter serves for the simulated fleet (advisory_exposition): rules.yml's bad versions
# carry the public advisories that affect them; the oldest version of every third module of 3 versions
# or more carries 1 to 3 made-up ones.
KNOWN_ADVISORIES = {
    ("requests", "2.31.0"): (("GHSA-9hjg-9r4m-mvj7", "medium", "2.32.4"), ("GHSA-9wx4-h78v-vm56", "medium", "2.32.0")),
    ("urllib3", "2.0.6"): (("GHSA-g4mx-q9vg-27p4", "medium", "2.0.7"),),
}
SEVERITIES = ("low", "medium", "high", "critical", "unknown")

START = time.monotonic()


def progress(message: str) -> None:
    elapsed = int(time.monotonic() - START)
    print(f"[{time.strftime('%H:%M:%S')} +{elapsed // 60}:{elapsed % 60:02d}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# The simulated fleet


@dataclass(frozen=True)
class Build:
    """What one build of a program is stamped with, and its locked modules."""

    version: str
    revision: str
    commit_time: int
    build_time: int
    pythonversion: str
    arch: str
    modules: tuple[tuple[str, str], ...]
    dirty: bool = False


@dataclass(frozen=True)
class Service:
    instance: str
    program: str
    build: Build


@dataclass
class Fleet:
    services: list[Service]
    programs: list[str]
    rollout_program: str  # a program with more than one revision running, for the "who has not deployed" query


def module_pool(rng: random.Random) -> dict[str, tuple[str, ...]]:
    """300 module names, each with 1 to 6 versions, oldest first."""
    names = [*GOOD_VERSIONS, *OTHER_NAMES]
    names += [f"pkg-{index:03d}" for index in range(POOL_SIZE - len(names))]
    pool: dict[str, tuple[str, ...]] = {}
    for name in names:
        if name in GOOD_VERSIONS:
            pool[name] = tuple(sorted({*GOOD_VERSIONS[name], BAD_VERSION[name]}, key=version_key))
            continue
        major = rng.randint(0, 5)
        versions = {f"{major}.{rng.randint(0, 30)}.{rng.randint(0, 9)}" for _ in range(rng.randint(1, 6))}
        pool[name] = tuple(sorted(versions, key=version_key))
    return pool


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def make_fleet(size: int, per_program: int, dependencies: int, now: int) -> Fleet:
    """`size` services of ceil(size / per_program) programs, the same for the same arguments (times relative to `now`).

    Each program has a newest build that most of its instances run. Programs are marked by their
    index, so that even a small fleet has one of each case: a rollout where a part of the instances
    runs an older revision, with some other module versions (p % 3 == 1), older than 30 days where
    p % 10 == 4 too; a program not built for months (p % 20 == 7); a dirty build on one
    instance (p % 25 == 2); requests 2.31.0 everywhere (p % 12 == 5) or on the old revision
    (p % 6 == 1); urllib3 2.0.6 (p % 15 == 3). Every build is at most 25 or at least 36 days old, so
    that no build crosses rules.yml's 30 days between the configurations of one run.
    """
    rng = random.Random(SEED)
    pool = module_pool(rng)
    others = [name for name in pool if name not in GOOD_VERSIONS]
    programs = [f"svc_{index + 1:04d}" for index in range(math.ceil(size / per_program))]
    services: list[Service] = []
    for index, program in enumerate(programs):
        lock = {name: newer_rather(rng, GOOD_VERSIONS[name]) for name in GOOD_VERSIONS}
        lock.update((name, newer_rather(rng, pool[name])) for name in rng.sample(others, dependencies - len(lock)))
        if index % 12 == 5:
            lock["requests"] = BAD_VERSION["requests"]
        if index % 15 == 3:
            lock["urllib3"] = BAD_VERSION["urllib3"]
        age = rng.randint(40, 200) if index % 20 == 7 else rng.randint(1, 14)
        newest = program_build(rng, lock, now - age * DAY - rng.randint(0, DAY), f"1.{rng.randint(5, 30)}.0")
        builds = [newest] * min(per_program, size - len(services))
        if index % 3 == 1:
            old_lock = dict(lock)
            for name in rng.sample(sorted(old_lock), max(1, dependencies // 20)):
                old_lock[name] = pool[name][0]
            if index % 6 == 1:
                old_lock["requests"] = BAD_VERSION["requests"]
            old_age = rng.randint(35, 120) if index % 10 == 4 else rng.randint(2, 9)
            old_version = f"1.{int(newest.version.split('.')[1]) - 1}.0"
            old = program_build(rng, old_lock, newest.commit_time - old_age * DAY, old_version)
            for position in rng.sample(range(len(builds)), max(1, int(len(builds) * rng.uniform(0.1, 0.5)))):
                builds[position] = old
        if index % 25 == 2:
            builds[0] = dataclasses.replace(newest, dirty=True, build_time=newest.build_time + 3600)
        for build in builds:
            services.append(Service(f"host-{len(services):05d}:8000", program, build))
    rollout = next((programs[index] for index in range(len(programs)) if index % 3 == 1), programs[0])
    return Fleet(services, programs, rollout)


def newer_rather(rng: random.Random, versions: Sequence[str]) -> str:
    """One of `versions` (oldest first), each twice as likely as the one before it: locks lag behind releases."""
    return rng.choices(versions, weights=[2**index for index in range(len(versions))])[0]


def program_build(rng: random.Random, lock: dict[str, str], commit_time: int, version: str) -> Build:
    return Build(
        version=version,
        revision=f"{rng.getrandbits(160):040x}",
        commit_time=commit_time,
        build_time=commit_time + rng.randint(60, 3600),
        pythonversion=rng.choice(("3.11.9", "3.12.7")),
        arch=rng.choice(("x86_64", "x86_64", "aarch64")),
        modules=tuple(sorted(lock.items())),
    )


def exposition(services: Sequence[Service]) -> bytes:
    """The text-format (0.0.4) body of one scrape target: these services' series, each with its own `instance`.

    No `job` label: the scrape job gives it. Each metric family's lines stay together under one TYPE line.
    """
    lines: list[str] = []
    by_program: dict[str, list[Service]] = {}
    for service in services:
        by_program.setdefault(service.program, []).append(service)
    for program, members in by_program.items():
        lines.append(f"# TYPE {program}_build_info gauge")
        for service in members:
            build = service.build
            labels = (
                f'arch="{build.arch}",branch="main",dirty="{str(build.dirty).lower()}",instance="{service.instance}",'
                f'os="linux",program="{program}",pythonversion="{build.pythonversion}",revision="{build.revision}",'
                f'tag="v{build.version}",version="{build.version}"'
            )
            lines.append(f"{program}_build_info{{{labels}}} 1")
        for kind in ("build", "commit"):
            lines.append(f"# TYPE {program}_{kind}_timestamp_seconds gauge")
            for service in members:
                seconds = service.build.build_time if kind == "build" else service.build.commit_time
                lines.append(
                    f'{program}_{kind}_timestamp_seconds{{instance="{service.instance}",program="{program}"}} {seconds}'
                )
    lines.append("# TYPE python_mod_info gauge")
    for service in services:
        for name, version in service.build.modules:
            labels = f'instance="{service.instance}",name="{name}",program="{service.program}",version="{version}"'
            lines.append(f"python_mod_info{{{labels}}} 1")
    return ("\n".join(lines) + "\n").encode()


def advisory_exposition(fleet: Fleet, now: int) -> tuple[bytes, int]:
    """The body the advisory exporter would serve for `fleet` with `--osv` and `--index` (KNOWN_ADVISORIES, and
    made-up ones, seeded; index_lines), and how many running (name, version) pairs its advisories name. Like the
    exporter, it joins the per-program counts (running_counts) with the advisories: one
    python_mod_advisory_services series per program, running version and advisory."""
    rng = random.Random(SEED + 1)  # its own: the fleet stays the same with or without it
    counts = running_counts(fleet)
    versions: dict[str, list[str]] = {}
    for name, version in sorted({(name, version) for _, name, version in counts}):
        versions.setdefault(name, []).append(version)
    affected = dict(KNOWN_ADVISORIES)
    for name, found in versions.items():
        oldest = min(found, key=version_key)
        if (name, oldest) not in affected and len(found) >= 3 and rng.random() < 1 / 3:
            affected[(name, oldest)] = tuple(
                (
                    f"BENCH-{rng.getrandbits(32):08x}",
                    rng.choice(SEVERITIES),
                    rng.choice(("", max(found, key=version_key))),
                )
                for _ in range(rng.randint(1, 3))
            )
    info = ["# TYPE python_mod_advisory_info gauge"]
    services = ["# TYPE python_mod_advisory_services gauge"]
    published: dict[str, int] = {}
    for (name, version), advisories in sorted(affected.items()):
        programs = sorted((program, count) for (program, *module), count in counts.items() if module == [name, version])
        for advisory, severity, fixed in advisories:
            labels = f'advisory="{advisory}",aliases="",fixed="{fixed}",name="{name}",severity="{severity}"'
            info.append(f'python_mod_advisory_info{{{labels},version="{version}"}} 1')
            services += [
                f'python_mod_advisory_services{{{labels},program="{program}",version="{version}"}} {count}'
                for program, count in programs
            ]
            published.setdefault(advisory, now - rng.randint(1, 900) * DAY)
    info.append("# TYPE python_advisory_published_timestamp_seconds gauge")
    info += [f'python_advisory_published_timestamp_seconds{{advisory="{id}"}} {at}' for id, at in published.items()]
    fixes: dict[str, set[str]] = {}
    for (name, _), advisories in affected.items():
        fixes.setdefault(name, set()).update(fix for _, _, fix in advisories if fix)
    lines = info + services + index_lines(counts, fixes, now)
    return ("\n".join(lines) + "\n").encode(), len(affected)


def running_counts(fleet: Fleet) -> dict[tuple[str, str, str], int]:
    """(program, name, version) -> services: what the exporter reads, sum by (program, name, version)
    (python_mod:services:count)."""
    counts: dict[tuple[str, str, str], int] = {}
    for service in fleet.services:
        for name, version in service.build.modules:
            key = (service.program, name, version)
            counts[key] = counts.get(key, 0) + 1
    return counts


def index_lines(counts: dict[tuple[str, str, str], int], fixed: dict[str, set[str]], now: int) -> list[str]:
    """The package-index series for the running versions (`counts`, as running_counts) and the advisories' fixed
    versions (`fixed`): the newest release of each name, which is the highest of those or, for half of the names,
    a release no program locks yet; the release times of all of them, the newest 1 to 120 days before `now`, each
    older one 15 to 240 days before the next (seeded); and what the exporter joins from them per program: how far
    each module is behind (the oldest version the program runs), the program's libyears and outdated modules, and
    the oldest running release of each name."""
    rng = random.Random(SEED + 2)  # its own: the advisories stay the same with or without these
    running: dict[str, set[str]] = {}
    for _, name, version in counts:
        running.setdefault(name, set()).add(version)
    latest = ["# TYPE python_mod_latest_info gauge"]
    released = ["# TYPE python_mod_release_timestamp_seconds gauge"]
    times: dict[tuple[str, str], int] = {}
    newest_time: dict[str, int] = {}
    for name, found in sorted(running.items()):
        versions = {*found, *fixed.get(name, ())}
        newest = max(versions, key=version_key)
        if rng.random() < 0.5:
            major, minor, *_ = version_key(newest)
            newest = f"{major}.{minor + 1}.0"
        latest.append(f'python_mod_latest_info{{name="{name}",version="{newest}"}} 1')
        at = newest_time[name] = now - rng.randint(1, 120) * DAY
        for version in sorted({*versions, newest}, key=version_key, reverse=True):
            released.append(f'python_mod_release_timestamp_seconds{{name="{name}",version="{version}"}} {at}')
            times[(name, version)] = at
            at -= rng.randint(15, 240) * DAY
    oldest: dict[tuple[str, str], int] = {}  # (program, name) -> release time of the oldest version it runs
    for program, name, version in counts:
        oldest[(program, name)] = min(oldest.get((program, name), times[(name, version)]), times[(name, version)])
    behind = {key: newest_time[key[1]] - at for key, at in sorted(oldest.items()) if newest_time[key[1]] > at}
    lines = [*latest, *released, "# TYPE python_program_mod_behind_latest_seconds gauge"]
    lines += [
        f'python_program_mod_behind_latest_seconds{{name="{name}",program="{program}"}} {seconds}'
        for (program, name), seconds in behind.items()
    ]
    programs = sorted({program for program, _ in oldest})
    lines.append("# TYPE python_program_libyears gauge")
    for program in programs:
        seconds = sum(value for (owner, _), value in behind.items() if owner == program)
        lines.append(f'python_program_libyears{{program="{program}"}} {seconds / (365.25 * DAY)}')
    lines.append("# TYPE python_program_outdated_modules gauge")
    for program in programs:
        lines.append(
            f'python_program_outdated_modules{{program="{program}"}} {sum(owner == program for owner, _ in behind)}'
        )
    lines.append("# TYPE python_mod_oldest_running_release_timestamp_seconds gauge")
    for name in sorted(running):
        earliest = min(times[(name, version)] for version in running[name])
        lines.append(f'python_mod_oldest_running_release_timestamp_seconds{{name="{name}"}} {earliest}')
    return lines


# ---------------------------------------------------------------------------------------------
# Processes


def _load_libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


LIBC = _load_libc()
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec (Linux): the kernel sends it SIGTERM if this benchmark dies, even by SIGKILL."""
    if LIBC is not None and hasattr(LIBC, "prctl"):
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Processes:
    """The processes this benchmark starts, each in a session of its own; stops every one on exit, whatever the exit."""

    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            for name in list(self.running):
                self.stop(name)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def start(self, name: str, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.running[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it ended meanwhile
        process.wait()


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def serve_fleet(processes: Processes, directory: Path, bodies: list[bytes]) -> list[str]:
    """Start fleet_server.py on `bodies`; the target addresses, in the order of the bodies."""
    (directory / "bodies").mkdir(parents=True)
    for index, body in enumerate(bodies):
        (directory / "bodies" / f"{index:04d}.prom").write_bytes(body)
    command = [sys.executable, str(CHILDREN / "fleet_server.py"), str(directory)]
    process = processes.start(f"fleet server {directory.name}", command, directory / "fleet_server.log")
    ports = directory / "ports.json"
    deadline = time.monotonic() + 120
    while not ports.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the fleet server did not start:\n{log_tail(directory / 'fleet_server.log')}")
        time.sleep(0.1)
    return [f"127.0.0.1:{port}" for port in json.loads(ports.read_text())]


# ---------------------------------------------------------------------------------------------
# Prometheus servers

Sample = tuple[dict[str, str], float]


def unix_time(moment: str) -> float:
    """Seconds since 1970 of Go's RFC 3339 time, with up to nanoseconds: "2026-11-30T12:00:00.123456789Z"."""
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", moment)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {moment!r}")
    whole, fraction, zone = match.groups()
    seconds = datetime.datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return seconds + float(f"0.{fraction or 0}")


@dataclass
class Evaluation:
    """One evaluation of a rule group: when it started, how long it took, and how long each of its rules took."""

    start: float
    seconds: float
    rules: dict[str, float]


class Server:
    """One running Prometheus: its HTTP API, and every rule group evaluation seen while polling it."""

    def __init__(self, name: str, role: str, process: subprocess.Popen[bytes], port: int, directory: Path) -> None:
        self.name = name
        self.role = role  # baseline, single, shard or global
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.address = f"127.0.0.1:{port}"
        self.directory = directory
        self.targets = 0
        self.files: dict[str, str] = {}  # group -> the rule file it is in
        self.intervals: dict[str, float] = {}
        self.shipped_intervals: dict[str, float] = {}  # group -> its interval as shipped, where it runs more often here
        self.evaluations: dict[str, dict[str, Evaluation]] = {}  # group -> its lastEvaluation -> the evaluation
        self.since: dict[str, float] = {}  # group -> the time after which its evaluations count

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()

    def api(self, path: str, **params: str) -> Any:
        body = json.loads(self.get(path, **params))
        if body.get("status") != "success":
            raise RuntimeError(f"{self.name}: {path} {params} failed: {body}")
        return body["data"]

    def query(self, expression: str) -> list[Sample]:
        return [
            (item["metric"], float(item["value"][1])) for item in self.api("/api/v1/query", query=expression)["result"]
        ]

    def timed_query(self, expression: str) -> float:
        """Wall seconds of one /api/v1/query request on loopback, as a client sees it."""
        start = time.perf_counter()
        self.get("/api/v1/query", query=expression)
        return time.perf_counter() - start

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            log = log_tail(self.directory / "prometheus.log")
            raise RuntimeError(f"{self.name}: prometheus exited with {self.process.returncode}:\n{log}")

    def ready(self) -> bool:
        self.check_alive()
        try:
            self.get("/-/ready")
        except OSError:
            return False
        return True

    def poll_rules(self) -> None:
        for group in self.api("/api/v1/rules")["groups"]:
            name = group["name"]
            self.files[name] = group["file"]
            self.intervals[name] = float(group["interval"])
            seen = self.evaluations.setdefault(name, {})
            if group["lastEvaluation"].startswith("0001-"):  # Go's zero time: not evaluated yet
                continue
            # A poll during an evaluation may see some rules' new times: later polls overwrite them.
            rules = {rule_name(rule): float(rule["evaluationTime"]) for rule in group["rules"]}
            start = unix_time(group["lastEvaluation"])
            seen[group["lastEvaluation"]] = Evaluation(start, float(group["evaluationTime"]), rules)

    def counted(self, group: str) -> list[Evaluation]:
        """The evaluations of `group` that count, oldest first: those that started after its `since`."""
        since = self.since.get(group)
        if since is None:
            return []
        found = [evaluation for evaluation in self.evaluations[group].values() if evaluation.start >= since]
        return sorted(found, key=lambda evaluation: evaluation.start)

    def readers(self) -> list[str]:
        """Its groups from global-rules.yml: they read what other groups record, here or on the shards."""
        return [group for group, file in self.files.items() if Path(file).name == GLOBAL_RULES]

    def evaluations_pending(self, times: int) -> str | None:
        """What is still awaited before every group has `times` evaluations that count; None when none is."""
        for group in self.intervals:
            done = len(self.counted(group))
            if done < times:
                after = (
                    "its inputs"
                    if group not in self.since
                    else time.strftime("%H:%M:%S", time.localtime(self.since[group]))
                )
                return f"{self.name}'s group {group}: {done} of {times} evaluations after {after}"
        return None

    def head_series(self) -> int:
        for line in self.get("/metrics").decode().splitlines():
            if line.startswith("prometheus_tsdb_head_series "):
                return int(float(line.split()[1]))
        raise RuntimeError(f"{self.name}: no prometheus_tsdb_head_series on /metrics")

    def peak_rss_mib(self) -> float:
        with open(f"/proc/{self.process.pid}/status", encoding="utf-8") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
        return int(peak) / 1024


def rule_name(rule: dict[str, Any]) -> str:
    """A rule's name in the figures: a recording rule's record, with the labels it sets where it has some, since
    several rules may record one name (as rules with different `labels` can)."""
    labels = (rule.get("labels") or {}) if rule.get("type") == "recording" else {}
    if not labels:
        return rule["name"]
    return rule["name"] + "{" + ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


def baseline_rules(programs: Sequence[str], interval: str | None) -> dict[str, str]:
    """The old rules, with the per-program group once for each program (its `example_app` replaced by the name)."""
    document = yaml.safe_load(BASELINE_RULES.read_text(encoding="utf-8"))
    groups = []
    for group in document["groups"]:
        if group["name"] != PER_PROGRAM_GROUP:
            groups.append(group)
            continue
        template = tiers.dump(group)
        groups += [yaml.safe_load(template.replace(TEMPLATE_PROGRAM, program)) for program in programs]
    if len(groups) != len(document["groups"]) - 1 + len(programs):
        raise RuntimeError(f"{BASELINE_RULES} has no group {PER_PROGRAM_GROUP!r} to copy for each program")
    for group in groups:
        group["interval"] = interval or group["interval"]
    document["groups"] = groups
    return {BASELINE_RULES.name: tiers.dump(document)}


# A group shipped with a longer interval (the advisory alerts' 15 minutes) is evaluated this often while
# measured, so that a run does not wait 15 minutes an evaluation; its evaluations an hour count at the
# shipped interval (ServerFigures.per_hour). What an evaluation costs does not depend on how often it runs.
MEASURED_EVERY = 180


def duration_seconds(duration: str) -> float:
    """Seconds of a Prometheus duration as the rule files write them: 30s, 3m, 15m, 1h."""
    units = {"s": 1, "m": 60, "h": 3600}
    if duration[-1:] not in units or not duration[:-1].isdigit():
        raise ValueError(f"a duration this benchmark cannot read: {duration!r}")
    return int(duration[:-1]) * units[duration[-1]]


def as_measured(config: dict[str, Any]) -> tuple[dict[str, str], dict[str, float]]:
    """The shipped rule files of `config`, each group evaluated at most every MEASURED_EVERY seconds, and the
    shipped interval (seconds) of each group that runs more often so."""
    files = {}
    shipped = {}
    for name in config["rule_files"]:
        document = tiers.load(name)
        for group in document["groups"]:
            if "interval" in group and duration_seconds(group["interval"]) > MEASURED_EVERY:
                shipped[group["name"]] = duration_seconds(group["interval"])
                group["interval"] = f"{MEASURED_EVERY}s"
        files[name] = tiers.dump(document)
    return files, shipped


def scraping_the_fleet(config: dict[str, Any]) -> dict[str, Any]:
    """A shipped configuration whose one scrape job scrapes the simulated fleet.

    honor_labels: each target serves many services, and each service's `instance` is in the body.
    """
    tiers.services_job(config).update(job_name=JOB, honor_labels=True)
    return config


# ---------------------------------------------------------------------------------------------
# Measuring one configuration


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    shards: int = 0  # 0: one server
    baseline: bool = False


@dataclass
class Options:
    prometheus: str
    promtool: str | None
    workdir: Path
    interval: str | None  # every interval of every server (smoke runs only); None: as shipped
    minutes: float
    runs: int
    per_target: int
    evaluations: int
    per_program: int
    dependencies: int


@dataclass
class GroupFigures:
    file: str
    interval: float
    seconds: float  # the median of the evaluations that count
    evaluations: int
    rules: dict[str, float]  # each rule's median seconds


@dataclass
class ServerFigures:
    name: str
    role: str
    targets: int
    groups: dict[str, GroupFigures]
    head_series: int
    peak_rss_mib: float

    def per_hour(self) -> float:
        """Seconds of rule evaluation an hour: each group's evaluation time times its evaluations an hour."""
        return sum(group.seconds * 3600 / group.interval for group in self.groups.values())

    def round_seconds(self, readers: bool | None = None) -> float:
        """One evaluation of every group (readers=None), of the global-rules.yml groups (True) or of the others."""
        return sum(group.seconds for group in self.chosen(readers))

    def slowest_seconds(self, readers: bool | None = None) -> float:
        """The slowest group's evaluation, of the same choice of groups as round_seconds."""
        return max((group.seconds for group in self.chosen(readers)), default=0.0)

    def chosen(self, readers: bool | None) -> list:
        return [g for g in self.groups.values() if readers is None or (Path(g.file).name == GLOBAL_RULES) == readers]


@dataclass
class SetupFigures:
    setup: Setup
    servers: list[ServerFigures]
    latency_ms: dict[str, float] = field(default_factory=dict)
    answers: dict[str, list[Sample]] = field(default_factory=dict)
    alerts: dict[str, tuple[int, int]] = field(default_factory=dict)  # alertname -> (programs, max series a program)
    identical: list[str] | None = None  # the differing answers against one server; None: not compared

    def per_hour(self) -> float:
        return sum(server.per_hour() for server in self.servers)

    def scrapers(self) -> list[ServerFigures]:
        return [server for server in self.servers if server.role != "global"]


class Waiter:
    """Polls the servers' rule evaluations until a condition holds, with a deadline and a clear message."""

    def __init__(self, servers: Sequence[Server], poll: float) -> None:
        self.servers = servers
        self.poll = poll

    def until(self, pending: Callable[[], str | None], timeout: float, rules: bool = True) -> None:
        """Return once `pending()` returns None; after `timeout` s, TimeoutError naming what it still awaited.

        Before each call, checks that every server still runs and (with `rules`) polls its rule groups.
        """
        deadline = time.monotonic() + timeout
        next_note = time.monotonic() + 60
        while True:
            for server in self.servers:
                server.check_alive()
                if rules:
                    server.poll_rules()
            waiting = pending()
            if waiting is None:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {waiting}")
            if time.monotonic() > next_note:
                progress(f"  still waiting for {waiting}")
                next_note = time.monotonic() + 60
            time.sleep(self.poll)


def start_server(
    options: Options,
    processes: Processes,
    directory: Path,
    name: str,
    role: str,
    config: dict[str, Any],
    rules: dict[str, str] | None = None,
) -> Server:
    shipped: dict[str, float] = {}
    if rules is None and options.interval is None:
        rules, shipped = as_measured(config)
    path = tiers.write(directory, config, options.interval, rules)
    if options.promtool:
        check = subprocess.run([options.promtool, "check", "config", str(path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"promtool check config {path} failed:\n{check.stdout}{check.stderr}")
    port = tiers.free_port()
    command = [
        options.prometheus,
        f"--config.file={path}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    process = processes.start(name, command, directory / "prometheus.log")
    server = Server(name, role, process, port, directory)
    server.shipped_intervals = shipped
    return server


def measure(
    setup: Setup, fleet: Fleet, targets: Sequence[str], exporter: str, options: Options, processes: Processes
) -> SetupFigures:
    """Start the configuration's servers, wait until their rules evaluated on the whole fleet, measure, stop them.

    The servers that run global-rules.yml scrape the advisory exporter at `exporter`; the baseline does not."""
    size = len(fleet.services)
    root = options.workdir / f"{size}-{setup.key}"
    interval = options.interval
    servers: list[Server] = []
    try:
        if setup.shards == 0:
            config = scraping_the_fleet(
                tiers.single_config(list(targets), interval, None if setup.baseline else exporter)
            )
            rules = baseline_rules(fleet.programs, interval) if setup.baseline else None
            role = "baseline" if setup.baseline else "single"
            servers.append(start_server(options, processes, root / "server", f"{setup.key}", role, config, rules))
        else:
            for shard in range(setup.shards):
                config = scraping_the_fleet(tiers.shard_config(shard, setup.shards, list(targets), interval))
                servers.append(
                    start_server(options, processes, root / f"shard{shard}", f"shard {shard}", "shard", config)
                )
            config = tiers.global_config([server.address for server in servers], interval, exporter)
            servers.append(start_server(options, processes, root / "global", "global", "global", config))
        return measure_servers(setup, fleet, servers, len(targets), options)
    finally:
        for server in servers:
            processes.stop(server.name)
        shutil.rmtree(root, ignore_errors=True)


def measure_servers(setup: Setup, fleet: Fleet, servers: list[Server], expected: int, options: Options) -> SetupFigures:
    scrapers = [server for server in servers if server.role != "global"]
    central = servers[-1]  # the server that answers for the whole fleet: the only one, or the global one
    startup = Waiter(servers, 0.2)
    startup.until(lambda: next((f"{s.name} to be ready" for s in servers if not s.ready()), None), 120, rules=False)
    for server in servers:
        server.poll_rules()
    intervals = [interval for server in servers for interval in server.intervals.values()]
    waiter = Waiter(servers, min(5.0, max(0.2, min(intervals) / 12)))
    progress(f"{setup.label}: {len(servers)} server(s) ready, {sum(len(s.intervals) for s in servers)} rule groups")

    def targets_pending() -> str | None:
        for server in scrapers:
            server.targets = int(sum(value for _, value in server.query(f'count(up{{job="{JOB}"}} == 1)')))
        up = sum(server.targets for server in scrapers)
        return None if up == expected else f"{expected} targets up (now {up})"

    waiter.until(targets_pending, 60 + 4 * 60)
    if setup.shards:
        central.targets = len(scrapers)  # the global server scrapes the shards
    all_up = time.time()
    split = ", ".join(f"{server.name} {server.targets}" for server in scrapers) if setup.shards else ""
    progress(f"{setup.label}: all {expected} targets up" + (f" ({split})" if split else ""))

    for server in scrapers:
        for group in server.intervals:
            if group not in server.readers():
                server.since[group] = all_up
    longest = max(intervals)
    data_until = all_up + options.minutes * 60

    def inputs_ready(server: Server) -> float | None:
        """When every group that records on `server` had evaluated once on the whole fleet."""
        firsts = [server.counted(group)[:1] for group in server.intervals if group not in server.readers()]
        return max(first.start + first.seconds for [first] in firsts) if all(firsts) else None

    federated_at: list[float] = []

    def settled() -> str | None:
        for server in scrapers:
            ready = inputs_ready(server)
            if ready is not None:
                for group in server.readers():  # one server's global-rules.yml groups
                    server.since.setdefault(group, ready)
        if setup.shards and not federated_at and not federation_missing(scrapers, central):
            federated_at.append(time.time())
            for group in central.intervals:
                central.since[group] = federated_at[0]
            progress(f"{setup.label}: the global server holds every shard's recorded series")
        for server in servers:
            waiting = server.evaluations_pending(options.evaluations)
            if waiting:
                return waiting
        if time.time() < data_until:
            return f"{data_until - time.time():.0f} s more of scraped data (--minutes)"
        return None

    waiter.until(settled, options.minutes * 60 + 3 * longest + 300)
    progress(f"{setup.label}: every rule group has evaluated {options.evaluations} times on the whole fleet; measuring")

    figures = SetupFigures(setup, [server_figures(server) for server in servers])
    if setup.shards == 0:
        figures.latency_ms.update(query_latencies(central, RAW_QUERIES, options.runs))
    if not setup.baseline:
        queries = (*recorded_queries(fleet.rollout_program), RUNNING_QUERY)
        figures.latency_ms.update(query_latencies(central, queries, options.runs))
        figures.answers = answers(central, fleet.rollout_program)
    figures.alerts = alerts_per_program(central.query("ALERTS"))
    return figures


def federation_missing(shards: Sequence[Server], central: Server) -> str | None:
    """What the global server lacks of any shard's recorded series (per the shipped match[] list); None if nothing.

    Compared whole, values included: the global's evaluations count only once it holds every shard's
    series at their values from an evaluation on the whole fleet.
    """
    for selector in tiers.federated():
        held = central.query(selector)
        for index, shard in enumerate(shards):
            inputs = shard.evaluations_pending(1)
            if inputs:
                return inputs
            mine = normalized(shard.query(selector))
            copied = normalized([(labels, value) for labels, value in held if labels.get("shard") == str(index)])
            if mine != copied:
                return (
                    f"the global server's copy of shard {index}'s {selector} ({len(copied)} series, {len(mine)} there)"
                )
    return None


def server_figures(server: Server) -> ServerFigures:
    groups = {}
    for group in server.intervals:
        evaluations = server.counted(group)
        groups[group] = GroupFigures(
            file=server.files[group],
            interval=server.shipped_intervals.get(group, server.intervals[group]),
            seconds=statistics.median(evaluation.seconds for evaluation in evaluations),
            evaluations=len(evaluations),
            rules={rule: statistics.median(e.rules[rule] for e in evaluations) for rule in evaluations[-1].rules},
        )
    return ServerFigures(server.name, server.role, server.targets, groups, server.head_series(), server.peak_rss_mib())


def query_latencies(server: Server, queries: Sequence[str], runs: int) -> dict[str, float]:
    """Median wall ms of each query: one warm-up each, then `runs` rounds in a shuffled order."""
    rng = random.Random(SEED)
    seconds: dict[str, list[float]] = {query: [] for query in queries}
    for query in queries:
        server.timed_query(query)
    for _ in range(runs):
        for query in rng.sample(list(queries), len(queries)):
            seconds[query].append(server.timed_query(query))
    return {query: median_ms(times) for query, times in seconds.items()}


def normalized(result: Sequence[Sample]) -> list[tuple[tuple[tuple[str, str], ...], float]]:
    """A result vector comparable between one server and the global one: sorted, without the federation's labels."""

    def kept(name: str, value: str) -> bool:
        return name not in FEDERATION_LABELS and not (name == "job" and value == "federate")

    return sorted((tuple(sorted((k, v) for k, v in labels.items() if kept(k, v))), value) for labels, value in result)


def answers(server: Server, program: str) -> dict[str, list[Sample]]:
    """The recorded-series answers and alerts to compare between set-ups (not the alert state: it depends on uptime)."""
    found = {query: server.query(query) for query in (*recorded_queries(program), *EQUALITY_QUERIES)}
    found["ALERTS (without alertstate)"] = [
        ({**labels, "alertstate": ""}, value) for labels, value in server.query("ALERTS")
    ]
    found["/api/v1/alerts (labels and values)"] = [
        (alert["labels"], float(alert["value"])) for alert in server.api("/api/v1/alerts")["alerts"]
    ]
    return found


def differing(reference: dict[str, list[Sample]], other: dict[str, list[Sample]]) -> list[str]:
    """The answers that differ, each with a count and an example of the difference."""
    differences = []
    for query, expected in reference.items():
        mine, theirs = normalized(expected), normalized(other.get(query, []))
        if mine != theirs:
            only_mine = [sample for sample in mine if sample not in theirs][:2]
            only_theirs = [sample for sample in theirs if sample not in mine][:2]
            differences.append(
                f"{query}: {len(mine)} series on one server, {len(theirs)} on the global one; "
                f"only on one server e.g. {only_mine}; only on the global one e.g. {only_theirs}"
            )
    return differences


# What an alert about a program may be about besides the program: one alert series for each is expected.
ABOUT = ("name", "version", "advisory")


def alerts_per_program(alerts: Sequence[Sample]) -> dict[str, tuple[int, int]]:
    """For each alert about a program: how many programs have pending or firing series, and the most one has for
    one module, version and advisory (ABOUT: PythonModuleVulnerable fires once per each of those and program)."""
    counts: dict[str, dict[tuple[str, ...], int]] = {}
    for labels, _ in alerts:
        if labels.get("program"):
            per_program = counts.setdefault(labels["alertname"], {})
            key = (labels["program"], *(labels.get(label, "") for label in ABOUT))
            per_program[key] = per_program.get(key, 0) + 1
    return {
        alert: (len({key[0] for key in programs}), max(programs.values())) for alert, programs in sorted(counts.items())
    }


# ---------------------------------------------------------------------------------------------
# Reporting


def print_setup(figures: SetupFigures, programs: set[str]) -> None:
    header = f"  {'server':<10} {'targets':>7} {'head series':>12} {'peak RSS MiB':>12}"
    print(f"{header}  group: eval ms (median of n) /interval")
    for server in figures.servers:
        own, copies = [], []
        for name, group in server.groups.items():
            if name.removesuffix("-builds") in programs:
                copies.append(group.seconds)
            else:
                own.append(f"{name} {group.seconds * 1000:.1f} (n={group.evaluations}) /{group.interval:g}s")
        if copies:
            own.append(
                f"{len(copies)} per-program groups: {sum(copies) * 1000:.1f} in all, {max(copies) * 1000:.2f} at most"
            )
        print(
            f"  {server.name:<10} {server.targets:>7} {server.head_series:>12,} {server.peak_rss_mib:>12.0f}  "
            + "; ".join(own)
        )
    print("  each rule, ms (median), in the groups that hold more than one and are not per program:")
    for server in figures.servers:
        for name, group in server.groups.items():
            if len(group.rules) > 1 and name.removesuffix("-builds") not in programs:
                rules = ", ".join(f"{rule} {seconds * 1000:.1f}" for rule, seconds in group.rules.items())
                print(f"    {server.name} {name}: {rules}")
    print(f"  rule evaluation: {figures.per_hour():.1f} s an hour on all servers")
    for query, ms in figures.latency_ms.items():
        print(f"  {ms:8.2f} ms  {query}")
    for alert, (count, most) in figures.alerts.items():
        print(f"  alert {alert}: {count} program(s), at most {most} series for one program")
    if figures.identical is not None:
        series = sum(len(samples) for samples in figures.answers.values())
        compared = f"({len(figures.answers)} answers, {series:,} series compared with one server's)"
        print(f"  identical: {'yes' if not figures.identical else 'no'} {compared}")
        for difference in figures.identical:
            print(f"    differs: {difference}")


def table(size: int, results: list[SetupFigures], fleet: Fleet, machine: str) -> list[str]:
    """The size's figures as a markdown table, one column per configuration."""
    baseline = next((result for result in results if result.setup.baseline), None)
    single = next(result for result in results if result.setup.shards == 0 and not result.setup.baseline)
    single_scan = single.servers[0].round_seconds(readers=False)

    def cell(result: SetupFigures, what: str) -> str:
        servers = result.servers
        if what == "servers":
            return "1" if result.setup.shards == 0 else f"{result.setup.shards} shards + global"
        if what == "groups":
            return f"{sum(len(server.groups) for server in servers):,}"
        if what == "per hour":
            return f"{result.per_hour():.1f}"
        if what == "ratio":
            return f"{result.per_hour() / baseline.per_hour():.2f}" if baseline else "—"
        if what == "round":
            return " + ".join(f"{server.round_seconds() * 1000:.0f}" for server in servers)
        if what == "scan":
            if result.setup.baseline:
                return "—"
            largest = max(result.scrapers(), key=lambda server: server.round_seconds(readers=False))
            scan = largest.round_seconds(readers=False)
            if not result.setup.shards:
                return f"{scan * 1000:.0f}"
            targets = sum(server.targets for server in result.scrapers())
            return f"{scan * 1000:.0f} ({scan / single_scan:.2f}x; {largest.targets} of {targets} targets)"
        if what == "per series":
            if result.setup.baseline:
                return "—"
            largest = max(result.scrapers(), key=lambda server: server.round_seconds(readers=False))
            return f"{largest.round_seconds(readers=False) * 1e6 / largest.head_series:.1f}"
        if what == "fleet":
            if result.setup.baseline:
                return "—"
            fleet = servers[-1]
            return f"{fleet.round_seconds(readers=True) * 1000:.1f} ({fleet.slowest_seconds(readers=True) * 1000:.1f})"
        if what == "head":
            series = [server.head_series for server in servers]
            return f"{sum(series):,}" + (f" (largest {max(series):,})" if len(series) > 1 else "")
        if what == "rss":
            mib = [server.peak_rss_mib for server in servers]
            return f"{sum(mib):.0f}" + (f" (largest {max(mib):.0f})" if len(mib) > 1 else "")
        if what == "identical":
            if result is single:
                return "(reference)"
            return "—" if result.identical is None else ("yes" if not result.identical else "no")
        if what == "alerts":
            if not result.alerts:
                return "none"
            alert, (_, most) = max(result.alerts.items(), key=lambda item: item[1][1])
            return f"{most} ({alert})"
        return f"{result.latency_ms[what]:.1f}" if what in result.latency_ms else "—"

    rows = [
        ("servers", "servers"),
        ("rule groups", "groups"),
        ("rule evaluation, s an hour, all servers", "per hour"),
        ("… against the baseline (goal ≤ 0.33)", "ratio"),
        ("one round of every group, ms, per server", "round"),
        ("rules.yml groups, one round, ms (largest shard; x one server's)", "scan"),
        ("… the same, us a head series of that server", "per series"),
        ("global-rules.yml groups, one round, ms (slowest group: goal < 100 on the global)", "fleet"),
        *(
            (f"query ms: `{query}`", query)
            for query in (*RAW_QUERIES, *recorded_queries(fleet.rollout_program), RUNNING_QUERY)
        ),
        ("head series", "head"),
        ("peak RSS, MiB", "rss"),
        ("answers and alerts identical to one server's", "identical"),
        ("alert series for one program and alert, most", "alerts"),
    ]
    lines = [
        f"{size:,} services, {len(fleet.programs):,} programs ({machine})",
        "",
        "| | " + " | ".join(result.setup.label for result in results) + " |",
        "|---" * (len(results) + 1) + "|",
    ]
    lines += [f"| {title} | " + " | ".join(cell(result, what) for result in results) + " |" for title, what in rows]
    return lines


def goals(results: list[SetupFigures]) -> list[str]:
    """One line for each goal, with its figure and verdict."""
    baseline = next((result for result in results if result.setup.baseline), None)
    single = next(result for result in results if result.setup.shards == 0 and not result.setup.baseline)
    single_scan = single.servers[0].round_seconds(readers=False)
    lines = []
    for result in results:
        if result.setup.baseline:
            continue
        label = result.setup.label
        if baseline:
            ratio = result.per_hour() / baseline.per_hour()
            met = verdict(ratio <= 1 / 3)
            lines.append(f"{label}: rule evaluation an hour / baseline = {ratio:.2f}  (goal <= 1/3: {met})")
        most = max((most for _, most in result.alerts.values()), default=0)
        lines.append(
            f"{label}: alert series for one program and alert, most = {most}  (goal <= 1: {verdict(most <= 1)})"
        )
        if not result.setup.shards:
            lines.append(exporter_groups_share(label, result.servers[0]))
            continue
        shards = result.setup.shards
        largest = max(result.scrapers(), key=lambda server: server.round_seconds(readers=False))
        ratio = largest.round_seconds(readers=False) / single_scan
        targets = sum(server.targets for server in result.scrapers())
        lines.append(
            f"{label}: largest shard's rules.yml round / one server's = {ratio:.2f}, holding {largest.targets} of "
            f"{targets} targets  (goal <= 1/{shards} within noise, +20%: {verdict(ratio <= 1.2 / shards)})"
        )
        # Hash-mod sharding of a few coarse targets splits the fleet unevenly: this separates the split from the rules.
        held = largest.head_series / single.servers[0].head_series
        lines.append(
            f"{label}: that shard holds {held:.0%} of one server's head series; its round per series = "
            f"{ratio / held:.2f}x one server's"
        )
        fleet = result.servers[-1]
        slowest_ms, round_ms = fleet.slowest_seconds(readers=True) * 1000, fleet.round_seconds(readers=True) * 1000
        lines.append(
            f"{label}: slowest global-rules.yml group on the global server = {slowest_ms:.1f} ms, all its groups "
            f"{round_ms:.1f} ms  (goal < 100 ms a group: {verdict(slowest_ms < 100)})"
        )
        slowest = max(ms for query, ms in result.latency_ms.items() if query != RUNNING_QUERY)
        lines.append(
            f"{label}: slowest query on the global server = {slowest:.1f} ms  (goal < 50 ms: {verdict(slowest < 50)})"
        )
        lines.append(f"{label}: identical: {'yes' if not result.identical else 'no'}")
    return lines


# The groups that record and alert on the advisory exporter's answers: goal, <= 5% of the server's other rules.
EXPORTER_GROUPS = ("python-fleet-advisories", "python-fleet-advisory-alerts", "python-fleet-freshness")


def exporter_groups_share(label: str, server: ServerFigures) -> str:
    """The EXPORTER_GROUPS' rule evaluation an hour against the rest of the server's, each group at its shipped
    interval."""
    mine = [group for name, group in server.groups.items() if name in EXPORTER_GROUPS]
    added = sum(group.seconds * 3600 / group.interval for group in mine)
    share = added / (server.per_hour() - added)
    return (
        f"{label}: {' + '.join(EXPORTER_GROUPS)} = {added:.2f} s an hour, {share:.1%} of the other groups' "
        f"{server.per_hour() - added:.1f} s  (goal <= 5%: {verdict(share <= 0.05)})"
    )


def prometheus_version(prometheus: str) -> str:
    result = subprocess.run([prometheus, "--version"], capture_output=True, text=True)
    found = re.search(r"version (\S+)", result.stdout + result.stderr)
    return f"Prometheus {found.group(1) if found else '(version unknown)'}"


def integers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=integers, help="fleet sizes in services (default 1000,10000)")
    parser.add_argument("--shards", type=integers, help='shard counts of two-tier set-ups (default 2,4; "": none)')
    parser.add_argument("--minutes", type=float, help="minutes of scraped data before measuring, at least (default 5)")
    parser.add_argument("--runs", type=int, help="runs of each query, medians (default 9)")
    parser.add_argument(
        "--evaluations",
        type=int,
        default=2,
        help="evaluations of each rule group on the whole fleet to wait for (default 2; rules.yml's: 3 min each)",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the old rules' run (the per-hour ratio is then not printed)"
    )
    parser.add_argument("--per-target", type=int, help="services a scrape target serves (default 100)")
    parser.add_argument("--prometheus", help="the prometheus binary (default: the one on PATH)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="40 services of 10 modules, 2 shards, every interval 1 s: checks that it runs, in well under a minute",
    )
    arguments = parser.parse_args(argv)
    smoke = arguments.smoke
    sizes = arguments.sizes or ([40] if smoke else [1_000, 10_000])
    shard_counts = arguments.shards if arguments.shards is not None else ([2] if smoke else [2, 4])
    if min(shard_counts, default=1) < 1 or min(sizes) < 1:
        parser.error("--sizes and --shards take positive numbers")
    prometheus = arguments.prometheus or shutil.which("prometheus")
    if not prometheus:
        print("fleet: no `prometheus` on PATH: install Debian's prometheus package (make prometheus)", file=sys.stderr)
        return 2

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    machine = f"nproc={os.cpu_count()}, {cpu_model()}; {prometheus_version(prometheus)}; {today}"
    print(f"machine: {machine}")
    setups = [] if arguments.no_baseline else [Setup("baseline", "baseline (old rules)", baseline=True)]
    setups.append(Setup("single", "one server"))
    setups += [Setup(f"shards{count}", f"two-tier, {count} shards", shards=count) for count in shard_counts]
    tables: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as workdir, Processes() as processes:
            print(f"work directory: {workdir}", flush=True)
            options = Options(
                prometheus=prometheus,
                promtool=shutil.which("promtool"),
                workdir=Path(workdir),
                interval="1s" if smoke else None,
                minutes=arguments.minutes if arguments.minutes is not None else (0 if smoke else 5.0),
                runs=arguments.runs or (3 if smoke else 9),
                per_target=arguments.per_target or (5 if smoke else 100),
                evaluations=arguments.evaluations,
                per_program=5 if smoke else 20,
                dependencies=10 if smoke else 100,
            )
            for size in sizes:
                tables += [*measure_size(size, setups, options, processes, machine), ""]
    except KeyboardInterrupt:
        print("fleet: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    print("\n".join(tables))
    return 0


def measure_size(size: int, setups: Sequence[Setup], options: Options, processes: Processes, machine: str) -> list[str]:
    """Every configuration on one simulated fleet of `size` services; the table and goal lines."""
    fleet = make_fleet(size, options.per_program, options.dependencies, int(time.time()))
    count = math.ceil(size / options.per_target)
    # Service i goes to target i mod count: a program's instances spread over targets, hence over shards.
    bodies = [exposition(fleet.services[index::count]) for index in range(count)]
    advisories, affected = advisory_exposition(fleet, int(time.time()))
    directory = options.workdir / f"{size}-fleet"
    *targets, exporter = serve_fleet(processes, directory, [*bodies, advisories])
    series = sum(body.count(b"\n") - body.count(b"# TYPE") for body in bodies)
    progress(f"{size:,} services of {len(fleet.programs):,} programs: {series:,} series on {count} targets")
    progress(f"advisory exporter (served at {exporter}): advisories on {affected:,} running (name, version) pairs")
    results: list[SetupFigures] = []
    try:
        for setup in setups:
            progress(f"{size:,} services, {setup.label}: starting")
            figures = measure(setup, fleet, targets, exporter, options, processes)
            if setup.shards:
                single = next(result for result in results if result.setup.key == "single")
                figures.identical = differing(single.answers, figures.answers)
            results.append(figures)
            print_setup(figures, set(fleet.programs))
    finally:
        processes.stop(f"fleet server {directory.name}")
    lines = table(size, results, fleet, machine)
    return [*lines, "", *goals(results)]


if __name__ == "__main__":
    sys.exit(main())
