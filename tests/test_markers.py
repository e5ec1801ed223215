"""The run-time marker evaluator agrees with `packaging` on the markers lock files carry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker

from hatch_buildinfo.markers import environment, evaluate

VERSIONS = [
    *("2.7", "3", "3.8", "3.9", "3.9.18", "3.10", "3.10.0", "3.11", "3.11.7"),
    *("3.12.1", "3.13", "3.13.0", "3.13.0rc1", "3.13.0b2", "3.13.1"),
]
VERSION_VARIABLES = ["python_version", "python_full_version", "implementation_version"]
STRING_VARIABLES = ["sys_platform", "platform_machine", "os_name", "implementation_name", "platform_system"]
STRINGS = ["linux", "win32", "darwin", "x86_64", "aarch64", "posix", "nt", "cpython", "pypy", "Linux", "Windows"]


def _quoted(text: str) -> str:
    return f'"{text}"'


version_comparison = st.builds(
    lambda variable, op, version, flipped: (
        f"{_quoted(version)} {op} {variable}" if flipped else f"{variable} {op} {_quoted(version)}"
    ),
    st.sampled_from(VERSION_VARIABLES),
    st.sampled_from(["<", "<=", "==", "!=", ">=", ">", "~="]),
    st.sampled_from([v for v in VERSIONS if "." in v]),
    st.booleans(),
) | st.builds(
    lambda variable, op, version: f"{variable} {op} {_quoted(version + '.*')}",
    st.sampled_from(VERSION_VARIABLES),
    st.sampled_from(["==", "!="]),
    st.sampled_from(["3", "3.10", "3.11", "3.13"]),
)
string_comparison = st.builds(
    lambda variable, op, value: f"{variable} {op} {_quoted(value)}",
    st.sampled_from(STRING_VARIABLES),
    st.sampled_from(["==", "!=", "in", "not in"]),
    st.sampled_from([*STRINGS, "linux win32", "x86_64 aarch64 arm64"]),
)
markers = st.recursive(
    version_comparison | string_comparison,
    lambda inner: (
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["and", "or"]), inner)
        | st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or"]), inner)
    ),
    max_leaves=6,
)
environments = st.builds(
    lambda full, platform, machine, implementation: {
        **environment(),
        "python_full_version": full,
        "python_version": ".".join(full.split(".")[:2]),
        "implementation_version": full,
        "sys_platform": platform,
        "os_name": "nt" if platform == "win32" else "posix",
        "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[platform],
        "platform_machine": machine,
        "implementation_name": implementation,
    },
    st.sampled_from(["3.8.18", "3.9.18", "3.10.0", "3.10.13", "3.11.7", "3.12.1", "3.13.0", "3.13.0rc1", "3.13.0b2"]),
    st.sampled_from(["linux", "win32", "darwin"]),
    st.sampled_from(["x86_64", "aarch64", "AMD64"]),
    st.sampled_from(["cpython", "pypy"]),
)


@settings(max_examples=400)
@given(markers, environments)
def test_agrees_with_packaging_on_normalised_markers(marker, env):
    normalised = str(Marker(marker))
    assert evaluate(normalised, env) == Marker(marker).evaluate(env)


@given(markers, environments)
def test_agrees_with_packaging_on_markers_as_written(marker, env):
    assert evaluate(marker, env) == Marker(marker).evaluate(env)


def test_environment_matches_packaging_for_this_interpreter():
    from packaging.markers import default_environment

    expected = default_environment()
    assert {key: expected[key] for key in environment()} == environment()


@pytest.mark.parametrize(
    ("marker", "full_version"),
    [
        ('python_full_version < "3.13"', "3.13.0rc1"),
        ('python_full_version < "3.13.0"', "3.13.0b2"),
        ('python_full_version <= "3.13"', "3.13.0rc1"),
        ('python_full_version ~= "3.10.0"', "3.10.13"),
        ('python_full_version ~= "3.10"', "3.11.7"),
        ('python_full_version == "3.10.*"', "3.10.0"),
        ('python_full_version == "3.1.*"', "3.10.0"),
        ('python_full_version != "3.13.*"', "3.13.0rc1"),
        ('python_version > "3.9"', "3.10.0"),
    ],
)
def test_pep440_edges_agree_with_packaging(marker, full_version):
    env = {**environment(), "python_full_version": full_version, "python_version": full_version[:4].rstrip(".")}
    assert evaluate(marker, env) == Marker(marker).evaluate(env)
