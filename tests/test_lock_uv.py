"""uv.lock: the runtime set of locks made by a real uv, checked against uv's own `uv export`."""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import new_project, run_tool
from lock_build import SAMPLE_PYPROJECT, built_dependencies, exported_pins, hooked_copy, lock_error, pairs
from packaging.markers import Marker
from test_lock_requirements import PIN, exported_hashes

from hatch_buildinfo.hook.locks import Locked, LockError, Project, normalize_name, read_lock

DEV_ONLY = {"pytest", "iniconfig", "pluggy", "pygments", "exceptiongroup", "tomli", "packaging", "typing-extensions"}
# Environments to compare markers in: every project here has requires-python >= 3.9.
PYTHONS = ("3.9.0", "3.9.18", "3.10.0", "3.10.12", "3.11.0", "3.11.9", "3.12.0", "3.12.4", "3.13.0", "3.14.2")
ENVIRONMENTS = [
    {
        "python_full_version": python,
        "python_version": ".".join(python.split(".")[:2]),
        "implementation_version": python,
        "sys_platform": platform,
        "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[platform],
        "os_name": "nt" if platform == "win32" else "posix",
        "platform_machine": machine,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
    }
    for python, platform, machine in itertools.product(PYTHONS, ("linux", "win32", "darwin"), ("x86_64", "arm64"))
]


def uv(*arguments: str, cwd: Path) -> str:
    return run_tool("uv", "uv", *arguments, cwd=cwd)


def export(directory: Path, *extras: str) -> dict[tuple[str, str], str | None]:
    """{(name, version): marker} of `uv export` of the runtime dependencies, with `extras`."""
    flags = [argument for extra in extras for argument in ("--extra", extra)]
    text = uv(
        "export",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--no-hashes",
        "--format",
        "requirements-txt",
        *flags,
        cwd=directory,
    )
    return {(name, version): str(marker) if marker else None for name, version, marker in exported_pins(text)}


def exported_graph(directory: Path, *extras: str) -> tuple[dict[tuple[str, str], set[str]], dict[str, set[str]]]:
    """`uv export` of the runtime dependencies with hashes: each pin's hashes, and each name's children.

    The children are read back from uv's `# via` comments, which name the packages each pin is needed by.
    """
    flags = [argument for extra in extras for argument in ("--extra", extra)]
    text = uv(
        "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt", *flags, cwd=directory
    )
    children: dict[str, set[str]] = {}
    pinned = None
    for line in text.splitlines():
        pin = PIN.match(line)
        if pin:
            pinned = normalize_name(pin[1])
        via = line.strip().removeprefix("# via").strip().removeprefix("#").strip()
        if line.lstrip().startswith("#") and via and pinned:
            children.setdefault(normalize_name(via), set()).add(pinned)
    return exported_hashes(text), children


def holds(marker: str | None, environment: dict) -> bool:
    return marker is None or Marker(marker).evaluate(environment)


def assert_same_as(packages: tuple[Locked, ...], exported: dict[tuple[str, str], str | None]) -> None:
    """The same (name, version) pairs, and markers that hold in the same environments."""
    assert {(package.name, package.version) for package in packages} == set(exported)
    for package in packages:
        theirs = exported[(package.name, package.version)]
        differ = [env for env in ENVIRONMENTS if holds(package.marker, env) != holds(theirs, env)]
        assert not differ, f"{package}: uv export says {theirs!r}; they differ in {differ[0]}"


def locked(root: Path, pyproject: str, package: str | None = None) -> Path:
    """A project directory with `pyproject` (and `package`'s module), locked by a real `uv lock`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(pyproject), encoding="utf-8")
    if package:
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("", encoding="utf-8")
    uv("lock", cwd=root)
    return root


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The issue's project: a package with runtime dependencies, an extra and a dev group."""
    return locked(
        tmp_path_factory.mktemp("uv") / "demo",
        # requests[socks]: an edge that asks for an extra.
        SAMPLE_PYPROJECT.replace('"requests>=2.31"', '"requests[socks]>=2.31"'),
        package="demo_pkg",
    )


@pytest.fixture(scope="module")
def fork(tmp_path_factory) -> Path:
    """A project (not a package: uv locks it as virtual) that needs one of two idna versions by Python version."""
    return locked(
        tmp_path_factory.mktemp("uv") / "fork",
        """\
        [project]
        name = "fork-app"
        version = "0.1.0"
        requires-python = ">=3.9"
        dependencies = [
            "idna==3.6; python_version < '3.10'",
            "idna==3.7; python_version >= '3.10'",
            "requests>=2.31",
        ]
        """,
    )


