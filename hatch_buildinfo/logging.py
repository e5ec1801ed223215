"""Expose: build facts on every log record, for `%(version)s` format strings and JSON formatters.

Stdlib only. This module is `hatch_buildinfo.logging`; `import logging` below is the standard
library's, as every import in this package is absolute or explicitly relative.
"""

from __future__ import annotations

import logging

from .info import BuildInfo


class BuildInfoFilter(logging.Filter):
    """Adds `version`, `revision` and `branch` of `info` to every record it sees, and lets each through.

    Add it to a handler: a logger's own filters do not see records its children propagate to it.
    A record that already has one of these attributes (`extra={"version": ...}`) keeps its own.
    """

    def __init__(self, info: BuildInfo) -> None:
        super().__init__()
        self.facts = {"version": info.version, "revision": info.revision, "branch": info.branch}

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in self.facts.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True
