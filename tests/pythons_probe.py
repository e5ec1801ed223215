"""Run by each interpreter test_pythons.py covers (3.7 to 3.13): what the run-time shim answers there.

Stdlib only, and Python 3.7 syntax only. Usage, with hatch_buildinfo importable (PYTHONPATH):

    python pythons_probe.py FIXTURE WORKDIR [PACKAGE[:git] ...]

FIXTURE is a generated module; it is copied to WORKDIR/probe_pkg/_buildinfo.py and read back.
WORKDIR/bare_pkg is a package without one. Each PACKAGE (and bare_pkg) is read with the
metadata fallback, `:git` meaning `git=True`. Prints one JSON object.
"""

import json
import os
import platform
import shutil
import sys


def main(fixture, workdir, packages):
    report = {"python": platform.python_version()}
    # Before anything else, so that text and JSON are seen to work after the failed import.
    try:
        import hatch_buildinfo.metrics
    except ImportError as error:
        report["metrics_error"] = str(error)
    else:
        report["metrics_error"] = None

    import hatch_buildinfo
    from hatch_buildinfo.info import parse_source
    from hatch_buildinfo.text import build_context_text, info_text

    for name, generated in (("probe_pkg", fixture), ("bare_pkg", None)):
        os.makedirs(os.path.join(workdir, name))
        with open(os.path.join(workdir, name, "__init__.py"), "w") as file:
            file.write('"""A package for the probe."""\n')
        if generated:
            shutil.copyfile(generated, os.path.join(workdir, name, "_buildinfo.py"))
    sys.path.insert(0, workdir)

    with open(fixture, encoding="utf-8") as file:
        report["parsed"] = parse_source(file.read(), fixture).as_dict()
    info = hatch_buildinfo.build_info("probe_pkg")
    report["imported"] = info.as_dict()
    report["running"] = info.running_dependencies()
    report["version_text"] = hatch_buildinfo.version_text(info)
    report["info_text"] = info_text(info)
    report["build_context_text"] = build_context_text(info)
    report["json_text"] = hatch_buildinfo.json_text(info)

    report["fallbacks"] = {}
    for spec in ["bare_pkg", *packages]:
        package, _, how = spec.partition(":")
        report["fallbacks"][spec] = hatch_buildinfo.build_info(package, git=how == "git").as_dict()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
