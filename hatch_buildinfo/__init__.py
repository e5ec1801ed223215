"""hatch-buildinfo: a program's build facts, stamped at build time and read at run time.

This package is imported by every service at start-up, so it imports only the data model;
everything else loads when asked for.
"""

from .info import BuildInfo
from .read import build_info
from .text import json_text, version_text

__all__ = ["BuildInfo", "build_info", "json_text", "version_text"]
