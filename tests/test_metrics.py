"""Expose: the Prometheus collectors, scraped the ways a service scrapes them, and checked by promtool."""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from conftest import clean_environment
from prometheus_client import CollectorRegistry, generate_latest, make_asgi_app, make_wsgi_app, start_http_server
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

import hatch_buildinfo
from hatch_buildinfo import markers
from hatch_buildinfo.drift import installed_versions
from hatch_buildinfo.hook.render import render
from hatch_buildinfo.info import BuildInfo
from hatch_buildinfo.metrics import BuildInfoCollector, ModInfoCollector, register

DEADLINE = 30.0  # seconds any one wait in this file may take
HELP_START = "A metric with a constant '1' value labeled by version, revision, branch"
BUILD_HELP = (
    "A metric with a constant '1' value labeled by version, revision, branch, tag and dirty state "
    "from which demo was built, the pythonversion, os and arch it runs on, and its program name."
)
MOD_HELP = "A metric with a constant '1' value labeled by dependency name, version, from which demo was built."
DRIFT_HELP = (
    "A metric with a constant '1' value labeled by dependency name, locked version and installed version "
    "('none': not installed), for each dependency of demo installed at another version than locked."
)
PYTHON_VERSION = ".".join(str(part) for part in sys.version_info[:3])
OS = sys.platform
ARCH = os.uname().machine.lower()

INFO = BuildInfo(
    "demo",
    "1.2.3",
    revision="3f2c1a9e0d4b5c6d7e8f90a1b2c3d4e5f6a7b8c9",
    branch="main",
    dirty=False,
    tag="v1.2.3",
    dependencies=[
        ("certifi", "2024.2.2"),
        # One package locked at two versions for two environments: this interpreter runs one.
        ("idna", "2.10", 'python_version < "3"'),
        ("idna", "3.7", 'python_version >= "3"'),
        ("never-here", "1.0", 'sys_platform == "no-such-platform"'),
        ("requests", "2.32.3"),
    ],
)
# Labels come out sorted by name.
BUILD_LINE = (
    f'demo_build_info{{arch="{ARCH}",branch="main",dirty="false",os="{OS}",program="demo",pythonversion="{PYTHON_VERSION}",'
    'revision="3f2c1a9e0d4b5c6d7e8f90a1b2c3d4e5f6a7b8c9",tag="v1.2.3",version="1.2.3"} 1.0'
)
EXPOSITION = [
    f"# HELP demo_build_info {BUILD_HELP}",
    "# TYPE demo_build_info gauge",
    BUILD_LINE,
    f"# HELP python_mod_info {MOD_HELP}",
    "# TYPE python_mod_info gauge",
    'python_mod_info{name="certifi",program="demo",version="2024.2.2"} 1.0',
    'python_mod_info{name="idna",program="demo",version="3.7"} 1.0',
    'python_mod_info{name="requests",program="demo",version="2.32.3"} 1.0',
    # Described even where nothing drifts, as prometheus_client describes a labelled Gauge with no children.
    f"# HELP python_mod_drift_info {DRIFT_HELP}",
    "# TYPE python_mod_drift_info gauge",
]


def as_locked(info: BuildInfo) -> dict[str, str]:
    """Installed versions of an environment that matches `info`'s lock."""
    return dict(info.running_dependencies())


def registry_with(info: BuildInfo = INFO, installed: dict[str, str] | None = None) -> CollectorRegistry:
    """A registry with `info`'s collectors; the environment matches the lock unless `installed` says otherwise."""
    registry = CollectorRegistry()
    register(info, registry, installed=as_locked(info) if installed is None else installed)
    return registry


