"""The runtime shim stays cheap: `import hatch_buildinfo` and reading build info load nothing heavy,
and without prometheus_client only the metrics module is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import UV, clean_environment, run

from hatch_buildinfo.hook.render import render
from hatch_buildinfo.info import BuildInfo

HEAVY = ("prometheus_client", "hatchling", "git", "gitdb", "importlib.metadata", "packaging")
PACKAGE = "shim_demo_app"
INFO = BuildInfo(
    "shim_demo_app",
    "4.5.6",
    revision="0123456789abcdef0123456789abcdef01234567",
    branch="main",
    dirty=False,
    tag="v4.5.6",
    commit_date="2026-11-24T14:58:03Z",
    build_user="alice",
    build_date="2026-11-24T15:00:00Z",
    dependencies=[("certifi", "2024.2.2"), ("requests", "2.32.3")],
)


def generated_package(root: Path) -> Path:
    """A package `shim_demo_app` under `root` whose `_buildinfo.py` the hook's renderer wrote."""
    package = root / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A stamped package."""\n', encoding="utf-8")
    (package / "_buildinfo.py").write_text(render(INFO), encoding="utf-8")
    return root


def run_python(python: str | Path, script: str, path: Path, cwd: Path) -> dict:
    """Run `script` in a fresh interpreter with `path` on PYTHONPATH; it prints one JSON object."""
    result = subprocess.run(
        [str(python), "-c", script],
        cwd=cwd,
        env=clean_environment(PYTHONPATH=str(path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


READ = f"""if True:
    import json, sys
    import hatch_buildinfo
    info = hatch_buildinfo.build_info({PACKAGE!r})
    running = info.running_dependencies()
    text = hatch_buildinfo.version_text(info.replace(dependencies=()))
    unwanted = {HEAVY!r} + ("hatch_buildinfo.metrics", "hatch_buildinfo.fallback")
    found = sorted(name for name in sys.modules if name in unwanted)
    import importlib
    importlib.import_module("hatch_buildinfo.metrics")
    print(json.dumps({{
        "program": info.program, "revision": info.revision, "running": running, "text": text,
        "loaded_before_metrics": found,
        "prometheus_after_metrics": "prometheus_client" in sys.modules,
    }}))
"""


def test_reading_build_info_loads_nothing_heavy(tmp_path):
    path = generated_package(tmp_path / "path")
    out = run_python(sys.executable, READ, path, tmp_path)
    assert (out["program"], out["revision"]) == ("shim_demo_app", INFO.revision)
    assert [tuple(pair) for pair in out["running"]] == [("certifi", "2024.2.2"), ("requests", "2.32.3")]
    assert out["text"].startswith("shim_demo_app, version 4.5.6 (branch: main, revision: 0123456789abcdef")
    assert out["loaded_before_metrics"] == []
    assert out["prometheus_after_metrics"] is True


def test_version_text_with_dependencies_loads_only_the_drift_check(tmp_path):
    """`--version` compares the lock with what is installed (documented), from directory names: nothing heavy."""
    script = f"""if True:
        import json, sys
        import hatch_buildinfo
        text = hatch_buildinfo.version_text(hatch_buildinfo.build_info({PACKAGE!r}))
        print(json.dumps({{"text": text, "loaded": sorted(name for name in sys.modules if name in {HEAVY!r})}}))
    """
    out = run_python(sys.executable, script, generated_package(tmp_path / "path"), tmp_path)
    assert out["text"].splitlines()[-1].startswith("    requests:  2.32.3")
    assert out["loaded"] == []


RUN_TIME_SIDE = f"""if True:
    import importlib, json, pkgutil, sys
    import hatch_buildinfo
    # Every module of the package but the build and fleet sides' subpackages, found on disk, not listed by hand.
    names = [module.name for module in pkgutil.iter_modules(hatch_buildinfo.__path__) if module.name != "__main__"]
    for name in names:
        if name not in ("hook", "fleet"):
            importlib.import_module(f"hatch_buildinfo.{{name}}")
    info = hatch_buildinfo.build_info({PACKAGE!r})
    hatch_buildinfo.version_text(info)
    from hatch_buildinfo.metrics import register
    register(info)
    print(json.dumps({{
        "imported": sorted(name for name in sys.modules if name.startswith("hatch_buildinfo.")),
        "build_side": sorted(name for name in sys.modules if name.startswith("hatch_buildinfo.hook")),
        "fleet_side": sorted(name for name in sys.modules if name.startswith("hatch_buildinfo.fleet")),
    }}))
