"""The distributions an interpreter sees, its version and its prefix, as one line of JSON (bench/runtime.py)."""

import importlib.metadata
import json
import sys

names = [d.metadata["Name"] for d in importlib.metadata.distributions()]
print(json.dumps({"names": names, "python": sys.version.split()[0], "prefix": sys.prefix}))
