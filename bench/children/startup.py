"""One start-up case of bench/runtime.py, timed inside this fresh process.

    python startup.py CASE [ARGUMENT]

CASE is one of CASES below; `nothing` is the baseline. The last line printed is the peak resident
set (VmHWM, KiB; Linux; 0 elsewhere) and the seconds the case took. Before the timer starts it
imports nothing but `time` (and `sys`, which every process has), and it has no
`from __future__` import, which would import a module too: what a case imports is its cost.
"""

import sys
import time


def nothing(argument: str) -> None:
    pass


def import_module(name: str) -> None:
    __import__(name)


def build_info(package: str) -> None:
    import hatch_buildinfo

    hatch_buildinfo.build_info(package)


def version(distribution: str) -> None:
    import importlib.metadata

    importlib.metadata.version(distribution)


def distributions(argument: str) -> object:
    """Name and version of every distribution, as example-app's --version drift check reads them."""
    import importlib.metadata

    return [(d.metadata["Name"], d.version) for d in importlib.metadata.distributions()]


def example_app_version(argument: str) -> None:
    """What the console script `example-app --version` does: argparse, the shim, the drift check."""
    # At run time this is bench/runtime.py's copy of example_app, on PYTHONPATH; mypy does not see
    # that copy, and the checkout's example_app has no py.typed marker.
    from example_app.__main__ import main  # type: ignore[import-untyped, import-not-found]

    try:
        main(["--version"])
    except SystemExit:
        pass


CASES = {
    "nothing": nothing,
    "import": import_module,
    "build_info": build_info,
    "version": version,
    "distributions": distributions,
    "example-app-version": example_app_version,
}

case = CASES[sys.argv[1]]
argument = sys.argv[2] if len(sys.argv) > 2 else ""
start = time.perf_counter()
case(argument)
elapsed = time.perf_counter() - start
try:
    with open("/proc/self/status") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
except OSError:
    peak = "0"
print(peak, elapsed)
