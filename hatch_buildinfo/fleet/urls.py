"""The URLs the fleet commands are given: checked before any request, each problem one line."""

from __future__ import annotations

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
