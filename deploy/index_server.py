"""A static package index: a PEP 691/700 tree written from files, and a loopback server for it.

`write_tree` writes what an index such as PyPI answers (JSON with `versions` and per-file `upload-time`, and
the PEP 503 HTML pip falls back to); `IndexServer` serves it on 127.0.0.1 as PyPI does: the JSON or the HTML
by the Accept header, a 301 from an unnormalized name, and validators (`ETag`, `Last-Modified`) that a
caching client must revalidate on every request. Tests, bench/freshness.py and deploy/fleet.py use it.
Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html"


@dataclass(frozen=True)
class File:
    """One distribution file of a release."""

    filename: str
    upload_time: str | None  # ISO 8601 with Z; None: the page omits it (no PEP 700 data)
    yanked: bool | str = False  # PEP 592: False, True or a reason
    content: bytes | None = None  # None: a made-up file, listed with the sha256 of b""


def normalize(name: str) -> str:
    """PEP 503's normalized name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(filename: str) -> str:
    """The version a wheel's or an sdist's file name carries."""
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", filename)
    return stem.rpartition("-")[2]


def write_tree(root: Path, projects: Mapping[str, Sequence[File]], *, pep700: bool = True) -> None:
    """Write root/<normalized>/index.json (PEP 691, with PEP 700's data when `pep700`) and index.html
    (PEP 503) for each project, root/files/<filename> for files with content, and the project list
    root/index.json and root/index.html. Pages are rewritten only when their bytes change, so that an
    unchanged page keeps its Last-Modified."""
    files_dir = root / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    for name, files in projects.items():
        entries = []
        links = []
        for file in files:
            content = file.content if file.content is not None else b""
            if file.content is not None:
                _write_if_changed(files_dir / file.filename, file.content)
            digest = hashlib.sha256(content).hexdigest()
            url = f"../../files/{file.filename}"
            entry: dict[str, object] = {"filename": file.filename, "url": url, "hashes": {"sha256": digest}}
            if pep700 and file.upload_time is not None:
                entry["upload-time"] = file.upload_time
            entry["yanked"] = file.yanked
            entries.append(entry)
            yanked = ""
            if file.yanked is not False:
                reason = "" if file.yanked is True else str(file.yanked)
                yanked = f' data-yanked="{html.escape(reason)}"'
            links.append(f'<a href="{html.escape(url)}#sha256={digest}"{yanked}>{html.escape(file.filename)}</a><br>')
        page: dict[str, object] = {"meta": {"api-version": "1.1" if pep700 else "1.0"}, "name": name}
        if pep700:
            page["versions"] = sorted({_version(file.filename) for file in files})
        page["files"] = entries
        directory = root / normalize(name)
        directory.mkdir(parents=True, exist_ok=True)
        _write_if_changed(directory / "index.json", json.dumps(page, indent=1).encode())
        body = "\n".join(links)
        _write_if_changed(
            directory / "index.html",
            f"<!DOCTYPE html>\n<html><body><h1>Links for {html.escape(name)}</h1>\n{body}\n</body></html>\n".encode(),
        )
    # Projects written before keep their place in the list, under their normalized name.
    spelled = {path.parent.name: path.parent.name for path in root.glob("*/index.json")}
    spelled.update((normalize(name), name) for name in projects)
    names = [spelled[key] for key in sorted(spelled)]
    listing = {"meta": {"api-version": "1.1" if pep700 else "1.0"}, "projects": [{"name": n} for n in names]}
    _write_if_changed(root / "index.json", json.dumps(listing, indent=1).encode())
    anchors = "\n".join(f'<a href="{normalize(n)}/">{html.escape(n)}</a><br>' for n in names)
    _write_if_changed(root / "index.html", f"<!DOCTYPE html>\n<html><body>\n{anchors}\n</body></html>\n".encode())


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)


