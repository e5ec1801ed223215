"""What every HTTP request of the fleet side shares: its URL checked before it is sent, and its answer read
within a size and a time bound; each problem one line."""

from __future__ import annotations

import time

import httpx


class URLError(ValueError):
    """A URL that cannot be used; the message is one line naming the option and the URL (never its credentials)."""


def check_http_url(flag: str, given: str, example: str) -> httpx.URL:
    """`given` as an http:// or https:// URL with a host; URLError otherwise."""
    try:
        url = httpx.URL(given)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise URLError(f"{flag} {given}: give an http:// or https:// URL, e.g. {example}")
    return url


def check_index_url(given: str) -> httpx.URL:
    """`given` as a package index URL for --index: http(s), and no credentials, which process lists would show."""
    url = check_http_url("--index", given, "https://mirror.example/simple/")
    if url.userinfo:
        bare = url.copy_with(username=None, password=None)
        raise URLError(f"--index {bare}: credentials in an index URL are not supported: process lists show them")
    return url


class BoundError(Exception):
    """One line: an answer was larger, or slower, than allowed."""


def read_bounded(response: httpx.Response, max_bytes: int, started: float, timeout: float) -> bytes:
    """The body of a streamed `response`, refused once it passes `max_bytes`, or `timeout` seconds after
    `started` (time.monotonic() when the request was sent)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BoundError(f"the answer is {declared} bytes, more than {max_bytes}")
    chunks = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BoundError(f"the answer is more than {max_bytes} bytes")
        if time.monotonic() > started + timeout:
            raise BoundError(f"the answer took more than {timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)
