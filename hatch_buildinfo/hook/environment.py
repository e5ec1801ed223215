"""Collect: what the build environment says — overrides, CI branch, user, date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from .errors import BuildInfoError
from .git import utc_timestamp

# The `-ldflags -X` analogue: each variable sets one recorded fact and wins over everything.
OVERRIDES = {
    "version": "BUILDINFO_VERSION",
    "revision": "BUILDINFO_REVISION",
    "branch": "BUILDINFO_BRANCH",
    "build_user": "BUILDINFO_USER",
    "build_date": "BUILDINFO_DATE",
}


def overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The facts set by `BUILDINFO_*` variables; an empty variable counts as unset."""
    return {field: environ[name] for field, name in OVERRIDES.items() if environ.get(name)}


def ci_branch(environ: Mapping[str, str]) -> str | None:
    """The branch a CI system checked out, for a detached HEAD."""
    if environ.get("GITHUB_HEAD_REF"):  # a pull request: the branch it comes from
        return environ["GITHUB_HEAD_REF"]
    if environ.get("GITHUB_REF_TYPE") == "branch" and environ.get("GITHUB_REF_NAME"):
        return environ["GITHUB_REF_NAME"]
    for name in ("CI_COMMIT_BRANCH", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "BUILDKITE_BRANCH", "CIRCLE_BRANCH"):
        if environ.get(name):
            return environ[name]
    return None


def source_date(environ: Mapping[str, str]) -> datetime | None:
    """The moment `SOURCE_DATE_EPOCH` names, or None when it is unset."""
    value = environ.get("SOURCE_DATE_EPOCH", "")
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise BuildInfoError(
            f"Environment variable `SOURCE_DATE_EPOCH` must be whole seconds since 1970: {value!r}"
        ) from None


def build_date(environ: Mapping[str, str]) -> str:
    """`SOURCE_DATE_EPOCH` when set, else now; both in UTC."""
    return utc_timestamp(source_date(environ) or datetime.now(timezone.utc))


def build_user(environ: Mapping[str, str], *, include_user: bool) -> str | None:
    """The user running the build, unless left out or the build is reproducible.

    A set `SOURCE_DATE_EPOCH` asks for a reproducible build, so the machine's user is
    not recorded (Prometheus' promu does the same); `BUILDINFO_USER` still sets it.
    """
    if not include_user or source_date(environ) is not None:
        return None
    import getpass  # only here: it brings termios, a cost every build would pay for nothing

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry, as in some containers
        return None
