"""BuildInfoFilter: every log line says which build wrote it, in format strings and in JSON."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from hatch_buildinfo import BuildInfo
from hatch_buildinfo.logging import BuildInfoFilter

INFO = BuildInfo("example_app", "0.1.0", revision="3f2c1a9e0d4b5c6d7e8f90a1b2c3d4e5f6a7b8c9", branch="main")


@pytest.fixture
def logged(request):
    """A logger whose one handler carries the filter and the given formatter; returns (logger, output)."""

    def make(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
        output = io.StringIO()
        handler = logging.StreamHandler(output)
        handler.setFormatter(formatter)
        handler.addFilter(BuildInfoFilter(INFO))
        logger = logging.getLogger(f"test_logging.{request.node.name}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        request.addfinalizer(lambda: logger.removeHandler(handler))
        return logger, output

    return make


def test_format_strings_can_name_the_build(logged):
    logger, output = logged(logging.Formatter("%(version)s %(revision).7s %(branch)s %(message)s"))
    logger.info("started")
    assert output.getvalue() == "0.1.0 3f2c1a9 main started\n"


def test_a_json_formatter_writes_the_build_into_every_line(logged):
    logger, output = logged(JsonFormatter("%(levelname)s %(message)s"))
    logger.info("started")
    logger.getChild("worker").warning("slow")  # a child's record reaches the handler, and its filter
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    assert lines == [
        {"levelname": "INFO", "message": "started", "version": "0.1.0", "revision": INFO.revision, "branch": "main"},
        {"levelname": "WARNING", "message": "slow", "version": "0.1.0", "revision": INFO.revision, "branch": "main"},
    ]


def test_a_records_own_value_is_kept(logged):
    logger, output = logged(JsonFormatter("%(message)s"))
    logger.info("replayed", extra={"version": "0.0.9"})
    assert json.loads(output.getvalue())["version"] == "0.0.9"
    assert json.loads(output.getvalue())["branch"] == "main"


def test_the_filter_lets_every_record_through():
    record = logging.LogRecord("app", logging.DEBUG, __file__, 1, "message", None, None)
    assert BuildInfoFilter(INFO).filter(record) is True
    assert (record.version, record.revision, record.branch) == ("0.1.0", INFO.revision, "main")
