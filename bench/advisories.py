"""The advisory database at the scale of OSV's PyPI export: load and index, and matching a fleet's running set.

    python bench/advisories.py [--smoke] [--records N] [--pairs N] [--runs N] [--seed N]

A synthetic, seeded all.zip of N OSV records (default 30,000) in the export's mix: PYSEC records with `versions`
lists and a GIT range beside the ECOSYSTEM one, GHSA records that alias them with a CVSS vector and no `versions`,
and MAL records (malicious releases: introduced "0", a few versions). Each run is a fresh process
(bench/children/osv_load.py), the two kinds interleaved, medians:

- the floor: json.loads of every record in the zip, all kept;
- ours: `hatch_buildinfo.fleet.advisories.load(zip)`, then `affecting()` for every one of the running set's
  distinct (name, version) pairs (default 30,000: a 10,000-service fleet), cold (first use) and warm.

Prints figures, ratios against the floor measured in the same run and the peak resident set; asserts no timing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path

from timing import cpu_model, environment_without, run_child, verdict

RECORDS, PAIRS, RUNS = 30_000, 30_000, 5
SMOKE_RECORDS, SMOKE_PAIRS = 600, 600
LOAD_GOAL = 2.0  # load and index against the floor
MATCH_GOAL = 0.1  # matching every pair against the load
WORDS = "request header parser session token redirect proxy cookie certificate upload path buffer query".split()


def releases(rng: random.Random) -> list[str]:
    """A project's release history, oldest first: 10 to 150 PEP 440 versions, a few pre-releases among them."""
    found = []
    major, minor, patch = 0, rng.randint(0, 9), 0
    for _ in range(rng.randint(10, 150)):
        step = rng.random()
        if step < 0.05:
            major, minor, patch = major + 1, 0, 0
        elif step < 0.35:
            minor, patch = minor + 1, 0
        else:
            patch += 1
        if rng.random() < 0.05:
            found.append(f"{major}.{minor}.{patch}rc1")
        found.append(f"{major}.{minor}.{patch}")
    return found


# The export spells names as PyPI shows them: case and separators vary; matching normalises them.
NAME_SPELLINGS = ("project-{0}", "Project_{0}", "project.{0}-core", "py{0}")


def project_name(index: int) -> str:
    return NAME_SPELLINGS[index % len(NAME_SPELLINGS)].format(index)


