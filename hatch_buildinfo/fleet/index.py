"""Ask package indexes what each module's newest release is, and when each version was released.

The client speaks the Simple Repository API as JSON (PEP 691) and reads PEP 700's per-file `upload-time`.
It asks only for the names it is given, a few at a time, and through an HTTP cache in memory (hishel), so
that a refresh where nothing changed is answered with 304s. Several indexes are asked in order: the first
that knows a name answers for it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx
from hishel import CacheOptions, SqliteStorage
from hishel.httpx import CacheTransport
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .web import BoundError, read_bounded

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Project:
    """What an index says of one project."""

    name: str  # PEP 503 normalized
    latest: str | None  # the newest final release; None: no final release
    released: Mapping[str, float]  # version as the index spells it -> earliest upload-time of its non-yanked files
    times_known: bool  # the page gave upload-time for its files (PEP 700)

    def release_time(self, version: str) -> float | None:
        """When `version` (1.0 == 1.0.0) was released, None when the index does not say."""
        if version in self.released:
            return self.released[version]
        wanted = _version(version)
        if wanted is None:
            return None
        for spelled, seconds in self.released.items():
            if _version(spelled) == wanted:
                return seconds
        return None


@dataclass(frozen=True)
class Refresh:
    """The outcome of one refresh."""

    projects: dict[str, Project]  # normalized name -> Project, for names some index knows
    unknown: tuple[str, ...]  # names every index answered 404 for
    errors: tuple[str, ...]  # one line per name that could not be read
    requests: int  # HTTP requests sent
    not_modified: int  # of which answered 304


class _Error(Exception):
    """One line: why a page could not be read."""


class _Counting(httpx.BaseTransport):
    """The requests that reach the network (not those the cache answers alone), and the 304s among them."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._transport.handle_request(request)
        with self._lock:
            self.requests += 1
            self.not_modified += response.status_code == 304
        return response

    def close(self) -> None:
        self._transport.close()


