"""example-app: a small service that knows what it was built from.

example-app --version
example-app serve --host 127.0.0.1 --port 8000
example-app ping      # serve on a free loopback port, fetch /buildinfo from itself, stop
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import socketserver
import sys
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hatch_buildinfo import BuildInfo, info_text, user_agent
from hatch_buildinfo.logging import BuildInfoFilter
from hatch_buildinfo.options import VersionAction

LOG = logging.getLogger("example-app")
# Every record names the build it comes from, through BuildInfoFilter's attributes.
LOG_FORMAT = "%(name)s %(version)s (%(revision).7s): %(message)s"


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


class LoggingHandler(QuietHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One log line a request, naming the client's User-Agent."""
        LOG.info('"%s" %s from %s', self.requestline, code, self.headers.get("User-Agent", "-"))


def set_up_logging(info: BuildInfo) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(BuildInfoFilter(info))
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


def set_up_tracing(info: BuildInfo) -> None:
    """With hatch-buildinfo[otel] installed, traces carry the build's facts; without it, nothing."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        from hatch_buildinfo.otel import resource
    except ImportError:
        return
    # Resource.create() last: OTEL_RESOURCE_ATTRIBUTES and the configured detectors win, as users expect.
    provider = TracerProvider(resource=resource(info).merge(Resource.create()))
    trace.set_tracer_provider(provider)
    LOG.info("OpenTelemetry resource: %s", dict(sorted(provider.resource.attributes.items())))


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535: {text!r}")
    return value


def listen(host: str, port: int, handler_class: type[WSGIRequestHandler] = QuietHandler) -> WSGIServer | None:
    """The server, bound and with its application made; None, and one line saying why, where it cannot listen."""
    from .app import INFO, application

    try:
        server_class = ThreadingServer6 if ":" in host else ThreadingServer
        server = make_server(host, port, application, server_class=server_class, handler_class=handler_class)
    except (OSError, UnicodeError) as error:
        sys.stderr.write(f"example-app: error: cannot listen on {host}:{port}: {error}\n")
        return None
    set_up_logging(INFO)
    LOG.info("starting %s", info_text(INFO))
    set_up_tracing(INFO)
    return server


def serve(host: str, port: int) -> int:
    server = listen(host, port)
    if server is None:
        return 2

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    address, bound_port = server.server_address[:2]
    shown = f"[{address}]" if ":" in address else address
    LOG.info("serving /metrics and /buildinfo on http://%s:%s", shown, bound_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def ping() -> int:
    """Serve on a free loopback port, fetch /buildinfo from itself with this build's User-Agent, stop.

    The server logs the request, User-Agent and all; the body goes to standard output.
    """
    server = listen("127.0.0.1", 0, handler_class=LoggingHandler)
    if server is None:
        return 2
    from .app import INFO

    # The handler logs the request after the client has its answer: server_close() must wait for it.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/buildinfo"
        request = urllib.request.Request(url, headers={"User-Agent": user_agent(INFO)})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode("utf-8")
    finally:
        server.shutdown()
        server.server_close()
    # After server_close(), which waits for the handler: the request's log line comes first, on any terminal.
    sys.stdout.write(body)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="example-app", description="A small service built with hatch-buildinfo.")
    parser.add_argument("--version", action=VersionAction, package="example_app")
    commands = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    serving = commands.add_parser("serve", help="serve /metrics and /buildinfo over HTTP")
    serving.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serving.add_argument("--port", type=port, default=8000, help="port to listen on (default 8000)")
    commands.add_parser("ping", help="serve on a free loopback port, fetch /buildinfo from itself, and stop")
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        return serve(arguments.host, arguments.port)
    if arguments.command == "ping":
        return ping()
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
