"""example_app, built with the hook like a user's service, installed in a fresh venv."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, UV, install, run
from test_serve import HOST, free_port, get, samples, service_environment, started, wait_until_answers

# A version of prometheus-client that the lock pins for no Python.
OTHER_PROMETHEUS_CLIENT = "0.20.0"


@pytest.fixture(scope="module")
def drifted_venv(example_wheel, locked_versions, wheelhouse, tmp_path_factory) -> Path:
    """example_app installed as locked, then prometheus-client replaced by another version, as a deploy might."""
    venv = tmp_path_factory.mktemp("drifted") / "venv"
    install(example_wheel, venv, wheelhouse, "--constraint", locked_versions["constraints"])
    requirement = f"prometheus-client=={OTHER_PROMETHEUS_CLIENT}"
    run(UV, "pip", "install", "--quiet", "--python", venv, requirement, cwd=venv.parent)
    return venv


def _checkout() -> tuple[str, str]:
    revision = run("git", "rev-parse", "HEAD", cwd=ROOT).stdout.strip()
    branch = run("git", "rev-parse", "--abbrev-ref", "HEAD", cwd=ROOT).stdout.strip()
    return revision, branch


def test_version_prints_the_design_text(example_venv):
    output = run(example_venv / "bin" / "example-app", "--version", cwd=example_venv).stdout
    revision, branch = _checkout()
    lines = output.splitlines()
    assert lines[0] == f"example_app, version 0.1.0 (branch: {branch}, revision: {revision})"
    assert [line.split(":")[0] for line in lines[1:6]] == [
        "  build user",
        "  build date",
        "  python version",
        "  platform",
        "  dependencies",
    ]
    assert all(line[20:].strip() for line in lines[1:5]), "every value sits in the aligned column"
    assert re.fullmatch(r"  build date:       \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[2])
    assert lines[3] == f"  python version:   {'.'.join(map(str, sys.version_info[:3]))}"


def test_version_lists_the_locked_dependencies_aligned(example_venv, locked_versions):
    output = run(example_venv / "bin" / "example-app", "--version", cwd=example_venv).stdout
    dependencies = output.split("  dependencies:\n")[1].splitlines()
    assert dependencies == [
        "    hatch-buildinfo:    0.1.0",
        f"    prometheus-client:  {locked_versions['prometheus-client']}",
    ]


def test_version_marks_a_dependency_installed_at_another_version(drifted_venv, locked_versions, tmp_path):
    output = run(drifted_venv / "bin" / "example-app", "--version", cwd=tmp_path).stdout
    locked = locked_versions["prometheus-client"]
    assert f"    prometheus-client:  {locked} (installed: {OTHER_PROMETHEUS_CLIENT})" in output.splitlines()
    assert "    hatch-buildinfo:    0.1.0" in output.splitlines()


@pytest.mark.parametrize(("venv", "installed"), [("example_venv", None), ("drifted_venv", OTHER_PROMETHEUS_CLIENT)])
def test_serve_shows_drift_as_one_series(venv, installed, locked_versions, request, tmp_path):
    """/metrics of `example-app serve`: one python_mod_drift_info series where one dependency drifted, else none."""
    venv = request.getfixturevalue(venv)
    port = free_port()
    command = [venv / "bin" / "example-app", "serve", "--host", HOST, "--port", str(port)]
    with started(command, env=service_environment(), cwd=tmp_path, log=tmp_path / "serve.log") as process:
        wait_until_answers(process, f"http://{HOST}:{port}/metrics")
        status, _, body = get(f"http://{HOST}:{port}/metrics")
    assert status == 200, body
    assert "# TYPE python_mod_drift_info gauge" in body.splitlines()
    drift = [sample.labels for sample in samples(body) if sample.name == "python_mod_drift_info"]
    locked = locked_versions["prometheus-client"]
    labels = {"name": "prometheus-client", "program": "example_app", "locked": locked, "installed": installed}
    assert drift == ([labels] if installed else [])


# Counts the reads of the installed versions in a process that imports example_app.app, then sets it up; the
# counter goes in before hatch_buildinfo.metrics imports the read by name.
SET_UP = textwrap.dedent(
    """\
    import json
    import wsgiref.util
    import hatch_buildinfo.drift as drift
    reads, read = [], drift.installed_versions
    drift.installed_versions = lambda: reads.append(1) or read()
    counts = {}
    import example_app.app
    counts["import"] = len(reads)
    application = example_app.app.application
    counts["set up"] = len(reads)
    statuses, environ = [], {"PATH_INFO": "/metrics"}
    wsgiref.util.setup_testing_defaults(environ)
    for _ in range(3):
        application(dict(environ), lambda status, headers: statuses.append(status))
    counts["scraped"] = len(reads)
    assert example_app.app.application is application and statuses == ["200 OK"] * 3
    print(json.dumps(counts))
    """
)


def test_the_installed_versions_are_read_at_set_up_not_at_import(example_venv, tmp_path):
    output = run(example_venv / "bin" / "python", "-c", SET_UP, cwd=tmp_path).stdout
    assert json.loads(output) == {"import": 0, "set up": 1, "scraped": 1}


def test_runtime_install_pulls_in_neither_hatchling_nor_gitpython(example_venv):
    installed = run(UV, "pip", "list", "--python", example_venv, "--format", "json", cwd=example_venv).stdout
    names = {package["name"] for package in json.loads(installed)}
    assert names == {"example-app", "hatch-buildinfo", "prometheus-client"}


def test_inspect_installed_distribution(example_venv):
    output = run(
        example_venv / "bin" / "python", "-m", "hatch_buildinfo", "inspect", "example-app", "--json", cwd=example_venv
    ).stdout
    data = json.loads(output)
    assert (data["program"], data["revision"]) == ("example_app", _checkout()[0])


def test_ping_fetches_its_own_buildinfo_with_its_user_agent_and_logs_it(example_venv):
    """`example-app ping`: the log filter's facts on every line, info_text first, the User-Agent on the request."""
    python = example_venv / "bin" / "python"
    inspected = run(python, "-m", "hatch_buildinfo", "inspect", "example-app", "--json", cwd=example_venv)
    facts = json.loads(inspected.stdout)
    script = "from hatch_buildinfo import build_info, info_text, user_agent as u; i = build_info('example_app')"
    expected_agent, expected_info = run(
        python, "-c", f"{script}; print(u(i)); print(info_text(i))", cwd=example_venv
    ).stdout.splitlines()

    result = run(example_venv / "bin" / "example-app", "ping", cwd=example_venv, env=service_environment())

    assert json.loads(result.stdout) == facts
    lines = result.stderr.splitlines()
    prefix = f"example-app {facts['version']} ({facts['revision'][:7]}): "
    assert lines and all(line.startswith(prefix) for line in lines), lines
    assert lines[0] == f"{prefix}starting {expected_info}"
    assert lines[-1] == f'{prefix}"GET /buildinfo HTTP/1.1" 200 from {expected_agent}'
    shape = rf"example_app/0\.1\.0 \(revision {facts['revision'][:7]}(-modified)?; python [\d.]+; [\w.-]+/[\w.-]+\)"
    assert re.fullmatch(shape, expected_agent), expected_agent
