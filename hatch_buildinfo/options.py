"""Expose: `--version` for argparse and click, printing the design's text and exiting 0."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from .read import build_info
from .text import version_text


class VersionAction(argparse.Action):
    """`parser.add_argument("--version", action=VersionAction, package="example_app")`."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, *, package: str, **kwargs: Any):
        kwargs.setdefault("help", "print what this build was made from and exit")
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)
        self.package = package

    def __call__(self, parser: argparse.ArgumentParser, namespace: object, values: object, option: object = None):
        sys.stdout.write(version_text(build_info(self.package)))
        parser.exit(0)


def click_version_option(package: str, *names: str) -> Callable:
    """A click decorator: `@click_version_option("example_app")` adds `--version`."""
    import click

    def show(context: click.Context, parameter: click.Parameter, value: bool) -> None:
        if value and not context.resilient_parsing:
            click.echo(version_text(build_info(package)), nl=False)
            context.exit(0)

    return click.option(
        *(names or ("--version",)),
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=show,
        help="Print what this build was made from and exit.",
    )
