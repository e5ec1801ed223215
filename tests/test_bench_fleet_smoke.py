"""bench/fleet.py --smoke runs end to end with Debian's prometheus and leaves no process behind.

Timings are not asserted. A smoke run takes about 30 s: each Prometheus applies its scrape targets
up to 5 s after it starts.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, debian_prometheus

FLEET = ROOT / "bench" / "fleet.py"
CONFIGURATIONS = ("baseline (old rules)", "one server", "two-tier, 2 shards")


def processes_mentioning(text: str) -> list[str]:
    """The command lines of running processes that contain `text`.

    Every process the benchmark starts has its work directory on its command line.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if text in command:
            found.append(f"{entry.name}: {command}")
    return found


def work_directory(output: str) -> str:
    found = re.search(r"^work directory: (\S+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def test_fleet_benchmark_smoke(tmp_path):
    prometheus = debian_prometheus("prometheus")
    command = [sys.executable, str(FLEET), "--smoke", "--prometheus", prometheus]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    workdir = work_directory(output)
    assert not processes_mentioning(workdir), "left running"
    assert not Path(workdir).exists()

    header = next(line for line in output.splitlines() if line.startswith("| |"))
    assert [cell.strip() for cell in header.strip("|").split("|")][1:] == list(CONFIGURATIONS)
    rows = {line.split("|")[1].strip(): line for line in output.splitlines() if line.startswith("| ")}
    for row in ("rule evaluation, s an hour, all servers", "head series", "peak RSS, MiB"):
        assert row in rows, row
    assert rows["answers and alerts identical to one server's"].split("|")[2:5] == [" — ", " (reference) ", " yes "]
    assert "identical: yes" in output
    assert "identical: no" not in output


def test_fleet_benchmark_stops_everything_on_sigterm(tmp_path):
    prometheus = debian_prometheus("prometheus")
    log = tmp_path / "output.txt"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, str(FLEET), "--smoke", "--prometheus", prometheus],
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        # Once the first Prometheus scrapes the fleet server, both are running.
        while "targets up" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None, log.read_text()
        workdir = work_directory(log.read_text())
        assert len(processes_mentioning(workdir)) >= 2
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not processes_mentioning(workdir), "left running"
    assert not Path(workdir).exists()
