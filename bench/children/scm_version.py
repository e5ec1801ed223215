"""setuptools-scm's get_version(root=ROOT) in a fresh process, its import and its call timed apart (bench/build.py).

    python scm_version.py ROOT

Runs in the `vcs` bench venv. Prints one line of JSON: the two times in seconds and the version.
"""

import json
import sys
import time
import warnings

warnings.simplefilter("ignore")
t0 = time.perf_counter()
# Not installed where mypy runs, only in the `vcs` bench venv.
from setuptools_scm import get_version  # type: ignore[import-not-found]  # noqa: E402 (the import is what is timed)

t1 = time.perf_counter()
version = get_version(root=sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "collect": t2 - t1, "version": version}))