def our_lines(text: str, *names: str) -> list[str]:
    """The lines of `text` about the metric families `names`, in order."""
    names = names or ("demo_build_info", "python_mod_info", "python_mod_drift_info")
    pattern = re.compile(r"(?:# (?:HELP|TYPE) )?(\w+)")
    return [line for line in text.splitlines() if pattern.match(line).group(1) in names]


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """GET `url`: (content type, body text)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=DEADLINE) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


# --- what the collectors expose ---------------------------------------------------------------


def test_custom_registry_exposes_exactly_the_build_and_mod_info():
    text = generate_latest(registry_with()).decode("utf-8")
    assert text.splitlines() == EXPOSITION
    assert BUILD_HELP.startswith(HELP_START)


def installed_as_locked(directory: Path, info: BuildInfo) -> Path:
    """`directory` holding the `.dist-info` of each of `info`'s running dependencies, at its locked version."""
    for name, version in info.running_dependencies():
        metadata = directory / f"{name.replace('-', '_')}-{version}.dist-info" / "METADATA"
        metadata.parent.mkdir(parents=True)
        metadata.write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    return directory


@pytest.mark.parametrize("mode", ["register", "collectors"])
def test_default_registry_in_a_fresh_process(mode, tmp_path):
    """Without a registry argument the collectors join prometheus_client's global REGISTRY.

    The installed versions are read from sys.path: PYTHONPATH's copies, first there, match the lock.
    """
    script = """if True:
        import json, sys
        from prometheus_client import generate_latest
        from hatch_buildinfo import BuildInfo
        from hatch_buildinfo.metrics import BuildInfoCollector, ModInfoCollector, register
        info = BuildInfo(**json.loads(sys.argv[2]))
        if sys.argv[1] == "register":
            register(info)
        else:
            BuildInfoCollector(info)
            ModInfoCollector(info)
        sys.stdout.write(generate_latest().decode("utf-8"))
    """
    data = {name: getattr(INFO, name) for name in ("program", "version", "revision", "branch", "dirty", "tag")}
    data["dependencies"] = [list(dependency) for dependency in INFO.dependencies]
    result = subprocess.run(
        [sys.executable, "-c", script, mode, json.dumps(data)],
        cwd=tmp_path,
        env=clean_environment(PYTHONPATH=str(installed_as_locked(tmp_path / "site", INFO))),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 0, result.stderr
    assert our_lines(result.stdout) == EXPOSITION
    assert "python_info{" in result.stdout, "the global REGISTRY's own collectors are still there"


@pytest.mark.parametrize(
    ("dirty", "tag", "dirty_label", "tag_label"),
    [(True, "v2.0.0-3-gabc1234", "true", "v2.0.0-3-gabc1234"), (False, None, "false", ""), (None, None, "unknown", "")],
)
def test_dirty_and_tag_labels(dirty, tag, dirty_label, tag_label):
    info = BuildInfo("demo", "2.0.0", revision="abc1234", branch="release", dirty=dirty, tag=tag)
    text = generate_latest(registry_with(info)).decode("utf-8")
    assert our_lines(text, "demo_build_info")[2] == (
        f'demo_build_info{{arch="{ARCH}",branch="release",dirty="{dirty_label}",os="{OS}",program="demo",'
        f'pythonversion="{PYTHON_VERSION}",revision="abc1234",tag="{tag_label}",version="2.0.0"}} 1.0'
    )


def test_unknown_facts_and_no_dependencies():
    text = generate_latest(registry_with(BuildInfo("demo", "0.0.0"))).decode("utf-8")
    assert text.splitlines() == [
        f"# HELP demo_build_info {BUILD_HELP}",
        "# TYPE demo_build_info gauge",
        f'demo_build_info{{arch="{ARCH}",branch="unknown",dirty="unknown",os="{OS}",program="demo",'
        f'pythonversion="{PYTHON_VERSION}",revision="unknown",tag="",version="0.0.0"}} 1.0',
        f"# HELP python_mod_info {MOD_HELP}",
        "# TYPE python_mod_info gauge",
        f"# HELP python_mod_drift_info {DRIFT_HELP}",
        "# TYPE python_mod_drift_info gauge",
    ]


def test_one_series_per_running_dependency():
    """Of a package locked at two versions under exclusive markers, one series: the one this interpreter runs."""
    mod_lines = [
        line for line in our_lines(generate_latest(registry_with()).decode(), "python_mod_info") if "{" in line
    ]
    assert mod_lines == [
        f'python_mod_info{{name="{name}",program="demo",version="{version}"}} 1.0'
        for name, version in INFO.running_dependencies()
    ]
    assert [line for line in mod_lines if 'name="idna"' in line] == [
        'python_mod_info{name="idna",program="demo",version="3.7"} 1.0'
    ]
    assert not any("never-here" in line for line in mod_lines)


def test_collectors_made_without_a_registry_register_nowhere():
    registry = CollectorRegistry()
    build, mod = (
        BuildInfoCollector(INFO, registry=None),
        ModInfoCollector(INFO, registry=None, installed=as_locked(INFO)),
    )
    assert generate_latest(registry) == b""
    registry.register(build)
    registry.register(mod)
    assert generate_latest(registry).decode().splitlines() == EXPOSITION


# --- drift: locked dependencies installed at another version ----------------------------------


def drift_lines(info: BuildInfo, installed: dict[str, str]) -> list[str]:
    return our_lines(generate_latest(registry_with(info, installed)).decode(), "python_mod_drift_info")


def test_one_drift_series_per_dependency_installed_at_another_version():
    # idna as locked; certifi older; requests missing; never-here does not run here, so it cannot drift.
    installed = {"certifi": "2023.7.22", "idna": "3.7", "never-here": "2.0", "unlocked": "1.0"}
    assert drift_lines(INFO, installed) == [
        f"# HELP python_mod_drift_info {DRIFT_HELP}",
        "# TYPE python_mod_drift_info gauge",
        'python_mod_drift_info{installed="2023.7.22",locked="2024.2.2",name="certifi",program="demo"} 1.0',
        'python_mod_drift_info{installed="none",locked="2.32.3",name="requests",program="demo"} 1.0',
    ]


def test_an_environment_that_matches_its_lock_adds_no_drift_series():
    installed = {**as_locked(INFO), "unlocked": "1.0", "never-here": "2.0"}
    assert drift_lines(INFO, installed) == [
        f"# HELP python_mod_drift_info {DRIFT_HELP}",
        "# TYPE python_mod_drift_info gauge",
    ]
    assert drift_lines(BuildInfo("demo", "1.0"), {}) == drift_lines(INFO, installed), "no dependencies, no drift"


def test_the_installed_versions_are_read_from_sys_path_once_when_the_collector_is_made(tmp_path, monkeypatch):
    site = installed_as_locked(tmp_path / "site", INFO)
    (site / "certifi-2024.2.2.dist-info").rename(site / "certifi-2023.7.22.dist-info")
    monkeypatch.syspath_prepend(str(site))  # first on sys.path: it wins over anything this venv has
    reads = []

    def counted() -> dict[str, str]:
        reads.append(1)
        return installed_versions()

    monkeypatch.setattr("hatch_buildinfo.metrics.installed_versions", counted)
    registry = CollectorRegistry()
    ModInfoCollector(INFO, registry)
    assert len(reads) == 1
    scrapes = [generate_latest(registry).decode() for _ in range(3)]
    assert len(reads) == 1, "a scrape reads nothing"
    assert our_lines(scrapes[0], "python_mod_drift_info")[2:] == [
        'python_mod_drift_info{installed="2023.7.22",locked="2024.2.2",name="certifi",program="demo"} 1.0'
    ]
    assert scrapes == [scrapes[0]] * 3


# --- registering ------------------------------------------------------------------------------


def test_register_registers_both_collectors():
    registry = CollectorRegistry()
    build, mod = register(INFO, registry)
    assert isinstance(build, BuildInfoCollector)
    assert isinstance(mod, ModInfoCollector)
    assert [family.name for family in registry.collect()] == [
        "demo_build_info",
        "python_mod_info",
        "python_mod_drift_info",
    ]
    registry.unregister(build)
    registry.unregister(mod)
    assert generate_latest(registry) == b""


def test_registering_twice_is_a_clear_value_error():
    registry = registry_with()
    before = generate_latest(registry)
    with pytest.raises(ValueError, match=r"Duplicated timeseries in CollectorRegistry: .*demo_build_info"):
        register(INFO, registry)
    with pytest.raises(ValueError, match=r"Duplicated timeseries in CollectorRegistry: .*demo_build_info"):
        BuildInfoCollector(INFO, registry)
    with pytest.raises(ValueError, match=r"Duplicated timeseries in CollectorRegistry: .*python_mod_info"):
        ModInfoCollector(INFO, registry)
    assert generate_latest(registry) == before


def test_a_failed_register_leaves_the_registry_as_it_was():
    """register() of a second program fails on the shared python_mod_info; it must not half-register."""
    registry = registry_with()
    before = generate_latest(registry)
    with pytest.raises(ValueError, match=r"Duplicated timeseries in CollectorRegistry: .*python_mod_info"):
        register(INFO.replace(program="other"), registry)
    after = generate_latest(registry)
    assert "other_build_info" not in after.decode(), "register() left other_build_info registered after failing"
    assert after == before


# --- the ways a service serves /metrics --------------------------------------------------------


def test_start_http_server_on_loopback():
    registry = registry_with()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        content_type, body = fetch(f"http://127.0.0.1:{server.server_port}/metrics")
        assert content_type.startswith("text/plain")
        assert body.splitlines() == EXPOSITION
        _, again = fetch(f"http://127.0.0.1:{server.server_port}/metrics")
        assert again == body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(DEADLINE)
    assert not thread.is_alive()


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_wsgi_app_served_by_wsgiref():
    server = make_server("127.0.0.1", 0, make_wsgi_app(registry_with()), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        content_type, body = fetch(url)
        assert content_type.startswith("text/plain")
        assert body.splitlines() == EXPOSITION
        content_type, body = fetch(url, {"Accept": "application/openmetrics-text; version=1.0.0"})
        assert content_type.startswith("application/openmetrics-text")
        assert body.splitlines() == [*EXPOSITION, "# EOF"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(DEADLINE)


def _asgi_get(app, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    async def call() -> list[dict]:
        sent = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/metrics",
            "raw_path": b"/metrics",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        await app(scope, receive, send)
        return sent

    return asyncio.run(call())


def test_asgi_app_in_an_event_loop():
    app = make_asgi_app(registry_with())
    start, body = _asgi_get(app, [])
    assert (start["type"], start["status"]) == ("http.response.start", 200)
    assert dict(start["headers"])[b"Content-Type"].startswith(b"text/plain")
    assert body["type"] == "http.response.body"
    assert body["body"].decode("utf-8").splitlines() == EXPOSITION
    start, body = _asgi_get(app, [(b"accept", b"application/openmetrics-text; version=1.0.0")])
    assert dict(start["headers"])[b"Content-Type"].startswith(b"application/openmetrics-text")
    assert body["body"].decode("utf-8").splitlines() == [*EXPOSITION, "# EOF"]


# --- label values that need escaping ----------------------------------------------------------

AWKWARD = BuildInfo(
    "demo",
    '1.0+"q"\\x\nü',
    revision="deadbeef",
    branch='feat/"quoted"\\back\nslash ünïcödé ☃',
    dirty=True,
    tag='v1"\\\n✓',
    dependencies=[('we"ird\\na\nme', '1.0"\\\n'), ("ünï-☃", "2.0✓")],
)
AWKWARD_INSTALLED = {"ünï-☃": '3.0"\\\n'}  # and the other not installed at all
AWKWARD_LINES = [
    f"# HELP demo_build_info {BUILD_HELP}",
    "# TYPE demo_build_info gauge",
    f'demo_build_info{{arch="{ARCH}",branch="feat/\\"quoted\\"\\\\back\\nslash ünïcödé ☃",dirty="true",'
    f'os="{OS}",program="demo",pythonversion="{PYTHON_VERSION}",revision="deadbeef",tag="v1\\"\\\\\\n✓",'
    'version="1.0+\\"q\\"\\\\x\\nü"} 1.0',
    f"# HELP python_mod_info {MOD_HELP}",
    "# TYPE python_mod_info gauge",
    'python_mod_info{name="we\\"ird\\\\na\\nme",program="demo",version="1.0\\"\\\\\\n"} 1.0',
    'python_mod_info{name="ünï-☃",program="demo",version="2.0✓"} 1.0',
    f"# HELP python_mod_drift_info {DRIFT_HELP}",
    "# TYPE python_mod_drift_info gauge",
    'python_mod_drift_info{installed="none",locked="1.0\\"\\\\\\n",name="we\\"ird\\\\na\\nme",program="demo"} 1.0',
    'python_mod_drift_info{installed="3.0\\"\\\\\\n",locked="2.0✓",name="ünï-☃",program="demo"} 1.0',
]


def _samples(families) -> dict[str, list[dict[str, str]]]:
    return {family.name: [sample.labels for sample in family.samples] for family in families}


def _expected_samples() -> dict[str, list[dict[str, str]]]:
    return {
        "demo_build_info": [
            {
                "arch": ARCH,
                "branch": AWKWARD.branch,
                "dirty": "true",
                "os": OS,
                "program": "demo",
                "pythonversion": PYTHON_VERSION,
                "revision": "deadbeef",
                "tag": AWKWARD.tag,
                "version": AWKWARD.version,
            }
        ],
        "python_mod_info": [
            {"name": name, "program": "demo", "version": version} for name, version in AWKWARD.running_dependencies()
        ],
        "python_mod_drift_info": [
            {"name": name, "program": "demo", "locked": version, "installed": AWKWARD_INSTALLED.get(name, "none")}
            for name, version in AWKWARD.running_dependencies()
        ],
    }


def test_awkward_label_values_in_the_text_format():
    text = generate_latest(registry_with(AWKWARD, AWKWARD_INSTALLED)).decode("utf-8")
    assert text.splitlines() == AWKWARD_LINES
    assert _samples(parse_text(text)) == _expected_samples()


def test_awkward_label_values_in_openmetrics():
    text = generate_openmetrics(registry_with(AWKWARD, AWKWARD_INSTALLED)).decode("utf-8")
    assert text.splitlines() == [*AWKWARD_LINES, "# EOF"]
    assert _samples(parse_openmetrics(text)) == _expected_samples()


# --- a scrape does no work --------------------------------------------------------------------


def _fail(*args: object, **kwargs: object):
    raise AssertionError("a scrape must not do I/O or parsing")


def test_a_scrape_hands_back_precomputed_families(monkeypatch):
    # The installed versions are read here, from sys.path, and never again.
    build, mod = BuildInfoCollector(INFO, registry=None), ModInfoCollector(INFO, registry=None)
    registry = CollectorRegistry()
    registry.register(build)
    registry.register(mod)
    expected = generate_latest(registry)
    first = (build.collect(), mod.collect())
    families = [[list(family.samples) for family in collected] for collected in first]
    with monkeypatch.context() as patch:
        patch.setattr(markers, "evaluate", _fail)
        patch.setattr(markers, "holds", _fail)
        patch.setattr(markers, "environment", _fail)
        patch.setattr(BuildInfo, "running_dependencies", _fail)
        patch.setattr("hatch_buildinfo.metrics.os_and_arch", _fail)
        patch.setattr("hatch_buildinfo.metrics.python_version", _fail)
        patch.setattr("hatch_buildinfo.drift.installed_versions", _fail)
        patch.setattr("hatch_buildinfo.metrics.installed_versions", _fail)
        patch.setattr(os, "listdir", _fail)
        patch.setattr("importlib.metadata.distributions", _fail)
        patch.setattr(os, "uname", _fail)
        patch.setattr(builtins, "open", _fail)
        scrapes = [generate_latest(registry) for _ in range(3)]
        again = (build.collect(), mod.collect())
    assert scrapes == [expected] * 3
    for before, after in zip(first, again):
        assert len(after) == len(before)
        assert all(now is then for now, then in zip(after, before)), "collect() hands back the same families"
    assert [[list(family.samples) for family in collected] for collected in again] == families


def test_concurrent_scrapes_while_the_shim_is_used(tmp_path, monkeypatch):
    package = "metrics_concurrency_pkg"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "_buildinfo.py").write_text(render(INFO), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = registry_with()
    expected = generate_latest(registry)
    errors: list[BaseException] = []
    outputs: list[set[bytes]] = []
    rounds: list[int] = []
    start = threading.Barrier(9)
    done = threading.Event()

    def scrape() -> None:
        seen = set()
        try:
            start.wait(DEADLINE)
            for _ in range(200):
                seen.add(generate_latest(registry))
        except BaseException as error:
            errors.append(error)
        outputs.append(seen)

    def use_the_shim() -> None:
        try:
            start.wait(DEADLINE)
            while True:
                info = hatch_buildinfo.build_info(package)
                assert info == INFO
                assert dict(info.running_dependencies())["idna"] == "3.7"
                assert hatch_buildinfo.version_text(info).startswith("demo, version 1.2.3")
                rounds.append(1)
                if done.is_set():
                    break
        except BaseException as error:
            errors.append(error)

    scrapers = [threading.Thread(target=scrape) for _ in range(8)]
    user = threading.Thread(target=use_the_shim)
    for thread in [*scrapers, user]:
        thread.start()
    for thread in scrapers:
        thread.join(DEADLINE)
    done.set()
    user.join(DEADLINE)
    assert not errors
    assert not any(thread.is_alive() for thread in [*scrapers, user])
    assert outputs == [{expected}] * 8
    assert rounds, "the shim was used while scrapes ran"


# --- promtool on example_app's real /metrics --------------------------------------------------


def _served_port(server: subprocess.Popen, log: Path) -> int:
    """The port example-app says it serves on, waiting for it until the deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        match = re.search(r"serving /metrics and /buildinfo on http://127\.0\.0\.1:(\d+)", log.read_text())
        if match:
            return int(match.group(1))
        if server.poll() is not None:
            raise AssertionError(f"example-app serve exited with {server.returncode}:\n{log.read_text()}")
        time.sleep(0.02)
    raise AssertionError(f"example-app serve did not start within {DEADLINE}s:\n{log.read_text()}")


def _scrape_when_up(url: str) -> str:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            return fetch(url)[1]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_promtool_accepts_example_app_metrics(example_venv, promtool, tmp_path):
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [str(example_venv / "bin" / "example-app"), "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp_path,
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        port = _served_port(server, log)
        body = _scrape_when_up(f"http://127.0.0.1:{port}/metrics")
        assert re.search(r"^example_app_build_info\{.*\} 1\.0$", body, re.MULTILINE)
        assert re.search(r'^python_mod_info\{name="prometheus-client",program="example_app",', body, re.MULTILINE)
        check = subprocess.run(
            [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=DEADLINE
        )
        assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
        # and the same promtool does speak up about a metric it dislikes
        bad = "# HELP demo_requests Requests.\n# TYPE demo_requests counter\ndemo_requests 1\n"
        complaint = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True, text=True)
        assert complaint.returncode != 0
        assert '"_total" suffix' in complaint.stdout + complaint.stderr
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            status = server.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
    assert status == 0, log.read_text()


def test_build_and_commit_times_are_gauges_where_the_dates_are_recorded():
    dated = INFO.replace(build_date="2026-11-24T15:00:00Z", commit_date="2026-11-24T14:58:03Z")
    lines = generate_latest(registry_with(dated)).decode().splitlines()
    assert "# TYPE demo_build_timestamp_seconds gauge" in lines
    assert 'demo_build_timestamp_seconds{program="demo"} 1.7955324e+09' in lines  # 1795532400
    assert 'demo_commit_timestamp_seconds{program="demo"} 1.795532283e+09' in lines  # 1795532283


def test_a_free_form_build_date_gives_no_time_gauge():
    lines = generate_latest(registry_with(INFO.replace(build_date="20250101-12:00:00"))).decode()
    assert "timestamp_seconds" not in lines
