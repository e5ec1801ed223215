"""Expose: the `hatch-buildinfo` (`python -m hatch_buildinfo`) command line."""

from __future__ import annotations

import argparse
import sys

from .artifacts import InspectError, read_sboms, read_target
from .text import inspect_text, json_text


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """The `hatch-buildinfo` command (`prog`: how usage and errors name it; default the script's name)."""
    parser = argparse.ArgumentParser(prog=prog, description="Show what a build was made from.")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser(
        "inspect", help="show the build info of a wheel, an sdist or an installed distribution"
    )
    inspect.add_argument("target", help="a .whl or .tar.gz file, or an installed distribution's name")
    output = inspect.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--sbom", action="store_true", help="print the SBOM document the target carries")
    audit = commands.add_parser(
        "audit",
        help="check the locked dependencies of builds, or an SBOM, against an OSV advisory database (offline), "
        "and how far behind the newest releases on a package index they are",
        description="Give --osv, --index or both. Without --index no request is made. Exit status: 0 no advisory "
        "affects anything, 1 one does (how outdated the entries are never changes it), 2 bad input or an index "
        "that cannot be read.",
    )
    audit.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="a .whl or .tar.gz file, an installed distribution's name, or a CycloneDX SBOM (.json)",
    )
    _add_sources(
        audit,
        "a package index (PEP 691), e.g. a private mirror's /simple/: each entry's newest release and libyears "
        "behind it, and a total per target; repeat it for several, asked in order: the first that knows a name "
        "answers for it",
    )
    audit.add_argument("--json", action="store_true", help="print one JSON object")
    exporter = commands.add_parser(
        "exporter",
        help="serve Prometheus metrics: which running module versions an advisory affects, and how far each lags "
        "behind the newest release on a package index",
        description="Give --osv, --index or both.",
    )
    exporter.add_argument(
        "--prometheus",
        required=True,
        metavar="URL",
        help="the Prometheus that records python_mod:services:count; credentials come from the environment: "
        "PROMETHEUS_BEARER_TOKEN, or PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD",
    )
    _add_sources(
        exporter,
        "a package index (PEP 691), e.g. a private mirror's /simple/; repeat it for several, asked in order: "
        "the first that knows a name answers for it. None: no index is asked",
    )
    exporter.add_argument(
        "--index-concurrency",
        type=int,
        default=4,
        metavar="N",
        help="requests to the indexes at once (default: %(default)s)",
    )
    exporter.add_argument(
        "--index-interval",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how often to ask the indexes again about a name (default: %(default)g); a name the fleet starts "
        "to run is asked at once",
    )
    exporter.add_argument("--listen", default="127.0.0.1:9817", metavar="HOST:PORT", help="default: %(default)s")
    exporter.add_argument(
        "--interval",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="how often to ask each (default: %(default)g, the interval of the rules that read its series)",
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "audit":
        return _audit(parser.prog, arguments)
    if arguments.command == "exporter":
        return _exporter(parser.prog, arguments)

    try:
        if arguments.sbom:
            sys.stdout.buffer.write(_sbom(arguments.target))
        elif arguments.json:
            sys.stdout.write(json_text(read_target(arguments.target)) + "\n")
        else:
            info = read_target(arguments.target)
            sys.stdout.write(inspect_text(info, arguments.target, read_sboms(arguments.target)))
    except InspectError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


def _add_sources(command: argparse.ArgumentParser, index_help: str) -> None:
    """--osv and --index, which `audit` and `exporter` take alike (one of them or both)."""
    command.add_argument("--osv", metavar="PATH", help="a directory of OSV records, or OSV's all.zip")
    command.add_argument("--index", action="append", default=[], metavar="URL", help=index_help)


def _audit(prog: str, arguments: argparse.Namespace) -> int:
    if arguments.osv is None and not arguments.index:
        print(f"{prog}: error: audit needs --osv PATH, --index URL or both", file=sys.stderr)
        return 2
    # The fleet side loads only here: the run-time side never imports it otherwise.
    try:
        from .fleet.advisories import DatabaseError
        from .fleet.audit import IndexUnreadable, audit
    except ImportError as error:
        return _needs_fleet(prog, "audit", error)
    try:
        return audit(arguments.targets, arguments.osv, arguments.index, arguments.json)
    except (InspectError, DatabaseError, IndexUnreadable) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2


def _sbom(target: str) -> bytes:
    """The target's SBOM; of several, the one hatch-buildinfo wrote."""
    sboms = read_sboms(target)
    if len(sboms) == 1:
        return next(iter(sboms.values()))
    if not sboms:
        raise InspectError(f"{target} carries no SBOM (PEP 770: .dist-info/sboms/)")
    ours = [data for data in sboms.values() if _written_by_hatch_buildinfo(data)]
    if len(ours) == 1:
        return ours[0]
    names = ", ".join(sorted(sboms))
    raise InspectError(f"{target} carries {len(sboms)} SBOMs ({names}), and not one written by hatch-buildinfo")


def _written_by_hatch_buildinfo(data: bytes) -> bool:
    import json

    try:
        tools = json.loads(data)["metadata"]["tools"]["components"]
        return any(tool.get("name") == "hatch-buildinfo" for tool in tools)
    except (ValueError, TypeError, KeyError, AttributeError):  # not JSON, or not CycloneDX 1.5+ tools
        return False


def _exporter(prog: str, arguments: argparse.Namespace) -> int:
    """Run the exporter until SIGTERM or SIGINT; 2 and one line when it cannot start."""
    try:
        from .fleet.exporter import StartError, run
    except ImportError as error:
        return _needs_fleet(prog, "exporter", error)
    try:
        run(
            arguments.prometheus,
            arguments.osv,
            arguments.listen,
            arguments.interval,
            arguments.index,
            arguments.index_concurrency,
            arguments.index_interval,
        )
    except StartError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


def _needs_fleet(prog: str, command: str, error: ImportError) -> int:
    print(
        f"{prog}: error: {command} needs {error.name or 'a module'}: pip install 'hatch-buildinfo[fleet]'",
        file=sys.stderr,
    )
    return 2
