"""Refreshing a fleet's names from a package index: the first refresh, and one where nothing changed.

    python bench/freshness.py [--smoke] [--names N] [--runs N] [--concurrency N] [--seed N]

A seeded synthetic index of N projects (default 3,000) written by deploy/index_server.write_tree and served on
loopback by deploy/index_server.IndexServer: PEP 691/700 pages of 10 to 150 versions each (bench/advisories.py's
release histories), one to six files a version (an sdist, a pure wheel, platform wheels), a few yanked. Each run
is a fresh process (bench/children/index_refresh.py) holding one `hatch_buildinfo.fleet.index.PackageIndex`,
which refreshes every name twice: first with an empty cache, then with the index unchanged. Bytes are what
the server sent: status lines, headers and bodies. Prints medians, the ratios of the unchanged refresh to the
first with a verdict, and the child's peak resident set; asserts no timing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from advisories import project_name, releases
from timing import child_command, cpu_model, environment_without, verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from index_server import File, IndexServer, normalize, write_tree

NAMES, RUNS, CONCURRENCY = 3_000, 3, 4
SMOKE_NAMES = 60
BYTES_GOAL = 0.05  # the unchanged refresh's bytes against the first's
TIME_GOAL = 0.2  # its time against the first's
PLATFORMS = (
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-win_amd64",
    "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
)
START = datetime(2015, 1, 1, tzinfo=timezone.utc)


def project_files(name: str, rng: random.Random) -> list[File]:
    """A project's files, oldest release first: days to months between releases, minutes between a release's files."""
    files = []
    when = START + timedelta(days=rng.randint(0, 900))
    distribution = normalize(name).replace("-", "_")
    for version in releases(rng):
        when += timedelta(days=rng.randint(1, 60), seconds=rng.randint(0, 86399))
        yanked: bool | str = rng.random() < 0.01 and rng.choice((True, "broken metadata"))
        kinds = ["tar.gz", "py3-none-any"] if rng.random() < 0.7 else ["tar.gz"]
        if rng.random() < 0.3:
            kinds += rng.sample(PLATFORMS, k=rng.randint(1, len(PLATFORMS)))
        for minute, kind in enumerate(kinds):
            filename = (
                f"{distribution}-{version}.tar.gz" if kind == "tar.gz" else f"{distribution}-{version}-{kind}.whl"
            )
            uploaded = when + timedelta(minutes=minute, microseconds=rng.randint(0, 999_999))
            files.append(File(filename, uploaded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), yanked))
    return files


def index_projects(count: int, seed: int) -> dict[str, list[File]]:
    """`count` projects, spelled as their authors do (case and separators vary), with their files."""
    rng = random.Random(seed)
    return {project_name(index): project_files(project_name(index), rng) for index in range(count)}


def run_once(server: IndexServer, names: Path, concurrency: int, root: Path, env: dict[str, str]) -> list[dict]:
    """One fresh client process: its first and its unchanged refresh, each with the server's counts."""
    command = child_command(sys.executable, "index_refresh", server.url, str(names), str(concurrency))
    server.reset()
    with subprocess.Popen(
        command, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        refreshes = []
        for _ in range(2):
            line = child.stdout.readline()
            if not line:
                raise RuntimeError(f"{' '.join(command)} exited {child.wait()} before its refresh")
            refreshes.append(json.loads(line) | {"served": server.requests, "bytes": server.bytes_sent})
            server.reset()
            child.stdin.write("\n")
            child.stdin.flush()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}")
    return refreshes


def row(label: str, runs: list[dict]) -> str:
    seconds = statistics.median(run["seconds"] for run in runs)
    size = statistics.median(run["bytes"] for run in runs) / 2**20
    last = runs[-1]
    return (
        f"  {label:<18}{seconds * 1000:9.1f} ms  {size:9.2f} MiB  {last['requests']:6d} requests, "
        f"{last['not_modified']} answered 304 ({last['served']} served), {last['projects']} projects, "
        f"{last['errors']} errors"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_NAMES} names, 1 run")
    parser.add_argument("--names", type=int, help=f"projects on the index, all asked for (default {NAMES})")
    parser.add_argument("--runs", type=int, help=f"fresh client processes (default {RUNS})")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests at once (default %(default)s)")
    parser.add_argument("--seed", type=int, default=22)
    arguments = parser.parse_args(argv)
    count = arguments.names or (SMOKE_NAMES if arguments.smoke else NAMES)
    runs = arguments.runs or (1 if arguments.smoke else RUNS)
    root = Path(__file__).resolve().parents[1]
    env = environment_without(("BUILDINFO_",))
    print(f"machine: {cpu_model()}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as work:
        tree = Path(work) / "simple"
        projects = index_projects(count, arguments.seed)
        write_tree(tree, projects)
        pages = [tree / normalize(name) / "index.json" for name in projects]
        sizes = sorted(page.stat().st_size for page in pages)
        files = sum(len(each) for each in projects.values())
        versions = sum(
            len({file.filename.removesuffix(".tar.gz").split("-")[1] for file in each}) for each in projects.values()
        )
        print(
            f"index: {count} projects, {versions} versions, {files} files; JSON pages median "
            f"{statistics.median(sizes) / 1024:.1f} KiB, largest {sizes[-1] / 1024:.1f} KiB, "
            f"all {sum(sizes) / 2**20:.1f} MiB"
        )
        names = Path(work) / "names.json"
        # The fleet's spelling, normalized, as python_mod_info's `name` labels are.
        names.write_text(json.dumps([normalize(name) for name in projects]))
        with IndexServer(tree) as server:
            done = [run_once(server, names, arguments.concurrency, root, env) for _ in range(runs)]
    first = [run[0] for run in done]
    unchanged = [run[1] for run in done]
    print(f"{runs} fresh client processes, concurrency {arguments.concurrency}, medians; bytes: all sent, headers too")
    print(row("first refresh", first))
    print(row("unchanged refresh", unchanged))
    print(f"  peak RSS of the client (ru_maxrss), last run: {unchanged[-1]['peak_kib'] / 1024:.1f} MiB")
    for run in first + unchanged:
        if run["first_error"]:
            print(f"  error: {run['first_error']}")
    size_ratio = statistics.median(run["bytes"] for run in unchanged) / statistics.median(run["bytes"] for run in first)
    time_ratio = statistics.median(run["seconds"] for run in unchanged) / statistics.median(
        run["seconds"] for run in first
    )
    print(
        f"  unchanged / first, bytes: {size_ratio:.3f}x  (goal <= {BYTES_GOAL:g}x: {verdict(size_ratio <= BYTES_GOAL)})"
    )
    print(
        f"  unchanged / first, time:  {time_ratio:.3f}x  (goal <= {TIME_GOAL:g}x: {verdict(time_ratio <= TIME_GOAL)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