"""


def test_the_run_time_side_loads_no_build_side_or_fleet_side_module(tmp_path):
    """Every run-time module, the text, the collectors: nothing from hatch_buildinfo.hook or .fleet."""
    out = run_python(sys.executable, RUN_TIME_SIDE, generated_package(tmp_path / "path"), tmp_path)
    assert {"hatch_buildinfo.metrics", "hatch_buildinfo.cli", "hatch_buildinfo.fallback"} <= set(out["imported"])
    assert out["build_side"] == []
    assert out["fleet_side"] == []


@pytest.fixture(scope="module")
def bare_venv(wheelhouse, tmp_path_factory) -> Path:
    """hatch-buildinfo's wheel alone (no prometheus_client) in a fresh `uv venv`."""
    (wheel,) = wheelhouse.glob("hatch_buildinfo-*.whl")
    venv = tmp_path_factory.mktemp("bare") / "venv"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=venv.parent)
    run(UV, "pip", "install", "--quiet", "--no-index", "--no-deps", "--python", venv, wheel, cwd=venv.parent)
    return venv


WITHOUT_PROMETHEUS = f"""if True:
    import importlib, importlib.util, json
    import hatch_buildinfo
    assert importlib.util.find_spec("prometheus_client") is None, "prometheus_client is installed"
    errors = []
    for attempt in range(2):
        try:
            importlib.import_module("hatch_buildinfo.metrics")
        except ImportError as error:
            errors.append([type(error).__name__, str(error)])
    info = hatch_buildinfo.build_info({PACKAGE!r})
    print(json.dumps({{
        "file": hatch_buildinfo.__file__,
        "errors": errors,
        "version_text": hatch_buildinfo.version_text(info),
        "json_text": hatch_buildinfo.json_text(info),
    }}))
"""


def test_without_prometheus_client_only_metrics_is_missing(bare_venv, tmp_path):
    out = run_python(bare_venv / "bin" / "python", WITHOUT_PROMETHEUS, generated_package(tmp_path / "path"), tmp_path)
    assert out["file"].startswith(str(bare_venv)), "the installed wheel, not this checkout"
    assert len(out["errors"]) == 2, "importing hatch_buildinfo.metrics raises ImportError, every time"
    for kind, message in out["errors"]:
        assert kind in ("ImportError", "ModuleNotFoundError")
        assert "pip install 'hatch-buildinfo[prometheus]'" in message
    lines = out["version_text"].splitlines()
    assert lines[0] == f"shim_demo_app, version 4.5.6 (branch: main, revision: {INFO.revision})"
    assert lines[-2:] == ["    certifi:   2024.2.2 (not installed)", "    requests:  2.32.3 (not installed)"]
    assert json.loads(out["json_text"]) == INFO.as_dict()


@pytest.mark.parametrize(
    "arguments",
    [("audit", "app.whl", "--osv", "db"), ("exporter", "--prometheus", "http://127.0.0.1:9090", "--osv", "db")],
)
def test_without_the_fleet_extra_each_fleet_command_says_what_to_install(bare_venv, tmp_path, arguments):
    """The wheel alone has neither packaging, cvss nor httpx: a fleet command is one line naming the extra, exit
    status 2."""
    result = run(bare_venv / "bin" / "hatch-buildinfo", *arguments, cwd=tmp_path, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"hatch-buildinfo: error: {arguments[0]} needs ")
    assert line.endswith(": pip install 'hatch-buildinfo[fleet]'")