def records(count: int, seed: int) -> tuple[list[dict], dict[str, list[str]]]:
    """`count` OSV records and the release history of each project they name."""
    rng = random.Random(seed)
    projects = {project_name(index): releases(rng) for index in range(max(count // 4, 1))}
    names = list(projects)
    made: list[dict] = []
    while len(made) < count:
        name = rng.choice(names)
        history = projects[name]
        year = rng.randint(2014, 2025)
        kind = rng.random()
        cve = f"CVE-{year}-{rng.randint(1000, 99999)}"
        ghsa = "GHSA-" + "-".join("".join(rng.choices("23456789cfghjmpqrvwx", k=4)) for _ in range(3))
        published = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00Z"
        details = " ".join(rng.choices(WORDS, k=rng.randint(30, 150)))
        if kind < 0.3:  # a malicious release
            versions = rng.sample(history, k=min(len(history), rng.randint(1, 3)))
            made.append(
                osv(f"MAL-{year}-{len(made)}", name, [{"introduced": "0"}], versions, published, details, [], None)
            )
            continue
        start = rng.randrange(len(history))
        end = rng.randrange(start, len(history) + 1)
        events: list[dict] = [{"introduced": "0" if start == 0 else history[start]}]
        if end < len(history):
            events.append({"fixed": history[end]})
        affected = history[start:end]
        pysec = osv(f"PYSEC-{year}-{len(made)}", name, events, affected, published, details, [cve, ghsa], None)
        pysec["affected"][0]["ranges"].insert(
            0, {"type": "GIT", "repo": f"https://example.invalid/{name}", "events": [{"introduced": "0"}]}
        )
        made.append(pysec)
        if kind < 0.7 and len(made) < count:  # its GHSA twin, as GitHub publishes it
            vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:" + rng.choice("NLH") + "/A:" + rng.choice("NLH")
            made.append(osv(ghsa, name, events, [], published, details, [cve], vector))
    return made, projects


def osv(ident: str, name: str, events: list, versions: list, published: str, details: str, aliases, vector) -> dict:
    record: dict = {
        "schema_version": "1.6.0",
        "id": ident,
        "modified": published,
        "published": published,
        "aliases": aliases,
        "summary": details[:80],
        "details": details,
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name}"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "versions": versions,
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.invalid/{ident}"}],
    }
    if vector:
        record["severity"] = [{"type": "CVSS_V3", "score": vector}]
        record["database_specific"] = {"severity": "HIGH", "github_reviewed": True}
    return record


def running_pairs(projects: dict[str, list[str]], count: int, seed: int) -> list[tuple[str, str]]:
    """`count` distinct (name, version) pairs: half on projects the database names, half on others."""
    rng = random.Random(seed + 1)
    names = list(projects)
    found: set[tuple[str, str]] = set()
    while len(found) < count:
        if rng.random() < 0.5:
            name = rng.choice(names)
            found.add((name.lower(), rng.choice(projects[name])))
        else:
            found.add((f"clean-{rng.randrange(count)}", f"1.{rng.randrange(30)}.{rng.randrange(10)}"))
    return sorted(found)


def write_zip(path: Path, made: list[dict]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in made:
            archive.writestr(f"{record['id']}.json", json.dumps(record))


def row(label: str, seconds: float, note: str) -> str:
    return f"  {label:<38}{seconds * 1000:9.1f} ms   {note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_RECORDS} records, {SMOKE_PAIRS} pairs, 1 run")
    parser.add_argument("--records", type=int, help=f"records in the database (default {RECORDS})")
    parser.add_argument("--pairs", type=int, help=f"distinct running (name, version) pairs (default {PAIRS})")
    parser.add_argument("--runs", type=int, help=f"fresh processes of each kind (default {RUNS})")
    parser.add_argument("--seed", type=int, default=21)
    arguments = parser.parse_args(argv)
    count = arguments.records or (SMOKE_RECORDS if arguments.smoke else RECORDS)
    pair_count = arguments.pairs or (SMOKE_PAIRS if arguments.smoke else PAIRS)
    runs = arguments.runs or (1 if arguments.smoke else RUNS)
    root = Path(__file__).resolve().parents[1]
    env = environment_without(("BUILDINFO_",))
    print(f"machine: {cpu_model()}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-advisories-") as work:
        made, projects = records(count, arguments.seed)
        database = Path(work) / "all.zip"
        write_zip(database, made)
        pairs = Path(work) / "pairs.json"
        pairs.write_text(json.dumps(running_pairs(projects, pair_count, arguments.seed)))
        size = database.stat().st_size / 2**20
        print(f"database: {len(made)} records of {len(projects)} projects, all.zip {size:.1f} MiB; {pair_count} pairs")
        floors, ours = [], []
        for _ in range(runs):
            floors.append(
                json.loads(run_child(sys.executable, "osv_load", "json", str(database), cwd=root, env=env)[1])
            )
            ours.append(
                json.loads(
                    run_child(sys.executable, "osv_load", "load", str(database), str(pairs), cwd=root, env=env)[1]
                )
            )
    floor = statistics.median(run["load"] for run in floors)
    load, cold, warm = (statistics.median(run[step] for run in ours) for step in ("load", "cold", "warm"))
    print(f"{runs} fresh processes of each, interleaved, medians; peak RSS (VmHWM) of the last")
    print(row("floor: json.loads of every record", floor, f"peak RSS {floors[-1]['peak_kib'] / 1024:7.1f} MiB"))
    print(row("ours: load and index", load, f"peak RSS {ours[-1]['peak_kib'] / 1024:7.1f} MiB"))
    for step, seconds in (("cold", cold), ("warm", warm)):
        print(row(f"ours: match {pair_count} pairs, {step}", seconds, f"{seconds / pair_count * 1e6:.2f} us/pair"))
    print(f"  {ours[-1]['skipped']} records skipped, {ours[-1]['findings']} findings")
    print(
        f"  load and index / floor: {load / floor:.2f}x  (goal <= {LOAD_GOAL:g}x: {verdict(load / floor <= LOAD_GOAL)})"
    )
    print(
        f"  match cold / load:      {cold / load:.3f}x  (goal <= {MATCH_GOAL:g}x: {verdict(cold / load <= MATCH_GOAL)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
