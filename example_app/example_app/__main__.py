"""example-app: a small service that knows what it was built from.

example-app --version
example-app serve --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import argparse
import signal
import socket
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hatch_buildinfo.options import VersionAction


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line and exit status 2, without the usage block."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class ThreadingServer6(ThreadingServer):
    address_family = socket.AF_INET6


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every second would flood the log; stay quiet."""


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535: {text!r}")
    return value


def serve(host: str, port: int) -> int:
    from .app import application

    try:
        server_class = ThreadingServer6 if ":" in host else ThreadingServer
        server = make_server(host, port, application, server_class=server_class, handler_class=QuietHandler)
    except (OSError, UnicodeError) as error:
        sys.stderr.write(f"example-app: error: cannot listen on {host}:{port}: {error}\n")
        return 2

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    address, bound_port = server.server_address[:2]
    shown = f"[{address}]" if ":" in address else address
    sys.stderr.write(f"example-app: serving /metrics and /buildinfo on http://{shown}:{bound_port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="example-app", description="A small service built with hatch-buildinfo.")
    parser.add_argument("--version", action=VersionAction, package="example_app")
    commands = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    serving = commands.add_parser("serve", help="serve /metrics and /buildinfo over HTTP")
    serving.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serving.add_argument("--port", type=port, default=8000, help="port to listen on (default 8000)")
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        return serve(arguments.host, arguments.port)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
