"""README.md's examples are tests: its Python runs, its TOML parses, its console sessions print what they show.

sybil's Markdown lexer finds the fenced blocks; the block's language says what is checked:

- ```python: a program, run by the Python of a venv holding example_app (built with the hook, installed as its
  lock pins, then prometheus-client 0.20.0 over the lock's 0.26.0, as the README's drift example says). It must
  exit 0; a block that names port 8000 is a server: it gets a free port in its place and must answer there, and
  it keeps serving for the sessions after it.
- ```console: a shell session. Each `$ ` line is a command, run by bash in a directory whose `dist/` holds
  example_app's wheel and sdist, with the venv's `bin/` first on PATH and 8000 replaced by that server's port; the
  lines up to the next `$ ` are what it prints (stdout and stderr, as a terminal shows them). Output is compared
  after PER_BUILD puts placeholders for the values that differ from build to build, with `…` standing for any
  text (doctest's ELLIPSIS); an output that is JSON is compared as JSON, so the README may wrap it.
- ```toml must parse with tomllib, and name only the hook's options in its table; ```sh must parse with `bash -n`.
- A block without a language that starts with a `$ ` command is refused: write it as ```console to check it.

Blocks in other languages, and output shown without its command, are not checked.
"""

from __future__ import annotations

import contextlib
import doctest
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, clean_environment, run
from sybil import Document, Example, Region
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer
from test_example_app import drifted_venv  # noqa: F401 (the fixture `readme` asks for)
from test_serve import HOST, free_port, started, wait_until_answers

from hatch_buildinfo.hook.build_hook import HATCH_OPTIONS, OPTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

README = ROOT / "README.md"
# The port the README's programs and commands use; each run puts a free one in its place.
README_PORT = "8000"

