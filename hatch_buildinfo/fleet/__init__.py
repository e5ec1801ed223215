"""The fleet side (`hatch-buildinfo[fleet]`): advisories, the audit command and the exporter.

It may import the run-time side; nothing on the run-time side or in hook/ imports it at module level.
"""
