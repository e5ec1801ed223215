"""Register the `buildinfo` build hook with Hatch."""

from __future__ import annotations

from hatchling.plugin import hookimpl

from .build_hook import BuildInfoBuildHook


@hookimpl
def hatch_register_build_hook() -> type[BuildInfoBuildHook]:
    return BuildInfoBuildHook
