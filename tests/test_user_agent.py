"""user_agent(info): prometheus/common's `ComponentUserAgent` with a comment, a valid header whatever the facts."""

from __future__ import annotations

import http.client
import http.server
import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hatch_buildinfo import BuildInfo, user_agent
from hatch_buildinfo.text import platform_text, python_version

REVISION = "3f2c1a9e0d4b5c6d7e8f90a1b2c3d4e5f6a7b8c9"

# RFC 9110: User-Agent = product *( RWS ( product / comment ) ), product = token [ "/" product-version ],
# comment = "(" *( ctext / quoted-pair / comment ) ")". Written out here, apart from the code it checks.
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
PRODUCT = rf"{TOKEN}(?:/{TOKEN})?"
CTEXT = r"[\t \x21-\x27\x2a-\x5b\x5d-\x7e\x80-\xff]"
QUOTED_PAIR = r"\\[\t \x21-\x7e\x80-\xff]"
COMMENT = rf"\((?:{CTEXT}|{QUOTED_PAIR})*\)"  # the code never nests a comment: it escapes every parenthesis
USER_AGENT = re.compile(rf"{PRODUCT}(?:[ \t]+(?:{PRODUCT}|{COMMENT}))*")

HOSTILE = [
    "main\r\nX-Injected: 1",
    "a(b)c\\",
    ")(",
    "\\",
    "\x00\x07\x1b[31m\x7f",
    "feature/ünïcödé-日本-🚀",
    " \t ",
    "",
    'semi;colon "quoted" /slash',
]


def test_the_shape_of_go_with_a_comment():
    info = BuildInfo("example_app", "0.1.0", revision=REVISION, branch="main", dirty=False)
    assert user_agent(info) == f"example_app/0.1.0 (revision 3f2c1a9; python {python_version()}; {platform_text()})"


def test_a_dirty_build_says_modified_as_go_does():
    info = BuildInfo("example_app", "0.1.0", revision=REVISION, dirty=True)
    assert user_agent(info).startswith("example_app/0.1.0 (revision 3f2c1a9-modified; python ")


@pytest.mark.parametrize(
    ("revision", "shown"),
    [("unknown", None), ("r1234", "revision r1234"), ("release-42", "revision release-42")],
)
def test_only_a_commit_hash_is_shortened_and_an_unknown_one_is_left_out(revision, shown):
    agent = user_agent(BuildInfo("example_app", "0.1.0", revision=revision))
    expected = f"python {python_version()}; {platform_text()}"
    assert agent == f"example_app/0.1.0 ({shown + '; ' if shown else ''}{expected})"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_facts_give_a_valid_header_that_a_server_receives_unchanged(value, loopback):
    info = BuildInfo(value or "x", value, revision=value or "unknown", branch=value, dirty=True)
    agent = user_agent(info)
    assert USER_AGENT.fullmatch(agent), agent
    assert agent.isascii()
    assert loopback(agent) == agent


@given(program=st.text(), version=st.text(), revision=st.text(), dirty=st.sampled_from([None, False, True]))
def test_any_facts_give_a_valid_header(program, version, revision, dirty):
    agent = user_agent(BuildInfo(program, version, revision=revision, dirty=dirty))
    assert USER_AGENT.fullmatch(agent), agent


@pytest.fixture
def loopback():
    """Send a real request with a User-Agent to a server on 127.0.0.1; returns the header it received."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            received.append(self.headers.get_all("User-Agent"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def send(agent: str) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        try:
            connection.request("GET", "/", headers={"User-Agent": agent})
            assert connection.getresponse().status == 204
        finally:
            connection.close()
        (headers,) = received[-1:]
        assert len(headers) == 1, "one header, nothing injected"
        return headers[0]

    yield send
    server.shutdown()
    server.server_close()
