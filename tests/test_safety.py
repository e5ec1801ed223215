"""Branch names, tags and user names are data: they round-trip as literals and never run.

A property test drives the writer with arbitrary text; real git repositories with hostile (but
legal) branch and tag names drive whole builds; a remote with credentials must not leak into
any artifact.
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, clean_environment, read_target, sdist_in, wheel_in
from hypothesis import given
from hypothesis import strategies as st

from hatch_buildinfo.hook.render import render
from hatch_buildinfo.info import FIELDS, SCHEMA, BuildInfo

# ---------------------------------------------------------------------------------------------
# 1. The writer: arbitrary text is written as literals and reads back exactly.
# ---------------------------------------------------------------------------------------------

# Text meant to break out of a string literal or run code if it were pasted rather than repr()-ed.
HOSTILE_TEXT = [
    '__import__("os").system("touch PWNED")',
    "__import__('pathlib').Path('PWNED').touch()",
    '"""',
    "'''",
    '"""\n__import__("os").system("touch PWNED")\n"""',
    "'+__import__('os').getcwd()+'",
    "\\",
    "\\'",
    '\\"',
    "trailing backslash \\",
    "\x00",
    "line\nbreak",
    "carriage\rreturn",
    "\u2028\u2029\x85",
    "# comment",
    "\ufeff",
    "ünïcødé 分支 🚀",
    "",
]
text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text())
text_or_none = st.one_of(st.none(), text)
build_infos = st.builds(
    BuildInfo,
    program=text,
    version=text,
    revision=text,
    branch=text,
    dirty=st.sampled_from([True, False, None]),
    tag=text_or_none,
    commit_date=text_or_none,
    build_user=text_or_none,
    build_date=text,
    dependencies=st.lists(st.tuples(text, text), max_size=4).map(tuple),
)

# The only syntax a generated module may contain: assignments of constants and tuples of them.
LITERAL_NODES = (ast.Module, ast.Assign, ast.Name, ast.Store, ast.Load, ast.Constant, ast.Tuple)


def _expected_names(info: BuildInfo) -> dict[str, object]:
    names = {"schema": SCHEMA}
    names.update((name, getattr(info, name)) for name in FIELDS)
    return names


def _exact(value: object) -> object:
    """`value` with its types spelled out, so True and 1, or a tuple and a list, compare unequal."""
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_exact(part) for part in value))
    return (type(value).__name__, value)


@given(build_infos)
def test_rendered_module_holds_only_literals(info):
    source = render(info)
    tree = ast.parse(source)
    strangers = [type(node).__name__ for node in ast.walk(tree) if not isinstance(node, LITERAL_NODES)]
    assert strangers == []
    assigned = [statement.targets[0].id for statement in tree.body]
    assert assigned == ["schema", *FIELDS]


@given(build_infos)
def test_executing_rendered_module_defines_exactly_the_fields(info):
    namespace: dict[str, object] = {}
    exec(compile(render(info), "_buildinfo.py", "exec"), namespace)  # running it is the point of the test
    namespace.pop("__builtins__")
    expected = _expected_names(info)
    assert {name: _exact(value) for name, value in namespace.items()} == {
        name: _exact(value) for name, value in expected.items()
    }
    assert BuildInfo.from_mapping(namespace) == info


@given(build_infos)
def test_importing_rendered_module_defines_exactly_the_fields(info):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "_buildinfo.py")
        path.write_bytes(render(info).encode("utf-8"))
        spec = importlib.util.spec_from_file_location("generated_buildinfo_under_test", path)
        module = importlib.util.module_from_spec(spec)
        before = set(vars(module))
        spec.loader.exec_module(module)
        # exec_module adds `__builtins__` as any import does; everything else is the module's own.
        defined = {name: value for name, value in vars(module).items() if name not in before | {"__builtins__"}}
    assert {name: _exact(value) for name, value in defined.items()} == {
        name: _exact(value) for name, value in _expected_names(info).items()
    }


# ---------------------------------------------------------------------------------------------
# 2. Real repositories with hostile branch names, tags and user names.
# ---------------------------------------------------------------------------------------------

