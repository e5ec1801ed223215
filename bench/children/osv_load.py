"""One run of bench/advisories.py, in this fresh process.

    python osv_load.py json ZIP            # the floor: json.loads of every record of ZIP, all kept
    python osv_load.py load ZIP PAIRS      # hatch_buildinfo.fleet.advisories.load(ZIP), then every pair matched twice

PAIRS is a JSON list of [name, version]. Prints one JSON object: the seconds of each step, what it found,
and the peak resident set (VmHWM, KiB; Linux; 0 elsewhere).
"""

import json
import sys
import time
import zipfile


def plain(path: str) -> dict:
    start = time.perf_counter()
    with zipfile.ZipFile(path) as archive:
        records = [json.loads(archive.read(name)) for name in archive.namelist() if name.endswith(".json")]
    return {"load": time.perf_counter() - start, "records": len(records)}


def ours(path: str, pairs_path: str) -> dict:
    from hatch_buildinfo.fleet.advisories import load

    with open(pairs_path) as file:
        pairs = json.load(file)
    start = time.perf_counter()
    database = load(path)
    loaded = time.perf_counter()
    cold = sum(len(database.affecting(name, version)) for name, version in pairs)
    matched = time.perf_counter()
    warm = sum(len(database.affecting(name, version)) for name, version in pairs)
    again = time.perf_counter()
    assert cold == warm, (cold, warm)
    return {
        "load": loaded - start,
        "cold": matched - loaded,
        "warm": again - matched,
        "skipped": len(database.skipped),
        "findings": cold,
    }


def peak_kib() -> int:
    try:
        with open("/proc/self/status") as status:
            return int(next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0"))
    except OSError:
        return 0


result = plain(sys.argv[2]) if sys.argv[1] == "json" else ours(sys.argv[2], sys.argv[3])
result["peak_kib"] = peak_kib()
print(json.dumps(result))
