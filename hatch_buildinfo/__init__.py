"""hatch-buildinfo: a program's build facts, stamped at build time and read at run time.

Every service imports this package at start-up, so it loads only the data model and the
reader; the text helpers load on first use, and nothing else loads unless asked for.
"""

from .info import BuildInfo
from .read import build_info

__all__ = ["BuildInfo", "build_context_text", "build_info", "info_text", "json_text", "user_agent", "version_text"]
_TEXT = ("build_context_text", "info_text", "json_text", "user_agent", "version_text")

TYPE_CHECKING = False  # typing's own would cost every service an import at start-up
if TYPE_CHECKING:  # what type checkers see of the names loaded on first use
    from .text import build_context_text, info_text, json_text, user_agent, version_text


def __getattr__(name: str) -> object:
    if name in _TEXT:
        from . import text

        return getattr(text, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