# Each of these is a legal git branch and tag name (`git check-ref-format`): no space, backslash,
# `~^:?*[`, `..` or `@{`, but quotes, parentheses, `$`, `;`, `'`, backticks and unicode.
HOSTILE_BRANCHES = [
    '__import__("os").system("touch${IFS}PWNED")',
    "x'+__import__('pathlib').Path('PWNED').touch()+'",
    '\'\'\'"""+__import__("pathlib").Path("PWNED").touch()+"""\'\'\'-ünïcødé-分支-🚀',
]
HOSTILE_TAG = "v1$(touch${IFS}PWNED);`touch${IFS}PWNED`#\"\"\"'''+__import__('pathlib').Path('PWNED').touch()"
HOSTILE_USER = "evil\nuser'\"\\ \"\"\" ''' \\n\\\n__import__('pathlib').Path('PWNED').touch() $(touch PWNED)"

_IMPORT_AND_DUMP = """\
import json, sys
sys.path.insert(0, sys.argv[1])
import demo_pkg._buildinfo as generated
from hatch_buildinfo import build_info
names = {name: value for name, value in vars(generated).items() if not name.startswith("__")}
print(json.dumps({"names": names, "build_info": build_info("demo_pkg").as_dict()}))
"""


def _pwned_files(*directories: Path) -> list[Path]:
    return [path for directory in directories for path in directory.rglob("PWNED")]


@pytest.mark.parametrize("branch", HOSTILE_BRANCHES, ids=["os-system", "quote-breakout", "triple-quotes-unicode"])
def test_hostile_branch_tag_and_user_round_trip_and_run_nothing(repo, tmp_path, branch):
    repo.git("checkout", "--quiet", "-b", branch)
    repo.git("tag", HOSTILE_TAG)
    assert repo.git("symbolic-ref", "--short", "HEAD") == branch

    result = repo.build("wheel", env=clean_environment(BUILDINFO_USER=HOSTILE_USER))
    wheel = wheel_in(result.outdir)
    info = read_target(str(wheel))
    assert (info.branch, info.tag, info.build_user) == (branch, HOSTILE_TAG, HOSTILE_USER)
    assert info.revision == repo.git("rev-parse", "HEAD")

    unpacked = tmp_path / "unpacked-wheel"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    workdir = tmp_path / "import-cwd"
    workdir.mkdir()
    imported = subprocess.run(
        [sys.executable, "-c", _IMPORT_AND_DUMP, str(unpacked)],
        cwd=workdir,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    dumped = json.loads(imported.stdout)
    expected = info.as_dict()
    assert dumped["build_info"] == expected
    names = dict(expected, dependencies=[])  # JSON spells the module's () as []
    assert dumped["names"] == names
    assert (dumped["names"]["branch"], dumped["names"]["tag"], dumped["names"]["build_user"]) == (
        branch,
        HOSTILE_TAG,
        HOSTILE_USER,
    )

    assert _pwned_files(tmp_path, ROOT) == []
    assert not Path(os.getcwd(), "PWNED").exists()


# ---------------------------------------------------------------------------------------------
# 3. Credentials in a remote never reach an artifact.
# ---------------------------------------------------------------------------------------------

SECRET = "s3cr3t-token"
REMOTE = f"https://user:{SECRET}@git.example.invalid/repo.git"


def test_remote_credentials_reach_no_artifact(repo):
    repo.git("remote", "add", "origin", REMOTE)
    repo.git("config", "remote.origin.pushurl", REMOTE)
    repo.git("config", "branch.main.remote", "origin")
    repo.git("config", "branch.main.merge", "refs/heads/main")
    # A remote-tracking ref, as a real clone has, so anything walking refs sees the remote.
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")

    result = repo.build("sdist", "wheel")
    wheel, sdist = wheel_in(result.outdir), sdist_in(result.outdir)
    assert read_target(str(wheel)).branch == read_target(str(sdist)).branch == "main"

    leaks = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if SECRET.encode() in name.encode() + archive.read(name):
                leaks.append(f"{wheel.name}:{name}")
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            body = archive.extractfile(member).read() if member.isfile() else b""
            if SECRET.encode() in member.name.encode() + member.linkname.encode() + body:
                leaks.append(f"{sdist.name}:{member.name}")
    # The whole decompressed tar stream as well: every header and pax record.
    if SECRET.encode() in gzip.decompress(sdist.read_bytes()):
        leaks.append(f"{sdist.name} (tar stream)")
    for artifact in (wheel, sdist):
        if SECRET.encode() in artifact.read_bytes():
            leaks.append(f"{artifact.name} (raw bytes)")
    assert leaks == []

    for artifact in (wheel, sdist):
        assert "git.example.invalid" not in json.dumps(read_target(str(artifact)).as_dict())
