"""bench/runtime.py runs end to end and prints its tables; timings are not asserted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_runtime_benchmark_smoke(tmp_path):
    pytest.importorskip("prometheus_client")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("BUILDINFO_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "runtime.py"), "--smoke"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert output.startswith("machine: nproc=")

    assert "== Start-up: fresh `python -c` processes, 3 interleaved runs of each, medians ==" in output
    assert "env: this env (" in output
    # The goals' venv is there whatever the base interpreter has installed.
    assert re.search(r"^env: venv with copied metadata \(.*\), 100 distributions$", output, re.MULTILINE)
    for row in (
        "python -c pass",
        "(a) import benchapp._buildinfo (30 deps)",
        "(b) hatch_buildinfo.build_info('benchapp')",
        "(c) importlib.metadata.version(",
        "(d) distributions() read fully (",
        "(e) example-app --version",
        "(f) drift.installed_versions() (100 dists)",
        "(g) import example_app.__main__",
        "shim overhead over the module alone, (b)-(a):",
        "distributions()/shim, (d)/(b):",
        "installed_versions()/distributions(), (f)/(d):",
        "example-app --version against its imports alone, (e)/(g):",
    ):
        assert row in output, row
    for column in ("case", "wall ms", "net ms", "in-proc ms", "RSS MiB"):
        assert column in output, column

    assert "== Scrape: generate_latest(registry)" in output
    scrape = output.split("== Scrape:", 1)[1].splitlines()
    header = next(line for line in scrape if line.split()[:1] == ["deps"])
    for column in ("runs", "ours ms", "Gauge ms", "ratio", "us/series", "OpenMetrics ms", "what-if ms", "same bytes"):
        assert column in header, column
    rows = {line.split()[0]: line.split() for line in scrape if line.split()[:1] in (["10"], ["100"])}
    assert set(rows) == {"10", "100"}
    # Our collectors and the Gauge-built registry expose the same bytes: the comparison is fair.
    assert all(row[-1] == "yes" for row in rows.values()), rows
