"""The `buildinfo` OpenTelemetry resource detector: with `OTEL_EXPERIMENTAL_RESOURCE_DETECTORS=buildinfo`,
every span a service exports carries its build's version, revision and branch; no code change."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_environment, install, run, unhooked_project, wheel_in
from test_shim_imports import INFO, PACKAGE, generated_package, run_python

from hatch_buildinfo import BuildInfo
from hatch_buildinfo.otel import VCS_REF_HEAD_NAME, VCS_REF_HEAD_REVISION, VCS_REF_HEAD_TYPE, resource

SERVICE_VERSION = "service.version"
BUILD_KEYS = {SERVICE_VERSION, VCS_REF_HEAD_REVISION, VCS_REF_HEAD_NAME, VCS_REF_HEAD_TYPE}
DETECTOR = {"OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "buildinfo"}
REVISION = "3f2c1a9e0d4b5c6d7e8f90a1b2c3d4e5f6a7b8c9"

# A service's set-up as the OpenTelemetry docs show it: Resource.create(), one span, one metric, in memory.
# It prints the span's and the metric's resource attributes.
EXPORT = """if True:
    import json, sys
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if len(sys.argv) > 1:
        sys.argv[0] = sys.argv[1]  # as a console script's wrapper sees it
    resource = Resource.create()
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracer_provider.get_tracer("test").start_as_current_span("request"):
        pass
    (span,) = exporter.get_finished_spans()
    reader = InMemoryMetricReader()
    MeterProvider(resource=resource, metric_readers=[reader]).get_meter("test").create_counter("requests").add(1)
    (metrics,) = reader.get_metrics_data().resource_metrics
    print(json.dumps({"span": dict(span.resource.attributes), "metric": dict(metrics.resource.attributes)}))
"""


def exported(python: str | Path, *arguments: str, cwd: Path, path: Path | None = None, **variables: str):
    """Run a service set-up under `variables` (and no other OTEL_ or BUILDINFO_ variable); the span's
    resource attributes, and what the process wrote to stderr."""
    environ = {key: value for key, value in clean_environment().items() if not key.startswith("OTEL_")}
    environ.update(variables)
    if path is not None:
        environ["PYTHONPATH"] = str(path)
    command = [str(python), *(arguments or ("-c", EXPORT))]
    result = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["metric"] == out["span"], "spans and metrics share the one resource"
    return out["span"], result.stderr


def build_attributes(attributes: dict) -> dict:
    return {key: value for key, value in attributes.items() if key in BUILD_KEYS}


# --- resource(info) and the rule for vcs.ref.head ---


def test_resource_has_the_four_attributes_of_a_build_on_a_branch():
    info = BuildInfo("example_app", "0.1.0", revision=REVISION, branch="main", tag="v0.1.0", dirty=False)
    assert dict(resource(info).attributes) == {
        SERVICE_VERSION: "0.1.0",
        VCS_REF_HEAD_REVISION: REVISION,
        VCS_REF_HEAD_NAME: "main",  # HEAD is the branch, even where a tag points at the same commit
        VCS_REF_HEAD_TYPE: "branch",
    }


@pytest.mark.parametrize(
    ("tag", "head"),
    [
        ("v0.1.0", {VCS_REF_HEAD_NAME: "v0.1.0", VCS_REF_HEAD_TYPE: "tag"}),  # a detached HEAD at the tag
        ("v0.1.0-3-g3f2c1a9", {}),  # `git describe`: three commits past the tag, no ref at HEAD
        ("app-v1-2-3-4-gabcdef0", {VCS_REF_HEAD_NAME: "app-v1-2-3-4-gabcdef0", VCS_REF_HEAD_TYPE: "tag"}),
        (None, {}),
    ],
)
def test_without_a_branch_the_head_ref_is_an_exact_tag_or_none(tag, head):
    """`tag` is the tag at HEAD, else describe's output, whose `-g<hex>` abbreviates the revision."""
    info = BuildInfo("example_app", "0.1.0", revision=REVISION, tag=tag)
    assert dict(resource(info).attributes) == {SERVICE_VERSION: "0.1.0", VCS_REF_HEAD_REVISION: REVISION, **head}


def test_unknown_facts_are_left_out_not_exported_as_unknown():
    assert dict(resource(BuildInfo("example_app", "unknown")).attributes) == {}
    described = BuildInfo("example_app", "1.0", tag="v1-2-gabcdef0")  # revision unknown: not taken as exact
    assert dict(resource(described).attributes) == {SERVICE_VERSION: "1.0"}


