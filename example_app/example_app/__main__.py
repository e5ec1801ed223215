"""example-app: prints its build facts with `--version`."""

from __future__ import annotations

import argparse
import sys

from hatch_buildinfo import build_info, version_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="example-app", description="A small service built with hatch-buildinfo.")
    parser.add_argument("--version", action="store_true", help="print what this build was made from and exit")
    arguments = parser.parse_args(argv)
    if arguments.version:
        sys.stdout.write(version_text(build_info("example_app")))
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
