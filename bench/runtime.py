"""Run-time cost of hatch-buildinfo: process start-up with the shim, and a Prometheus scrape.

    python bench/runtime.py [--smoke] [--runs N]

1. Start-up, in fresh processes running bench/children/startup.py, interleaved and repeated,
   medians: the baseline (the same child, timing nothing), (a) importing a generated
   `_buildinfo` module with ~30 dependencies, (b) `hatch_buildinfo.build_info()` of that
   package, (c) `importlib.metadata.version()`, (d) `importlib.metadata.distributions()` read
   fully (name and version of each, as the `--version` drift check did until 2026-12), (e)
   `example-app --version` as its console script runs it, (f) `hatch_buildinfo.drift.
   installed_versions()`, the drift check's read, and (g) importing what example-app imports.
   Net figures subtract the baseline. Each process also times its own statement with
   time.perf_counter ("in-proc"), which is far less noisy than the wall-clock difference of two
   process start-ups. In this env and in a venv of WIDE_DISTRIBUTIONS distributions.
2. Scrape: `generate_latest()` of a registry holding BuildInfoCollector + ModInfoCollector,
   against the same series built with prometheus_client's own Gauge.

Prints figures and ratios against baselines measured in the same run; asserts no timing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from timing import child_command, cpu_model, environment_without, median_ms, run_child, verdict

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hatch_buildinfo.hook.render import render  # noqa: E402
from hatch_buildinfo.info import BuildInfo  # noqa: E402

PACKAGE = "benchapp"
STARTUP_DEPENDENCIES = 30
SCRAPE_SIZES = (10, 100, 1_000, 10_000)
SMOKE_SCRAPE_SIZES = (10, 100)
SHIM_GOAL_MS = 1.0
DISTRIBUTIONS_GOAL_RATIO = 20.0
WIDE_DISTRIBUTIONS = 100
READ_GOAL_RATIO = 0.1  # installed_versions() against distributions() read fully, (f)/(d)
VERSION_GOAL_RATIO = 2.0  # example-app --version against a process that only imports what it imports, (e)/(g)
SCRAPE_GOAL_DEPS, SCRAPE_GOAL_MS = 1_000, 2.0


def machine_text() -> str:
    try:
        from importlib.metadata import version

        prometheus = version("prometheus_client")
    except Exception:
        prometheus = "not installed"
    today = datetime.date.today().isoformat()
    python = sys.version.split()[0]
    return f"machine: nproc={os.cpu_count()}, {cpu_model()}; Python {python}; prometheus_client {prometheus}; {today}"


def bench_info(dependencies: int, markers: bool = True) -> BuildInfo:
    """A realistic build: full revision, tag, dates; a few dependencies under a marker."""
    entries = []
    for index in range(dependencies):
        entry: tuple[str, ...] = (f"dependency-{index:05d}", f"{index % 7}.{index % 13}.{index % 5}")
        if markers and index % 10 == 9:
            entry += ('python_version >= "3.8"',)
        entries.append(entry)
    return BuildInfo(
        PACKAGE,
        "1.4.2",
        revision="3f2c1a9e0d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a",
        branch="main",
        dirty=False,
        tag="v1.4.2",
        commit_date="2026-11-24T14:58:03Z",
        build_user="ci",
        build_date="2026-11-24T15:00:00Z",
        dependencies=entries,
    )


def as_locked(info: BuildInfo) -> dict[str, str]:
    """The installed versions of an environment that matches `info`'s lock."""
    return dict(info.running_dependencies())


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator; None where either is not positive: a net time below zero is noise, not a figure."""
    return numerator / denominator if numerator > 0 and denominator > 0 else None


def ratio_text(numerator: float, denominator: float, digits: int = 1) -> str:
    value = ratio(numerator, denominator)
    return "n/a" if value is None else f"{value:.{digits}f}x"


def at_most(value: float | None, goal: float) -> str:
    return "n/a" if value is None else verdict(value <= goal)


# ---------------------------------------------------------------------------------------------
# 1. Start-up


def child_environment(pythonpath: list[str]) -> dict[str, str]:
    """This environment without PYTHON* and BUILDINFO_* variables, and PYTHONPATH set to `pythonpath`."""
    environ = environment_without(("PYTHON", "BUILDINFO_"))
    environ["PYTHONPATH"] = os.pathsep.join(pythonpath)
    return environ


def timed_case(python: str, case: tuple[str, ...], work: Path, environ: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, in-process seconds and peak RSS in MiB of one fresh process running children/startup.py CASE."""
    wall, output = run_child(python, "startup", *case, cwd=work, env=environ)
    peak, in_process = output.strip().splitlines()[-1].split()
    return wall, float(in_process), int(peak) / 1024


