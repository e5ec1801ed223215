"""bench/advisories.py --smoke runs end to end and prints its figures and ratios; timings are not asserted."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_advisories_benchmark_smoke(tmp_path):
    command = [sys.executable, str(ROOT / "bench" / "advisories.py"), "--smoke"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert re.search(r"^database: 600 records of 150 projects, all\.zip [0-9.]+ MiB; 600 pairs$", output, re.M), output
    for row in (
        "floor: json.loads of every record",
        "ours: load and index",
        "ours: match 600 pairs, cold",
        "ours: match 600 pairs, warm",
    ):
        assert re.search(rf"^  {re.escape(row)} +[0-9.]+ ms", output, re.M), row
    assert re.search(r"^  0 records skipped, [1-9][0-9]* findings$", output, re.M), output
    assert re.search(r"^  load and index / floor: [0-9.]+x  \(goal <= 2x: (met|MISSED)\)$", output, re.M), output
    assert re.search(r"^  match cold / load: +[0-9.]+x  \(goal <= 0\.1x: (met|MISSED)\)$", output, re.M), output
