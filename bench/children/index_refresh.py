"""One run of bench/freshness.py, in this fresh process: a first refresh, then, when told, an unchanged one.

    python index_refresh.py URL NAMES CONCURRENCY

NAMES is a JSON list of project names. Prints one JSON object a line after each refresh: its seconds, the
requests it sent, the 304s among them, the projects it read, its errors and unknown names; the second also the
peak resident set (ru_maxrss: KiB on Linux). Between the two it waits for a line on standard input, so
that the caller can read and reset the server's counters.
"""

import json
import resource
import sys
import time

from hatch_buildinfo.fleet.index import PackageIndex


def refreshed(index, names: list) -> dict:
    start = time.perf_counter()
    refresh = index.refresh(names)
    return {
        "seconds": time.perf_counter() - start,
        "requests": refresh.requests,
        "not_modified": refresh.not_modified,
        "projects": len(refresh.projects),
        "errors": len(refresh.errors),
        "unknown": len(refresh.unknown),
        "first_error": refresh.errors[0] if refresh.errors else None,
    }


url, names_path, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(names_path) as file:
    names = json.load(file)
index = PackageIndex([url], concurrency=concurrency)
print(json.dumps(refreshed(index, names)), flush=True)
sys.stdin.readline()
second = refreshed(index, names)
second["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
index.close()
print(json.dumps(second), flush=True)