@pytest.fixture(scope="module")
def conflicting(tmp_path_factory) -> Path:
    """Two extras that cannot go together: uv writes its own `extra == 'extra-<n>-<project>-<extra>'` markers."""
    return locked(
        tmp_path_factory.mktemp("uv") / "conflicting",
        """\
        [project]
        name = "conf-app"
        version = "0.1.0"
        requires-python = ">=3.9"
        dependencies = ["certifi", "idna"]

        [project.optional-dependencies]
        old = ["idna==3.6"]
        new = ["idna==3.7", "colorama; sys_platform == 'win32'"]

        [tool.uv]
        conflicts = [[{ extra = "old" }, { extra = "new" }]]

        [dependency-groups]
        dev = ["pytest"]
        """,
    )


@pytest.mark.parametrize("extras", [(), ("cli",)], ids=["runtime", "with-cli"])
def test_runtime_set_is_what_uv_exports(demo: Path, extras: tuple[str, ...]) -> None:
    packages = read_lock(demo / "uv.lock", Project(name="demo-pkg", extras=extras))

    assert_same_as(packages, export(demo, *extras))
    names = {package.name for package in packages}
    assert {"requests", "urllib3", "idna", "certifi", "pysocks"} <= names  # pysocks: the socks extra on an edge
    assert ("click" in names) == bool(extras)
    assert not names & {"pytest", "pluggy", "iniconfig", "demo-pkg"}
    (colorama,) = [package for package in packages if package.name == "colorama"]
    assert "sys_platform" in colorama.marker


@pytest.mark.parametrize("extras", [(), ("cli",)], ids=["runtime", "with-cli"])
def test_a_wheel_built_with_the_hook_records_what_uv_exports(demo: Path, tmp_path: Path, extras) -> None:
    project = hooked_copy(demo, tmp_path / "demo", f"extras = {list(extras)!r}\n")

    recorded = built_dependencies(project)

    exported = export(demo, *extras)
    assert pairs(recorded) == set(exported)
    assert_same_as(tuple(Locked(*dependency) for dependency in recorded), exported)
    assert not {name for name, _ in pairs(recorded)} & {"pytest", "pluggy", "iniconfig", "demo-pkg"}


@pytest.mark.parametrize("extras", [(), ("cli",)], ids=["runtime", "with-cli"])
def test_hashes_and_requires_are_what_uv_exports(demo: Path, extras: tuple[str, ...]) -> None:
    """Each package's hashes are the --hash options uv exports for it; what it requires, uv's `# via` comments."""
    packages = read_lock(demo / "uv.lock", Project(name="demo-pkg", extras=extras))
    hashes, children = exported_graph(demo, *extras)

    assert {(package.name, package.version): set(package.hashes) for package in packages} == hashes
    assert all(package.hashes and all(hash.startswith("sha256:") for hash in package.hashes) for package in packages)
    requires: dict[str, set[str]] = {}
    for package in packages:  # by name, as `# via` names no version
        requires.setdefault(package.name, set()).update(package.requires)
    assert requires == {name: children.get(name, set()) for name in requires}
    # The socks extra an edge asks for adds pysocks to what requests requires, at each version the lock has.
    assert {package.requires for package in packages if package.name == "requests"} == {
        ("certifi", "charset-normalizer", "idna", "pysocks", "urllib3")
    }
    assert requires["certifi"] == set()
    assert requires.get("click") == ({"colorama"} if extras else None)


def test_packages_reached_on_every_side_of_a_fork_hold_everywhere(demo: Path) -> None:
    """certifi is reached through one requests on old Pythons and another on new ones, or through one on all."""
    packages = read_lock(demo / "uv.lock", Project(name="demo-pkg"))

    (certifi,) = [package for package in packages if package.name == "certifi"]
    assert all(holds(certifi.marker, environment) for environment in ENVIRONMENTS), certifi.marker


def test_fork_records_both_versions_with_their_markers(fork: Path) -> None:
    packages = read_lock(fork / "uv.lock", Project(name="fork-app"))

    assert_same_as(packages, export(fork))
    idna = {package.version: package.marker for package in packages if package.name == "idna"}
    assert set(idna) == {"3.6", "3.7"}
    for environment in ENVIRONMENTS:
        old = environment["python_version"] == "3.9"
        assert holds(idna["3.6"], environment) == old
        assert holds(idna["3.7"], environment) == (not old)