def make_package(directory: Path) -> None:
    """The bench package, and a copy of example_app, each with a generated module of STARTUP_DEPENDENCIES.

    Importing `benchapp.read_installed` runs the drift check's read: children/startup.py times imports.
    """
    package = directory / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_buildinfo.py").write_text(render(bench_info(STARTUP_DEPENDENCIES)), encoding="utf-8")
    (package / "read_installed.py").write_text(
        "from hatch_buildinfo.drift import installed_versions\n\ninstalled_versions()\n", encoding="utf-8"
    )
    example = directory / "example_app"
    shutil.copytree(ROOT / "example_app" / "example_app", example, ignore=shutil.ignore_patterns("_buildinfo.py"))
    stamped = bench_info(STARTUP_DEPENDENCIES).replace(program="example_app")
    (example / "_buildinfo.py").write_text(render(stamped), encoding="utf-8")


def probe(python: str, work: Path, environ: dict[str, str]) -> dict[str, Any]:
    """The distributions `python` sees, its version and its prefix (children/probe.py)."""
    output = run_child(python, "probe", cwd=work, env=environ)[1]
    return json.loads(output.strip().splitlines()[-1])


def metadata_directories(site_packages: Path) -> list[Path]:
    return sorted(
        path for path in site_packages.iterdir() if path.suffix in (".dist-info", ".egg-info") and path.is_dir()
    )


def pad_metadata(site_packages: Path, count: int) -> None:
    """`count` made-up distributions, for a base interpreter with fewer than WIDE_DISTRIBUTIONS: a real
    METADATA's headers and a 4 KB description (real ones are often longer, which only slows importlib.metadata)."""
    for index in range(count):
        name, version = f"bench-padding-{index:03d}", f"1.{index}.0"
        directory = site_packages / f"{name.replace('-', '_')}-{version}.dist-info"
        directory.mkdir()
        description = "A distribution that pads the benchmark's venv.\n" * 85
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: padding\n\n{description}"
        (directory / "METADATA").write_text(metadata, encoding="utf-8")


