"""Read: the installed versions, from the names of the metadata directories on sys.path.

Held to `packaging` (names and versions), to `importlib.metadata` (a real venv with real installs,
and every pyenv interpreter's own site-packages) and to Python 3.7, which has no importlib.metadata.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import itertools
import json
import re
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, UV, run
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from test_pythons import PYTHONS, _interpreter

from hatch_buildinfo.drift import dist_info_name_version, drifted, installed_versions
from hatch_buildinfo.names import normalize_name, program_name

# --- the directory name, held to packaging ---------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True)
NUMBERS = st.integers(0, 10_000).map(str) | st.from_regex(r"0[0-9]{1,3}", fullmatch=True)  # leading zeros too
SEPARATORS = st.sampled_from(["", ".", "_", "-"])


def _cased(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text, text.upper(), text.capitalize()])


@st.composite
def version_spellings(draw) -> str:
    """PEP 440 versions in any spelling packaging accepts: normal forms and the many others."""
    text = draw(st.sampled_from(["", "v", "V"]))
    if draw(st.booleans()):
        text += draw(NUMBERS) + "!"
    text += ".".join(draw(st.lists(NUMBERS, min_size=1, max_size=4)))
    if draw(st.booleans()):
        label = draw(st.sampled_from(["a", "alpha", "b", "beta", "c", "rc", "pre", "preview"]).flatmap(_cased))
        number = draw(st.none() | NUMBERS) or ""
        text += draw(SEPARATORS) + label + (draw(SEPARATORS) + number if number else "")
    if draw(st.booleans()):
        if draw(st.booleans()):
            text += "-" + draw(NUMBERS)
        else:
            number = draw(st.none() | NUMBERS) or ""
            label = draw(st.sampled_from(["post", "rev", "r"]).flatmap(_cased))
            text += draw(SEPARATORS) + label + (draw(SEPARATORS) + number if number else "")
    if draw(st.booleans()):
        number = draw(st.none() | NUMBERS) or ""
        text += draw(SEPARATORS) + draw(_cased("dev")) + (draw(SEPARATORS) + number if number else "")
    if draw(st.booleans()):
        segments = st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True)
        text += "+" + draw(segments) + "".join(s + t for s, t in draw(st.lists(st.tuples(SEPARATORS, segments))))
    return text


@given(NAMES, version_spellings())
def test_a_spec_directory_name_gives_packagings_name_and_version(name, spelling):
    version = Version(spelling)
    spec = f"{canonicalize_name(name).replace('-', '_')}-{version}.dist-info"
    assert dist_info_name_version(spec) == (canonicalize_name(name), str(version))


@given(NAMES, version_spellings())
def test_old_name_spellings_parse_and_versions_parse_only_in_normal_form(name, spelling):
    """Old tools kept the name's case and dots (`Jinja2`, `zope.interface`): the same PEP 503 name.

    A version not in its normal form is left to the metadata file, which holds what importlib.metadata reports.
    """
    version, old_name = Version(spelling), name.replace("-", "_")
    assert dist_info_name_version(f"{old_name}-{version}.dist-info") == (canonicalize_name(name), str(version))
    parsed = dist_info_name_version(f"{old_name}-{spelling}.dist-info")
    assert parsed == ((canonicalize_name(name), spelling) if str(version) == spelling else None)


@given(
    st.text(alphabet="aAbB.rR0123456789-_!+cdeoptvV", max_size=30)
    | st.from_regex(r"[A-Za-z0-9._-]{1,8}-[0-9][0-9a-z.!+]{0,12}", fullmatch=True)
)
def test_whatever_parses_is_a_valid_name_and_a_normal_version(stem):
    parsed = dist_info_name_version(f"{stem}.dist-info")
    if parsed is None:
        return
    name_part, _, version = stem.rpartition("-")
    assert "-" not in name_part
    assert parsed == (canonicalize_name(name_part, validate=True), version)
    assert str(Version(version)) == version


def test_every_short_spelling_parses_exactly_when_packaging_writes_it_so():
    """Every string of up to 4 characters that versions are made of (89,000 of them), against packaging."""
    normal = []
    for length in range(1, 5):
        for characters in itertools.product("01.abrcpostdev+!A", repeat=length):
            spelling = "".join(characters)
            parsed = dist_info_name_version(f"pkg-{spelling}.dist-info")
            try:
                expected = ("pkg", spelling) if str(Version(spelling)) == spelling else None
            except InvalidVersion:
                expected = None
            assert parsed == expected, spelling
            normal += [spelling] if expected else []
    assert {"0", "1.0", "1a0", "1!0", "1+a", "0rc1"} <= set(normal), "normal forms were among them"


@given(st.text(alphabet="aZ9-_.é İ", max_size=20) | NAMES)
def test_names_normalise_as_pep_503_and_packaging_say(text):
    # drift.py keeps `re` out of the read; these are the regular expressions of PEP 503 and of program names.
    assert normalize_name(text) == re.sub(r"[-_.]+", "-", text).lower()
    assert program_name(text) == re.sub(r"[-.]", "_", text)
    if re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", text):
        assert normalize_name(text) == canonicalize_name(text, validate=True)


@pytest.mark.parametrize("name", ["pkg-1.0.dist-info.bak", "pkg-1.0.egg-info", "pkg.dist-info", "-1.0.dist-info"])
def test_not_a_spec_dist_info_name(name):
    assert dist_info_name_version(name) is None


# --- where it reads, and what ----------------------------------------------------------------


def metadata_text(name: str, version: str | None) -> str:
    version_line = f"Version: {version}\n" if version is not None else ""
    return f"Metadata-Version: 2.1\nName: {name}\n{version_line}Summary: a test distribution\n\nA long description.\n"


def dist_info(directory: Path, stem: str, name: str, version: str | None, file: str = "METADATA") -> Path:
    """`directory/stem.dist-info` (or `.egg-info`, when `stem` ends so) holding a metadata file."""
    path = directory / (stem if stem.endswith("-info") else f"{stem}.dist-info")
    path.mkdir(parents=True)
    (path / file).write_text(metadata_text(name, version), encoding="utf-8")
    return path


@pytest.fixture
def sys_path(monkeypatch):
    """Set sys.path to exactly the directories given, and record the files opened while it is set."""
    import email.parser  # noqa: F401  # the fallback imports it on first use, and the stdlib leaves sys.path here

    opened: list[str] = []
    real_open = builtins.open

    def recording_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def set_path(*entries: Path | str) -> list[str]:
        monkeypatch.setattr(sys, "path", [str(entry) for entry in entries])
        monkeypatch.setattr(builtins, "open", recording_open)
        return opened

    return set_path


def test_spec_names_are_read_without_opening_a_file(tmp_path, sys_path):
    dist_info(tmp_path, "prometheus_client-0.26.0", "prometheus_client", "0.26.0")
    dist_info(tmp_path, "zope_interface-7.1+local.2", "zope.interface", "7.1+local.2")
    dist_info(tmp_path, "Old.Style_Name-1.0rc1.post2.dev3", "Old.Style-Name", "1.0rc1.post2.dev3")
    (tmp_path / "prometheus_client").mkdir()  # packages and modules beside them are not distributions
    (tmp_path / "six.py").write_text("")
    opened = sys_path(tmp_path)
    assert installed_versions() == {
        "prometheus-client": "0.26.0",
        "zope-interface": "7.1+local.2",
        "old-style-name": "1.0rc1.post2.dev3",
    }
    assert opened == []


def test_only_what_does_not_parse_has_its_metadata_read(tmp_path, sys_path):
    dist_info(tmp_path, "fine-1.0", "fine", "1.0")
    odd = dist_info(tmp_path, "Odd_Version-1.0.POST1", "Odd-Version", "1.0.POST1")
    develop = dist_info(tmp_path, "Egg.Develop.egg-info", "Egg.Develop", "0.6", file="PKG-INFO")
    legacy = dist_info(tmp_path, "Egg_Legacy-0.7-py3.11.egg-info", "Egg-Legacy", "0.7", file="PKG-INFO")
    (tmp_path / "Flat_File-0.1-py3.11.egg-info").write_text(metadata_text("Flat-File", "0.1"), encoding="utf-8")
    nameless = tmp_path / "broken-2.0.1_x.dist-info"
    nameless.mkdir()  # an interrupted install: no metadata file at all
    versionless = dist_info(tmp_path, "Versionless.egg-info", "versionless", None, file="PKG-INFO")
    opened = sys_path(tmp_path)
    assert installed_versions() == {
        "fine": "1.0",
        "odd-version": "1.0.POST1",
        "egg-develop": "0.6",
        "egg-legacy": "0.7",
        "flat-file": "0.1",
    }
    read = {str(Path(path).relative_to(tmp_path)).split("/")[0] for path in opened}
    assert read == {
        odd.name,
        develop.name,
        legacy.name,
        "Flat_File-0.1-py3.11.egg-info",
        nameless.name,
        versionless.name,
    }


def test_the_first_on_sys_path_wins(tmp_path, sys_path):
    dist_info(tmp_path / "first", "shared-2.0", "shared", "2.0")
    dist_info(tmp_path / "first", "Legacy.egg-info", "legacy", "1.1", file="PKG-INFO")
    dist_info(tmp_path / "second", "shared-1.0", "shared", "1.0")
    dist_info(tmp_path / "second", "legacy-1.0", "legacy", "1.0")
    dist_info(tmp_path / "second", "only_here-3.0", "only-here", "3.0")
    sys_path(tmp_path / "missing", tmp_path / "first", tmp_path / "second")
    assert installed_versions() == {"shared": "2.0", "legacy": "1.1", "only-here": "3.0"}


def test_an_empty_entry_is_the_current_directory(tmp_path, sys_path, monkeypatch):
    dist_info(tmp_path, "here-1.0", "here", "1.0")
    monkeypatch.chdir(tmp_path)
    sys_path("")
    assert installed_versions() == {"here": "1.0"}


def test_zip_files_and_eggs_on_sys_path(tmp_path, sys_path):
    """A zip application's bundled distributions, a zipped egg and an egg directory: importlib.metadata reads them."""
    application = tmp_path / "app.pyz"
    with zipfile.ZipFile(application, "w") as archive:
        archive.writestr("__main__.py", "")
        archive.writestr("bundled-1.0.dist-info/METADATA", metadata_text("bundled", "1.0"))
        archive.writestr("Bundled_Odd-1.0.0_1.dist-info/METADATA", metadata_text("bundled-odd", "1.0.0-1"))
    zipped_egg = tmp_path / "Zipped-2.0-py3.11.egg"
    with zipfile.ZipFile(zipped_egg, "w") as archive:
        archive.writestr("EGG-INFO/PKG-INFO", metadata_text("Zipped", "2.0"))
    egg = tmp_path / "Unzipped-3.0-py3.11.egg"
    dist_info(egg, "EGG-INFO", "Unzipped", "3.0", file="PKG-INFO")
    not_a_zip = tmp_path / "notes.txt"
    not_a_zip.write_text("not a zip file")
    sys_path(application, zipped_egg, egg, not_a_zip)
    assert installed_versions() == {"bundled": "1.0", "bundled-odd": "1.0.0-1", "zipped": "2.0", "unzipped": "3.0"}