@pytest.mark.parametrize("extras", [(), ("old",), ("new",)], ids=["none", "old", "new"])
def test_conflicting_extras_are_decided_by_the_extras_built_with(conflicting: Path, extras: tuple[str, ...]) -> None:
    packages = read_lock(conflicting / "uv.lock", Project(name="conf-app", extras=extras))

    assert_same_as(packages, export(conflicting, *extras))
    assert all("extra" not in (package.marker or "") for package in packages)
    assert [package.version for package in packages if package.name == "idna"] == [
        "3.6" if extras == ("old",) else "3.7"
    ]


def test_an_extra_the_project_lacks_is_an_error(demo: Path) -> None:
    with pytest.raises(LockError, match=r"demo-pkg: the project has no extra 'gui'"):
        read_lock(demo / "uv.lock", Project(name="demo-pkg", extras=("gui",)))


def test_a_lock_without_the_project_is_an_error(demo: Path) -> None:
    with pytest.raises(LockError, match=r"uv\.lock: other-pkg: the lock lists no editable or virtual entry"):
        read_lock(demo / "uv.lock", Project(name="other-pkg"))


def thousand_package_lock(path: Path) -> set[Locked]:
    """Write a generated uv.lock of a thousand packages at `path`; the runtime set the project `scale-app` has.

    Each package requires its children, its parent, and `dual` for pkg-0001 and pkg-0002.

    A generated lock, not one made by uv: the only way to a lock this size without resolving
    a thousand real packages. It has uv's layout: a heap of packages, each depending on its two
    children and back on its parent (a cycle per edge), a marker on every edge into a multiple
    of 7 (but 0), and a package at two versions, each picked by version and source on its edge.
    """
    count = 1000
    registry = 'source = { registry = "https://index.example.invalid/simple" }'
    lines = ["version = 1", "revision = 3", 'requires-python = ">=3.9"', ""]

    def package(name: str, version: str, source: str, dependencies: list[str]) -> None:
        lines.extend(["[[package]]", f'name = "{name}"', f'version = "{version}"', source, "dependencies = ["])
        lines.extend(f"    {dependency}," for dependency in dependencies)
        lines.extend(["]", ""])

    def edge(index: int, marker: str | None = None) -> str:
        marker = marker or ("sys_platform == 'linux'" if index and index % 7 == 0 else None)
        return f'{{ name = "pkg-{index:04d}"' + (f', marker = "{marker}"' if marker else "") + " }"

    package("scale-app", "0.1.0", 'source = { editable = "." }', [edge(0)])
    lines[-1:-1] = ["[package.dev-dependencies]", 'dev = [{ name = "dev-tool" }]']
    package("dev-tool", "1.0", registry, [])
    for index in range(count):
        children = [edge(child) for child in (2 * index + 1, 2 * index + 2) if child < count]
        parent = [edge((index - 1) // 2, "python_full_version >= '3.12'")] if index else []
        pick = {1: ("1.0", "python_full_version < '3.12'"), 2: ("2.0", "python_full_version >= '3.12'")}.get(index)
        dual = [f'{{ name = "dual", version = "{pick[0]}", {registry}, marker = "{pick[1]}" }}'] if pick else []
        package(f"pkg-{index:04d}", f"1.{index}.0", registry, children + parent + dual)
    package("dual", "1.0", registry, [])
    package("dual", "2.0", registry, [])
    path.write_text("\n".join(lines), encoding="utf-8")

    def expected_marker(index: int) -> str | None:
        while index:  # On the only path without going round a cycle: a marker on any edge into a multiple of 7.
            if index % 7 == 0:
                return 'sys_platform == "linux"'
            index = (index - 1) // 2
        return None

    def requires(index: int) -> tuple[str, ...]:
        near = [child for child in (2 * index + 1, 2 * index + 2) if child < count] + (
            [(index - 1) // 2] if index else []
        )
        return tuple(sorted([f"pkg-{other:04d}" for other in near] + (["dual"] if index in (1, 2) else [])))

    expected = {
        Locked(f"pkg-{index:04d}", f"1.{index}.0", expected_marker(index), requires=requires(index))
        for index in range(count)
    }
    return expected | {
        Locked("dual", "1.0", 'python_full_version < "3.12"'),
        Locked("dual", "2.0", 'python_full_version >= "3.12"'),
    }


def test_a_thousand_packages_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    expected = thousand_package_lock(path)

    packages = read_lock(path, Project(name="scale-app"))

    assert len(packages) == len(expected) and set(packages) == expected


def test_a_thousand_packages_built_with_the_hook_read_back_exactly(tmp_path: Path) -> None:
    project = new_project(tmp_path / "scale", name="scale-app")
    expected = thousand_package_lock(project.path / "uv.lock")

    recorded = built_dependencies(project)

    assert len(recorded) == len(expected) == 1002  # every pkg-*, dual twice; not scale-app, not dev-tool
    assert {Locked(*dependency) for dependency in recorded} == {
        Locked(package.name, package.version, package.marker) for package in expected
    }


ROOT_ENTRY = """\
version = 1
requires-python = ">=3.9"

[[package]]
name = "demo-pkg"
version = "1.2.3"
source = { editable = "." }
dependencies = [{ name = "idna" }]
"""
IDNA = """
[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://index.example.invalid/simple" }
"""


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param('version = 1\n[[package]\nname = "x"\n', ["not valid TOML", "line 2"], id="bad-toml"),
        pytest.param(ROOT_ENTRY + IDNA.replace('version = "3.7"\n', ""), ["idna: ", "has no version"], id="no-version"),
        pytest.param(ROOT_ENTRY.replace("version = 1", "version = 99") + IDNA, ["version: ", "99"], id="lock-version"),
        pytest.param(ROOT_ENTRY.replace('"idna"', '"ghost"') + IDNA, ["demo-pkg: ", "ghost"], id="missing-dependency"),
        pytest.param(
            ROOT_ENTRY.replace('{ name = "idna" }', '{ name = "idna", version = "3.6" }') + IDNA,
            ["demo-pkg: ", "idna version='3.6'"],
            id="missing-version-of-dependency",
        ),
        pytest.param(ROOT_ENTRY + IDNA + IDNA.replace("3.7", "3.6"), ["demo-pkg: ", "2 times"], id="ambiguous"),
        pytest.param(
            ROOT_ENTRY.replace('{ name = "idna" }', '{ name = "idna", marker = "sys_platform =" }') + IDNA,
            ["demo-pkg: ", "invalid marker"],
            id="bad-marker",
        ),
    ],
)
def test_malformed_locks_raise_one_line_naming_file_and_entry(tmp_path: Path, text: str, names: list[str]) -> None:
    path = tmp_path / "uv.lock"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(LockError) as raised:
        read_lock(path, Project(name="demo-pkg"))

    message = str(raised.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for name in names:
        assert name in message


WHEEL = "https://index.example.invalid/idna-3.7-py3-none-any.whl"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            f'sdist = {{ url = "{WHEEL}", hash = "sha256" }}',
            "has a hash that is not <algorithm>:<hex digest>: 'sha256'",
        ),
        (f'wheels = [{{ url = "{WHEEL}", hash = "sha256:xyz" }}]', "has a hash that is not <algorithm>:<hex digest>: "),
        (f'wheels = [{{ url = "{WHEEL}", hash = 7 }}]', "has a hash that is not <algorithm>:<hex digest>: 7"),
        (f'wheels = ["{WHEEL}"]', f"wheels: '{WHEEL}' is not a table"),
        (f'sdist = "{WHEEL}"', f"sdist: '{WHEEL}' is not a table"),
    ],
)
def test_malformed_hashes_raise_one_line_naming_file_and_entry(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "uv.lock"
    path.write_text(ROOT_ENTRY + IDNA + line + "\n", encoding="utf-8")

    assert lock_error(path, Project(name="demo-pkg")).startswith(f"{path}: idna: {problem}")


def test_tomli_and_tomllib_read_a_lock_alike_and_refuse_bad_ones_alike(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("tomli")
    good = ROOT_ENTRY + IDNA
    bad = {
        "header": (ROOT_ENTRY + IDNA.replace("[[package]]", "[[package]")).encode(),
        "utf-8": good.encode().replace(b"3.7", b"3.\xff"),
        "integer": good.replace("version = 1", "version = 1" + "0" * 5000).encode(),
    }
    paths = {}
    for name, content in (("good", good.encode()), *bad.items()):
        paths[name] = tmp_path / name / "uv.lock"
        paths[name].parent.mkdir()
        paths[name].write_bytes(content)

    def outcomes(without: str) -> dict[str, object]:
        """What reading each lock gives when `import <without>` fails."""
        # Other bytes each time, the same table: a lock read before is not parsed again, by either parser.
        paths["good"].write_text(good + f"# read without {without}\n", encoding="utf-8")
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, without, None)
            found: dict[str, object] = {"good": read_lock(paths["good"], Project(name="demo-pkg"))}
            for name in bad:
                with pytest.raises(LockError) as raised:
                    read_lock(paths[name], Project(name="demo-pkg"))
                found[name] = str(raised.value)
        return found

    with_tomli, with_tomllib = outcomes("tomllib"), outcomes("tomli")
    assert with_tomli == with_tomllib
    assert with_tomli["good"] == (Locked("idna", "3.7"),)
    for name in bad:
        message = with_tomli[name]
        assert message.startswith(f"{paths[name]}: not valid TOML: ") and "\n" not in message, message
    header_line = bad["header"].decode().splitlines().index("[[package]") + 1
    assert f"line {header_line}," in with_tomli["header"]


GPU = 'source = { registry = "https://gpu.example.invalid/simple" }'
INDEX = 'source = { registry = "https://index.example.invalid/simple" }'
# One version of `accel` from two indexes, each picked by a marker, as uv locks an index pinned per platform.
FORKED_BY_INDEX = ROOT_ENTRY.replace(
    '[{ name = "idna" }]',
    f"""[
    {{ name = "accel", version = "2.5.1", {GPU}, marker = "sys_platform == 'linux'" }},
    {{ name = "accel", version = "2.5.1", {INDEX}, marker = "sys_platform != 'linux'" }},
    {{ name = "idna" }},
]""",
) + (
    f"""
[[package]]
name = "accel"
version = "2.5.1"
{GPU}
dependencies = [{{ name = "gpu-runtime" }}, {{ name = "idna" }}]
wheels = [
    {{ url = "https://gpu.example.invalid/accel-2.5.1-cp312-cp312-linux_x86_64.whl", hash = "sha256:bb02" }},
    {{ url = "https://gpu.example.invalid/accel-2.5.1-cp311-cp311-linux_x86_64.whl", hash = "sha256:aa01" }},
]

[[package]]
name = "accel"
version = "2.5.1"
{INDEX}
dependencies = [{{ name = "idna" }}]
sdist = {{ url = "https://index.example.invalid/accel-2.5.1.tar.gz", hash = "sha256:cc03" }}
wheels = [{{ url = "https://index.example.invalid/accel-2.5.1-cp312-cp312-win_amd64.whl", hash = "sha256:aa01" }}]

[[package]]
name = "gpu-runtime"
version = "12.4"
{GPU}
wheels = [{{ url = "https://gpu.example.invalid/gpu_runtime-12.4-py3-none-any.whl", hash = "sha256:dd04" }}]
"""
    + IDNA
)


def test_entries_of_one_version_forked_by_index_merge_their_hashes_and_requires(tmp_path: Path) -> None:
    """uv locks one version from two indexes, each picked by a marker: one package, all its files, all it needs."""
    path = tmp_path / "uv.lock"
    path.write_text(FORKED_BY_INDEX, encoding="utf-8")

    packages = read_lock(path, Project(name="demo-pkg"))

    assert packages == (
        Locked(
            "accel",
            "2.5.1",
            '(sys_platform != "linux") or (sys_platform == "linux")',
            hashes=("sha256:aa01", "sha256:bb02", "sha256:cc03"),
            requires=("gpu-runtime", "idna"),
        ),
        Locked("gpu-runtime", "12.4", 'sys_platform == "linux"', hashes=("sha256:dd04",)),
        Locked("idna", "3.7"),
    )


def test_a_source_tree_with_a_dynamic_version_needs_none(tmp_path: Path) -> None:
    """uv leaves `version` out for a source tree whose version is dynamic; that is no error."""
    path = tmp_path / "uv.lock"
    path.write_text(ROOT_ENTRY.replace('version = "1.2.3"\n', "") + IDNA, encoding="utf-8")

    assert read_lock(path, Project(name="demo-pkg")) == (Locked("idna", "3.7"),)


ATOMS = (
    "python_full_version < '3.10'",
    "python_full_version >= '3.10'",
    "python_full_version == '3.11.*'",
    "python_full_version >= '3.12'",
    "python_full_version <= '3.11.0'",
    "python_full_version != '3.10.*'",
    "python_version < '3.11'",
    "python_version == '3.12'",
    "python_version > '3.12'",
    "python_full_version < '3.8'",
    "sys_platform == 'win32'",
    "sys_platform != 'win32'",
    "sys_platform == 'linux'",
    "platform_machine != 'x86_64'",
    "'linux' in sys_platform",
    "sys_platform not in 'linux darwin'",
)
