"""settle(): a lock's extras and groups decided at build time, its environment terms kept for run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker

import hatch_buildinfo
from hatch_buildinfo.hook.locks import LockError
from hatch_buildinfo.hook.locks.selection import settle
from hatch_buildinfo.markers import environment

PATH = Path("some.lock")


@pytest.mark.parametrize(
    ("marker", "extras", "groups", "expected"),
    [
        # Poetry's extras, either way round, names normalised.
        ('extra == "cli"', {"cli"}, (), True),
        ('extra == "cli"', (), (), False),
        ('extra != "cli"', (), (), True),
        ('"CLI" == extra', {"cli"}, (), True),
        ('extra == "Fancy_Thing"', {"fancy-thing"}, (), True),
        # PEP 751's set-valued variables.
        ('"cli" in extras', {"cli"}, (), True),
        ('"cli" not in extras', {"cli"}, (), False),
        ('"dev" in dependency_groups', (), {"dev"}, True),
        ('"dev" in dependency_groups', {"dev"}, (), False),  # an extra is no group
        # Environment terms stay, written as packaging writes them.
        ("sys_platform=='win32' and extra=='cli'", {"cli"}, (), 'sys_platform == "win32"'),
        ("sys_platform=='win32' and extra=='cli'", (), (), False),
        ('"dev" in dependency_groups or os_name == "nt"', (), (), 'os_name == "nt"'),
        (
            'python_version < "3.10" and (os_name == "nt" or extra == "x" or sys_platform == "darwin")',
            (),
            (),
            'python_version < "3.10" and (os_name == "nt" or sys_platform == "darwin")',
        ),
        ('(os_name == "nt" or "cli" in extras) and python_version >= "3.9"', {"cli"}, (), 'python_version >= "3.9"'),
        # Alternatives that decide alike are written once.
        ('extra == "a" and os_name == "nt" or extra == "b" and os_name == "nt"', {"a", "b"}, (), 'os_name == "nt"'),
        # Nothing to decide: the marker as packaging writes it.
        ("os.name=='nt'  and (python_version<'3.10' or sys.platform=='darwin')", (), (), None),
        ('os_name <= "posix"', (), (), None),
    ],
)
def test_extras_and_groups_are_decided_and_environment_terms_kept(marker, extras, groups, expected):
    decided = settle(PATH, "pkg", marker, frozenset(extras), frozenset(groups))
    if expected is None:
        assert decided == str(Marker(marker))
    else:
        assert decided == expected


def test_a_packaging_marker_is_read_through_its_text():
    assert settle(PATH, "pkg", Marker('"cli" in extras and os_name == "nt"'), frozenset({"cli"})) == 'os_name == "nt"'
    assert settle(PATH, "pkg", None, frozenset()) is True


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("sys_platform ==", "some.lock: pkg: invalid marker 'sys_platform ==': expected "),
        ('extras == "cli"', "some.lock: pkg: cannot decide marker 'extras == \"cli\"': "),
        ('extras == "cli"', "is not a membership test"),
        ('extra < "cli"', "'extra < \"cli\"' is not a membership test"),
        ("extra == os_name", "compares two variables in 'extra == os_name'"),
        # Every term is decided: one that cannot be fails though another settles the marker.
        ('"cli" in extras or extras == "x"', "is not a membership test"),
    ],
)
def test_what_cannot_be_read_or_decided_is_a_one_line_lock_error(marker, message):
    with pytest.raises(LockError) as raised:
        settle(PATH, "pkg", marker, frozenset({"cli"}))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


# Markers that mix choices and environment, compared with packaging evaluating the whole marker.
CHOICES = ["a", "b", "dev"]
selection_term = st.builds(
    lambda form, name: form.format(name),
    st.sampled_from(['extra == "{}"', 'extra != "{}"', '"{}" in extras', '"{}" not in extras']),
    st.sampled_from(CHOICES),
) | st.builds('"{}" {} dependency_groups'.format, st.sampled_from(CHOICES), st.sampled_from(["in", "not in"]))
environment_term = st.sampled_from(
    ['os_name == "nt"', 'sys_platform == "linux"', 'python_version < "3.10"', 'os_name <= "posix"', '"arm" in os_name']
)
mixed = st.recursive(
    selection_term | environment_term,
    lambda inner: st.builds(
        lambda a, op, b, wrap: f"({a}) {op} ({b})" if wrap else f"{a} {op} {b}",
        inner,
        st.sampled_from(["and", "or"]),
        inner,
        st.booleans(),
    ),
    max_leaves=6,
)
ENVIRONMENTS = [
    {**environment(), "os_name": "posix", "sys_platform": "linux", "python_version": "3.9"},
    {**environment(), "os_name": "nt", "sys_platform": "win32", "python_version": "3.12"},
]


@settings(max_examples=300)
@given(mixed, st.sets(st.sampled_from(CHOICES)), st.sets(st.sampled_from(CHOICES)))
def test_what_is_left_holds_where_packaging_says_the_whole_marker_holds(marker, extras, groups):
    decided = settle(PATH, "pkg", marker, frozenset(extras), frozenset(groups))
    if isinstance(decided, str):
        assert decided == str(Marker(decided))  # written as packaging writes it
        assert "extra" not in decided and "dependency_groups" not in decided
    for env in ENVIRONMENTS:
        chosen = {"extra": frozenset(extras), "extras": frozenset(extras), "dependency_groups": frozenset(groups)}
        whole = Marker(marker).evaluate({**env, **chosen}, context="lock_file")
        left = decided if isinstance(decided, bool) else Marker(decided).evaluate(env)
        assert left == whole, (marker, decided, env["sys_platform"])


def test_no_module_reaches_into_packaging_internals():
    root = Path(hatch_buildinfo.__file__).parent
    for module in root.rglob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert "_markers" not in source and "packaging._" not in source, module