def wheel(name: str, version: str) -> bytes:
    """A minimal valid, installable pure-Python wheel (METADATA, WHEEL, RECORD) for name==version, no deps."""
    distribution = normalize(name).replace("-", "_")
    info = f"{distribution}-{version}.dist-info"
    members = {
        f"{distribution}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: index_server\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


class _CountingWriter(io.BufferedIOBase):
    """The handler's output stream, counting the bytes it writes (status line, headers, body) for its server."""

    def __init__(self, stream: io.BufferedIOBase, owner: IndexServer) -> None:
        self._stream = stream
        self._owner = owner

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        written = self._stream.write(data)
        self._owner._count(bytes_sent=len(data))
        return written

    def flush(self) -> None:
        self._stream.flush()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Connections stay open between requests, as a real index's do: every answer has a Content-Length (or,
    # a 304, no body).
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.wfile = _CountingWriter(self.wfile, self.server.owner)

    def log_message(self, format: str, *args: object) -> None:
        pass  # tests read the counters, not a log

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        owner = self.server.owner
        owner._count(requests=1)
        wants_json = JSON_TYPE in self.headers.get("Accept", "")
        kind = JSON_TYPE if wants_json else HTML_TYPE
        broken = owner._broken
        if broken is not None:
            status, data = broken
            self._send(status, data, {"Content-Type": kind}, body)
            return
        path = unquote(urlsplit(self.path).path)
        parts = [part for part in path.split("/") if part]
        root = owner.root
        if parts[:1] == ["files"] and len(parts) == 2 and (root / "files" / parts[1]).is_file():
            self._page(root / "files" / parts[1], "application/octet-stream", body)
        elif parts == ["simple"]:
            self._page(root / ("index.json" if wants_json else "index.html"), kind, body)
        elif parts[:1] == ["simple"] and len(parts) == 2:
            name = parts[1]
            if name != normalize(name) or not path.endswith("/"):
                self._send(301, b"", {"Location": f"/simple/{normalize(name)}/"}, body)
            elif (root / name / "index.json").is_file():
                self._page(root / name / ("index.json" if wants_json else "index.html"), kind, body)
            else:
                self._send(404, b"not found\n", {"Content-Type": "text/plain"}, body)
        else:
            self._send(404, b"not found\n", {"Content-Type": "text/plain"}, body)

    def _page(self, path: Path, kind: str, body: bool) -> None:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
        etag = f'"{hashlib.sha256(data).hexdigest()}"'
        headers = {
            "Content-Type": kind,
            "ETag": etag,
            "Last-Modified": formatdate(mtime, usegmt=True),
            "Cache-Control": "max-age=0, must-revalidate",
            "Vary": "Accept",
        }
        if self._not_modified(etag, mtime):
            self.server.owner._count(not_modified=1)
            self._send(304, b"", headers, body=False)
        else:
            self._send(200, data, headers, body)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        """RFC 9110 13.1: If-None-Match when given, else If-Modified-Since."""
        matches = self.headers.get("If-None-Match")
        if matches is not None:
            tags = [tag.strip().removeprefix("W/") for tag in matches.split(",")]
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def _send(self, status: int, data: bytes, headers: dict[str, str], body: bool) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and status != 304:
            self.wfile.write(data)
            self.server.owner._count(body_bytes=len(data))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: IndexServer


class IndexServer:
    """Serves the tree at `root` on 127.0.0.1 (a free port) under /simple/ and /files/, from entering
    the context until leaving it; counts requests, 304 answers, the bytes sent (`bytes_sent`: status lines, headers and
    bodies) and those of bodies alone (`body_bytes`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._broken: tuple[int, bytes] | None = None
        self.requests = self.not_modified = self.bytes_sent = self.body_bytes = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_port}/simple/"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> IndexServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def reset(self) -> None:
        """Set the counters to 0."""
        with self._lock:
            self.requests = self.not_modified = self.bytes_sent = self.body_bytes = 0

    def break_with(self, status: int | None = None, body: bytes | None = None) -> None:
        """Answer every request with `status` (200 when only `body` is given) and `body`; (None, None): serve
        the tree again."""
        self._broken = None if status is None and body is None else (status or 200, body or b"")

    def _count(self, requests: int = 0, not_modified: int = 0, bytes_sent: int = 0, body_bytes: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.not_modified += not_modified
            self.bytes_sent += bytes_sent
            self.body_bytes += body_bytes
