"""The interpreter's version and the installed version of each DISTRIBUTION, as a JSON list (bench/build.py).

    python dist_versions.py DISTRIBUTION…

It runs in each bench venv, for the versions line bench/build.py prints first.
"""

import importlib.metadata
import json
import sys

print(json.dumps([sys.version.split()[0]] + [importlib.metadata.version(name) for name in sys.argv[1:]]))