# Values that differ from build to build, in each form the outputs print them; both the README and the real
# output get the same placeholder, so `alice` on `main` at 3f2c1a9 matches whoever built whichever commit.
PER_BUILD = [
    (r"\b[0-9a-f]{40}\b", "<revision>"),
    (r"\b(?=[a-f]*[0-9])[0-9a-f]{7}(-modified)?\b", "<rev>"),  # the short form, with a dirty build's mark
    (r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", "<date>"),
    (r'"(branch|dirty|tag|build_user)": ("[^"]*"|null|true|false)', r'"\1": "<\1>"'),  # JSON
    (r'\b(branch|dirty|tag|pythonversion|os|arch)="[^"]*"', r'\1="<\1>"'),  # metric labels
    (r"^(  (branch|dirty|tag|build user|python version|platform): +)\S.*$", r"\1<\2>"),  # --version, inspect
    (r"(\(branch: |, branch=)[^,)]+", r"\1<branch>"),  # --version's first line, info_text
    (r"\(revision (\S+); python [^;]+; [^)]+\)", r"(revision \1; python <python>; <platform>)"),  # user_agent
]


def normalised(text: str) -> str:
    for pattern, placeholder in PER_BUILD:
        text = re.sub(pattern, placeholder, text, flags=re.MULTILINE)
    return text


def as_json(text: str) -> str | None:
    """`text` re-indented, one key a line, if it is one JSON value; else None."""
    try:
        return json.dumps(json.loads(text), indent=1) + "\n"
    except ValueError:
        return None


def difference(shown: str, printed: str) -> str | None:
    """None where `printed` is what the README shows, up to PER_BUILD and `…`; else a unified diff."""
    shown, printed = normalised(shown), normalised(printed)
    shown_json = as_json(shown)
    if shown_json is not None:
        shown, printed = shown_json, as_json(printed) or printed
    want = shown.replace("…", "...")
    checker = doctest.OutputChecker()
    if checker.check_output(want, printed, doctest.ELLIPSIS):
        return None
    return checker.output_difference(doctest.Example("", want), printed, doctest.ELLIPSIS | doctest.REPORT_UDIFF)


class Readme:
    """Where the README's examples run: the venv, a directory with `dist/`, and the servers they start."""

    def __init__(self, venv: Path, workdir: Path, servers: contextlib.ExitStack) -> None:
        self.venv = venv
        self.workdir = workdir
        self.servers = servers
        self.port = str(free_port())
        # Unbuffered, as a terminal's line buffering is: stdout and stderr interleave as a user sees them.
        self.env = clean_environment(
            PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(venv), PYTHONUNBUFFERED="1"
        )

    def on_free_port(self, text: str) -> str:
        return re.sub(rf"\b{README_PORT}\b", self.port, text)


def run_python(example: Example) -> None:
    readme: Readme = example.namespace["readme"]
    script = readme.workdir / f"readme_line_{example.line}.py"
    script.write_text(readme.on_free_port(example.parsed), encoding="utf-8")
    command = [readme.venv / "bin" / "python", script]
    if README_PORT not in example.parsed:
        run(*command, cwd=readme.workdir, env=readme.env)
        return
    log = readme.workdir / f"{script.stem}.log"
    server = readme.servers.enter_context(started(command, env=readme.env, cwd=readme.workdir, log=log))
    wait_until_answers(server, f"http://{HOST}:{readme.port}/")


def run_session(example: Example) -> str | None:
    readme: Readme = example.namespace["readme"]
    failures = []
    for command, shown in session(example.parsed):
        result = subprocess.run(
            ["bash", "-c", readme.on_free_port(command)],
            cwd=readme.workdir,
            env=readme.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        diff = difference(shown, result.stdout)
        if diff is not None:
            failures.append(f"$ {command}\n{diff}")
    return "\n".join(failures) or None


def session(source: str) -> list[tuple[str, str]]:
    """(command, the output shown for it) for each `$ ` line of a console block."""
    steps: list[tuple[str, str]] = []
    for line in source.splitlines(keepends=True):
        if line.startswith("$ "):
            steps.append((line[2:].strip(), ""))
        elif steps:
            command, shown = steps[-1]
            steps[-1] = (command, shown + line)
        else:
            raise AssertionError(f"a console block starts with its first `$ ` command, not {line!r}")
    return steps


def parse_toml(example: Example) -> str | None:
    table = tomllib.loads(example.parsed).get("tool", {}).get("hatch", {}).get("build", {}).get("hooks", {})
    unknown = sorted(set(table.get("buildinfo", {})) - OPTIONS - HATCH_OPTIONS)
    return f"not an option of the hook: {', '.join(unknown)}" if unknown else None


def parse_sh(example: Example) -> None:
    run("bash", "-n", "-c", example.parsed, cwd=ROOT)


def unchecked_session(example: Example) -> str:
    return "a block of `$ ` commands without a language is not checked: write it as ```console"


EVALUATORS = {"python": run_python, "console": run_session, "toml": parse_toml, "sh": parse_sh}
LEXER = FencedCodeBlockLexer(language=r"[\w-]*", mapping={"language": "language", "source": "source"})


def checked_blocks(document: Document) -> list[Region]:
    """The fenced blocks of `document` that EVALUATORS check, and the unchecked sessions that must not be."""
    regions = []
    for region in LEXER(document):
        language, source = region.lexemes["language"], str(region.lexemes["source"])
        region.parsed = source
        region.evaluator = EVALUATORS.get(language)
        if not language and source.startswith("$ "):
            region.evaluator = unchecked_session
        if region.evaluator is not None:
            regions.append(region)
    return regions


def examples(text: str) -> list[Example]:
    document = Document(text, str(README))
    for region in checked_blocks(document):
        document.add(region)
    return list(document.examples())


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def example_id(example: Example) -> str:
    return f"{example.region.lexemes['language'] or 'text'}-line-{example.line}"


@pytest.fixture(scope="module")
def readme(request, example_wheel, tmp_path_factory):
    venv = request.getfixturevalue("drifted_venv")
    workdir = tmp_path_factory.mktemp("readme")
    (workdir / "dist").symlink_to(example_wheel.parent, target_is_directory=True)
    with contextlib.ExitStack() as servers:
        yield Readme(venv, workdir, servers)


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_readme_example(example: Example, readme: Readme):
    example.namespace["readme"] = readme
    example.evaluate()


def test_the_run_time_program_prints_what_example_app_version_prints(readme: Readme):
    """The README's program, given `--version`, prints what `example-app --version` prints (the block after it)."""
    (program,) = [example.parsed for example in EXAMPLES if "VersionAction" in example.parsed]
    script = readme.workdir / "version_program.py"
    script.write_text(program, encoding="utf-8")
    printed = run(readme.venv / "bin" / "python", script, "--version", cwd=readme.workdir, env=readme.env).stdout
    assert printed == run(readme.venv / "bin" / "example-app", "--version", cwd=readme.workdir, env=readme.env).stdout


def test_every_kind_of_block_is_checked():
    """The README keeps an example of each checked kind, so a parser change that finds none fails here."""
    kinds = {example.region.lexemes["language"] for example in EXAMPLES}
    assert kinds == {"python", "console", "toml", "sh"}


# (README text, a stale version of it, what the failure then says: the diff's README side, or the one line)
STALE = [
    ("    hatch-buildinfo:    0.1.0\n", "    hatch-buildinfo:  0.1.0\n", "-    hatch-buildinfo:  0.1.0\n"),
    ('"program": "example_app", "version"', '"program": "example-app", "version"', '- "program": "example-app",\n'),
    ("example_app, version 0.1.0 (branch", "example_app, version 0.2.0 (branch", "-example_app, version 0.2.0 ("),
    (
        'lockfile = "requirements/prod.txt"',
        'lock-file = "requirements/prod.txt"',
        "not an option of the hook: lock-file",
    ),
]


@pytest.mark.parametrize(("shown", "stale", "says"), STALE, ids=["alignment", "json", "version", "toml"])
def test_a_stale_example_fails_saying_what_differs(shown: str, stale: str, says: str, readme: Readme):
    """A copy of the README with one example made stale: its block fails, and the message shows the stale part."""
    text = README.read_text(encoding="utf-8")
    assert text.count(shown) == 1
    (example,) = [example for example in examples(text.replace(shown, stale)) if stale in example.parsed]
    example.namespace["readme"] = readme
    with pytest.raises(AssertionError) as failure:
        example.evaluate()
    assert f"README.md, line {example.line}," in str(failure.value)
    assert says in str(failure.value)


def test_a_session_without_a_language_is_refused():
    (example,) = examples("Run it:\n\n```\n$ example-app --version\nexample_app, version 0.1.0\n```\n")
    with pytest.raises(AssertionError, match=r"(?s)line 3.*write it as ```console"):
        example.evaluate()