def environments(work: Path, environ: dict[str, str]) -> list[dict[str, Any]]:
    """This env, and a fresh venv holding WIDE_DISTRIBUTIONS distributions' metadata.

    The second venv gets copies of the base interpreter's real `.dist-info`/`.egg-info` directories
    (the first WIDE_DISTRIBUTIONS by name; made-up ones make up any shortfall) and nothing else:
    distributions() reads exactly those, while the packages' `.pth` start-up hooks (which preload
    modules such as importlib.resources in every process) stay out, so its baseline is a plain
    interpreter's.
    """
    found: list[dict[str, Any]] = [{"label": "this env", "python": sys.executable}]
    base = getattr(sys, "_base_executable", None) or sys.executable
    purelib = subprocess.run(
        [base, "-I", *child_command(base, "purelib")[1:]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    source = metadata_directories(Path(purelib)) if os.path.isdir(purelib) else []
    wide = work / "wide-venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(wide)], check=True, env=child_environment([]))
    site_packages = Path(
        subprocess.run(
            child_command(str(wide / "bin" / "python"), "purelib"),
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    for directory in source[:WIDE_DISTRIBUTIONS]:
        shutil.copytree(directory, site_packages / directory.name)
    pad_metadata(site_packages, WIDE_DISTRIBUTIONS - len(source))
    found.append({"label": "venv with copied metadata", "python": str(wide / "bin" / "python")})
    for env in found:
        facts = probe(env["python"], work, environ)
        env["distributions"] = len(facts["names"])
        env["python_version"] = facts["python"]
        env["prefix"] = facts["prefix"]
        env["dist"] = "pip" if "pip" in facts["names"] else (facts["names"] or ["hatch-buildinfo"])[0]
    return found


def startup_cases(dist: str, distributions: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, label, arguments of children/startup.py) of each case; the baseline is the child timing nothing."""
    return [
        ("baseline", "python -c pass", ("nothing",)),
        ("a", f"import {PACKAGE}._buildinfo ({STARTUP_DEPENDENCIES} deps)", ("import", f"{PACKAGE}._buildinfo")),
        ("b", f"hatch_buildinfo.build_info({PACKAGE!r})", ("build_info", PACKAGE)),
        ("c", f"importlib.metadata.version({dist!r})", ("version", dist)),
        ("d", f"distributions() read fully ({distributions} dists)", ("distributions",)),
        # The console script's work: argparse, the shim, and --version's drift check over every distribution.
        ("e", "example-app --version", ("example-app-version",)),
        ("f", f"drift.installed_versions() ({distributions} dists)", ("import", f"{PACKAGE}.read_installed")),
        # (e) less its work: python -c pass plus the app's own imports.
        ("g", "import example_app.__main__", ("import", "example_app.__main__")),
    ]


def check_shim(env: dict[str, Any], work: Path, environ: dict[str, str]) -> None:
    """The shim must read the generated module, not fall back to metadata: else (b) measures the wrong thing."""
    found = run_child(env["python"], "shim_check", PACKAGE, cwd=work, env=environ)[1].strip()
    expected = f"{STARTUP_DEPENDENCIES} {bench_info(0).revision}"
    if found != expected:
        raise RuntimeError(f"{env['label']}: build_info read {found!r}, expected {expected!r}")


def bench_startup(runs: int, warmup: int) -> None:
    print(f"== Start-up: fresh `python -c` processes, {runs} interleaved runs of each, medians ==")
    print(
        "   net = minus the baseline; in-proc = the statement timed inside the process; RSS = peak resident set (VmHWM)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as temporary:
        work = Path(temporary)
        make_package(work)
        environ = child_environment([str(work), str(ROOT)])
        found = environments(work, environ)
        rng = random.Random(20261124)
        results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for env in found:
            check_shim(env, work, environ)
            env["cases"] = startup_cases(env["dist"], env["distributions"])
            for key, _, _ in env["cases"]:
                results[env["label"], key] = []
        jobs = [(env, key, case) for env in found for key, _, case in env["cases"]]
        for round_ in range(warmup + runs):
            rng.shuffle(jobs)
            for env, key, case in jobs:
                measured = timed_case(env["python"], case, work, environ)
                if round_ >= warmup:
                    results[env["label"], key].append(measured)
        for env in found:
            print()
            print(f"env: {env['label']} ({env['prefix']}, Python {env['python_version']}), ", end="")
            print(f"{env['distributions']} distributions")
            print(f"  {'case':<50} {'wall ms':>8} {'net ms':>8} {'in-proc ms':>10} {'RSS MiB':>8}")
            figures: dict[str, tuple[float, float]] = {}
            for key, label, _ in env["cases"]:
                runs_of_case = results[env["label"], key]
                wall = median_ms([m[0] for m in runs_of_case])
                in_process = median_ms([m[1] for m in runs_of_case])
                rss = statistics.median(m[2] for m in runs_of_case)
                figures[key] = (wall, in_process)
                name = label if key == "baseline" else f"({key}) {label}"
                net_text = "" if key == "baseline" else f"{wall - figures['baseline'][0]:8.2f}"
                print(f"  {name:<50} {wall:8.2f} {net_text:>8} {in_process:10.3f} {rss:8.1f}")
            base = figures["baseline"][0]
            net = {key: figures[key][0] - base for key in figures}
            inproc = {key: figures[key][1] for key in figures}
            overhead_wall, overhead_in = net["b"] - net["a"], inproc["b"] - inproc["a"]
            print(
                f"  shim overhead over the module alone, (b)-(a): {overhead_wall:.2f} ms wall, "
                f"{overhead_in:.3f} ms in-proc  (goal < {SHIM_GOAL_MS:g} ms: "
                f"{verdict(overhead_wall < SHIM_GOAL_MS)} wall, {verdict(overhead_in < SHIM_GOAL_MS)} in-proc)"
            )
            print(
                f"  distributions()/shim, (d)/(b): {ratio_text(net['d'], net['b'])} net wall, "
                f"{ratio_text(inproc['d'], inproc['b'])} in-proc  (goal >= {DISTRIBUTIONS_GOAL_RATIO:g}x: "
                f"{verdict(net['b'] > 0 and net['d'] / net['b'] >= DISTRIBUTIONS_GOAL_RATIO)} wall, "
                f"{verdict(inproc['b'] > 0 and inproc['d'] / inproc['b'] >= DISTRIBUTIONS_GOAL_RATIO)} in-proc)"
            )
            print(
                f"  version()/shim, (c)/(b): {ratio_text(net['c'], net['b'])} net wall, "
                f"{ratio_text(inproc['c'], inproc['b'])} in-proc"
            )
            read_wall, read_in = ratio(net["f"], net["d"]), ratio(inproc["f"], inproc["d"])
            print(
                f"  installed_versions()/distributions(), (f)/(d): {ratio_text(net['f'], net['d'], 3)} net wall, "
                f"{ratio_text(inproc['f'], inproc['d'], 3)} in-proc  (goal <= {READ_GOAL_RATIO:g}x: "
                f"{at_most(read_wall, READ_GOAL_RATIO)} wall, {at_most(read_in, READ_GOAL_RATIO)} in-proc)"
            )
            version_wall = ratio(figures["e"][0], figures["g"][0])
            print(
                f"  example-app --version against its imports alone, (e)/(g): "
                f"{ratio_text(figures['e'][0], figures['g'][0], 2)} wall  (goal <= {VERSION_GOAL_RATIO:g}x: "
                f"{at_most(version_wall, VERSION_GOAL_RATIO)})"
            )


# ---------------------------------------------------------------------------------------------
# 2. Scrape


def scrape_runs(size: int, smoke: bool) -> int:
    if smoke:
        return 5
    return max(30, min(3_000, 300_000 // size))


def gauges_like(families: list, registry, gauge_class) -> None:
    """The same series as `families`, made the way an application would with prometheus_client's Gauge."""
    for family in families:
        # A family with no samples (python_mod_drift_info where nothing drifts) is a labelled Gauge with no children.
        labelnames = list(family.samples[0].labels) if family.samples else ["name"]
        gauge = gauge_class(family.name, family.documentation, labelnames=labelnames, registry=registry)
        for sample in family.samples:
            (gauge.labels(**sample.labels) if labelnames else gauge).set(sample.value)


def bench_scrape(sizes: tuple[int, ...], smoke: bool) -> None:
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

    from hatch_buildinfo.metrics import BuildInfoCollector, ModInfoCollector

    print()
    print("== Scrape: generate_latest(registry), BuildInfoCollector + ModInfoCollector vs prometheus_client Gauge ==")
    print(
        "   medians of interleaved runs; ratio = ours / Gauge; set-up = making the collectors or Gauge children once;"
    )
    print("   what-if = not in hatch_buildinfo: build_info rendered per scrape + python_mod_info bytes rendered once;")
    print("   OpenMetrics = ours in the format a Prometheus server negotiates with prometheus_client")
    print("   every dependency installed as locked: python_mod_drift_info is described (HELP, TYPE) with no series")
    print(
        f"  {'deps':>6} {'runs':>5} {'ours ms':>9} {'Gauge ms':>9} {'ratio':>6} {'us/series':>9} "
        f"{'OpenMetrics ms':>14} {'what-if ms':>10} {'ours set-up ms':>14} {'Gauge set-up ms':>15} {'same bytes':>10}"
    )
    # Warm up: first calls import what they need (strptime, for one); set-up figures are the steady cost.
    warm = bench_info(1, markers=False)
    gauges_like(
        [
            *BuildInfoCollector(warm, registry=None).collect(),
            *ModInfoCollector(warm, registry=None, installed=as_locked(warm)).collect(),
        ],
        CollectorRegistry(),
        Gauge,
    )
    goal_line = None
    for size in sizes:
        info = bench_info(size, markers=False)
        installed = as_locked(info)  # a service that runs what it was built with; the read is timed in section 1

        start = time.perf_counter()
        ours = CollectorRegistry()
        build_collector = BuildInfoCollector(info, registry=ours)
        mod_collector = ModInfoCollector(info, registry=ours, installed=installed)
        ours_setup = time.perf_counter() - start

        families = [*build_collector.collect(), *mod_collector.collect()]
        series = sum(len(family.samples) for family in families)
        start = time.perf_counter()
        theirs = CollectorRegistry()
        gauges_like(families, theirs, Gauge)
        theirs_setup = time.perf_counter() - start

        build_only = CollectorRegistry()
        BuildInfoCollector(info, registry=build_only)
        mod_only = CollectorRegistry()
        ModInfoCollector(info, registry=mod_only, installed=installed)
        mod_bytes = generate_latest(mod_only)

        def what_if(build_only=build_only, mod_bytes=mod_bytes) -> bytes:
            return generate_latest(build_only) + mod_bytes

        expected = generate_latest(ours)
        same = expected == generate_latest(theirs) == what_if()
        runs = scrape_runs(size, smoke)
        scrapes: dict[str, Callable[[], bytes]] = {
            "ours": partial(generate_latest, ours),
            "theirs": partial(generate_latest, theirs),
            "openmetrics": partial(generate_openmetrics, ours),
            "what-if": what_if,
        }
        timings: dict[str, list[float]] = {key: [] for key in scrapes}
        for _ in range(runs):
            for key, scrape in scrapes.items():
                start = time.perf_counter()
                scrape()
                timings[key].append(time.perf_counter() - start)
        ours_ms, theirs_ms, openmetrics_ms, what_if_ms = (median_ms(timings[key]) for key in scrapes)
        print(
            f"  {size:>6} {runs:>5} {ours_ms:9.3f} {theirs_ms:9.3f} {ours_ms / theirs_ms:5.2f}x "
            f"{ours_ms * 1000 / series:9.2f} {openmetrics_ms:14.3f} {what_if_ms:10.3f} {ours_setup * 1000:14.2f} "
            f"{theirs_setup * 1000:15.2f} {'yes' if same else 'NO':>10}"
        )
        if size == SCRAPE_GOAL_DEPS:
            goal_line = (
                f"  {SCRAPE_GOAL_DEPS:,} deps: {ours_ms:.3f} ms per scrape (goal < {SCRAPE_GOAL_MS:g} ms: "
                f"{verdict(ours_ms < SCRAPE_GOAL_MS)}); OpenMetrics {openmetrics_ms:.3f} ms "
                f"({verdict(openmetrics_ms < SCRAPE_GOAL_MS)}); what-if {what_if_ms:.3f} ms "
                f"({verdict(what_if_ms < SCRAPE_GOAL_MS)})"
            )
    if goal_line:
        print(goal_line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and few runs, a few seconds in all")
    parser.add_argument("--runs", type=int, help="start-up runs per case (default 40, 3 with --smoke)")
    options = parser.parse_args(argv)
    runs = options.runs or (3 if options.smoke else 40)
    print(machine_text())
    print()
    bench_startup(runs=runs, warmup=1 if options.smoke else 3)
    bench_scrape(SMOKE_SCRAPE_SIZES if options.smoke else SCRAPE_SIZES, options.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
