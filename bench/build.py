"""Build-time cost of the `buildinfo` hook: wheel builds against hatch-vcs, repository scale, memory.

    python bench/build.py [--smoke] [--runs N] [--venvs DIR]

1. Build overhead: `python -m hatchling build -t wheel` (no isolation) of one sample project in a
   50-commit git repository, as (a) plain hatchling, (b) with hatch-vcs (version source and
   version-file hook), (c) with the buildinfo hook, (d) the buildinfo hook and a generated
   300-package uv.lock. Each variant is its own copy of the repository; runs alternate a b c d,
   the output directory is removed before each run; medians, and (c-a)/(b-a), (d-a)/(b-a).
2. Memory: peak RSS of the whole build process, (a) against (c) and (d), from `/usr/bin/time -v`
   (else resource.getrusage(RUSAGE_CHILDREN) of a fresh intermediate process).
3. Where the time goes: `import git` / `import setuptools_scm` alone in fresh processes; the
   modules each variant's build imports beyond (a)'s (`python -X importtime`); the hook's steps
   timed one by one in a fresh process that has already imported what a hatchling build imports,
   with the lock parsed by tomli (which the hook uses) and by the standard library's tomllib.
4. Repository scale: `hatch_buildinfo.hook.git.collect(root)` in a fresh process (gitpython's import
   included, and excluded) on repositories of 1k, 10k and 100k commits and of 1k and 20k files,
   made with `git fast-import`; setuptools-scm's `get_version(root)` on the same repositories.

Each variant builds in a venv holding what an isolated build of that project would hold (made
under `build/bench-venv/` with uv when missing or out of date): `plain` hatchling; `vcs`
hatchling and hatch-vcs; `buildinfo` hatchling, the hook's dependencies() and this checkout's
hatch-buildinfo (a regular install, rebuilt when its sources change). Git processes are counted
from git's trace2 events in one extra, untimed run of each case. The programs that the fresh
processes run are the files in bench/children/. Prints figures and ratios against baselines
measured in the same run; asserts no timing.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from packaging.requirements import Requirement
from timing import child_command, cpu_model, environment_without, median_ms, run_child, verdict

from hatch_buildinfo.hook.build_hook import BUILD_DEPENDENCIES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENVS = ROOT / "build" / "bench-venv"
# What an isolated build environment of each kind of project holds (the hook adds its
# `dependencies()`); "." is this checkout.
VENVS = {
    "plain": ("hatchling",),
    "vcs": ("hatchling", "hatch-vcs"),
    "buildinfo": ("hatchling", *BUILD_DEPENDENCIES, "."),
}
VERSIONS_OF = {
    "plain": ("hatchling",),
    "vcs": ("hatch-vcs", "setuptools-scm"),
    "buildinfo": ("hatch-buildinfo", *(Requirement(requirement).name for requirement in BUILD_DEPENDENCIES)),
}

PACKAGE = "sampleapp"
HISTORY_COMMITS, SMOKE_HISTORY_COMMITS = 50, 5
LOCK_PACKAGES = 300
RUNS, SMOKE_RUNS = 11, 2
MEMORY_RUNS, SMOKE_MEMORY_RUNS = 3, 1
OVERHEAD_GOAL = 1.0
SCALE_GOAL = 0.20


TagLayout = Callable[[int, int], bool]  # (index of a commit, number of commits) -> whether it is tagged


def tag_every(step: int, last: int | None = None) -> TagLayout:
    """A tag layout: an annotated tag on every `step`-th commit from the first, or only in the `last` commits."""
    return lambda index, commits: index % step == 0 and (last is None or index >= commits - last)


def root_tag(index: int, commits: int) -> bool:
    """A tag layout: one annotated tag, on the first commit."""
    return index == 0


# (label, commits, files, tag layout, and whether a commit-graph file is written, as `git gc` or
# `git maintenance` would)
SCALE_CASES = (
    ("1k commits", 1_000, 100, tag_every(100), False),
    ("10k commits", 10_000, 100, tag_every(100), False),
    ("100k commits", 100_000, 100, tag_every(100), False),
    ("100k commits, 1k's tags", 100_000, 100, tag_every(100, last=1_000), False),
    ("1k files", 1_000, 1_000, tag_every(100), False),
    ("20k files", 1_000, 20_000, tag_every(100), False),
    ("100k commits, tag every 1k", 100_000, 100, tag_every(1_000), False),
    ("100k commits, one root tag", 100_000, 100, root_tag, False),
    ("same, with a commit-graph", 100_000, 100, root_tag, True),
)
SMOKE_SCALE_CASES = (
    ("100 commits", 100, 20, tag_every(10), False),
    ("1k commits", 1_000, 20, tag_every(10), False),
    ("1k commits, 100's tags", 1_000, 20, tag_every(10, last=100), False),
    ("100 files", 100, 100, tag_every(10), False),
    ("1k files", 100, 1_000, tag_every(10), False),
)
# (base, history alone grown: the same tags at the same distances from HEAD, history and tags grown)
SCALE_RATIOS = ("1k commits", "100k commits, 1k's tags", "100k commits")
SMOKE_SCALE_RATIOS = ("100 commits", "1k commits, 100's tags", "1k commits")

SBOM_GOAL_MS = 5  # what writing the SBOM may add to a wheel build with the 300-package lock
VARIANTS = (
    ("a", "plain hatchling"),
    ("b", "hatch-vcs: version source + version-file hook"),
    ("c", "buildinfo hook"),
    ("d", f"buildinfo hook + uv.lock ({LOCK_PACKAGES} packages)"),
)
VENV_OF = {"a": "plain", "b": "vcs", "c": "buildinfo", "d": "buildinfo"}
# What the sample project depends on directly; the lock locks them and what they pull in.
DIRECT = 12
CLI_EXTRA = ("extra-cli-0", "extra-cli-1")
DEV_GROUP = tuple(f"dev-tool-{index}" for index in range(5))
MARKERS = (
    "sys_platform == 'win32'",
    "python_full_version < '3.11'",
    "platform_machine == 'x86_64'",
    "implementation_name == 'cpython'",
)
COMMITTER = b"Bench <bench@example.invalid>"
EPOCH = 1_700_000_000

# (key, venv, label, modules bench/children/timed_import.py imports); each venv's own `pass`, the
# child importing nothing, is the baseline of its cases.
IMPORT_CASES = (
    ("plain", "plain", "python -c pass", ()),
    ("vcs", "vcs", "python -c pass", ()),
    ("buildinfo", "buildinfo", "python -c pass", ()),
    ("git", "buildinfo", "import git (gitpython, gitdb, smmap)", ("git", "gitdb.db")),
    ("scm", "vcs", "import setuptools_scm (hatch-vcs' engine)", ("setuptools_scm",)),
    ("packaging", "plain", "import packaging.requirements", ("packaging.requirements",)),
)
IMPORT_TIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


# ---------------------------------------------------------------------------------------------
# Helpers


# The HOME every measured process gets once the bench venv exists: an empty global git config,
# set through HOME rather than GIT_CONFIG_GLOBAL because setuptools-scm drops GIT_* variables.
_HOME: list[Path] = []


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without what a build records or git reads from the caller, plus `extra`."""
    dropped = ("BUILDINFO_", "SOURCE_DATE_EPOCH", "GIT_", "GITHUB_", "CI_", "BUILDKITE", "CIRCLE", "SETUPTOOLS_SCM")
    environ = environment_without(dropped, names=("PYTHONPATH",))
    if _HOME:
        environ.update(HOME=str(_HOME[0]), XDG_CONFIG_HOME=str(_HOME[0] / ".config"))
    environ.update(extra)
    return environ