def test_attribute_names_are_the_installed_semantic_conventions():
    """otel.py spells the incubating VCS names itself (its comment says why); they must stay the package's."""
    from opentelemetry.semconv._incubating.attributes import vcs_attributes
    from opentelemetry.semconv.attributes.service_attributes import SERVICE_VERSION as STABLE

    assert STABLE == SERVICE_VERSION
    assert (VCS_REF_HEAD_REVISION, VCS_REF_HEAD_NAME, VCS_REF_HEAD_TYPE) == (
        vcs_attributes.VCS_REF_HEAD_REVISION,
        vcs_attributes.VCS_REF_HEAD_NAME,
        vcs_attributes.VCS_REF_HEAD_TYPE,
    )
    assert {value.value for value in vcs_attributes.VcsRefHeadTypeValues} == {"branch", "tag"}


# --- the detector in this checkout's environment, where the entry point is installed (editable) ---


@pytest.fixture
def stamped_path(tmp_path) -> Path:
    """shim_demo_app with generated build info and a `__main__` that sets up OpenTelemetry."""
    path = generated_package(tmp_path / "path")
    (path / PACKAGE / "__main__.py").write_text(EXPORT, encoding="utf-8")
    return path


def test_the_package_python_m_runs_is_found_without_buildinfo_package(stamped_path, tmp_path):
    attributes, stderr = exported(sys.executable, "-m", PACKAGE, cwd=tmp_path, path=stamped_path, **DETECTOR)
    assert build_attributes(attributes) == {
        SERVICE_VERSION: INFO.version,
        VCS_REF_HEAD_REVISION: INFO.revision,
        VCS_REF_HEAD_NAME: INFO.branch,
        VCS_REF_HEAD_TYPE: "branch",
    }
    assert stderr == ""


def test_without_a_package_it_adds_nothing_and_warns_once(stamped_path, tmp_path):
    attributes, stderr = exported(sys.executable, cwd=tmp_path, path=stamped_path, **DETECTOR)
    assert build_attributes(attributes) == {}
    assert len(stderr.splitlines()) == 1, stderr
    assert "hatch-buildinfo adds no resource attributes" in stderr
    assert "set BUILDINFO_PACKAGE" in stderr


def test_a_console_script_of_a_package_without_build_info_adds_nothing_and_warns_once(tmp_path):
    """hatch-buildinfo's own script: its package is found, and it carries no generated module."""
    script = str(Path(sys.executable).with_name("hatch-buildinfo"))
    attributes, stderr = exported(sys.executable, "-c", EXPORT, script, cwd=tmp_path, **DETECTOR)
    assert build_attributes(attributes) == {}
    assert len(stderr.splitlines()) == 1, stderr
    assert "package 'hatch_buildinfo' of __main__ has no generated _buildinfo module" in stderr


def test_a_package_that_is_not_there_adds_nothing_and_warns_once(tmp_path):
    attributes, stderr = exported(sys.executable, cwd=tmp_path, BUILDINFO_PACKAGE="no_such_package", **DETECTOR)
    assert build_attributes(attributes) == {}
    assert len(stderr.splitlines()) == 1, stderr
    assert "BUILDINFO_PACKAGE=no_such_package" in stderr


# --- an installed example_app build, as a deployed service runs it ---


@pytest.fixture(scope="module")
def otel_venv(example_wheel, locked_versions, wheelhouse, tmp_path_factory) -> Path:
    """example_app as locked, with hatch-buildinfo[otel], and a package built without the hook."""
    plain = unhooked_project(tmp_path_factory.mktemp("plain") / "plain", "plain-app")
    plain.write("plain_app/__init__.py", '"""Built without the hook."""\n')
    plain_wheel = wheel_in(plain.build("wheel").outdir)
    venv = tmp_path_factory.mktemp("otel") / "venv"
    return install(
        example_wheel,
        venv,
        wheelhouse,
        str(plain_wheel),
        "hatch-buildinfo[otel]",
        "--constraint",
        locked_versions["constraints"],
    )


@pytest.fixture(scope="module")
def wheel_facts(otel_venv, example_wheel) -> dict:
    """`python -m hatch_buildinfo inspect WHEEL --json` of the installed wheel."""
    python = otel_venv / "bin" / "python"
    return json.loads(run(python, "-m", "hatch_buildinfo", "inspect", example_wheel, "--json", cwd=otel_venv).stdout)


