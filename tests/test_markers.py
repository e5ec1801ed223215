"""The one marker grammar (hatch_buildinfo.markers) reads, evaluates and writes markers as `packaging` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import clean_environment
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import InvalidMarker, Marker
from test_lock_uv import IDNA, ROOT_ENTRY

from hatch_buildinfo import markers
from hatch_buildinfo.fallback import from_metadata
from hatch_buildinfo.hook.locks import Project, read_lock
from hatch_buildinfo.info import BuildInfo
from hatch_buildinfo.markers import And, Comparison, Or, Value, Variable, environment, evaluate, holds, parse, text

VERSIONS = [
    *("2.7", "3", "3.8", "3.9", "3.9.18", "3.10", "3.10.0", "3.11", "3.11.7"),
    *("3.12.1", "3.13", "3.13.0", "3.13.0rc1", "3.13.0b2", "3.13.1"),
]
# Literals packaging reads as versions only for some operators, or not at all: local labels
# (only == and != take them), other PEP 440 spellings, and strings that are no version.
ODD_VERSIONS = [
    *("3.13.0+abc", "3.13+local", "3.13.0+gABC.1", "3.11.7.post1", "3.13.0.dev0", "3.14.0a1", "3.13.0-1"),
    *("1!3.8", "v3.10", " 3.10 ", "3.13.0RC1", "=3.10", "3.8-", "abc", "", "6.8.0-45-generic"),
]
VERSION_VARIABLES = ["python_version", "python_full_version", "implementation_version", "platform_release"]
STRING_VARIABLES = ["sys_platform", "platform_machine", "os_name", "implementation_name", "platform_system"]
STRINGS = ["linux", "win32", "darwin", "x86_64", "aarch64", "posix", "nt", "cpython", "pypy", "Linux", "Windows"]
# Spellings packaging reads as the variables above.
ALIASES = {
    "os_name": ["os_name", "os.name"],
    "sys_platform": ["sys_platform", "sys.platform"],
    "platform_machine": ["platform_machine", "platform.machine"],
}
FULL_VERSIONS = [
    *("3.8.18", "3.9.18", "3.10.0", "3.10.13", "3.11.7", "3.12.1", "3.13.0", "3.13.0rc1", "3.13.0b2"),
    # A source build's `3.13.0+`, a pre-release, a local label, a dev build.
    *("3.13.0+", "3.12.1rc1", "3.13.0+gabc", "3.14.0a1", "3.13.0.dev0"),
]


def _quoted(text: str) -> str:
    return f'"{text}"'


def outcome(evaluating) -> object:
    """What an evaluation answers: True, False, or "error" where it raises (packaging's errors are
    ValueErrors, and a KeyError for a variable the environment lacks)."""
    try:
        return evaluating()
    except (ValueError, KeyError):
        return "error"


# --- markers as packaging writes them, and as people do ---------------------------------------

version_comparison = st.builds(
    lambda variable, op, version, flipped: (
        f"{_quoted(version)} {op} {variable}" if flipped else f"{variable} {op} {_quoted(version)}"
    ),
    st.sampled_from(VERSION_VARIABLES),
    st.sampled_from(["<", "<=", "==", "!=", ">=", ">", "~=", "===", "in", "not in"]),
    st.sampled_from([v for v in VERSIONS if "." in v] + ODD_VERSIONS),
    st.booleans(),
) | st.builds(
    lambda variable, op, version: f"{variable} {op} {_quoted(version + '.*')}",
    st.sampled_from(VERSION_VARIABLES),
    st.sampled_from(["==", "!="]),
    st.sampled_from(["3", "3.10", "3.11", "3.13", "1!3"]),
)
string_comparison = st.builds(
    lambda variable, op, value, flipped: (
        f"{_quoted(value)} {op} {variable}" if flipped else f"{variable} {op} {_quoted(value)}"
    ),
    st.sampled_from(STRING_VARIABLES),
    # String ordering too: packaging reads `os_name <= "posix"` as `==`, and `<`, `>` as never.
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "~=", "==="]),
    st.sampled_from([*STRINGS, "linux win32", "x86_64 aarch64 arm64", "posi", "zzz", "", "3.8"]),
    st.booleans(),
)
markers_written = st.recursive(
    version_comparison | string_comparison,
    lambda inner: (
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["and", "or"]), inner)
        | st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or"]), inner)
    ),
    max_leaves=6,
)


@st.composite
def hand_written(draw) -> str:
    """A marker with the spellings packaging normalises: aliases, either quote, tabs and runs of spaces."""

    def space() -> str:
        return draw(st.sampled_from([" ", "  ", "\t", " \t "]))

    def comparison() -> str:
        if draw(st.booleans()):
            variable = draw(st.sampled_from(STRING_VARIABLES))
            spelling = draw(st.sampled_from(ALIASES.get(variable, [variable])))
            value, ops = draw(st.sampled_from(STRINGS)), ["==", "!=", "<=", ">", "in", "not in"]
        else:
            spelling = draw(st.sampled_from(VERSION_VARIABLES))
            value, ops = draw(st.sampled_from(VERSIONS)), ["<", ">=", "==", "~=", "!="]
        quote = draw(st.sampled_from(["'", '"']))
        literal = f"{quote}{value}{quote}"
        left, right = (literal, spelling) if draw(st.booleans()) else (spelling, literal)
        return f"{left}{space()}{draw(st.sampled_from(ops))}{space()}{right}"

    def expression(depth: int) -> str:
        if depth == 0 or draw(st.booleans()):
            term = comparison()
        else:
            term = expression(depth - 1)
        for _ in range(draw(st.integers(0, 2))):
            word = draw(st.sampled_from(["and", "or"]))
            other = comparison() if depth == 0 or draw(st.booleans()) else expression(depth - 1)
            term = f"{term}{space()}{word}{space()}{other}"
        return f"({space()}{term}{space()})" if draw(st.booleans()) else term

    return expression(2)


environments = st.builds(
    lambda full, platform, machine, implementation, release: {
        **environment(),
        "python_full_version": full,
        "python_version": ".".join(full.split(".")[:2]),
        "implementation_version": full,
        "platform_release": release,
        "sys_platform": platform,
        "os_name": "nt" if platform == "win32" else "posix",
        "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[platform],
        "platform_machine": machine,
        "implementation_name": implementation,
    },
    st.sampled_from(FULL_VERSIONS),
    st.sampled_from(["linux", "win32", "darwin"]),
    st.sampled_from(["x86_64", "aarch64", "AMD64"]),
    st.sampled_from(["cpython", "pypy"]),
    st.sampled_from(["6.8.0-45-generic", "23.1.0", "10", "5.15.0"]),
)


@settings(max_examples=400)
@given(markers_written, environments)
def test_agrees_with_packaging_on_normalised_markers(marker, env):
    normalised = str(Marker(marker))
    assert outcome(lambda: evaluate(normalised, env)) == outcome(lambda: Marker(marker).evaluate(env))


@settings(max_examples=400)
@given(markers_written | hand_written(), environments)
def test_agrees_with_packaging_on_markers_as_written(marker, env):
    assert outcome(lambda: evaluate(marker, env)) == outcome(lambda: Marker(marker).evaluate(env))


@settings(max_examples=400)
@given(markers_written | hand_written())
def test_text_writes_what_packaging_writes(marker):
    assert text(parse(marker)) == str(Marker(marker))
    assert parse(text(parse(marker))) == parse(str(Marker(marker)))


# Token soup: mostly not markers. Whatever packaging refuses, parse() refuses, and the other way round.
TOKENS = [
    *("os_name", "os.name", "python_version", "extra", "extras", "dependency_groups", "python_implementation"),
    *('"posix"', "'3.8'", '"x y"', "'cli'", '"a\\x41"', "'\\t'", '"'),
    *("==", "<", "<=", "===", "~=", "=", "in", "not", "not in", "and", "or", "(", ")", "foo", "\n"),
]


@settings(max_examples=1000)
@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " ", "\t", "  "])), max_size=9))
def test_reads_exactly_what_packaging_reads(tokens):
    marker = "".join(token + space for token, space in tokens)
    try:
        expected = str(Marker(marker))
    except InvalidMarker:
        with pytest.raises(ValueError) as raised:
            parse(marker)
        assert "\n" not in str(raised.value)
    else:
        assert text(parse(marker)) == expected


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
        # A source build's version: packaging reads `3.13.0+` as the local version `3.13.0+local`.
        ('python_full_version < "3.14"', "3.13.0+"),
        ('python_full_version == "3.13.0"', "3.13.0+"),
        ('python_full_version > "3.13.0"', "3.13.0+"),
        ('python_full_version <= "3.13.0"', "3.13.0+"),
        ('python_full_version == "3.13.0+local"', "3.13.0+"),
        ('"3.14" > python_full_version', "3.13.0+"),  # no specifier `>3.13.0+local`: strings, and `>` never holds
        # Local labels in a literal: only == and != take them as versions.
        ('python_full_version == "3.13.0+abc"', "3.13.0+ABC"),
        ('python_full_version != "3.13.0+abc"', "3.13.0"),
        ('python_full_version < "3.14+abc"', "3.13.0"),
        ('"3.13.0+abc" <= python_full_version', "3.13.0"),
        ('python_full_version === "3.13.0RC1"', "3.13.0rc1"),
        ('python_version < "=3.13"', "3.13.0"),  # packaging reads `<=3.13`
    ],
)
def test_pep440_edges_agree_with_packaging(marker, full_version):
    env = {**environment(), "python_full_version": full_version, "python_version": full_version[:4].rstrip(".")}
    assert evaluate(marker, env) == Marker(marker).evaluate(env)


def test_a_source_build_is_below_the_next_python():
    env = {**environment(), "python_full_version": "3.13.0+", "python_version": "3.13"}
    assert evaluate('python_full_version < "3.14"', env) is True
    assert Marker('python_full_version < "3.14"').evaluate(env) is True


LINUX = {**environment(), "os_name": "posix", "sys_platform": "linux", "platform_system": "Linux"}


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('os_name <= "posix"', True),
        ('os_name >= "posix"', True),
        ('"posix" >= os_name', True),
        ('os_name < "zzz"', False),  # packaging: `<` and `>` never hold between strings
        ('os_name > "a"', False),
        ('"pos" in os_name', True),
        ('"z" not in os_name', True),
        ('sys_platform <= "linux" and os_name != "nt"', True),
    ],
)
def test_strings_compare_as_packaging_compares_them(marker, expected):
    assert evaluate(marker, LINUX) is expected
    assert Marker(marker).evaluate(LINUX) is expected


# test_lock_uv's hand-written lock, its one dependency under `os_name <= 'posix'`.
UV_LOCK = ROOT_ENTRY.replace('{ name = "idna" }', '{ name = "idna", marker = "os_name <= \'posix\'" }') + IDNA


@pytest.mark.skipif(os.name != "posix", reason="Linux and macOS say os_name is posix")
def test_a_uv_lock_dependency_under_os_name_at_most_posix_runs_here(tmp_path):
    (tmp_path / "uv.lock").write_text(UV_LOCK, encoding="utf-8")
    (idna,) = read_lock(tmp_path / "uv.lock", Project("demo-pkg"))
    assert (idna.name, idna.version, idna.marker) == ("idna", "3.7", 'os_name <= "posix"')
    info = BuildInfo("demo_pkg", "1.2.3", dependencies=[(idna.name, idna.version, idna.marker)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # evaluated, not kept for want of an answer
        assert info.running_dependencies() == (("idna", "3.7"),)


# --- the tree -----------------------------------------------------------------------------------


def test_and_binds_tighter_than_or_and_parentheses_are_kept():
    a, b, c = (Comparison(Variable("os_name"), "==", Value(name)) for name in "abc")
    assert parse('os_name == "a" or os_name == "b" and os_name == "c"') == Or((a, And((b, c))))
    assert parse('(os_name == "a" or os_name == "b") and os_name == "c"') == And((Or((a, b), True), c))
    assert parse('"3.8" < python_version') == Comparison(Value("3.8"), "<", Variable("python_version"))
    assert parse("os.name not  in 'a'") == Comparison(Variable("os_name"), "not in", Value("a"))
    assert parse('"Dev_Tools" in dependency_groups') == Comparison(
        Value("dev-tools"), "in", Variable("dependency_groups")
    )


def test_text_adds_the_parentheses_a_built_tree_needs():
    a, b, c = (Comparison(Variable("os_name"), "==", Value(name)) for name in "abc")
    assert text(And((Or((a, b)), c))) == '(os_name == "a" or os_name == "b") and os_name == "c"'
    assert text(Or((And((a, b)), c))) == 'os_name == "a" and os_name == "b" or os_name == "c"'
    assert text(Comparison(Variable("os_name"), "==", Value('say "hi"'))) == "os_name == 'say \"hi\"'"
    with pytest.raises(ValueError, match="both kinds of quote"):
        text(Comparison(Variable("os_name"), "==", Value("'\"")))


@pytest.mark.parametrize(
    "marker",
    [
        "",
        "os_name",
        "os_name ==  ",
        'os_name == "posix" and',
        '(os_name == "posix"',
        'os_name == "posix")',
        'foo == "posix"',
        'os_name = "posix"',
        'os_name == "posix" xor os_name == "nt"',
        'os_name == "posix"\nand os_name == "nt"',
        "os_name == 'a\nb'",
        'os_name notin "posix"',
        'os_name == "posix" AND os_name == "nt"',
        "(" * 201 + 'os_name == "posix"' + ")" * 201,
    ],
)
def test_what_packaging_refuses_is_a_one_line_value_error(marker):
    with pytest.raises(InvalidMarker):
        Marker(marker)
    with pytest.raises(ValueError) as raised:
        parse(marker)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"invalid marker {marker!r}: expected ")


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ('os_name ~= "posix"', "~= is undefined on 'posix' and 'posix'"),
        ('extra == "cli"', "no value for extra"),
        ('"cli" in extras', "no value for extras"),
        ("os_name == sys_platform", "compares two variables"),
    ],
)
def test_what_cannot_be_evaluated_is_a_one_line_value_error(marker, reason):
    with pytest.raises(ValueError) as raised:
        evaluate(marker, LINUX)
    assert str(raised.value).startswith(f"cannot evaluate marker {marker!r}: ")
    assert reason in str(raised.value)


# --- run time keeps what it cannot evaluate -----------------------------------------------------


@pytest.mark.parametrize(
    "unreadable",
    ['platform_machine ~= "x86_64"', 'os_name == "posix" xor os_name == "nt"', 'extra == "cli"'],
)
def test_running_dependencies_keep_an_entry_whose_marker_cannot_be_evaluated_and_warn_once(monkeypatch, unreadable):
    monkeypatch.setattr(markers, "_WARNED", set())
    info = BuildInfo(
        "demo",
        "1.0",
        dependencies=[("kept", "1.0", unreadable), ("never", "2.0", 'python_version < "3"'), ("plain", "3.0")],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # so that once is this module's doing, not the filter's
        assert info.running_dependencies() == (("kept", "1.0"), ("plain", "3.0"))
        assert info.running_dependencies() == (("kept", "1.0"), ("plain", "3.0"))
    assert [warning.category for warning in caught] == [RuntimeWarning]
    message = str(caught[0].message)
    assert message.startswith("hatch-buildinfo: ") and message.endswith("; the dependency under it is kept")
    assert repr(unreadable) in message and "\n" not in message


def test_holds_is_evaluate_where_evaluate_answers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert holds('os_name <= "posix"', LINUX) is True
        assert holds('os_name == "nt"', LINUX) is False


def test_the_metadata_fallback_keeps_a_requirement_whose_marker_cannot_be_evaluated(tmp_path, monkeypatch):
    requirements = {
        "dep-plain": "",
        "dep-posix": ' ; os_name <= "posix"',  # holds on Linux: the old evaluator dropped it
        "dep-odd": ' ; platform_machine ~= "x86_64"',  # cannot be evaluated: kept, with a warning
        "dep-extra": ' ; extra == "fancy"',  # an extra's: not what the package runs with
        "dep-never": ' ; python_version < "3"',
    }
    for name in ["fallback-demo", *requirements]:
        dist_info = tmp_path / f"{name.replace('-', '_')}-1.0.dist-info"
        dist_info.mkdir()
        lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
        if name == "fallback-demo":
            lines += [f"Requires-Dist: {requirement}{marker}" for requirement, marker in requirements.items()]
        (dist_info / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(markers, "_WARNED", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = from_metadata("fallback_demo")
    expected = {("dep-odd", "1.0"), ("dep-plain", "1.0")} | ({("dep-posix", "1.0")} if os.name == "posix" else set())
    assert list(info.dependencies) == sorted(expected)
    assert [str(warning.message) for warning in caught] == [
        "hatch-buildinfo: cannot evaluate marker 'platform_machine ~= \"x86_64\"': ~= is undefined on "
        f"{LINUX['platform_machine']!r} and 'x86_64'; the dependency under it is kept"
    ]


def test_the_grammar_loads_no_packaging(tmp_path):
    script = (
        "import json, sys\n"
        "from hatch_buildinfo.markers import environment, evaluate, parse, text\n"
        'tree = parse(\'python_full_version < "3.14" and os_name <= "posix"\')\n'
        "evaluate(tree, environment()); text(tree)\n"
        "unwanted = ('packaging', 'ast', 'typing', 'warnings')\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] in unwanted)))\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=clean_environment(PYTHONPATH=str(root)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == []
