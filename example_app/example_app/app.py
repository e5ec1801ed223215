"""example_app's WSGI application: `/metrics` for Prometheus and `/buildinfo` as JSON.

`application` is made when it is first asked for — by `example-app serve`, or by gunicorn loading
`example_app.app:application` in each worker — not when this module is imported: making it reads
the installed versions, once, for `python_mod_drift_info`. `create_app()` makes one explicitly.

Under gunicorn with prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR set), each
scrape merges the workers' files and adds the build-info series once: they are constants of the
build, not of a worker, so they are never written to the per-process files.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from hatch_buildinfo import build_info, json_text
from hatch_buildinfo.metrics import BuildInfoCollector, ModInfoCollector

INFO = build_info("example_app")
_MADE = threading.Lock()


def create_app():
    """A new WSGI application routing `/metrics` and `/buildinfo`; anything else is 404.

    Outside multiprocess mode it registers its collectors in prometheus_client's REGISTRY, which
    holds them once: make one per process.
    """
    collectors = (BuildInfoCollector(INFO, registry=None), ModInfoCollector(INFO, registry=None))
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:

        def metrics_app(environ: dict, start_response):
            return make_wsgi_app(_scrape_registry(collectors))(environ, start_response)

    else:
        for collector in collectors:
            REGISTRY.register(collector)
        metrics_app = make_wsgi_app(REGISTRY)

    def application(environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/buildinfo":
            body = (json_text(INFO) + "\n").encode("utf-8")
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /buildinfo\n"]

    return application


def _scrape_registry(collectors: tuple[Collector, ...]) -> CollectorRegistry:
    """One scrape's registry in multiprocess mode: the workers' files, plus the build info once."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for collector in collectors:
        registry.register(collector)
    return registry


def __getattr__(name: str) -> object:
    """`application`, made by create_app() the first time it is asked for, then kept (PEP 562)."""
    if name != "application":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _MADE:  # two threads asking at once must not register the collectors twice
        if "application" not in globals():
            globals()["application"] = create_app()
    return globals()["application"]
