"""Import MODULE… in a fresh process and time it (bench/build.py); with no MODULE, the baseline.

    python timed_import.py [MODULE…]

Prints one line of JSON: {"in_process": seconds}. json and os are imported before the timer
starts, in every case alike.
"""

import json
import os
import sys
import time

# Where there is no `git` executable, gitpython's import must neither fail nor warn.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
t0 = time.perf_counter()
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps({"in_process": time.perf_counter() - t0}))
