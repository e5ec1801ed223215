"""bench/freshness.py --smoke runs end to end against a real loopback index and prints its figures and ratios;
timings are not asserted, what the unchanged refresh sent and received is."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_freshness_benchmark_smoke(tmp_path):
    command = [sys.executable, str(ROOT / "bench" / "freshness.py"), "--smoke"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert re.search(r"^index: 60 projects, [0-9]+ versions, [0-9]+ files; JSON pages median [0-9.]+ KiB", output, re.M)
    first = re.search(
        r"^  first refresh +[0-9.]+ ms +([0-9.]+) MiB +60 requests, 0 answered 304 \(60 served\), "
        r"60 projects, 0 errors$",
        output,
        re.M,
    )
    assert first and float(first[1]) > 0, output
    # Nothing changed: every request conditional, every answer a 304 without a body (headers only).
    unchanged = re.search(
        r"^  unchanged refresh +[0-9.]+ ms +([0-9.]+) MiB +60 requests, 60 answered 304 \(60 served\), "
        r"60 projects, 0 errors$",
        output,
        re.M,
    )
    assert unchanged and float(unchanged[1]) < float(first[1]) / 20, output
    assert re.search(r"^  peak RSS of the client \(ru_maxrss\), last run: [0-9.]+ MiB$", output, re.M), output
    assert re.search(r"^  unchanged / first, bytes: 0\.0[0-4][0-9]x  \(goal <= 0\.05x: met\)$", output, re.M), output
    assert re.search(r"^  unchanged / first, time: +[0-9.]+x  \(goal <= 0\.2x: (met|MISSED)\)$", output, re.M), output
