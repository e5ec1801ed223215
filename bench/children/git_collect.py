"""hatch_buildinfo.hook.git.collect(ROOT) in a fresh process, its import and its call timed apart (bench/build.py).

    python git_collect.py ROOT

Prints one line of JSON: the two times in seconds, and the facts and gaps collect returned.
"""

import json
import sys
import time

t1 = time.perf_counter()
from hatch_buildinfo.hook.git import collect  # noqa: E402 (the import is what is timed)

t2 = time.perf_counter()
facts, gaps = collect(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import": t2 - t1, "collect": t3 - t2, "facts": facts, "gaps": gaps}))