def test_drifted_names_each_locked_package_installed_otherwise():
    locked = (("a", "1.0"), ("b", "2.0"), ("c", "3.0"))
    assert drifted(locked, {"a": "1.0", "b": "2.1", "d": "4.0"}) == {"b": "2.1", "c": None}
    assert drifted(locked, {"a": "1.0", "b": "2.0", "c": "3.0"}) == {}


# --- held to importlib.metadata, on real installs and on every Python --------------------------

# Prints this interpreter's installed versions by the read and by importlib.metadata (null on 3.7), and
# the metadata directories the read opened a file in. hatch_buildinfo comes from the checkout, whose
# directory holds no distribution; paths to put first on sys.path come as arguments.
COMPARE = textwrap.dedent(
    """\
    import builtins, json, os, sys
    sys.path.insert(0, {root!r})
    from hatch_buildinfo.drift import installed_versions
    from hatch_buildinfo.names import normalize_name
    sys.path.remove({root!r})
    sys.path[:0] = sys.argv[1:]
    opened, real_open = [], builtins.open
    builtins.open = lambda file, *args, **kwargs: opened.append(str(file)) or real_open(file, *args, **kwargs)
    mine = installed_versions()
    builtins.open = real_open
    try:
        from importlib.metadata import distributions
    except ImportError:
        theirs = None
    else:
        theirs = {{}}
        for distribution in distributions():
            name = distribution.metadata["Name"]
            if name:
                theirs.setdefault(normalize_name(name), distribution.version)
    read = sorted({{os.path.basename(os.path.dirname(path)) for path in opened}})
    print(json.dumps({{"mine": mine, "theirs": theirs, "read": read}}))
    """
).format(root=str(ROOT))


