"""example_app's WSGI application: `/metrics` for Prometheus and `/buildinfo` as JSON.

Under gunicorn with prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR set), each
scrape merges the workers' files and adds the build-info series once: they are constants of the
build, not of a worker, so they are never written to the per-process files.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector

from hatch_buildinfo import build_info, json_text
from hatch_buildinfo.metrics import BuildInfoCollector, ModInfoCollector

INFO = build_info("example_app")
BUILD_COLLECTORS = (BuildInfoCollector(INFO, registry=None), ModInfoCollector(INFO, registry=None))


def _scrape_registry() -> CollectorRegistry:
    """One scrape's registry in multiprocess mode: the workers' files, plus the build info once."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for collector in BUILD_COLLECTORS:
        registry.register(collector)
    return registry


if "PROMETHEUS_MULTIPROC_DIR" in os.environ:

    def metrics_app(environ: dict, start_response):
        return make_wsgi_app(_scrape_registry())(environ, start_response)

else:
    for collector in BUILD_COLLECTORS:
        REGISTRY.register(collector)
    metrics_app = make_wsgi_app(REGISTRY)


def application(environ: dict, start_response):
    """Routes `/metrics` and `/buildinfo`; anything else is 404."""
    path = environ.get("PATH_INFO", "")
    if path == "/metrics":
        return metrics_app(environ, start_response)
    if path == "/buildinfo":
        body = (json_text(INFO) + "\n").encode("utf-8")
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found: try /metrics or /buildinfo\n"]
