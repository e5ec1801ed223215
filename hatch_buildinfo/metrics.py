"""Expose: Prometheus collectors for build info, the Python spelling of Go's `version.NewCollector`
and `prommod.NewCollector`.

Label values are computed once, when a collector is made; a scrape only hands back the
precomputed metric families, so it does no I/O and no parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from .drift import drifted, installed_versions
from .info import UNKNOWN, BuildInfo
from .text import os_and_arch, python_version

try:
    from prometheus_client.metrics_core import GaugeMetricFamily
    from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
except ImportError as error:
    raise ImportError(
        f"hatch_buildinfo.metrics needs prometheus_client ({error}): pip install 'hatch-buildinfo[prometheus]'"
    ) from None

MOD_INFO = "python_mod_info"
MOD_DRIFT_INFO = "python_mod_drift_info"


class _ConstantCollector(Collector):
    """Metric families computed once: describe() and every scrape hand back the same objects."""

    def __init__(self, families: list, registry: CollectorRegistry | None) -> None:
        self._families = families
        if registry is not None:
            registry.register(self)

    def describe(self) -> list:
        return self._families

    def collect(self) -> list:
        return self._families


class BuildInfoCollector(_ConstantCollector):
    """`<program>_build_info{program, version, revision, branch, tag, dirty, pythonversion, os, arch} 1`,
    with `<program>_build_timestamp_seconds{program}` and `<program>_commit_timestamp_seconds{program}` where
    the dates are known. `program` repeats the name's prefix so that one rule can select every program's
    families, and no foreign `*_build_info`: `{__name__=~".+_build_info", program!=""}`.
    """

    def __init__(self, info: BuildInfo, registry: CollectorRegistry | None = REGISTRY) -> None:
        operating_system, arch = os_and_arch()
        labels = {
            "program": info.program,
            "version": info.version,
            "revision": info.revision,
            "branch": info.branch,
            "tag": info.tag or "",
            "dirty": UNKNOWN if info.dirty is None else str(info.dirty).lower(),
            "pythonversion": python_version(),
            "os": operating_system,
            "arch": arch,
        }
        family = GaugeMetricFamily(
            f"{info.program}_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, tag and dirty state "
            f"from which {info.program} was built, the pythonversion, os and arch it runs on, and its program name.",
            labels=list(labels),
        )
        family.add_metric(list(labels.values()), 1)
        families = [family]
        # Times as numbers, for rules a label cannot serve: "older than N days", "not the newest commit".
        for name, moment, help_text in (
            ("build", info.build_date, f"Unix time at which {info.program} was built."),
            ("commit", info.commit_date, f"Unix time of the commit {info.program} was built from."),
        ):
            seconds = _unix_time(moment)
            if seconds is not None:
                times = GaugeMetricFamily(f"{info.program}_{name}_timestamp_seconds", help_text, labels=["program"])
                times.add_metric([info.program], seconds)
                families.append(times)
        super().__init__(families, registry)


def _unix_time(moment: str | None) -> float | None:
    """Seconds since 1970 of a recorded `YYYY-MM-DDTHH:MM:SSZ`; None for anything else (a free-form override)."""
    try:
        return datetime.strptime(moment or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


class ModInfoCollector(_ConstantCollector):
    """`python_mod_info{name, program, version} 1` for each locked dependency this interpreter runs with, and
    `python_mod_drift_info{name, program, locked, installed} 1` for each of those installed at another version
    (`installed="none"`: not installed). An environment that matches its lock has no drift series.

    `installed` is the installed versions by PEP 503 name; by default they are read now, once, from sys.path
    (`drift.installed_versions()`): make the collector when the program sets up to serve, not at import.
    """

    def __init__(
        self, info: BuildInfo, registry: CollectorRegistry | None = REGISTRY, installed: Mapping[str, str] | None = None
    ) -> None:
        running = info.running_dependencies()
        family = GaugeMetricFamily(
            MOD_INFO,
            f"A metric with a constant '1' value labeled by dependency name, version, from which {info.program} "
            "was built.",
            labels=["name", "program", "version"],
        )
        for name, version in running:
            family.add_metric([name, info.program, version], 1)
        drift = GaugeMetricFamily(
            MOD_DRIFT_INFO,
            "A metric with a constant '1' value labeled by dependency name, locked version and installed version "
            f"('none': not installed), for each dependency of {info.program} installed at another version than locked.",
            labels=["name", "program", "locked", "installed"],
        )
        differs = drifted(running, installed_versions() if installed is None else installed)
        for name, version in running:
            if name in differs:
                drift.add_metric([name, info.program, version, differs[name] or "none"], 1)
        super().__init__([family, drift], registry)


def register(
    info: BuildInfo, registry: CollectorRegistry = REGISTRY, installed: Mapping[str, str] | None = None
) -> tuple[BuildInfoCollector, ModInfoCollector]:
    """Register both collectors, or neither: a clash raises the registry's ValueError and leaves it as it was.

    `installed` is ModInfoCollector's: by default the installed versions are read now.
    """
    build, mod = BuildInfoCollector(info, registry=None), ModInfoCollector(info, registry=None, installed=installed)
    registry.register(build)
    try:
        registry.register(mod)
    except ValueError:
        registry.unregister(build)
        raise
    return build, mod
