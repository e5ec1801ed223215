"""Ask a Prometheus server which module versions the fleet runs, through its HTTP API.

Every request has a time limit for the whole answer, not only between bytes, and a size limit; credentials
come from the environment, so that they never show in a process list.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator, Mapping

import httpx

from .web import BoundError, read_bounded

# The count deploy/rules.yml records per program and module version, summed over the shards a global server
# federates: the exporter joins it with the advisories and the index per program, as PromQL could not cheaply.
RUNNING_QUERY = "sum by (program, name, version) (python_mod:services:count)"
TIMEOUT = 10.0  # seconds for one whole request
MAX_BYTES = 32 * 1024 * 1024  # about 300,000 (program, name, version) series; 10,000 services have some 50,000
TOKEN = "PROMETHEUS_BEARER_TOKEN"
USERNAME = "PROMETHEUS_USERNAME"
PASSWORD = "PROMETHEUS_PASSWORD"


class PrometheusError(Exception):
    """One line: the server could not be asked, or its answer cannot be read."""


class CredentialsError(ValueError):
    """One line: the credentials given cannot be used (in the URL, or two kinds at once)."""


class _BearerToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def credentials(url: str, environ: Mapping[str, str] = os.environ) -> httpx.Auth | None:
    """What the environment says to authenticate with: a bearer token, basic auth, or nothing."""
    parsed = httpx.URL(url)
    if parsed.userinfo:
        bare = parsed.copy_with(username=None, password=None)
        raise CredentialsError(
            f"{bare}: put credentials in {USERNAME} and {PASSWORD} or {TOKEN}, not in the URL, which process lists show"
        )
    token = environ.get(TOKEN, "")
    username = environ.get(USERNAME, "")
    if token and username:
        raise CredentialsError(f"both {TOKEN} and {USERNAME} are set: keep the one the server expects")
    if environ.get(PASSWORD) and not username:
        raise CredentialsError(f"{PASSWORD} is set without {USERNAME}")
    if token:
        return _BearerToken(token)
    if username:
        return httpx.BasicAuth(username, environ.get(PASSWORD, ""))
    return None


class Prometheus:
    """One Prometheus server (or anything serving its `/api/v1/query`), at `url`."""

    def __init__(
        self,
        url: str,
        environ: Mapping[str, str] = os.environ,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._client = httpx.Client(auth=credentials(url, environ), timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def running(self) -> dict[tuple[str, str, str], float]:
        """How many services of each program run each (name, version) now: (program, name, version) -> services."""
        result = self.query(RUNNING_QUERY)
        services = {}
        for series in result:
            labels = series.get("metric") if isinstance(series, dict) else None
            if not isinstance(labels, dict) or not {"program", "name", "version"} <= labels.keys():
                raise PrometheusError(
                    f"{self.url}: a series of {RUNNING_QUERY!r} has no program, name or version: {series!r}"
                )
            try:
                count = float(series["value"][1])
            except (KeyError, IndexError, TypeError, ValueError):
                raise PrometheusError(f"{self.url}: a series of {RUNNING_QUERY!r} has no number: {series!r}") from None
            services[labels["program"], labels["name"], labels["version"]] = count
        return services

    def query(self, expression: str) -> list:
        """The instant vector `expression` gives now, as the API's list of {"metric": ..., "value": ...}."""
        endpoint = f"{self.url}/api/v1/query"
        # Prometheus reads durations in whole units: 500ms, not 0.5s.
        parameters = {"query": expression, "timeout": f"{max(1, round(self._timeout * 1000))}ms"}
        try:
            status, body = self._get(endpoint, parameters)
        except httpx.HTTPError as error:
            raise PrometheusError(f"{endpoint}: {type(error).__name__}: {error}") from None
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            answer = None
        if status != 200:
            # The API's own errors are JSON; a proxy's may be anything.
            if isinstance(answer, dict) and "error" in answer:
                raise PrometheusError(f"{endpoint}: HTTP {status}: {answer.get('errorType')}: {answer['error']}")
            first = body[:200].decode("utf-8", "replace").strip().partition("\n")[0]
            raise PrometheusError(f"{endpoint}: HTTP {status}: {first}")
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise PrometheusError(f"{endpoint}: the answer is not JSON from the Prometheus API: {body[:80]!r}")
        data = answer.get("data")
        if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
            raise PrometheusError(f"{endpoint}: the answer holds no instant vector: {body[:80]!r}")
        return data["result"]

    def _get(self, endpoint: str, parameters: dict[str, str]) -> tuple[int, bytes]:
        """The status and body of the answer, read within the time and size limits."""
        started = time.monotonic()
        with self._client.stream("GET", endpoint, params=parameters) as response:
            try:
                return response.status_code, read_bounded(response, self._max_bytes, started, self._timeout)
            except BoundError as error:
                raise PrometheusError(f"{endpoint}: {error}") from None
