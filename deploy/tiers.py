"""The shipped Prometheus configurations of deploy/, made to run: one server, a shard, the global server.

deploy/fleet.py and bench/fleet.py start real Prometheus servers from these files, changing only
what a running set-up must (its targets, a shard's number, and, where asked, shorter intervals), so
that what they test and measure is what users copy.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent
# The advisory exporter's scrape job in prometheus.yml and global.yml: a set-up given no exporter address leaves
# it out rather than count a target that is down.
EXPORTER_JOB = "hatch_buildinfo_exporter"


def load(name: str) -> Any:
    """A file of deploy/, parsed."""
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, width=1000)


def rule_files(config: dict[str, Any], interval: str | None = None) -> dict[str, str]:
    """The rule files `config` names (file name: text), as shipped, or with every group's interval set to
    `interval` so that a short-lived set-up sees recorded series within its time."""
    files = {}
    for name in config["rule_files"]:
        if interval is None:
            files[name] = (DEPLOY / name).read_text(encoding="utf-8")
            continue
        rules = load(name)
        for group in rules["groups"]:
            group["interval"] = interval
        files[name] = dump(rules)
    return files


def single_config(targets: list[str], interval: str | None = None, exporter: str | None = None) -> dict[str, Any]:
    """prometheus.yml: one server scraping `targets` (and the advisory exporter at `exporter`, if given) and running
    both rule files."""
    return _scraping(load("prometheus.yml"), targets, interval, exporter)


def shard_config(shard: int, shards: int, targets: list[str], interval: str | None = None) -> dict[str, Any]:
    """shard.yml as shard `shard` of `shards`: it keeps its part of `targets` and runs rules.yml."""
    config = _scraping(load("shard.yml"), targets, interval)
    config["global"]["external_labels"]["shard"] = str(shard)
    for step in config["scrape_configs"][0]["relabel_configs"]:
        if step["action"] == "hashmod":
            step["modulus"] = shards
        elif step["action"] == "keep":
            step["regex"] = str(shard)
    return config


def global_config(
    shard_addresses: list[str], interval: str | None = None, exporter: str | None = None
) -> dict[str, Any]:
    """global.yml federating from the shards at `shard_addresses` (and scraping the advisory exporter at
    `exporter`, if given) and running global-rules.yml."""
    return _scraping(load("global.yml"), shard_addresses, interval, exporter)


def federated() -> list[str]:
    """global.yml's `match[]` selectors: the series the global server federates from every shard."""
    return list(services_job(load("global.yml"))["params"]["match[]"])


def services_job(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration's one scrape job other than the advisory exporter's: services, or the shards."""
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] != EXPORTER_JOB]
    return job


def _scraping(
    config: dict[str, Any], targets: list[str], interval: str | None, exporter: str | None = None
) -> dict[str, Any]:
    if interval is not None:
        config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    services_job(config)["static_configs"] = [{"targets": list(targets)}]
    for job in [job for job in config["scrape_configs"] if job["job_name"] == EXPORTER_JOB]:
        if exporter is None:
            config["scrape_configs"].remove(job)
        else:
            job["static_configs"] = [{"targets": [exporter]}]
    return config


def write(
    directory: Path, config: dict[str, Any], interval: str | None = None, rules: dict[str, str] | None = None
) -> Path:
    """`config` as prometheus.yml in a new `directory`, its rule files beside it (`rules`, file name: text, in
    place of the shipped ones if given); the configuration's path."""
    directory.mkdir(parents=True)
    if rules is not None:
        config["rule_files"] = list(rules)
    for name, text in (rules or rule_files(config, interval)).items():
        (directory / name).write_text(text, encoding="utf-8")
    path = directory / "prometheus.yml"
    path.write_text(dump(config), encoding="utf-8")
    return path


def free_port() -> int:
    """A loopback port free now, for a server of a set-up to listen on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shard_of(address: str, shards: int) -> int:
    """The shard whose hashmod relabelling keeps `address`: Prometheus takes the last 8 bytes of the value's
    MD5 as a big-endian integer, modulo `shards` (tests/test_fleet.py checks this against real shards)."""
    return int.from_bytes(hashlib.md5(address.encode()).digest()[8:], "big") % shards
