"""example-app serve and example_app's WSGI application under gunicorn, as real processes on real ports.

Every server is started on a port found free at run time, polled with a deadline until it answers,
and stopped in a `finally` even when an assertion fails.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import clean_environment, install, run
from packaging.markers import Marker
from prometheus_client.parser import text_string_to_metric_families

HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds for a server to answer its first request
STOP_TIMEOUT = 30.0  # seconds for a server to exit after SIGTERM (gunicorn's graceful timeout is 30)
POLL = 0.05
SCRAPES = 20
WORKERS = 3

# Never send a request for 127.0.0.1 through a proxy named in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- helpers ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on right now, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing accepts connections on `port`, and a new server could listen on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        if client.connect_ex((HOST, port)) != errno.ECONNREFUSED:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        # As every server does (socketserver, gunicorn): closed connections in TIME_WAIT do not hold the port.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((HOST, port))
            listener.listen()
        except OSError:
            return False
    return True


def wait_for(predicate, timeout: float, what: str):
    """Poll `predicate` until it returns something true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL)


def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, whatever the status."""
    try:
        with _OPENER.open(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8")


def log_of(process: subprocess.Popen) -> str:
    return Path(process.log).read_text(errors="replace") if Path(process.log).exists() else ""


def wait_until_answers(process: subprocess.Popen, url: str) -> None:
    """Poll `url` until the server answers at all; fail at once if the server has exited."""

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode} before answering:\n{log_of(process)}")
        try:
            get(url)
        except (OSError, http.client.HTTPException):
            return False
        return True

    try:
        wait_for(answers, START_TIMEOUT, f"{url} to answer")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{log_of(process)}") from None


def alive(pid: int) -> bool:
    """Whether `pid` is a process that still runs (a zombie has stopped running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """The pids of `pid`'s child processes."""
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return sorted(int(line) for line in result.stdout.split())


@contextlib.contextmanager
def started(command: list, *, env: dict[str, str], cwd: Path, log: Path):
    """Run `command` in a session of its own, output to `log`; on the way out stop it and anything it started."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log = log
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT; then SIGKILL what is left of the process group it leads."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    # Workers the process forked are in its process group, whose id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def inspect_json(venv: Path) -> dict:
    """`python -m hatch_buildinfo inspect example-app --json` in `venv`."""
    output = run(venv / "bin" / "python", "-m", "hatch_buildinfo", "inspect", "example-app", "--json", cwd=venv).stdout
    return json.loads(output)


def running_dependencies(inspected: dict) -> list[tuple[str, str]]:
    """The locked dependencies whose marker holds for this interpreter (the venvs run this same interpreter)."""
    running = [
        (entry["name"], entry["version"])
        for entry in inspected["dependencies"]
        if not entry.get("marker") or Marker(entry["marker"]).evaluate()
    ]
    names = [name for name, _ in running]
    assert len(names) == len(set(names)), f"the lock gives this interpreter two versions of one package: {running}"
    return sorted(running)


def sample_lines(body: str, name: str) -> list[str]:
    """The exposition lines of metric `name`'s samples (not its HELP or TYPE)."""
    return [line for line in body.splitlines() if line.startswith((name + "{", name + " "))]


def samples(body: str) -> list:
    return [sample for family in text_string_to_metric_families(body) for sample in family.samples]


def service_environment(**extra: str) -> dict[str, str]:
    environ = clean_environment(**extra)
    if "PROMETHEUS_MULTIPROC_DIR" not in extra:
        environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return environ


def expected_build_labels(inspected: dict) -> dict[str, str]:
    dirty = inspected["dirty"]
    return {
        "program": inspected["program"],
        "version": inspected["version"],
        "revision": inspected["revision"],
        "branch": inspected["branch"],
        "tag": inspected["tag"] or "",
        "dirty": "unknown" if dirty is None else str(dirty).lower(),
        "pythonversion": ".".join(map(str, sys.version_info[:3])),
        "os": sys.platform,
        "arch": os.uname().machine.lower(),
    }


# --- example-app serve ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inspected(example_venv) -> dict:
    return inspect_json(example_venv)


@pytest.fixture(scope="module")
def served(example_venv, tmp_path_factory) -> str:
    """`example-app serve` from the locked venv, answering; its base URL."""
    directory = tmp_path_factory.mktemp("serve")
    port = free_port()
    command = [example_venv / "bin" / "example-app", "serve", "--host", HOST, "--port", str(port)]
    with started(command, env=service_environment(), cwd=directory, log=directory / "serve.log") as process:
        base = f"http://{HOST}:{port}"
        wait_until_answers(process, base + "/buildinfo")
        yield base


@pytest.fixture(scope="module")
def metrics(served) -> str:
    status, content_type, body = get(served + "/metrics")
    assert status == 200, body
    assert content_type.startswith("text/plain"), content_type
    return body


def test_metrics_has_exactly_one_build_info_line(metrics, inspected):
    (line,) = sample_lines(metrics, "example_app_build_info")
    assert line.endswith("} 1.0"), line
    (sample,) = [sample for sample in samples(metrics) if sample.name == "example_app_build_info"]
    assert sample.labels == expected_build_labels(inspected)
    assert sample.value == 1.0


def test_metrics_has_one_mod_info_line_per_running_dependency(metrics, inspected, locked_versions):
    expected = running_dependencies(inspected)
    assert [name for name, _ in expected].count("prometheus-client") == 1
    assert ("prometheus-client", locked_versions["prometheus-client"]) in expected

    lines = sample_lines(metrics, "python_mod_info")
    assert len(lines) == len(expected), lines
    assert all(line.endswith("} 1.0") for line in lines), lines
    found = [sample for sample in samples(metrics) if sample.name == "python_mod_info"]
    assert sorted((sample.labels["name"], sample.labels["version"]) for sample in found) == expected
    assert {sample.labels["program"] for sample in found} == {"example_app"}
    assert {sample.value for sample in found} == {1.0}


def test_metrics_keeps_prometheus_client_process_and_python_info(metrics):
    names = {sample.name for sample in samples(metrics)}
    process_metrics = {
        "process_cpu_seconds_total",
        "process_virtual_memory_bytes",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "process_max_fds",
    }
    assert process_metrics <= names, sorted(names)
    (python_info,) = [sample for sample in samples(metrics) if sample.name == "python_info"]
    major, minor, patchlevel = map(str, sys.version_info[:3])
    assert python_info.labels["version"] == f"{major}.{minor}.{patchlevel}"
    assert (python_info.labels["major"], python_info.labels["minor"]) == (major, minor)
    assert python_info.value == 1.0


def test_buildinfo_is_the_inspect_json(served, inspected):
    status, content_type, body = get(served + "/buildinfo")
    assert status == 200, body
    assert content_type == "application/json"
    assert json.loads(body) == inspected


@pytest.mark.parametrize("path", ["/", "/metrics/", "/buildinfo.json", "/nothing"])
def test_unknown_path_is_404(served, path):
    status, _, _ = get(served + path)
    assert status == 404


def test_sigterm_exits_zero_and_frees_the_port(example_venv, tmp_path):
    port = free_port()
    command = [example_venv / "bin" / "example-app", "serve", "--host", HOST, "--port", str(port)]
    with started(command, env=service_environment(), cwd=tmp_path, log=tmp_path / "serve.log") as process:
        wait_until_answers(process, f"http://{HOST}:{port}/metrics")
        assert get(f"http://{HOST}:{port}/metrics")[0] == 200

        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"example-app serve still runs {STOP_TIMEOUT:.0f}s after SIGTERM:\n{log_of(process)}")
        assert returncode == 0, log_of(process)
        assert "Traceback" not in log_of(process), log_of(process)
        wait_for(lambda: port_is_free(port), STOP_TIMEOUT, f"port {port} to be free again")