def compare(python: Path | str, cwd: Path, *first: Path) -> dict:
    # -I: no PYTHONPATH, no user site; what the interpreter itself has installed, and `first`.
    output = run(python, "-I", "-c", COMPARE, *first, cwd=cwd).stdout
    return json.loads(output)


def hand_made_wheel(directory: Path, dist_info_dir: str, name: str, version: str) -> Path:
    """A pure wheel whose `.dist-info` is spelled `dist_info_dir`, as an older builder wrote it."""
    module = f"{canonicalize_name(name).replace('-', '_')}_module.py"
    files = {
        f"{dist_info_dir}/METADATA": metadata_text(name, version),
        f"{dist_info_dir}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        module: "",
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(text.encode())}\n"
        for path, text in files.items()
    )
    wheel = directory / f"{dist_info_dir[: -len('.dist-info')]}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in {**files, f"{dist_info_dir}/RECORD": record + f"{dist_info_dir}/RECORD,,\n"}.items():
            archive.writestr(path, text)
    return wheel


def setuptools_project(directory: Path, name: str, version: str) -> Path:
    directory.mkdir()
    (directory / "setup.py").write_text(f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n")
    return directory


@pytest.fixture(scope="module")
def real_venv(wheelhouse, tmp_path_factory) -> Path:
    """A venv with real installs: the hook's build needs and setuptools; a wheel whose `.dist-info` keeps the
    name's case and dots, as older builders wrote it, and one whose version is not in normal form; the `.egg-info`
    that setuptools installs for `setup.py install`, and the one it writes into a `setup.py develop` checkout (on
    sys.path through a `.pth` file, as develop puts it)."""
    base = tmp_path_factory.mktemp("drift-venv")
    venv = base / "venv"
    python = venv / "bin" / "python"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=base)
    wheels = [
        hand_made_wheel(base, "Legacy.Spelling-2.0.dist-info", "Legacy.Spelling", "2.0"),
        hand_made_wheel(base, "Odd_Version-1.0.POST1.dist-info", "Odd-Version", "1.0.POST1"),
    ]
    run(UV, "pip", "install", "--quiet", "--python", venv, "--find-links", wheelhouse,
        "hatchling", "gitpython", "tomli", "setuptools", *wheels, cwd=base)  # fmt: skip
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=base).stdout.strip()
    installed = setuptools_project(base / "installed", "Egg.Installed", "0.7")
    run(python, "setup.py", "--quiet", "install_egg_info", "--install-dir", purelib, cwd=installed)
    develop = setuptools_project(base / "develop", "Egg.Develop", "0.6")
    run(python, "setup.py", "--quiet", "egg_info", cwd=develop)
    (Path(purelib) / "egg-develop.pth").write_text(f"{develop}\n")
    return venv


