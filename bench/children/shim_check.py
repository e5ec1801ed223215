"""What hatch_buildinfo.build_info(PACKAGE) reads: the number of dependencies and the revision.

    python shim_check.py PACKAGE

bench/runtime.py checks these against the generated module before timing the shim, so that a
fall-back to installed metadata cannot pass for the shim's cost.
"""

import sys

import hatch_buildinfo

info = hatch_buildinfo.build_info(sys.argv[1])
print(len(info.dependencies), info.revision)