def use_home(home: Path, gitconfig: str = "") -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(gitconfig, encoding="utf-8")
    return home


def run(command: Sequence[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None, **kwargs):
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env or clean_environment(), capture_output=True, **kwargs
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
        raise RuntimeError(f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}:\n{text}")
    return result


def child_json(python: str, child: str, *arguments: str, cwd: Path, env: dict[str, str]) -> tuple[float, Any]:
    """Run bench/children/<child>.py in a fresh process; its wall time and the JSON its last line printed."""
    wall, output = run_child(python, child, *arguments, cwd=cwd, env=env)
    return wall, json.loads(output.strip().splitlines()[-1])


def command_name(argv: list[str]) -> str:
    """`describe --tags` of `git -C dir -c key=value describe --tags …`: the subcommand and its first argument."""
    words = list(argv[1:])
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in ("-C", "-c", "--git-dir", "--work-tree") and words:
            words.pop(0)
    return " ".join(words[:2])


def git_trace(trace: Path) -> list[tuple[str, float]]:
    """(command, seconds) of each git process that wrote to a trace2 event file, in start order."""
    started: dict[str, str] = {}
    ended: dict[str, float] = {}
    if not trace.exists():
        return []
    for line in trace.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "start":
            started[event["sid"]] = command_name(event.get("argv", []))
        elif event.get("event") == "exit":
            ended[event["sid"]] = float(event.get("t_abs", 0.0))
    return [(argv, ended.get(sid, 0.0)) for sid, argv in started.items()]


def traced(command: list[str], cwd: Path, env: dict[str, str], scratch: Path) -> list[tuple[str, float]]:
    """Run `command` once, untimed, with git's trace2 event target on; the git processes it started.

    The target is set in the global git config of a HOME of its own, which reaches the git
    processes of setuptools-scm too (it drops GIT_* variables, GIT_TRACE2_EVENT with them).
    """
    trace = scratch / "trace2.json"
    trace.unlink(missing_ok=True)
    home = use_home(scratch / "traced-home", f"[trace2]\n\teventTarget = {trace}\n")
    run(command, cwd=cwd, env={**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    found = git_trace(trace)
    trace.unlink(missing_ok=True)
    return found


# ---------------------------------------------------------------------------------------------
# The bench venvs


def find_uv() -> str | None:
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.exists() else shutil.which("uv")


def source_digest() -> str:
    """A digest of this checkout's hook sources: the buildinfo venv is rebuilt when they change."""
    digest = hashlib.sha256()
    for path in sorted([ROOT / "pyproject.toml", *(ROOT / "hatch_buildinfo").rglob("*.py")]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_venvs(base: Path) -> dict[str, str]:
    """The python of each bench venv, made (or remade) when missing or out of date."""
    uv = find_uv()
    environ = clean_environment()
    pythons = {}
    for name, requirements in VENVS.items():
        venv = base / name
        python = venv / "bin" / "python"
        pythons[name] = str(python)
        wanted = {"requirements": list(requirements), "root": str(ROOT), "python": sys.version}
        if "." in requirements:
            wanted["sources"] = source_digest()
        stamp = venv / ".bench-build.json"
        if python.exists() and stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == wanted:
            continue
        shutil.rmtree(venv, ignore_errors=True)
        base.mkdir(parents=True, exist_ok=True)
        print(f"   (making the bench venv {venv} with {'uv' if uv else 'venv + pip'})", flush=True)
        packages = [str(ROOT) if requirement == "." else requirement for requirement in requirements]
        if uv:
            run([uv, "venv", "--quiet", "--python", sys.executable, venv], env=environ)
            # A local directory's build is cached by its pyproject.toml alone: refresh it from the sources.
            refresh = ["--refresh-package", "hatch-buildinfo"] if "." in requirements else []
            run([uv, "pip", "install", "--quiet", "--python", python, *refresh, *packages], env=environ)
        else:
            run([sys.executable, "-m", "venv", venv], env=environ)
            run([python, "-m", "pip", "install", "--quiet", *packages], env=environ)
        stamp.write_text(json.dumps(wanted), encoding="utf-8")
    return pythons


def machine_text(pythons: dict[str, str]) -> str:
    found = []
    python = ""
    for name, packages in VERSIONS_OF.items():
        versions = json.loads(run(child_command(pythons[name], "dist_versions", *packages), text=True).stdout)
        python = versions.pop(0)
        found += [f"{package} {version}" for package, version in zip(packages, versions)]
    git_version = run(["git", "--version"], text=True).stdout.split()[-1]
    today = datetime.date.today().isoformat()
    return (
        f"machine: nproc={os.cpu_count()}, {cpu_model()}; {today}\n"
        f"bench venvs: Python {python}, {', '.join(found)}, git {git_version}"
    )


# ---------------------------------------------------------------------------------------------
# Repositories made with git fast-import


def fast_import_stream(
    out,
    commits: int,
    files: dict[str, bytes],
    churn: list[str],
    tagged: TagLayout | None,
    last: dict[str, bytes] | None = None,
) -> int:
    """Write a fast-import stream: `files` in the first commit, then one file of `churn` changed per commit.

    Annotated tags, `v1.N.0`, go on each commit `tagged(index, commits)` picks (None: none).
    `last` is added by the last commit. Returns the number of tags.
    """
    write = out.write

    def data(payload: bytes) -> None:
        write(b"data %d\n" % len(payload))
        write(payload)
        write(b"\n")

    tags = 0
    for index in range(commits):
        when = EPOCH + index * 600
        write(b"commit refs/heads/main\nmark :%d\n" % (index + 1))
        write(b"committer %s %d +0000\n" % (COMMITTER, when))
        data(b"Change %d\n" % index)
        if index == 0:
            for path, content in files.items():
                write(b"M 100644 inline %s\n" % path.encode())
                data(content)
        else:
            path = churn[index % len(churn)]
            write(b"M 100644 inline %s\n" % path.encode())
            data(files[path] + b"# change %d\n" % index)
        if last and index == commits - 1:
            for path, content in last.items():
                write(b"M 100644 inline %s\n" % path.encode())
                data(content)
        write(b"\n")
        if tagged is not None and tagged(index, commits):
            write(b"tag v1.%d.0\nfrom :%d\ntagger %s %d +0000\n" % (tags, index + 1, COMMITTER, when + 1))
            data(b"Release 1.%d.0\n" % tags)
            tags += 1
    return tags


def make_repository(
    path: Path,
    commits: int,
    files: dict[str, bytes],
    churn: list[str],
    tagged: TagLayout | None,
    last: dict[str, bytes] | None = None,
    commit_graph: bool = False,
) -> int:
    """A git repository at `path` with a checked-out work tree, as a clone would leave it."""
    path.mkdir(parents=True)
    run(["git", "init", "--quiet", "--initial-branch", "main", path])
    stream = path.parent / f"{path.name}.fast-import"
    with open(stream, "wb") as out:
        tags = fast_import_stream(out, commits, files, churn, tagged, last)
    with open(stream, "rb") as source:
        subprocess.run(["git", "fast-import", "--quiet"], cwd=path, stdin=source, check=True, env=clean_environment())
    stream.unlink()
    run(["git", "reset", "--quiet", "--hard", "main"], cwd=path)
    run(["git", "pack-refs", "--all"], cwd=path)
    if commit_graph:
        run(["git", "commit-graph", "write", "--reachable"], cwd=path)
    return tags


def data_files(count: int) -> dict[str, bytes]:
    """`count` small text files, a hundred to a directory."""
    return {
        f"data/d{index // 100:04d}/file{index:05d}.txt": b"line one of file %d\nline two\n" % index
        for index in range(count)
    }


# ---------------------------------------------------------------------------------------------
# The sample project and its uv.lock


def fake_hash(*parts: object) -> str:
    return hashlib.sha256(" ".join(map(str, parts)).encode()).hexdigest()


def file_entry(name: str, version: str, filename: str, size: int) -> str:
    digest = fake_hash(name, version, filename)
    url = f"https://files.index.example/packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"
    return f'{{ url = "{url}", hash = "sha256:{digest}", size = {size}, upload-time = "2025-06-01T12:00:00.000Z" }}'


def uv_lock_text(project: str, version: str, packages: int = LOCK_PACKAGES, seed: int = 20261125) -> str:
    """A uv.lock in uv's layout: `packages` reachable from the project's editable entry, plus an extra and a dev group.

    Each package has an sdist and wheels (a dozen platform wheels for every tenth one), edges
    into later packages (one parent each keeps all reachable; some more edges, about one in
    twelve under a marker), and a few optional dependencies asked for by an edge.
    """
    rng = random.Random(seed)
    names = [f"dep-{index:03d}" for index in range(packages)]
    edges: dict[str, list[str]] = {name: [] for name in names}
    optional: dict[str, list[str]] = {}

    def edge(target: str, extra: str | None = None) -> str:
        parts = [f'name = "{target}"']
        if extra:
            parts.append(f'extra = ["{extra}"]')
        if rng.random() < 1 / 12:
            parts.append(f'marker = "{rng.choice(MARKERS)}"')
        return "{ " + ", ".join(parts) + " }"

    for index in range(DIRECT, packages):
        parent = names[rng.randrange(max(0, index - 40), index)]
        edges[parent].append(edge(names[index]))
    for index in range(packages - 1):
        for target in rng.sample(range(index + 1, packages), min(rng.randint(0, 2), packages - index - 1)):
            edges[names[index]].append(edge(names[target]))
    for index in range(0, packages - 30, 25):
        optional[names[index]] = [edge(names[index + 30])]
        edges[names[max(0, index - 1)] if index else names[1]].append(edge(names[index], extra="speedups"))

    blocks = ['version = 1\nrevision = 3\nrequires-python = ">=3.9"\n']
    registry = 'source = { registry = "https://index.example/simple" }'

    def package(name: str, release: str, dependencies: list[str], extras: list[str] | None) -> str:
        lines = ["[[package]]", f'name = "{name}"', f'version = "{release}"', registry]
        if dependencies:
            lines += ["dependencies = [", *(f"    {item}," for item in sorted(dependencies)), "]"]
        filename = name.replace("-", "_")
        size = 10_000 + int(fake_hash(name)[:4], 16)
        lines.append(f"sdist = {file_entry(name, release, f'{filename}-{release}.tar.gz', size)}")
        if int(fake_hash(name)[:2], 16) % 10 == 0:
            tags = [
                f"cp{python}-cp{python}-{platform}"
                for python in (39, 310, 311, 312)
                for platform in ("manylinux_2_17_x86_64", "macosx_11_0_arm64", "win_amd64")
            ]
        else:
            tags = ["py3-none-any"]
        wheels = [file_entry(name, release, f"{filename}-{release}-{tag}.whl", size * 2) for tag in tags]
        lines += ["wheels = [", *(f"    {wheel}," for wheel in wheels), "]"]
        if extras:
            lines += ["", "[package.optional-dependencies]", "speedups = [", *(f"    {e}," for e in extras), "]"]
        return "\n".join(lines) + "\n"

    root = [
        "[[package]]",
        f'name = "{project}"',
        f'version = "{version}"',
        'source = { editable = "." }',
        "dependencies = [",
        *(f'    {{ name = "{name}" }},' for name in names[:DIRECT]),
        "]",
        "",
        "[package.optional-dependencies]",
        "cli = [",
        *(f'    {{ name = "{name}" }},' for name in CLI_EXTRA),
        "]",
        "",
        "[package.dev-dependencies]",
        "dev = [",
        *(f'    {{ name = "{name}" }},' for name in DEV_GROUP),
        "]",
        "",
        "[package.metadata]",
        "requires-dist = [",
        *(f'    {{ name = "{name}", specifier = ">=1.0" }},' for name in names[:DIRECT]),
        *(f'    {{ name = "{name}", marker = "extra == \'cli\'" }},' for name in CLI_EXTRA),
        "]",
        'provides-extras = ["cli"]',
        "",
        "[package.metadata.requires-dev]",
        "dev = [",
        *(f'    {{ name = "{name}" }},' for name in DEV_GROUP),
        "]",
    ]
    entries = {project: "\n".join(root) + "\n"}
    for index, name in enumerate(names):
        entries[name] = package(name, f"1.{index}.{index % 7}", edges[name], optional.get(name))
    for name in CLI_EXTRA + DEV_GROUP:
        entries[name] = package(name, "2.0.0", [], None)
    blocks += [entries[name] for name in sorted(entries)]
    return "\n".join(blocks)


def pyproject_text(variant: str) -> str:
    version = 'dynamic = ["version"]' if variant == "b" else 'version = "1.0.0"'
    dependencies = ", ".join(f'"dep-{index:03d}>=1.0"' for index in range(DIRECT))
    extras = ", ".join(f'"{name}"' for name in CLI_EXTRA)
    text = f"""\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{PACKAGE}"
{version}
description = "A sample application for bench/build.py"
requires-python = ">=3.9"
dependencies = [{dependencies}]

[project.optional-dependencies]
cli = [{extras}]

[tool.hatch.build.targets.wheel]
packages = ["{PACKAGE}"]
"""
    if variant == "b":
        text += f"""
[tool.hatch.version]
source = "vcs"

[tool.hatch.build.hooks.vcs]
version-file = "{PACKAGE}/_version.py"
"""
    if variant in ("c", "d"):
        text += "\n[tool.hatch.build.hooks.buildinfo]\n"
    return text


def project_files() -> dict[str, bytes]:
    files = {
        ".gitignore": f"/dist/\n/{PACKAGE}/_version.py\n__pycache__/\n".encode(),
        "README.md": b"# sampleapp\n\nA sample application.\n",
        f"{PACKAGE}/__init__.py": b'"""A sample application."""\n',
    }
    for index in range(10):
        files[f"{PACKAGE}/module{index}.py"] = (
            b'"""Module %d."""\n\n\ndef function_%d(value):\n    return value * %d\n' % (index, index, index)
        )
    return files


def make_sample(path: Path, variant: str, commits: int) -> None:
    files = project_files()
    churn = [name for name in files if "/module" in name]
    last = {"pyproject.toml": pyproject_text(variant).encode()}
    if variant == "d":
        last["uv.lock"] = uv_lock_text(PACKAGE, "1.0.0").encode()
    # One release tag, v1.0.0, 9 commits before HEAD: hatch-vcs then says 1.0.1.dev9, the hook v1.0.0-9-g….
    make_repository(path, commits, files, churn, lambda index, total: index == max(0, total - 10), last=last)


# ---------------------------------------------------------------------------------------------
# 1-3. Wheel builds


def build_command(python: str) -> list[str]:
    return [python, "-m", "hatchling", "build", "-t", "wheel"]


def timed_build(python: str, repo: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one wheel build, from a clean output directory."""
    shutil.rmtree(repo / "dist", ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(build_command(python), cwd=repo, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def peak_rss_mib(python: str, repo: Path, env: dict[str, str]) -> float:
    """Peak resident set of one whole wheel build process."""
    shutil.rmtree(repo / "dist", ignore_errors=True)
    if os.access("/usr/bin/time", os.X_OK):
        result = run(["/usr/bin/time", "-v", *build_command(python)], cwd=repo, env=env, text=True)
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        if found:
            return int(found.group(1)) / 1024
    # A fresh intermediate process, so RUSAGE_CHILDREN holds the build and nothing else.
    result = run(child_command(sys.executable, "peak_rss", *build_command(python)), cwd=repo, env=env, text=True)
    return int(result.stdout.split()[-1]) / 1024


def check_wheel(python: str, repo: Path, variant: str, env: dict[str, str]) -> str:
    """What the variant's wheel must show, so that each variant measures what it says."""
    (wheel,) = (repo / "dist").glob("*.whl")
    head = run(["git", "rev-parse", "HEAD"], cwd=repo, text=True).stdout.strip()
    if variant == "b":
        if not wheel.name.startswith(f"{PACKAGE}-1.0.1.dev"):
            raise RuntimeError(f"(b): hatch-vcs gave {wheel.name}, expected version 1.0.1.devN")
        return wheel.name.split("-")[1]
    if variant == "a":
        return "no build info"
    result = run([python, "-m", "hatch_buildinfo", "inspect", wheel, "--json"], cwd=repo, env=env, text=True)
    info = json.loads(result.stdout)
    expected = LOCK_PACKAGES if variant == "d" else 0
    if info["revision"] != head or len(info["dependencies"]) != expected or not str(info["tag"]).startswith("v1.0.0"):
        raise RuntimeError(f"({variant}): the wheel records {info}, expected revision {head}, {expected} dependencies")
    return f"revision {head[:10]}, tag {info['tag']}, {len(info['dependencies'])} deps"


def bench_builds(pythons: dict[str, str], work: Path, commits: int, runs: int, memory_runs: int) -> dict:
    print(
        f"== Build overhead: `python -m hatchling build -t wheel` (no isolation), a {commits}-commit repository, "
        f"{runs} interleaved runs of each, medians =="
    )
    print("   net = minus (a); CPU = user + system of the build process and its children; git procs = one traced run")
    env = clean_environment()
    repos, python = {}, {}
    for key, _ in VARIANTS:
        repos[key] = work / f"sample-{key}"
        python[key] = pythons[VENV_OF[key]]
        make_sample(repos[key], key, commits)
    checks = {}
    for key, _ in VARIANTS:  # a warm-up round, which also checks each variant's wheel
        timed_build(python[key], repos[key], env)
        checks[key] = check_wheel(python[key], repos[key], key, env)
    git_processes = {}
    for key, _ in VARIANTS:
        shutil.rmtree(repos[key] / "dist", ignore_errors=True)
        git_processes[key] = traced(build_command(python[key]), repos[key], env, work)
    walls: dict[str, list[float]] = {key: [] for key, _ in VARIANTS}
    cpus: dict[str, list[float]] = {key: [] for key, _ in VARIANTS}
    for _ in range(runs):
        for key, _ in VARIANTS:
            wall_seconds, cpu_seconds = timed_build(python[key], repos[key], env)
            walls[key].append(wall_seconds)
            cpus[key].append(cpu_seconds)
    wall = {key: median_ms(walls[key]) for key in walls}
    cpu = {key: median_ms(cpus[key]) for key in cpus}
    print(f"  {'variant':<54} {'venv':<9} {'wall ms':>8} {'net ms':>8} {'CPU ms':>8} {'git procs':>9}  check")
    for key, label in VARIANTS:
        net = "" if key == "a" else f"{wall[key] - wall['a']:8.1f}"
        name = f"({key}) {label}"
        print(
            f"  {name:<54} {VENV_OF[key]:<9} {wall[key]:8.1f} {net:>8} {cpu[key]:8.1f} "
            f"{len(git_processes[key]):>9}  {checks[key]}"
        )
    spread = {key: (min(walls[key]) * 1000, max(walls[key]) * 1000) for key in walls}
    print("  spread (min-max ms): " + ", ".join(f"({k}) {lo:.0f}-{hi:.0f}" for k, (lo, hi) in spread.items()))
    vcs = wall["b"] - wall["a"]
    for key in ("c", "d"):
        ours = wall[key] - wall["a"]
        ratio = ours / vcs if vcs > 0 else float("inf")
        cpu_vcs, cpu_ours = cpu["b"] - cpu["a"], cpu[key] - cpu["a"]
        cpu_ratio = f"{cpu_ours / cpu_vcs:.2f}" if cpu_vcs > 0 else "n/a"
        print(
            f"  ({key}-a)/(b-a): {ours:.1f} / {vcs:.1f} ms = {ratio:.2f} wall, {cpu_ratio} CPU  "
            f"(goal <= {OVERHEAD_GOAL:g}: {verdict(ratio <= OVERHEAD_GOAL)})"
        )
    for key in ("b", "c", "d"):
        commands = ", ".join(f"{argv} {seconds * 1000:.1f}" for argv, seconds in git_processes[key])
        print(f"  ({key}) git processes, ms each (git's own time): {commands or 'none'}")

    print()
    how = "/usr/bin/time -v" if os.access("/usr/bin/time", os.X_OK) else "getrusage(RUSAGE_CHILDREN)"
    print(f"== Memory: peak RSS of the whole build process ({how}), {memory_runs} interleaved runs, medians ==")
    peaks: dict[str, list[float]] = {key: [] for key, _ in VARIANTS}
    for _ in range(memory_runs):
        for key, _ in VARIANTS:
            peaks[key].append(peak_rss_mib(python[key], repos[key], env))
    peak = {key: statistics.median(values) for key, values in peaks.items()}
    print(f"  {'variant':<54} {'peak MiB':>8} {'net MiB':>8} {'ratio':>6}")
    for key, label in VARIANTS:
        net = "" if key == "a" else f"{peak[key] - peak['a']:8.1f}"
        name = f"({key}) {label}"
        print(f"  {name:<54} {peak[key]:8.1f} {net:>8} {peak[key] / peak['a']:5.2f}x")
    return {"wall": wall, "cpu": cpu, "repos": repos, "python": python}


def imported(python: str, repo: Path, env: dict[str, str]) -> dict[str, int]:
    """{module: self µs} of one wheel build under `python -X importtime`."""
    shutil.rmtree(repo / "dist", ignore_errors=True)
    command = [python, "-X", "importtime", *build_command(python)[1:]]
    result = run(command, cwd=repo, env=env, text=True)
    return {match[3]: int(match[1]) for match in IMPORT_TIME.finditer(result.stderr)}


def bench_steps(pythons: dict[str, str], builds: dict, runs: int, work: Path) -> None:
    print()
    print(f"== Where the time goes: imports in fresh processes, {runs} interleaved runs of each, medians ==")
    env = clean_environment()
    results: dict[str, list[tuple[float, float]]] = {key: [] for key, *_ in IMPORT_CASES}
    for _ in range(runs):
        for key, venv, _, names in IMPORT_CASES:
            wall, answer = child_json(pythons[venv], "timed_import", *names, cwd=work, env=env)
            results[key].append((wall, answer["in_process"]))
    processes = {
        key: len(traced(child_command(pythons[venv], "timed_import", *names), work, env, work))
        for key, venv, _, names in IMPORT_CASES
    }
    print(f"  {'case':<46} {'venv':<9} {'wall ms':>8} {'net ms':>8} {'in-proc ms':>10} {'git procs':>9}")
    imports = {}
    for key, venv, label, _ in IMPORT_CASES:
        wall = median_ms([w for w, _ in results[key]])
        inside = median_ms([i for _, i in results[key]])
        imports[key] = inside
        net = "" if key == venv else f"{wall - median_ms([w for w, _ in results[venv]]):8.1f}"
        print(f"  {label:<46} {venv:<9} {wall:8.1f} {net:>8} {inside:10.1f} {processes[key]:>9}")
    vcs = builds["wall"]["b"] - builds["wall"]["a"]
    ours = builds["wall"]["c"] - builds["wall"]["a"]
    print(
        f"  import git / whole hatch-vcs overhead (b-a): {imports['git']:.1f} / {vcs:.1f} ms = "
        f"{imports['git'] / vcs if vcs > 0 else float('inf'):.2f}; "
        f"import git / our overhead (c-a): {imports['git'] / ours if ours > 0 else float('inf'):.2f}"
    )

    print()
    print("-- modules each build imports beyond (a)'s: one `python -X importtime` build of each, self time --")
    modules = {key: imported(builds["python"][key], builds["repos"][key], env) for key, _ in VARIANTS}
    print(f"  {'variant':<8} {'modules':>7} {'self ms':>8}  by top-level package, self ms")
    for key, _ in VARIANTS[1:]:
        extra = {name: micros for name, micros in modules[key].items() if name not in modules["a"]}
        packages: dict[str, int] = {}
        for name, micros in extra.items():
            packages[name.split(".")[0]] = packages.get(name.split(".")[0], 0) + micros
        top = sorted(packages.items(), key=lambda item: -item[1])
        shown = ", ".join(f"{name} {micros / 1000:.1f}" for name, micros in top[:8] if micros >= 200)
        print(f"  ({key}){'':<5} {len(extra):>7} {sum(extra.values()) / 1000:8.1f}  {shown}")

    print()
    print(
        "-- the hook's steps, timed one by one in a fresh process that has imported hatchling's build machinery "
        "and packaging.requirements (as every build of a project with dependencies has), on the (d) repository --"
    )
    repo = builds["repos"]["d"]
    direct = [f"dep-{index:03d}>=1.0" for index in range(DIRECT)]
    samples: dict[str, list[float]] = {}
    details: dict[str, tuple[int, list[str]]] = {}
    for _ in range(runs):
        _, answer = child_json(pythons["buildinfo"], "hook_steps", str(repo), PACKAGE, *direct, cwd=work, env=env)
        for name, seconds, count, new_packages in answer["steps"]:
            samples.setdefault(name, []).append(seconds)
            details[name] = (count, new_packages)
    print(f"  {'step':<66} {'ms':>8} {'new modules':>11}  new top-level packages")
    total = 0.0
    for name, seconds in samples.items():
        value = median_ms(seconds)
        if not any(word in name for word in ("again", "alone", "only where")):
            total += value
        count, new_packages = details[name]
        shown = ", ".join(new_packages[:8]) + (", …" if len(new_packages) > 8 else "")
        print(f"  {name:<66} {value:8.2f} {count:>11}  {shown}")
    sbom_ms = sum(median_ms(s) for name, s in samples.items() if name.startswith("SBOM:"))
    met = verdict(sbom_ms < SBOM_GOAL_MS)
    print(f"  the SBOM's steps together: {sbom_ms:.2f} ms  (goal < {SBOM_GOAL_MS:g} ms: {met})")
    lock_steps = [median_ms(s) for name, s in samples.items() if name.startswith("read_lock(uv.lock), first")]
    print(
        f"  sum of the steps (first calls): {total:.1f} ms, without the lock: {total - sum(lock_steps):.1f} ms; "
        f"measured in whole builds: (c)-(a) {ours:.1f} ms, (d)-(a) {builds['wall']['d'] - builds['wall']['a']:.1f} ms"
    )


# ---------------------------------------------------------------------------------------------
# 4. Repository scale


def bench_scale(pythons: dict[str, str], work: Path, cases: tuple, ratio_labels: tuple, runs: int) -> None:
    print()
    print(
        f"== Repository scale: hatch_buildinfo.hook.git.collect(root) in a fresh process, against setuptools-scm's "
        f"get_version(root); {runs} interleaved runs of each, medians =="
    )
    print(
        "   wall = the whole `python -c` process; import = hatch_buildinfo.hook.git (in-proc); "
        "collect = git.collect alone (import excluded); git = git's own time, one traced run, summed over its "
        "processes (ours run side by side); made = seconds to make the repository"
    )
    env = clean_environment()
    repos = {}
    for label, commits, files, tagged, commit_graph in cases:
        start = time.perf_counter()
        path = work / re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        content = data_files(files)
        tags = make_repository(path, commits, content, list(content), tagged, commit_graph=commit_graph)
        repos[label] = (path, tags, time.perf_counter() - start)
    children = (("ours", pythons["buildinfo"], "git_collect"), ("scm", pythons["vcs"], "scm_version"))
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    answers = {}
    for _ in range(runs):
        for label, *_ in cases:
            for key, python, child in children:
                wall, answer = child_json(python, child, str(repos[label][0]), cwd=work, env=env)
                results.setdefault((label, key), []).append((wall, answer["import"], answer["collect"]))
                answers[label, key] = answer
    print(
        f"  {'repository':<27} {'commits':>7} {'files':>6} {'tags':>5} {'made s':>6} | {'wall ms':>7} "
        f"{'import ms':>9} {'collect ms':>10} {'git procs':>9} {'git ms':>6} {'describe ms':>11} | "
        f"{'scm wall ms':>11} {'scm ms':>6} {'scm procs':>9} {'scm git ms':>10}"
    )
    figures = {}
    for label, commits, files, *_ in cases:
        path, tags, made = repos[label]
        row: dict[str, tuple[float, ...]] = {}
        git_processes: dict[str, list[tuple[str, float]]] = {}
        for key, python, child in children:
            measured = results[label, key]
            row[key] = tuple(median_ms([m[index] for m in measured]) for index in range(3))
            git_processes[key] = traced(child_command(python, child, str(path)), work, env, work)
        ours_git, scm_git = git_processes["ours"], git_processes["scm"]
        describe = sum(seconds for argv, seconds in ours_git if argv.startswith("describe")) * 1000
        figures[label] = row
        print(
            f"  {label:<27} {commits:>7,} {files:>6,} {tags:>5} {made:6.1f} | {row['ours'][0]:7.1f} "
            f"{row['ours'][1]:9.1f} {row['ours'][2]:10.1f} {len(ours_git):>9} "
            f"{sum(s for _, s in ours_git) * 1000:6.1f} {describe:11.1f} | {row['scm'][0]:11.1f} "
            f"{row['scm'][2]:6.1f} {len(scm_git):>9} {sum(s for _, s in scm_git) * 1000:10.1f}"
        )
    first = cases[0][0]
    tag = answers[first, "ours"]["facts"].get("tag")
    print(f"  ({first}: ours recorded tag {tag!r}; setuptools-scm said {answers[first, 'scm']['version']})")
    base, alone, with_tags = ratio_labels
    for big, what in ((alone, "history alone"), (with_tags, "history and tags")):
        for index, part in ((2, "collect, import excluded"), (0, "whole process, import included")):
            ratio = figures[big]["ours"][index] / figures[base]["ours"][index]
            scm_ratio = figures[big]["scm"][index] / figures[base]["scm"][index]
            print(
                f"  {what}, {big} / {base}, {part}: {ratio:.2f}x  (goal within ±{SCALE_GOAL:.0%}: "
                f"{verdict(abs(ratio - 1) <= SCALE_GOAL)}); setuptools-scm: {scm_ratio:.2f}x"
            )
    # The two grown repositories differ in their tags alone.
    extra_tags = repos[with_tags][1] - repos[alone][1]
    per_tag = (figures[with_tags]["ours"][2] - figures[alone]["ours"][2]) / extra_tags * 1000
    history = figures[alone]["ours"][2] - figures[base]["ours"][2]
    print(
        f"  collect, import excluded: {history:+.1f} ms for the longer history alone; {per_tag:+.1f} µs a tag "
        f"for the {extra_tags:,} more tags of `{with_tags}` than `{alone}`"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 runs, no 100k repository: under a minute")
    parser.add_argument("--runs", type=int, help=f"runs per case (default {RUNS}, {SMOKE_RUNS} with --smoke)")
    parser.add_argument(
        "--venvs", type=Path, default=DEFAULT_VENVS, help=f"where the bench venvs live (default {DEFAULT_VENVS})"
    )
    options = parser.parse_args(argv)
    runs = options.runs or (SMOKE_RUNS if options.smoke else RUNS)
    pythons = ensure_venvs(options.venvs.resolve())
    print(machine_text(pythons))
    print()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as temporary:
        work = Path(temporary)
        _HOME.append(use_home(work / "home"))
        commits = SMOKE_HISTORY_COMMITS if options.smoke else HISTORY_COMMITS
        builds = bench_builds(pythons, work, commits, runs, SMOKE_MEMORY_RUNS if options.smoke else MEMORY_RUNS)
        bench_steps(pythons, builds, runs, work)
        bench_scale(
            pythons,
            work,
            SMOKE_SCALE_CASES if options.smoke else SCALE_CASES,
            SMOKE_SCALE_RATIOS if options.smoke else SCALE_RATIOS,
            runs,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