def _non_local_address() -> str:
    """192.0.2.1 (TEST-NET-1, never routed) as long as no interface here has it: binding must fail locally."""
    address = "192.0.2.1"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return address
    pytest.skip(f"this machine has {address} on an interface")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--port", "99999", "--port"),
        ("--port", "abc", "--port"),
        ("--port", "-1", "--port"),
        ("--host", "256.0.0.1", "cannot listen on 256.0.0.1"),
        ("--host", "non-local", "cannot listen on 192.0.2.1"),
    ],
)
def test_bad_address_is_one_line_and_status_2(example_venv, tmp_path, option, value, says):
    if value == "non-local":
        value = _non_local_address()
    arguments = {"--host": HOST, "--port": str(free_port())}
    arguments[option] = value
    command = [str(example_venv / "bin" / "example-app"), "serve"]
    for name, text in arguments.items():
        command += [f"{name}={text}"]
    try:
        result = subprocess.run(
            command, cwd=tmp_path, env=service_environment(), capture_output=True, text=True, timeout=START_TIMEOUT
        )
    except subprocess.TimeoutExpired as error:  # subprocess.run has killed it: it was serving
        pytest.fail(f"{command} kept running instead of failing: {error.stderr!r}")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("example-app"), line
    assert says in line, line
    assert "serving" not in line


# --- gunicorn, prometheus_client multiprocess mode --------------------------------------------------

GUNICORN_CONFIG = """\
from prometheus_client import multiprocess

# Recent gunicorn (27 does) would otherwise open a control socket under the home directory, shared by every gunicorn
# there; older versions ignore a setting they do not know.
control_socket_disable = True


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
"""


