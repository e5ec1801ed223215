"""The interpreter's site-packages directory for pure-Python distributions (bench/runtime.py)."""

import sysconfig

print(sysconfig.get_paths()["purelib"])
