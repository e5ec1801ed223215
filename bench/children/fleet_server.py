"""Serve bench/fleet.py's simulated fleet: pre-rendered exposition bodies, one loopback port each.

    python fleet_server.py DIRECTORY

Serves each DIRECTORY/bodies/NNNN.prom at /metrics of a port of its own on 127.0.0.1, as text format
0.0.4. Once every port listens it writes their numbers, in the order of the files, to
DIRECTORY/ports.json (whole, by a rename). Serves until it is terminated.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def handler_for(body: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per scrape would only fill the log

    return Handler


def main(directory: Path) -> None:
    servers = []
    for path in sorted((directory / "bodies").glob("*.prom")):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(path.read_bytes()))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    partial = directory / "ports.json.part"
    partial.write_text(json.dumps([server.server_address[1] for server in servers]))
    os.replace(partial, directory / "ports.json")
    while True:
        signal.pause()  # SIGTERM's default action ends the process, daemon threads and all


if __name__ == "__main__":
    main(Path(sys.argv[1]))
