"""The build side: the `buildinfo` Hatch build hook and what it collects and renders.

It may use anything its `dependencies()` bring (hatchling, packaging, tomli, gitpython) and may
import the run-time side's data model; the run-time side never imports anything from here.
"""
