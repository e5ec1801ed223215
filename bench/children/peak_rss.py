"""Run COMMAND… and print its peak resident set in KiB (bench/build.py, where /usr/bin/time is missing).

    python peak_rss.py COMMAND…

This process starts nothing else, so RUSAGE_CHILDREN holds the command and what it started.
"""

import resource
import subprocess
import sys

subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
