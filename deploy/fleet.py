"""A fleet of example_app builds scraped by a real Prometheus, answering the article's questions.

    python deploy/fleet.py            (what `make fleet` runs)

Builds example_app once per member — a stamped revision and branch (the BUILDINFO_* overrides)
and a lock that pins its own prometheus-client; one member also depends on certifi, which its lock
pins at a version a real advisory affects — installs each build in a venv of its own, serves
each on a loopback port, and starts Debian's `prometheus` four times, each from the shipped
configuration: one server for the whole fleet (prometheus.yml), and a two-tier set-up of two
shards (shard.yml) and a global server federating them (global.yml). A package index on loopback
(deploy/index_server.py, a static PEP 691/700 tree) holds the releases of every name the builds
recorded, on which only that certifi is behind its newest release. Beside the one server and the
global server, where the answers are made, runs the advisory exporter (`hatch-buildinfo exporter`)
on the real OSV records of tests/fixtures/osv and that index, each asking its own server.
Everything scrapes and evaluates every second. It prints the answers — among them which services
an advisory affects and how outdated the program is — then rebuilds the member on the fixed certifi
and shows both clear, and stops everything it started, also on Ctrl-C, SIGTERM and failure.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Set
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from index_server import File, IndexServer, write_tree
from packaging.version import Version
from tiers import free_port, global_config, shard_config, shard_of, single_config, write

from hatch_buildinfo.artifacts import read_target

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 2
MODULE = "prometheus-client"  # the module whose versions the fleet spreads
NEWEST = "2222222222222222222222222222222222222222"
STALE = "1111111111111111111111111111111111111111"
DEADLINE = 30.0  # seconds any one wait may take
# The advisory database the exporters read: real OSV records (tests/fixtures/osv/README.md names their source).
OSV = ROOT / "tests" / "fixtures" / "osv"
# The dependency one member adds, the version its lock pins, the real advisory that affects it (PYSEC-2023-135,
# also CVE-2023-37920 and GHSA-xqr8-7jwr-rhp7: certifi before 2023.7.22 trusts e-Tugra's roots) and the fixed
# version a rebuild locks instead.
VULNERABLE = "certifi"
AFFECTED = "2022.12.7"
ADVISORY = "PYSEC-2023-135"
FIXED = "2023.7.22"
PROGRAM = "example_app"
# The upload time of every file on the index but certifi's, made up: every version of those names the fleet runs
# was uploaded then, so none of them was released before its newest release and no member is behind on them (the
# fleet runs four prometheus-client versions for the questions about version spread; libyears and the outdated
# count compare release times, not version numbers).
MADE_UP = "2025-03-04T05:06:07Z"
# A release candidate of prometheus-client's next minor version, uploaded a year after the rest: newer than its
# newest release, it is no release, and it makes nobody behind.
PRE_RELEASE_UPLOADED = "2026-03-04T05:06:07Z"
EXPORTED = ("single", "global")  # the servers that make the answers, each scraping an exporter of its own

# The article's questions, with X the module above.
QUESTIONS = {
    "how many versions of X run": f'count(count by (version)(python_mod_info{{name="{MODULE}"}}))',
    "which versions, how many series each": f'count by (version)(python_mod_info{{name="{MODULE}"}})',
    "too much version spread (> 3)": f'count(count by (version)(python_mod_info{{name="{MODULE}"}})) > 3',
    "who has not deployed the update": "count(example_app_build_info) by (revision)",
}
# The same questions read from the recorded series, which one server and the global tier both hold.
FLEET_QUESTIONS = {
    "how many versions of X run": f'python_mod:versions:count{{name="{MODULE}"}}',
    "which versions, how many services each": f'sum by (version) (python_mod:services:count{{name="{MODULE}"}})',
    "who has not deployed the update": 'sum by (revision) (python_build:services:count{program="example_app"})',
    "who runs a dependency other than its lock's": (
        "sum by (program, name, locked, installed) (python_mod:drifted_services:count)"
    ),
    "which services an advisory affects": "python_mod:advisory_services:count",
    "how many locked modules each program runs behind their newest release": "python_program:outdated_modules:count",
    "how many libyears behind each program is": "python_program:libyears:sum",
    "alerts pending or firing": "ALERTS",
    "targets down": "sum by (job) (job:targets_down:count)",
}


@dataclass(frozen=True)
class Member:
    """One service of the fleet: what its build is stamped with, and the module version its lock pins."""

    name: str
    revision: str
    branch: str
    pinned: str | None  # None: example_app's committed uv.lock
    # A further dependency the member's project declares (name, the version its lock pins), as a service that
    # needs CA certificates does; None: only example_app's own.
    dependency: tuple[str, str] | None = None


MEMBERS = (
    Member("a", NEWEST, "main", None),
    Member("b", NEWEST, "main", None),
    Member("c", NEWEST, "main", "0.21.1", (VULNERABLE, AFFECTED)),
    Member("d", STALE, "release/0.x", "0.21.0"),
    Member("e", STALE, "release/0.x", "0.20.0"),
)


# --- the package index -----------------------------------------------------------------------------


def released_on(version: str) -> datetime.date:
    """The day a certifi version was released, which its calendar version spells (2023.7.22: 2023-07-22)."""
    year, month, day = map(int, version.split("."))
    return datetime.date(year, month, day)


def index_projects(running: Mapping[str, Set[str]]) -> dict[str, list[File]]:
    """The index's files of each running name (running: name -> the versions members run): certifi at AFFECTED and
    FIXED, uploaded on their real release days; every other name at the versions the fleet runs, uploaded at
    MADE_UP, and prometheus-client also at a release candidate of its next minor version."""

    def wheel_of(name: str, version: str, uploaded: str) -> File:
        return File(f"{name.replace('-', '_')}-{version}-py3-none-any.whl", uploaded)

    projects = {
        name: [wheel_of(name, version, MADE_UP) for version in sorted(versions, key=Version)]
        for name, versions in running.items()
    }
    projects[VULNERABLE] = [
        wheel_of(VULNERABLE, version, f"{released_on(version).isoformat()}T00:00:00Z") for version in (AFFECTED, FIXED)
    ]
    newest = max(map(Version, running[MODULE]))
    projects[MODULE].append(wheel_of(MODULE, f"{newest.major}.{newest.minor + 1}.0rc1", PRE_RELEASE_UPLOADED))
    return projects


# --- the fleet -------------------------------------------------------------------------------------


def run(*command: object, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def wait_for(what: str, answer):
    """Poll `answer()` until it returns something true, for at most DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = answer()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.2)


def answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ordered(result: list[tuple[dict[str, str], float]]) -> list[tuple[dict[str, str], float]]:
    """A query's result in the order of its label sets, so that two results compare and print alike."""
    return sorted(result, key=lambda sample: sorted(sample[0].items()))


def member_ports() -> dict[str, int]:
    """A free loopback port for each member, drawn until every shard scrapes at least one member."""
    while True:
        ports = {member.name: free_port() for member in MEMBERS}
        if len({shard_of(f"127.0.0.1:{port}", SHARDS) for port in ports.values()}) == SHARDS:
            return ports


class Fleet:
    """The members and the Prometheus servers scraping them; a context manager that stops all it started.

    Servers: "single" (the whole fleet, both rule files), "shard-0" and "shard-1" (a part each, rules.yml),
    "global" (federating the shards, global-rules.yml); `index`, the package index their exporters ask.
    """

    def __init__(self, workdir: Path, uv: str, prometheus: str) -> None:
        self.workdir = workdir
        self.uv = uv
        self.prometheus_binary = prometheus
        self.venvs: dict[str, Path] = {}
        self.ports = member_ports()
        self.processes: dict[str, subprocess.Popen] = {}
        self.servers: dict[str, str] = {}  # name: URL
        self.exporters = {server: free_port() for server in EXPORTED}  # server: the port of its exporter
        self.builds = 0
        self.modules: dict[str, tuple[tuple[str, str], ...]] = {}  # member: the (name, version) its build recorded
        self.index: IndexServer | None = None
        self._started = ExitStack()  # what is no process of its own: the index

    @property
    def prometheus_url(self) -> str:
        return self.servers["single"]

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            for name in list(self.processes):
                self._stop(name)
        finally:
            self._started.close()

    # Building

    def build(self) -> None:
        for member in MEMBERS:
            self.venvs[member.name] = self._build_member(member)

    def rebuild(self, member: Member) -> None:
        """Build `member` anew (as changed, say with another lock), then replace the running one on its port."""
        venv = self._build_member(member)
        self.stop_member(member.name)
        self.venvs[member.name] = venv
        self.start_member(member.name)

    def _build_member(self, member: Member) -> Path:
        """example_app stamped for `member`, with its own lock, installed in its own venv."""
        self.builds += 1
        source = self.workdir / f"{member.name}.{self.builds}" / "example_app"
        shutil.copytree(ROOT / "example_app", source, ignore=shutil.ignore_patterns("_buildinfo.py", "__pycache__"))
        pyproject = source / "pyproject.toml"
        text = pyproject.read_text().replace('path = ".."', f'path = "{ROOT.as_posix()}"')
        upgrades = [f"{MODULE}=={member.pinned}"] if member.pinned else []
        if member.dependency:
            # Declared unpinned, as a project does; the lock pins it, and the hook records that lock.
            name, version = member.dependency
            declared = 'dependencies = ["hatch-buildinfo[prometheus]"]'
            assert declared in text, "example_app's dependencies changed: update the fleet"
            text = text.replace(declared, f'dependencies = ["hatch-buildinfo[prometheus]", "{name}"]')
            upgrades.append(f"{name}=={version}")
        pyproject.write_text(text)
        if upgrades:
            run(self.uv, "lock", "--quiet", *(f"--upgrade-package={upgrade}" for upgrade in upgrades), cwd=source)
        stamp = dict(os.environ, BUILDINFO_REVISION=member.revision, BUILDINFO_BRANCH=member.branch)
        dist = source.parent / "dist"
        run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, source, cwd=source, env=stamp)
        constraints = source.parent / "locked.txt"
        run(self.uv, "export", "--quiet", "--frozen", "--no-dev", "--no-emit-project", "--no-emit-package",
            "hatch-buildinfo", "--no-hashes", "--output-file", constraints, cwd=source)  # fmt: skip
        venv = source.parent / "venv"
        run(self.uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=source)
        (wheel,) = dist.glob("*.whl")
        self.modules[member.name] = read_target(str(wheel)).running_dependencies()
        run(self.uv, "pip", "install", "--quiet", "--python", venv, "--constraint", constraints, ROOT, wheel,
            cwd=source)  # fmt: skip
        return venv

    # Running

    def start(self) -> None:
        for member in MEMBERS:
            self.start_member(member.name)
        self._start_index()
        self._start_prometheus_servers()

    def _start_index(self) -> None:
        """The package index, written for the names the builds recorded, served on loopback."""
        running: dict[str, set[str]] = {}
        for modules in self.modules.values():
            for name, version in modules:
                running.setdefault(name, set()).add(version)
        root = self.workdir / "index"
        write_tree(root, index_projects(running))
        self.index = self._started.enter_context(IndexServer(root))

    def start_member(self, name: str) -> None:
        port = self.ports[name]
        command = [self.venvs[name] / "bin" / "example-app", "serve", "--host", "127.0.0.1", "--port", str(port)]
        self._spawn(name, command)
        wait_for(f"member {name} on port {port}", lambda: answers_http(f"http://127.0.0.1:{port}/buildinfo"))

    def stop_member(self, name: str) -> None:
        self._stop(name)

    def _start_prometheus_servers(self) -> None:
        targets = [f"127.0.0.1:{port}" for port in self.ports.values()]
        exporter = {server: f"127.0.0.1:{port}" for server, port in self.exporters.items()}
        self._start_prometheus("single", single_config(targets, "1s", exporter=exporter["single"]))
        self._start_exporter("single")
        for shard in range(SHARDS):
            self._start_prometheus(f"shard-{shard}", shard_config(shard, SHARDS, targets, "1s"))
        shards = [self.servers[f"shard-{shard}"].removeprefix("http://") for shard in range(SHARDS)]
        self._start_prometheus("global", global_config(shards, "1s", exporter=exporter["global"]))
        self._start_exporter("global")
        wait_for("every member's first scrape", lambda: len(self.query('up{job="example_app"} == 1')) == len(MEMBERS))
        wait_for(
            "the global server's count of every member",
            lambda: self.query("sum(python_build:services:count)", "global") == [({}, len(MEMBERS))],
        )

    def _start_prometheus(self, server: str, config: dict) -> None:
        # Scraping and evaluating every second, so that recorded series exist within the test's time.
        path = write(self.workdir / server, config, interval="1s")
        port = free_port()
        self.servers[server] = f"http://127.0.0.1:{port}"
        self._spawn(
            server,
            [
                self.prometheus_binary,
                f"--config.file={path}",
                f"--storage.tsdb.path={self.workdir / server / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
        )

    def _start_exporter(self, server: str) -> None:
        """The advisory exporter asking `server` what runs and the index about it, refreshing every second, on the
        port `server` scrapes."""
        assert self.index is not None, "start the index first"
        script = Path(sys.executable).with_name("hatch-buildinfo")
        port = self.exporters[server]
        self._spawn(
            f"exporter-{server}",
            [script, "exporter", "--prometheus", self.servers[server], "--osv", OSV, "--index", self.index.url,
             "--listen", f"127.0.0.1:{port}", "--interval", "1", "--index-interval", "1"],
            # The servers are on loopback: no proxy between them, and no credentials meant for another server.
            env={key: value for key, value in os.environ.items()
                 if not (key.startswith("PROMETHEUS_") or key.upper().endswith("_PROXY"))},
        )  # fmt: skip
        wait_for(f"the exporter of {server} on port {port}", lambda: answers_http(f"http://127.0.0.1:{port}/metrics"))

    def _spawn(self, name: str, command: list, env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [str(part) for part in command],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def _stop(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    # Asking

    def query(self, expression: str, server: str = "single") -> list[tuple[dict[str, str], float]]:
        """An instant query's result vector on `server`: (labels, value) pairs."""
        url = f"{self.servers[server]}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.load(response)
        except OSError:
            return []
        if body.get("status") != "success":
            raise RuntimeError(f"query {expression!r} failed: {body}")
        return [(sample["metric"], float(sample["value"][1])) for sample in body["data"]["result"]]

    def answers(self, server: str) -> dict[str, list]:
        """FLEET_QUESTIONS answered by `server`, each result in a stable order."""
        return {question: ordered(self.query(expression, server)) for question, expression in FLEET_QUESTIONS.items()}

    def rule_query(self, name: str) -> str:
        """The expression of the loaded alert or recording rule `name`, as Prometheus holds it."""
        with urllib.request.urlopen(f"{self.prometheus_url}/api/v1/rules", timeout=5) as response:
            groups = json.load(response)["data"]["groups"]
        return next(rule["query"] for group in groups for rule in group["rules"] if rule["name"] == name)

    def advised(self, server: str) -> list[tuple[dict[str, str], float]]:
        """What `server` says an advisory affects: its recorded python_mod:advisory_services:count, the labels the
        alert keeps (program, name, version, advisory, severity) and the services affected."""
        keep = ("program", "name", "version", "advisory", "severity")
        result = self.query(f"sum by ({', '.join(keep)}) (python_mod:advisory_services:count)", server)
        return ordered(result)

    def alerts(self, alertname: str, server: str) -> list[tuple[dict[str, str], float]]:
        """`alertname` on `server`, pending or firing: its labels but the rule's name, and its value."""
        result = self.query(f'ALERTS{{alertname="{alertname}"}}', server)
        return ordered([({k: v for k, v in labels.items() if k != "__name__"}, value) for labels, value in result])

    def behind(self, server: str) -> list[tuple[dict[str, str], float]]:
        """How far behind their newest releases `server` says the fleet's programs are: their outdated modules and
        libyears where above 0 (the exporter serves 0 for a program behind on nothing), and any
        PythonModuleFixNotDeployed alert."""
        expressions = [
            "python_program:outdated_modules:count > 0",
            "python_program:libyears:sum > 0",
            'ALERTS{alertname="PythonModuleFixNotDeployed"}',
        ]
        return ordered([sample for expression in expressions for sample in self.query(expression, server)])

    def release_times(self, name: str, server: str) -> dict[str, float]:
        """The release time of each version of `name` that the exporter beside `server` serves: the versions the fleet
        runs, the newest, and those fixing an advisory on a running one; version: seconds since the epoch."""
        result = self.query(f'python_mod_release_timestamp_seconds{{name="{name}"}}', server)
        return {labels["version"]: value for labels, value in result}

    def summaries(self, alertname: str, server: str) -> list[str]:
        """The summary of each `alertname` alert on `server`, pending or firing, as the rule's template wrote it."""
        with urllib.request.urlopen(f"{self.servers[server]}/api/v1/alerts", timeout=5) as response:
            alerts = json.load(response)["data"]["alerts"]
        return sorted(alert["annotations"]["summary"] for alert in alerts if alert["labels"]["alertname"] == alertname)


def _print_answers(fleet: Fleet, questions: dict[str, str], server: str) -> None:
    for question, expression in questions.items():
        print(f"\n{question}\n  {expression}")
        result = fleet.query(expression, server)
        if not result:
            print("  (no result: the condition does not hold)")
        for labels, value in ordered(result):
            shown = ", ".join(f"{key}={value!r}" for key, value in sorted(labels.items())) or "(no labels)"
            print(f"  {shown}: {value:g}")


def main() -> int:
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        print("fleet: no `prometheus` on PATH: install Debian's prometheus package", file=sys.stderr)
        return 2
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    with tempfile.TemporaryDirectory(prefix="fleet-") as workdir, Fleet(Path(workdir), uv, prometheus) as fleet:
        print(f"building {len(MEMBERS)} members of the fleet in {workdir} ...", flush=True)
        fleet.build()
        fleet.start()
        print(f"prometheus on {fleet.prometheus_url}, scraping {len(MEMBERS)} members every second")
        _print_answers(fleet, QUESTIONS, "single")
        for server in EXPORTED:
            wait_for(
                f"{server} to name what {ADVISORY} affects",
                lambda server=server: fleet.advised(server) and fleet.alerts("PythonModuleVulnerable", server),
            )
            wait_for(
                f"{server} to say how outdated {PROGRAM} is",
                lambda server=server: (
                    fleet.query("python_program:libyears:sum", server)
                    and fleet.alerts("PythonModuleFixNotDeployed", server)
                ),
            )
        wait_for(
            "the global tier to answer as one server does", lambda: fleet.answers("single") == fleet.answers("global")
        )
        for server in ("single", "global"):
            print(f"\n--- from the recorded series, on {server} ({fleet.servers[server]})")
            _print_answers(fleet, FLEET_QUESTIONS, server)
            print("\nfixes waiting to be deployed (PythonModuleFixNotDeployed, pending)")
            for summary in fleet.summaries("PythonModuleFixNotDeployed", server):
                print(f"  {summary}")
        (member,) = [member for member in MEMBERS if member.dependency == (VULNERABLE, AFFECTED)]
        print(
            f"\n--- member {member.name} rebuilt with {VULNERABLE} locked at {FIXED}, the version that fixes {ADVISORY}"
        )
        fleet.rebuild(dataclasses.replace(member, dependency=(VULNERABLE, FIXED)))
        for server in EXPORTED:
            # Only once the exporter sees it run the fixed version: while the member restarted, nothing ran certifi.
            wait_for(
                f"{server}'s exporter to see {VULNERABLE} {FIXED} run",
                lambda server=server: set(fleet.release_times(VULNERABLE, server)) == {FIXED},
            )
            wait_for(
                f"{server} to clear {ADVISORY}",
                lambda server=server: not fleet.advised(server) and not fleet.alerts("PythonModuleVulnerable", server),
            )
            print(f"{server}: no service affected, no PythonModuleVulnerable pending or firing")
            wait_for(f"{server} to find {PROGRAM} up to date", lambda server=server: not fleet.behind(server))
            print(f"{server}: no module behind its newest release, no libyears, no PythonModuleFixNotDeployed")
        assert fleet.index is not None
        index = fleet.index
        print(f"\nthe index ({index.url}): {index.requests} requests, {index.not_modified} of them answered 304")
    return 0


if __name__ == "__main__":
    sys.exit(main())
