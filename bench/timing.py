"""What bench/build.py and bench/runtime.py share: medians, verdicts, the CPU's name and fresh child processes.

The child programs live in bench/children/ and import nothing from here: they run under other
interpreters (the bench venvs, a venv of the base interpreter), where this module is not importable.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

CHILDREN = Path(__file__).resolve().parent / "children"


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else "unknown CPU"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            models = (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
            return next(models, "unknown CPU")
    except OSError:
        return "unknown CPU"


def environment_without(prefixes: tuple[str, ...], names: tuple[str, ...] = ()) -> dict[str, str]:
    """This environment less the variables that start with `prefixes`, those in `names`, and VIRTUAL_ENV.

    VIRTUAL_ENV goes because each child runs the interpreter it is given, not this venv's.
    """
    dropped = {"VIRTUAL_ENV", *names}
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes) and key not in dropped}


def child_command(python: str, child: str, *arguments: str) -> list[str]:
    """`python bench/children/<child>.py arguments…`."""
    return [python, str(CHILDREN / f"{child}.py"), *arguments]


def run_child(python: str, child: str, *arguments: str, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run one child program in a fresh process; its wall-clock seconds and standard output."""
    command = child_command(python, child, *arguments)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, encoding="utf-8", errors="replace")
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode} in {cwd}:\n{result.stdout}{result.stderr}")
    return wall, result.stdout