class PackageIndex:
    """One or more indexes (`urls`, asked in order) behind an HTTP cache kept for the object's life."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        concurrency: int = 4,
        timeout: float = 10.0,
        max_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.urls = list(urls)
        # Per index URL: False once a page of it lacked upload times (no PEP 700 data).
        self.times_known = {url: True for url in self.urls}
        self._concurrency = max(1, concurrency)
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._counter = _Counting(
            httpx.HTTPTransport(limits=httpx.Limits(max_connections=self._concurrency), retries=0)
        )
        # On disk, in a directory of its own removed on close: the cache holds every page for the object's
        # life (tens of KiB a name, MiB for the largest), which memory should not. One connection serves
        # every thread.
        self._cache_directory = tempfile.TemporaryDirectory(prefix="hatch-buildinfo-index-", ignore_cleanup_errors=True)
        database = os.path.join(self._cache_directory.name, "cache.sqlite")
        storage = SqliteStorage(connection=sqlite3.connect(database, check_same_thread=False, isolation_level=None))
        # Per page URL: the validators of the answer last read, and what it said. An unchanged page (a 304,
        # handed back by the cache as the stored answer) is not read and parsed again.
        self._read: dict[str, tuple[tuple[str, str], Project]] = {}
        # A private cache: a mirror may need credentials, and this client is its only user.
        transport = CacheTransport(self._counter, storage=storage, rfc=CacheOptions(shared=False))
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            headers={"Accept": JSON_TYPE},
        )

    def close(self) -> None:
        self._client.close()
        self._cache_directory.cleanup()

    def refresh(self, names: Iterable[str]) -> Refresh:
        """Ask for each of `names` (and only those); a name that cannot be read goes to `errors`."""
        wanted = sorted({str(canonicalize_name(name)) for name in names})
        before = (self._counter.requests, self._counter.not_modified)
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            answers = list(pool.map(self._project, wanted))
        projects = {}
        unknown = []
        errors = []
        for name, answer in zip(wanted, answers):
            if isinstance(answer, Project):
                projects[name] = answer
            elif answer is None:
                unknown.append(name)
            else:
                errors.append(answer)
        return Refresh(
            projects=projects,
            unknown=tuple(unknown),
            errors=tuple(errors),
            requests=self._counter.requests - before[0],
            not_modified=self._counter.not_modified - before[1],
        )

    def _project(self, name: str) -> Project | str | None:
        """The Project of the first index that knows `name`, None when none does, or the error line."""
        for url in self.urls:
            page_url = f"{url.rstrip('/')}/{name}/"  # the Simple API's project page
            try:
                found = self._page(name, page_url)
                if found is None:
                    continue
                if not found.times_known:
                    self.times_known[url] = False
                return found
            except (_Error, BoundError) as error:
                return f"{page_url}: {error}"
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                return f"{page_url}: {type(error).__name__}: {error}"
        return None

    def _page(self, name: str, url: str) -> Project | None:
        """The Project the page at `url` describes, None for a 404, read within the time and size limits."""
        started = time.monotonic()
        with self._client.stream("GET", url) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise _Error(f"HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").partition(";")[0].strip()
            if kind != JSON_TYPE:
                raise _Error(f"the answer is {kind or 'untyped'}, not PEP 691 JSON ({JSON_TYPE})")
            validators = (response.headers.get("etag", ""), response.headers.get("last-modified", ""))
            known = self._read.get(url)
            if known is not None and any(validators) and known[0] == validators:
                return known[1]
            body = read_bounded(response, self._max_bytes, started, self._timeout)
        try:
            page = json.loads(body)
        except (ValueError, RecursionError):
            raise _Error("the page is not JSON") from None
        found = _read_project(name, page)
        if any(validators):
            self._read[url] = (validators, found)
        return found


def _read_project(name: str, page: object) -> Project:
    """The Project a PEP 691 page describes; `_Error` when it is not one."""
    if not isinstance(page, dict) or not isinstance(page.get("files"), list):
        raise _Error("the page has no list of files (PEP 691)")
    meta = page.get("meta")
    api = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(api, str) or not api.startswith("1."):
        raise _Error(f"the page's meta.api-version is {api!r}, not 1.x (PEP 691)")
    spellings: dict[Version, str] = {}
    for spelled in page.get("versions") or []:
        parsed = _version(spelled) if isinstance(spelled, str) else None
        if parsed is not None:
            spellings.setdefault(parsed, spelled)
    released: dict[str, float] = {}
    listed = set()
    times_known = api != "1.0"
    for file in page["files"]:
        if not isinstance(file, dict) or not isinstance(file.get("filename"), str):
            raise _Error(f"a file entry has no filename: {str(file)[:80]}")
        version = _file_version(file["filename"])
        uploaded = file.get("upload-time")
        if uploaded is None:
            times_known = False
        if version is None or file.get("yanked", False) not in (False, None):
            continue
        spelled = spellings.setdefault(version, str(version))
        listed.add(version)
        if uploaded is not None:
            seconds = _timestamp(uploaded)
            released[spelled] = min(seconds, released.get(spelled, seconds))
    latest = newest_release(spellings[version] for version in listed)
    return Project(name=name, latest=latest, released=released, times_known=times_known)


def _file_version(filename: str) -> Version | None:
    """The version a wheel's or an sdist's name carries; None for other files (eggs, installers)."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _timestamp(text: object) -> float:
    if not isinstance(text, str):
        raise _Error(f"upload-time {text!r} is not a string")
    try:
        # fromisoformat reads "Z" only from Python 3.11 on.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise _Error(f"upload-time {text!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise _Error(f"upload-time {text!r} has no time zone")
    return moment.timestamp()


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def newest_release(versions: Iterable[str]) -> str | None:
    """The highest PEP 440 version that is no pre- or dev-release, as given; None when there is none.
    Strings that are not PEP 440 versions are left out."""
    parsed = [(_version(text), text) for text in versions]
    finals = [(version, text) for version, text in parsed if version is not None and not version.is_prerelease]
    return max(finals, key=lambda pair: pair[0])[1] if finals else None


def libyears(running: float, newest: float) -> float:
    """How far the running release lags behind the newest, in years (libyear.com): 0 when not behind."""
    return max(0.0, newest - running) / YEAR
