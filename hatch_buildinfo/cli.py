"""Expose: the `python -m hatch_buildinfo` command line."""

from __future__ import annotations

import argparse
import sys

from .artifacts import InspectError, read_target
from .text import inspect_text, json_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hatch_buildinfo", description="Show what a build was made from.")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser(
        "inspect", help="show the build info of a wheel, an sdist or an installed distribution"
    )
    inspect.add_argument("target", help="a .whl or .tar.gz file, or an installed distribution's name")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args(argv)

    try:
        info = read_target(arguments.target)
    except InspectError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(json_text(info) + "\n" if arguments.json else inspect_text(info, arguments.target))
    return 0
