"""Ask the `git` executable short questions side by side: the hook's git step and the run-time fallback both do.

Standard library only, so that the run-time side may use it.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack


def ask(root: str, *commands: tuple[str, ...]) -> list[tuple[bool, str]]:
    """Run `git` commands side by side; for each, whether it succeeded and its output (else its first error line).

    `--no-optional-locks` so that reading never rewrites the index; `LC_ALL=C` so that git's
    messages are the English ones callers match. Every process is waited for, come what may.
    Raises OSError where there is no `git` executable.
    """
    environment = {**os.environ, "LC_ALL": "C"}
    answers = []
    with ExitStack() as processes:
        started = [
            processes.enter_context(
                subprocess.Popen(
                    ["git", "--no-optional-locks", *command],
                    cwd=root,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    encoding="utf-8",
                    errors="replace",
                )
            )
            for command in commands
        ]
        for process in started:
            stdout, stderr = process.communicate()
            succeeded = process.returncode == 0
            answers.append((succeeded, stdout.strip() if succeeded else first_line(stderr)))
    return answers


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "no output"