def test_a_span_carries_exactly_the_wheels_version_revision_and_branch(otel_venv, wheel_facts, tmp_path):
    attributes, stderr = exported(
        otel_venv / "bin" / "python", cwd=tmp_path, BUILDINFO_PACKAGE="example_app", **DETECTOR
    )
    assert wheel_facts["revision"] != "unknown", "the example wheel is built from this git checkout"
    expected = {SERVICE_VERSION: wheel_facts["version"], VCS_REF_HEAD_REVISION: wheel_facts["revision"]}
    if wheel_facts["branch"] != "unknown":
        expected.update({VCS_REF_HEAD_NAME: wheel_facts["branch"], VCS_REF_HEAD_TYPE: "branch"})
    assert build_attributes(attributes) == expected
    assert attributes["telemetry.sdk.name"] == "opentelemetry", "the SDK's own attributes are still there"
    assert stderr == ""


def test_without_the_detector_variable_the_resource_has_none_of_them(otel_venv, tmp_path):
    attributes, _ = exported(otel_venv / "bin" / "python", cwd=tmp_path, BUILDINFO_PACKAGE="example_app")
    assert build_attributes(attributes) == {}


def test_the_running_console_script_names_the_package(otel_venv, wheel_facts, tmp_path):
    """`example-app serve` runs from its console script: no BUILDINFO_PACKAGE needed."""
    script = str(otel_venv / "bin" / "example-app")
    attributes, stderr = exported(otel_venv / "bin" / "python", "-c", EXPORT, script, cwd=tmp_path, **DETECTOR)
    assert attributes[VCS_REF_HEAD_REVISION] == wheel_facts["revision"]
    assert attributes[SERVICE_VERSION] == wheel_facts["version"]
    assert stderr == ""


def test_a_package_built_without_the_hook_gives_its_metadata_version_and_no_vcs(otel_venv, tmp_path):
    attributes, stderr = exported(otel_venv / "bin" / "python", cwd=tmp_path, BUILDINFO_PACKAGE="plain_app", **DETECTOR)
    assert build_attributes(attributes) == {SERVICE_VERSION: "1.2.3"}
    assert stderr == ""


def test_operators_otel_resource_attributes_still_win(otel_venv, tmp_path):
    """The SDK runs its `otel` detector last: OTEL_RESOURCE_ATTRIBUTES overrides what the build says."""
    attributes, _ = exported(
        otel_venv / "bin" / "python",
        cwd=tmp_path,
        BUILDINFO_PACKAGE="example_app",
        OTEL_RESOURCE_ATTRIBUTES="service.version=hotfix-1",
        **DETECTOR,
    )
    assert attributes[SERVICE_VERSION] == "hotfix-1"


# --- what `import hatch_buildinfo` costs ---

LIGHT = f"""if True:
    import json, sys
    import hatch_buildinfo
    from hatch_buildinfo.logging import BuildInfoFilter
    info = hatch_buildinfo.build_info({PACKAGE!r})
    BuildInfoFilter(info)
    hatch_buildinfo.user_agent(info)
    loaded = sorted({{name.split(".")[0] for name in sys.modules}} & {{"opentelemetry", "prometheus_client"}})
    from hatch_buildinfo.otel import resource
    print(json.dumps({{"loaded": loaded, "attributes": dict(resource(info).attributes)}}))
"""


def test_importing_hatch_buildinfo_loads_neither_opentelemetry_nor_prometheus_client(tmp_path):
    """Build info, its log filter and its User-Agent: no telemetry library until otel or metrics is asked for."""
    out = run_python(sys.executable, LIGHT, generated_package(tmp_path / "path"), tmp_path)
    assert out["loaded"] == []
    assert out["attributes"][VCS_REF_HEAD_REVISION] == INFO.revision


def test_without_opentelemetry_the_error_says_which_extra(tmp_path):
    script = """if True:
        import json, sys
        sys.modules["opentelemetry"] = None  # as where it is not installed
        try:
            import hatch_buildinfo.otel
        except ImportError as error:
            print(json.dumps(str(error)))
    """
    result = run(sys.executable, "-c", script, cwd=tmp_path, env=dict(os.environ))
    assert "pip install 'hatch-buildinfo[otel]'" in json.loads(result.stdout)


def test_example_app_traces_carry_its_build_when_the_extra_is_installed(otel_venv, wheel_facts, tmp_path):
    """`example-app ping` sets up tracing with `resource(info)`: its log names the resource its spans carry."""
    result = run(otel_venv / "bin" / "example-app", "ping", cwd=tmp_path, env=clean_environment())
    (line,) = [line for line in result.stderr.splitlines() if "OpenTelemetry resource: " in line]
    attributes = ast.literal_eval(line.split("OpenTelemetry resource: ", 1)[1])
    assert attributes[SERVICE_VERSION] == wheel_facts["version"]
    assert attributes[VCS_REF_HEAD_REVISION] == wheel_facts["revision"]
    assert attributes["telemetry.sdk.name"] == "opentelemetry"
