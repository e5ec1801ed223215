"""The package index client against a real index: a PEP 691/700 tree written by deploy/index_server.py and
served on loopback, the same tree pip installs from. What a user sees is the Refresh: each project's newest
release and release times, the names no index knows, one error line per name an index could not answer for,
and, counted on the server, that an unchanged index is only revalidated."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from hatch_buildinfo.fleet.index import PackageIndex, Project, libyears, newest_release

sys.path.insert(0, str(ROOT / "deploy"))
from index_server import File, IndexServer, wheel, write_tree


def at(day: str) -> str:
    return f"{day}T12:00:00.000000Z"


def seconds(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=timezone.utc).timestamp()


# Foo_Bar as the index spells it; the fleet runs foo-bar.
FOO_BAR = [
    File("foo_bar-1.0-py3-none-any.whl", at("2023-01-10"), content=wheel("Foo_Bar", "1.0")),
    # Uploaded on different days: the earliest counts.
    File("foo_bar-1.1.tar.gz", at("2023-03-05")),
    File("foo_bar-1.1-py3-none-any.whl", at("2023-03-01"), content=wheel("Foo_Bar", "1.1")),
    # One of two files yanked: still a release, from its other file.
    File("foo_bar-1.2-py3-none-any.whl", at("2023-05-01"), yanked=True),
    File("foo_bar-1.2.tar.gz", at("2023-05-03")),
    # Every file yanked: not a release.
    File("foo_bar-1.3-py3-none-any.whl", at("2023-06-01"), yanked="broke the API"),
    File("foo_bar-1.3.tar.gz", at("2023-06-01"), yanked=True),
    # Pre- and dev-releases above the newest final.
    File("foo_bar-2.0rc1-py3-none-any.whl", at("2023-07-01")),
    File("foo_bar-2.1.dev3-py3-none-any.whl", at("2023-08-01")),
]
LEGACY = [File("legacy-1.0.tar.gz", None), File("legacy-2.0.tar.gz", None), File("legacy-3.0b1.tar.gz", None)]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Iterator[IndexServer]:
    root = tmp_path_factory.mktemp("index")
    write_tree(root, {"Foo_Bar": FOO_BAR, "shared": [File("shared-1.0.tar.gz", at("2022-01-01"))]})
    with IndexServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Iterator[IndexServer]:
    """An index without PEP 700 data, which also knows `shared` (newer) and `legacy`."""
    root = tmp_path_factory.mktemp("second")
    write_tree(root, {"legacy": LEGACY, "shared": [File("shared-9.0.tar.gz", None)]}, pep700=False)
    with IndexServer(root) as server:
        yield server


def refresh(urls: list[str], names: list[str], **options) -> object:
    client = PackageIndex(urls, **options)
    try:
        return client.refresh(names)
    finally:
        client.close()


def test_newest_final_release_release_times_and_the_fleets_spelling(index):
    result = refresh([index.url], ["foo-bar"])
    assert result.errors == () and result.unknown == ()
    foo = result.projects["foo-bar"]
    assert foo.name == "foo-bar"
    assert foo.latest == "1.2"  # not 1.3 (all yanked), not 2.0rc1 or 2.1.dev3
    assert foo.times_known is True
    assert foo.released == {
        "1.0": seconds("2023-01-10"),
        "1.1": seconds("2023-03-01"),
        "1.2": seconds("2023-05-03"),
        "2.0rc1": seconds("2023-07-01"),
        "2.1.dev3": seconds("2023-08-01"),
    }
    assert foo.release_time("1.1.0") == seconds("2023-03-01")  # PEP 440 equality
    assert foo.release_time("1.3") is None
    # A program running a pre-release is compared with the newest release anyway.
    assert libyears(foo.release_time("1.0"), foo.release_time(foo.latest)) == pytest.approx(113 / 365.25)
    assert libyears(foo.release_time("2.0rc1"), foo.release_time(foo.latest)) == 0


def test_an_index_without_upload_times_still_gives_the_newest(second):
    result = refresh([second.url], ["legacy"])
    assert result.projects == {"legacy": Project("legacy", "2.0", {}, times_known=False)}


def test_indexes_are_asked_in_order_and_404_is_unknown(index, second):
    result = refresh([index.url, second.url], ["Shared", "legacy", "nowhere"])
    assert result.projects["shared"].latest == "1.0"  # the first index knows it
    assert result.projects["legacy"].latest == "2.0"  # only the second does
    assert result.unknown == ("nowhere",)
    assert result.errors == ()
    assert refresh([second.url, index.url], ["shared"]).projects["shared"].latest == "9.0"


def test_pip_installs_from_the_tree(index, tmp_path):
    pip = [sys.executable, "-m", "pip", "download", "--no-cache-dir", "--no-deps", "--dest", tmp_path]
    run(*pip, "--index-url", index.url, "foo-bar==1.1", cwd=tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["foo_bar-1.1-py3-none-any.whl"]
    # The newest wheel pip takes: 1.2's is yanked, 1.3's are, and the pre-releases are not asked for.
    pip[-1] = tmp_path / "newest"
    run(*pip, "--index-url", index.url, "--only-binary", ":all:", "foo-bar", cwd=tmp_path)
    assert [path.name for path in pip[-1].iterdir()] == ["foo_bar-1.1-py3-none-any.whl"]


def test_an_unchanged_index_is_only_revalidated_and_a_change_is_fetched(tmp_path):
    root = tmp_path / "tree"
    names = [f"module-{n}" for n in range(6)]
    tree = {name: [File(f"{name.replace('-', '_')}-1.0.tar.gz", at("2024-01-01"))] for name in names}
    write_tree(root, tree)
    with IndexServer(root) as server:
        client = PackageIndex([server.url], concurrency=3)
        try:
            first = client.refresh(names)
            assert (server.requests, server.not_modified, first.requests, first.not_modified) == (6, 0, 6, 0)
            assert server.bytes_sent > 0
            server.reset()
            again = client.refresh(names)
            assert (server.requests, server.not_modified, server.body_bytes) == (6, 6, 0)
            assert (again.requests, again.not_modified) == (6, 6)
            assert again.projects == first.projects
            server.reset()
            write_tree(root, {"module-2": [*tree["module-2"], File("module_2-1.1.tar.gz", at("2024-02-01"))]})
            changed = client.refresh(names)
            assert (server.requests, server.not_modified) == (6, 5)
            assert changed.projects["module-2"].latest == "1.1"
        finally:
            client.close()


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b"oops", "HTTP 500"),
        (None, b"<html>garbage", "not JSON"),
        (None, b'{"meta": {"api-version": "1.1"}, "files": 3}', "no list of files"),
        (None, b'{"meta": {"api-version": "2.0"}, "files": []}', "not 1.x"),
    ],
)
def test_a_broken_index_gives_one_error_line_per_name(tmp_path, status, body, reason):
    write_tree(tmp_path, {"one": [], "two": []})
    with IndexServer(tmp_path) as server:
        server.break_with(status, body)
        result = refresh([server.url], ["one", "Two"])
    assert result.projects == {} and result.unknown == ()
    assert len(result.errors) == 2
    for line, name in zip(result.errors, ["one", "two"]):
        assert line.startswith(f"{server.url}{name}/: ") and reason in line


def test_a_page_over_the_size_bound_and_an_index_that_is_down(index):
    result = refresh([index.url], ["foo-bar", "shared"], max_bytes=200)
    assert result.projects == {}
    assert list(result.errors) == [
        f"{index.url}{name}/: the answer is {len((index.root / name / 'index.json').read_bytes())} bytes, more than 200"
        for name in ("foo-bar", "shared")
    ]
    with IndexServer(Path(index.root)) as down:
        url = down.url
    result = refresh([url], ["foo-bar", "shared"], timeout=2)
    assert result.projects == {} and len(result.errors) == 2
    assert all(line.startswith(f"{url}") and "ConnectError" in line for line in result.errors)


def test_an_index_url_that_cannot_be_asked_is_an_error_line_and_the_cache_goes_with_the_client():
    client = PackageIndex(["http://[::1/simple/"])
    cache = Path(client._cache_directory.name)
    try:
        result = client.refresh(["foo-bar"])
    finally:
        client.close()
    assert result.projects == {} and len(result.errors) == 1
    assert result.errors[0].startswith("http://[::1/simple/foo-bar/: InvalidURL")
    assert not cache.exists()


# --- the newest-release rule against a brute-force reading of it -----------------------------------

RELEASE = st.lists(st.integers(0, 3), min_size=1, max_size=3)
PART = st.fixed_dictionaries(
    {
        "epoch": st.sampled_from([0, 0, 0, 1]),
        "release": RELEASE,
        "pre": st.none() | st.tuples(st.sampled_from(["a", "b", "rc", "alpha", "c", "preview"]), st.integers(0, 2)),
        "post": st.none() | st.integers(0, 2),
        "dev": st.none() | st.integers(0, 2),
    }
)


def spelled(part: dict) -> str:
    text = f"{part['epoch']}!" if part["epoch"] else ""
    text += ".".join(map(str, part["release"]))
    if part["pre"]:
        text += f"{part['pre'][0]}{part['pre'][1]}"
    if part["post"] is not None:
        text += f".post{part['post']}"
    if part["dev"] is not None:
        text += f"dev{part['dev']}"
    return text


def brute_newest(parts: list[dict]) -> str | None:
    """The issue's rule read literally: of the versions with neither a pre- nor a dev-part, the highest by
    epoch, then release (trailing zeros don't count), then post-release (none is lowest)."""

    def key(part: dict) -> tuple:
        release = list(part["release"])
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        return (part["epoch"], release, -1 if part["post"] is None else part["post"])

    finals = [part for part in parts if part["pre"] is None and part["dev"] is None]
    return spelled(max(finals, key=key)) if finals else None


@given(st.lists(PART, max_size=8))
def test_newest_release_is_the_highest_final_version(parts):
    expected = brute_newest(parts)
    found = newest_release([spelled(part) for part in parts] + ["not a version"])
    assert (found is None) == (expected is None)
    if expected is not None:
        assert Version(found) == Version(expected)


NAMES = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(PART, st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_latest_on_a_real_index_leaves_out_versions_whose_files_are_all_yanked(index, releases):
    """Each version has a wheel and an sdist, each yanked or not; the newest is the brute-force one of the
    versions with a file that is not yanked."""
    name = f"prop{next(NAMES)}"
    files = []
    for part, wheel_yanked, sdist_yanked in releases:
        version = spelled(part)
        files += [
            File(f"{name}-{version}.tar.gz", at("2024-01-01"), yanked=sdist_yanked),
            File(f"{name}-{version}-py3-none-any.whl", at("2024-01-02"), yanked=wheel_yanked),
        ]
    write_tree(index.root, {name: files})
    latest = refresh([index.url], [name]).projects[name].latest
    kept = [part for part, wheel_yanked, sdist_yanked in releases if not (wheel_yanked and sdist_yanked)]
    expected = brute_newest(kept)
    assert (latest is None) == (expected is None)
    if expected is not None:
        assert Version(latest) == Version(expected)