@pytest.fixture(scope="module")
def gunicorn_venv(example_wheel, locked_versions, wheelhouse, tmp_path_factory) -> Path:
    """example_app with its locked versions plus gunicorn, in a venv of its own: example_venv stays as it is."""
    venv = tmp_path_factory.mktemp("gunicorn") / "venv"
    return install(example_wheel, venv, wheelhouse, "gunicorn", "--constraint", locked_versions["constraints"])


class Gunicorn:
    def __init__(self, process: subprocess.Popen, port: int, workers: list[int]) -> None:
        self.process = process
        self.port = port
        self.workers = workers
        self.url = f"http://{HOST}:{port}"


@pytest.fixture
def gunicorn(gunicorn_venv, tmp_path):
    """gunicorn serving example_app.app:application with 3 workers in multiprocess mode, all of them booted."""
    multiproc_dir = tmp_path / "prometheus-multiproc"
    multiproc_dir.mkdir()
    config = tmp_path / "gunicorn_conf.py"
    config.write_text(textwrap.dedent(GUNICORN_CONFIG), encoding="utf-8")
    port = free_port()
    command = [
        gunicorn_venv / "bin" / "gunicorn",
        "--config",
        config,
        "--workers",
        str(WORKERS),
        "--bind",
        f"{HOST}:{port}",
        "example_app.app:application",
    ]
    environ = service_environment(PROMETHEUS_MULTIPROC_DIR=str(multiproc_dir))
    with started(command, env=environ, cwd=tmp_path, log=tmp_path / "gunicorn.log") as process:
        server = Gunicorn(process, port, [])
        try:
            wait_until_answers(process, f"{server.url}/metrics")

            def booted() -> list[int]:
                pids = children(process.pid)
                return pids if len(pids) == WORKERS else []

            server.workers = wait_for(booted, START_TIMEOUT, f"{WORKERS} gunicorn workers")
            yield server
        finally:
            stop(process)  # the master first, so that it does not start new workers
            for pid in server.workers:  # then any worker it left behind: only pids we saw it start
                if alive(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)


def test_gunicorn_workers_report_each_build_series_once(gunicorn, gunicorn_venv):
    inspected = inspect_json(gunicorn_venv)
    expected_modules = running_dependencies(inspected)
    for scrape in range(SCRAPES):
        status, _, body = get(gunicorn.url + "/metrics")
        assert status == 200, body
        where = f"scrape {scrape + 1}:\n{body}"

        build = sample_lines(body, "example_app_build_info")
        assert len(build) == 1, where
        assert build[0].endswith("} 1.0"), where
        (sample,) = [sample for sample in samples(body) if sample.name == "example_app_build_info"]
        assert sample.labels == expected_build_labels(inspected), where

        modules = sample_lines(body, "python_mod_info")
        assert len(modules) == len(set(modules)) == len(expected_modules), where
        found = [sample for sample in samples(body) if sample.name == "python_mod_info"]
        assert sorted((sample.labels["name"], sample.labels["version"]) for sample in found) == expected_modules, where
        assert {sample.value for sample in found} == {1.0}, where
    assert gunicorn.process.poll() is None, log_of(gunicorn.process)
    assert children(gunicorn.process.pid) == gunicorn.workers, f"a worker died:\n{log_of(gunicorn.process)}"


def test_sigterm_to_gunicorn_master_stops_every_worker(gunicorn):
    assert all(alive(pid) for pid in gunicorn.workers), gunicorn.workers
    assert get(gunicorn.url + "/metrics")[0] == 200

    gunicorn.process.send_signal(signal.SIGTERM)
    try:
        returncode = gunicorn.process.wait(timeout=STOP_TIMEOUT + 10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gunicorn's master still runs after SIGTERM:\n{log_of(gunicorn.process)}")
    assert returncode == 0, log_of(gunicorn.process)

    wait_for(lambda: not any(alive(pid) for pid in gunicorn.workers), STOP_TIMEOUT, "gunicorn's workers to exit")
    wait_for(lambda: port_is_free(gunicorn.port), STOP_TIMEOUT, f"port {gunicorn.port} to be free again")


def test_serves_on_ipv6_loopback(example_venv, tmp_path):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as error:
        pytest.skip(f"this machine has no IPv6 loopback: {error}")
    port = free_port()
    command = [example_venv / "bin" / "example-app", "serve", "--host", "::1", "--port", str(port)]
    with started(command, env=service_environment(), cwd=tmp_path, log=tmp_path / "serve.log") as process:
        wait_until_answers(process, f"http://[::1]:{port}/buildinfo")
        assert json.loads(get(f"http://[::1]:{port}/buildinfo")[2])["program"] == "example_app"