def test_the_read_equals_importlib_metadata_in_a_real_venv(real_venv):
    found = compare(real_venv / "bin" / "python", real_venv.parent)
    assert found["mine"] == found["theirs"]
    assert {
        name: found["mine"].get(name) for name in ("legacy-spelling", "odd-version", "egg-installed", "egg-develop")
    } == {
        "legacy-spelling": "2.0",
        "odd-version": "1.0.POST1",
        "egg-installed": "0.7",
        "egg-develop": "0.6",
    }
    assert {"hatchling", "gitpython", "gitdb", "smmap", "packaging", "tomli", "setuptools"} <= set(found["mine"])
    installed = f"Egg.Installed-0.7-py{sys.version_info[0]}.{sys.version_info[1]}.egg-info"
    assert found["read"] == sorted(["Odd_Version-1.0.POST1.dist-info", installed, "Egg.Develop.egg-info"])


@pytest.fixture(scope="module")
def odd_paths(tmp_path_factory) -> list[Path]:
    """Two sys.path entries with the spellings importlib.metadata meets: spec, old, egg-info directory and file."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    dist_info(first, "drift_probe_spec-1.0", "drift-probe-spec", "1.0")
    dist_info(first, "Drift.Probe_Old-2.0", "Drift.Probe-Old", "2.0")
    dist_info(first, "Drift_Probe_Odd-1.0.0_1", "Drift-Probe-Odd", "1.0.0-1")
    dist_info(first, "Drift.Probe.Egg.egg-info", "Drift.Probe.Egg", "0.6", file="PKG-INFO")
    (first / "Drift_Probe_File-0.1.egg-info").write_text(metadata_text("Drift-Probe-File", "0.1"), encoding="utf-8")
    dist_info(second, "drift_probe_spec-0.9", "drift-probe-spec", "0.9")
    dist_info(second, "drift_probe_second-3.0", "drift-probe-second", "3.0")
    return [first, second]


@pytest.mark.parametrize("version", PYTHONS)
def test_the_read_on_every_python(version, odd_paths, tmp_path):
    """Equal to importlib.metadata's over each interpreter's own site-packages and `odd_paths`; on 3.7, which has
    no importlib.metadata, the same read."""
    found = compare(_interpreter(version), tmp_path, *odd_paths)
    assert {name: version for name, version in found["mine"].items() if name.startswith("drift-probe-")} == {
        "drift-probe-spec": "1.0",
        "drift-probe-old": "2.0",
        "drift-probe-odd": "1.0.0-1",
        "drift-probe-egg": "0.6",
        "drift-probe-file": "0.1",
        "drift-probe-second": "3.0",
    }
    if version == "3.7":
        assert found["theirs"] is None
    else:
        assert found["mine"] == found["theirs"]


@pytest.mark.parametrize(
    ("locked", "installed", "differs"),
    [
        ("2.31", "2.31.0", False),  # a hand-written `requests==2.31` installs requests-2.31.0.dist-info
        ("1!2", "1!2.0.0", False),
        ("2.31.0", "2.31.1", True),
        ("1.0", "1.0.post1", True),
        ("1.0+local", "1.0", True),
        ("not-pep-440", "not-pep-440", False),
        ("not-pep-440", "1.0", True),
    ],
)
def test_drift_compares_versions_as_pep_440_does(locked, installed, differs):
    assert drifted((("pkg", locked),), {"pkg": installed}) == ({"pkg": installed} if differs else {})
    assert (not differs) == (
        Version(locked) == Version(installed) if _valid(locked) and _valid(installed) else locked == installed
    )


def _valid(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True
