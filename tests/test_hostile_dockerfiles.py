"""Dockerfiles written to break the linter: arbitrary bytes, grammar-shaped noise, and
inputs built to make parsers, regexps or variable expansion blow up.

What must hold: the engine never raises anything but the documented InputError
(exit 3: not text at all), every report it renders in every format is valid (JSON
and SARIF against their schemas, which ship in octolint/schemas), and the real CLI
finishes each pathological input within a stated bound.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import pkgutil
import re
import subprocess
import sys
import time
import tracemalloc
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import jsonschema
import pytest
from conftest import run_measured
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.api import lint_bytes
from octolint.config import Config
from octolint.dockerfile.expand import MAX_TOTAL, expand, expansion_budget
from octolint.dockerfile.parser import Dockerfile, parse
from octolint.dockerfile.stages import analyse
from octolint.engine import Engine
from octolint.errors import InputError
from octolint.model import Report
from octolint.reporters import FORMATS, render
from octolint.rulebook import load_rules, rules_by_id
from octolint.schemas import load_schema
from octolint.suppress import collect

REPORT_SCHEMA = load_schema("octolint-report.schema.json")
SARIF_SCHEMA = load_schema("sarif-2.1.0.json")
ENGINE = Engine(Config(), load_rules())
RULES = rules_by_id()
CLI_BOUND = 60.0  # seconds, per file and format, start-up included: 10x the slowest, loaded


def lint(data: bytes) -> Report | None:
    """The report for a Dockerfile's bytes; None for bytes that are not text (exit 3)."""
    try:
        findings = lint_bytes(data, "Dockerfile", ENGINE)
    except InputError as error:
        assert str(error).startswith("Dockerfile: ")
        return None
    return Report(findings=findings, files=["Dockerfile"], rules_run=sorted(RULES))


def check_reports(report: Report) -> None:
    """Every format renders; JSON and SARIF are valid against their schemas."""
    for finding in report.findings:
        assert finding.rule_id in RULES
        assert 1 <= finding.line <= finding.end_line and finding.column >= 1
    jsonschema.validate(json.loads(render("json", report, RULES, tool_version="0")), REPORT_SCHEMA)
    jsonschema.validate(json.loads(render("sarif", report, RULES, tool_version="0")), SARIF_SCHEMA)
    for color in (False, True):
        assert isinstance(render("human", report, RULES, color=color, tool_version="0"), str)


# -- property-based: bytes and grammar-shaped Dockerfiles ----------------------------------

KEYWORDS = ["FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "ARG", "COPY", "ADD", "USER", "SHELL",
            "WORKDIR", "HEALTHCHECK", "ONBUILD", "LABEL", "EXPOSE", "VOLUME", "STOPSIGNAL",
            "MAINTAINER", "from", "Run", "BOGUS", "#", "# octolint ignore=", "# escape=",
            "# syntax="]  # fmt: skip
WORDS = st.sampled_from([
    "ubuntu:22.04", "alpine", "scratch", "mcr.microsoft.com/windows/servercore:ltsc2016",
    "AS", "build", "--from=build", "--platform=$BUILDPLATFORM", "--mount=type=cache,target=/x",
    "$A", "${A}", "${A:-x}", "${A:+y}", "${", "}", "$", "\\$A", "A=1", "PATH=/x:$PATH",
    "NVM_DIR=/root/.nvm", '["bash"]', '["/bin/sh", "-c"]', "[", "]", '"', "'", "`", "<<EOF",
    "<<-'EOF'", "EOF", "&&", "\\", "`", "OCT101", "OCT102,OCT105", "image-entrypoint", "x" * 40,
    "\t", " ", "=", ":", ",", "\ufeff", "\u00a0", "\u2028", "é", "\x85",
])  # fmt: skip
LINE = st.tuples(st.sampled_from(KEYWORDS), st.lists(WORDS, max_size=6)).map(
    lambda parts: " ".join([parts[0], *parts[1]])
)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r", " \\\n", "`\n"])


@st.composite
def dockerfiles(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(LINE, ENDINGS), max_size=14))
    text = "".join(line + ending for line, ending in lines)
    encoded = text.encode("utf-8")
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + encoded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
@pytest.mark.slow
def test_arbitrary_bytes_never_crash_and_give_valid_reports(data: bytes) -> None:
    report = lint(data)
    if report is not None:
        check_reports(report)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
@pytest.mark.slow
def test_grammar_shaped_dockerfiles_never_crash_and_give_valid_reports(data: bytes) -> None:
    report = lint(data)
    assert report is not None  # always text
    check_reports(report)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles(), st.binary(max_size=8), st.integers(min_value=0, max_value=10_000))
@pytest.mark.slow
def test_damaged_dockerfiles_never_crash(data: bytes, junk: bytes, where: int) -> None:
    where = min(where, len(data))
    report = lint(data[:where] + junk + data[where:])
    if report is not None:
        check_reports(report)


def test_every_other_format_renders_hostile_findings() -> None:
    # github, gitlab and junit come from other work: here only "never raises and is
    # well-formed" on a report full of hostile text.
    hostile = "\x1b[31m]]></x>&<\"'\u2028\ufeff%0A::error::\r\n" * 3
    report = lint(f"FROM scratch\nENTRYPOINT {hostile}\nCMD {hostile}\n".encode())
    assert report is not None and report.findings
    for fmt in FORMATS:
        text = render(fmt, report, RULES, tool_version="0")
        if fmt in ("json", "sarif", "gitlab"):
            json.loads(text)
        elif fmt == "junit":
            ElementTree.fromstring(text.encode())


# -- pathological inputs through the real CLI, in every format ------------------------------

NEST = 10_000  # "${a:-" nested this deep: ~60 KB, under BuildKit's 64 KiB line limit
DEEP = "${a:-" * NEST + "x" + "}" * NEST
PATHOLOGICAL: dict[str, str] = {
    "megabyte-single-line": "FROM alpine\nRUN " + "a " * 500_000 + "\n",
    "megabyte-comment": "FROM alpine\n# " + "\\" * 1_000_000 + "\nCMD [\"x\"]\n",
    "megabyte-logical-line": "FROM alpine\nRUN " + "echo aaaa && \\\n" * 80_000 + "true\n",
    "100k-continuation-lines": "FROM alpine\nRUN a \\\n" + "# c\n \\\n" * 100_000 + "b\n",
    "100k-path-extensions": "FROM alpine\nENV " + "PATH=/root/.nvm/bin:$PATH \\\n" * 100_000
    + "\nENTRYPOINT []\n",
    "100k-instructions": "FROM alpine\n" + "ENV PATH=/x:$PATH\n" * 100_000,
    "100k-args": "".join(f"ARG A{n}=${{A{n - 1}}}x\n" for n in range(1, 100_000))
    + "FROM $A99999\n",
    "nested-variables-from": f"ARG a\nFROM {DEEP}\nCMD [\"bash\"]\n",
    "nested-variables-env": f"FROM alpine\nENV PATH={DEEP}:$PATH X={DEEP}\n",
    "nested-variables-arg": f"ARG B={DEEP}\nFROM $B\nUSER {DEEP}\nWORKDIR {DEEP}\n",
    "nested-variables-heredoc": f"FROM alpine\nRUN cat {DEEP} <<EOF\nbody\nEOF\n",
    "unbalanced-nesting": "FROM alpine\nENV P=" + "${a:-" * 12_000 + "\n",
    "many-stages": "".join(f"FROM alpine AS s{n}\nCOPY --from=s{n - 1} / /\n"
                           for n in range(1, 10_000)),
    "deep-json": "FROM alpine\nCMD " + "[" * 30_000 + "]" * 30_000 + "\n",
}  # fmt: skip


@pytest.fixture(scope="module")
def pathological_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pathological")
    files = {}
    for name, text in PATHOLOGICAL.items():
        files[name] = root / f"{name}.Dockerfile"
        files[name].write_text(text, encoding="utf-8")
    return files


def run_cli_timed(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "octolint", *args], capture_output=True,
                          text=True, timeout=CLI_BOUND * 3)  # fmt: skip
    return proc, time.monotonic() - started


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
@pytest.mark.slow
def test_pathological_dockerfiles_finish_in_bounded_time_in_every_format(
    pathological_files: dict[str, Path], name: str
) -> None:
    path = pathological_files[name]
    for fmt in ("json", "sarif", "human"):
        proc, elapsed = run_cli_timed(["lint", str(path), "--format", fmt, "--no-color"])
        assert elapsed < CLI_BOUND, f"{name} as {fmt}: {elapsed:.1f}s"
        assert proc.returncode in (0, 1), proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
        if fmt == "json":
            report: dict[str, Any] = json.loads(proc.stdout)
            jsonschema.validate(report, REPORT_SCHEMA)
            assert report["files"] == [str(path)]
        elif fmt == "sarif":
            jsonschema.validate(json.loads(proc.stdout), SARIF_SCHEMA)
        else:
            assert proc.stdout.strip()


# -- shapes that were quadratic (issue 11, point 9) ------------------------------------------
# Each once took minutes or hundreds of MB far below the size limit. Through the real CLI,
# each must finish well within the bar (any Dockerfile under 1 MB: 10 s, 500 MB);
# they take about a second. Work is counted where it can be, so a loaded machine cannot
# make these fail or a regression hide.

SLOW_SECONDS = 60.0
MAX_RSS_MB = 500
BIG_A = "ARG A=" + "x" * 16_000 + "\n"  # just under MAX_VALUE, to be referenced many times
SLOW_SHAPES: dict[str, str] = {
    # the sizes
    "5k-chained-stages": "FROM ubuntu AS s0\n"
    + "".join(f"FROM s{n - 1} AS s{n}\n" for n in range(1, 5_000)),  # 98 KB: 88 s
    "40k-pragma-block": "FROM ubuntu\n" + "#octolint ignore=OCT101\n" * 40_000
    + 'CMD ["x"]\n',  # 85 s
    "ln-options": "FROM ubuntu\nRUN nvm install && ln " + "-a " * 60_000 + "\n",  # 180 KB: 191 s
    "arg-referenced-32k-times": BIG_A + "ARG B=" + "$A" * 32_000 + "\nFROM $B\n",  # 525 MB
    # up to 1 MB of the same shapes and of others found by profiling
    "1mb-ln-options": "FROM ubuntu\nRUN nvm install && ln " + "-a \\\n" * 190_000 + "\n",
    "500kb-copy-from-chain": "FROM ubuntu AS s0\n" + "".join(
        f"FROM s{n - 1} AS s{n}\nCOPY --from=s{n - 1} / /\n" for n in range(1, 10_000)),
    "500kb-global-args-times-stages": "".join(f"ARG a{n}\n" for n in range(20_000))
    + "FROM ubuntu\n" * 25_000,
    "500kb-from-16k-arg": BIG_A + "FROM $A\n" * 60_000,
    "500kb-env-16k-refs": "FROM ubuntu\nENV " + BIG_A[4:] + "ENV B=$A$A\n" * 40_000,
    "1mb-nvm-path-entry": "FROM ubuntu\nRUN nvm install\nENV PATH=" + "nvm\\\n" * 190_000 + "\n",
    "pragma-with-60k-spaces": "FROM ubuntu\n# octolint ignore=a" + " " * 60_000 + "b\nCMD x\n",
    "1mb-unknown-names-in-pragmas": "FROM ubuntu\n"
    + ("# octolint ignore=" + "a," * 30_000 + "\n") * 15 + "CMD x\n",  # 450k notes: 1.5 GB
    "sed-in-startup-file": "FROM ubuntu\nRUN echo PATH=/x ~/.bashrc " + "sed " * 15_000 + "\n",
}  # fmt: skip


def run_cli_measured(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """The CLI's result, seconds and peak RSS in MB (conftest.run_measured)."""
    started = time.monotonic()
    proc, peak = run_measured([sys.executable, "-m", "octolint", *args],
                              timeout=SLOW_SECONDS * 3)  # fmt: skip
    return proc, time.monotonic() - started, peak / 2**20


@pytest.mark.parametrize("name", sorted(SLOW_SHAPES))
def test_once_quadratic_shapes_finish_in_bounded_time_and_memory(tmp_path: Path, name: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(SLOW_SHAPES[name], encoding="utf-8")
    assert path.stat().st_size < 1_000_000
    proc, elapsed, rss = run_cli_measured(["lint", str(path), "--format", "json"])
    assert elapsed < SLOW_SECONDS, f"{name}: {elapsed:.1f}s"
    assert rss < MAX_RSS_MB, f"{name}: {rss:.0f} MB"
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    jsonschema.validate(json.loads(proc.stdout), REPORT_SCHEMA)


def python_steps(work: Callable[[], object]) -> int:
    """Python lines and calls run by ``work``: a count of work no machine load changes."""
    steps = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal steps
        steps += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        work()
    finally:
        sys.settrace(previous)
    return steps


def grows_linearly(shape: Callable[[int], str], work: Callable[[Dockerfile], object]) -> None:
    """Twice the input costs about twice the steps (quadratic work would cost four times)."""
    small, large = (python_steps(functools.partial(work, parse(shape(n)))) for n in (400, 800))
    assert large < 2.5 * small, f"{small} steps, then {large} for twice the input"


def test_stage_lineage_work_grows_linearly() -> None:
    def chained(n: int) -> str:
        return "FROM ubuntu AS s0\n" + "".join(f"FROM s{i - 1} AS s{i}\n" for i in range(1, n))

    grows_linearly(chained, lambda doc: analyse(doc).lineage())


def test_copy_from_stages_work_grows_linearly() -> None:
    def copies(n: int) -> str:
        return "FROM ubuntu AS s0\n" + "".join(
            f"FROM s{i - 1} AS s{i}\nCOPY --from=s{i - 1} / /\n" for i in range(1, n)
        )

    grows_linearly(copies, lambda doc: list(analyse(doc).final_instructions()))


def test_pragma_block_work_grows_linearly() -> None:
    def block(n: int) -> str:
        return "FROM ubuntu\n" + "# octolint ignore=OCT101\n" * n + 'CMD ["x"]\n'

    grows_linearly(block, collect)


def peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_global_args_are_not_copied_per_stage() -> None:
    # A copy of every global ARG per FROM: n ARGs and n FROMs held n * n entries.
    def args_and_stages(n: int) -> Dockerfile:
        return parse("".join(f"ARG a{i}\n" for i in range(n)) + "FROM ubuntu\n" * n)

    small, large = (peak_bytes(functools.partial(analyse, args_and_stages(n))) for n in (500, 1000))
    assert large < 2.5 * small, f"{small} bytes, then {large} for twice the input"


def test_arg_expansion_never_builds_what_it_refuses() -> None:
    # ARG B=$A$A... with a 16 KiB A: 512 MB were built before the 16 KiB check.
    dockerfile = parse(SLOW_SHAPES["arg-referenced-32k-times"])
    builds = []

    def expand_all() -> None:
        with expansion_budget():
            builds.append(analyse(dockerfile))

    peak = peak_bytes(expand_all)
    assert builds[0].global_args["B"] is None and builds[0].final.base is None
    assert peak < 20 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"


def test_expansion_budget_is_charged_for_refused_values() -> None:
    # 60,000 FROMs each building up to 16 KiB: refused values cost work too, so after
    # the budget is spent the rest are unknown at once instead of built and thrown away.
    with expansion_budget(MAX_TOTAL):
        analyse(parse(BIG_A + "ARG B=$A$A\n" * 1_000 + "FROM $A\n"))
        assert expand("$A", {"A": "x"}) is None


# Regular expressions only ever applied with fullmatch/match (anchored at the start).
ANCHORED_USE = {
    "octolint.dockerfile.parser._HEREDOC_WORD",
    "octolint.dockerfile.parser._DIRECTIVE_HEAD",
    "octolint_rules.oct105_version_manager_path._LN",  # .match: one attempt, at the start
}
HOSTILE_UNITS = [
    "x ", "-a ", "a", " ", "\t", "\\", "\\ ", "1", "$", "${", "$a", "${a:-", "#", "# ", "<<",
    "1<<", "ln ", "ln -a ", "/", "/usr/", ":", "a/", "nvm", "pyenv", "rbenv/", "asdf", "cargo",
    "conda", "mambaforge", "sdkman", "/candidates/", "/candidates/x", "versions/node/",
    "versions/node/x/", "/bin", "sdk ", "PATH=", "=", "password=", ";pwd=", ";", "10.0.",
    "10.0.12345.", "octolint ", "ignore=", "a,", "${a}", "alpine", "sed ", "tee ", ">", "'",
    '"', "&&", "|", "-", "~/.bashrc ", "/home/", "/etc/profile.d/",
]  # fmt: skip


# Each unit repeated to 64 KB, alone, and between the start of a pragma or an ln command
# and a last word (a pattern that reaches the end at once cannot backtrack).
HOSTILE_TEXTS = [unit * (64_000 // len(unit)) for unit in HOSTILE_UNITS] + [
    prefix + unit * (64_000 // len(unit)) + "x"
    for prefix in ("octolint ignore=a", "octolint global ignore=", "ln ")
    for unit in (" ", "\t", "a ", "-a ", ",", " ,")
]


def module_patterns() -> dict[str, re.Pattern[str]]:
    """Every compiled regular expression rules and the Dockerfile code keep at module level
    (OCT105's per-manager ones included): a new one is audited without being listed."""
    import octolint_rules

    import octolint.dockerfile as dockerfile_package

    modules = [importlib.import_module(f"octolint_rules.{m.name}")
               for m in pkgutil.iter_modules(octolint_rules.__path__)]  # fmt: skip
    modules += [importlib.import_module(f"octolint.dockerfile.{m.name}")
                for m in pkgutil.iter_modules(dockerfile_package.__path__)]  # fmt: skip
    modules.append(importlib.import_module("octolint.suppress"))
    found: dict[str, re.Pattern[str]] = {}

    def walk(name: str, value: object, depth: int) -> None:
        if isinstance(value, re.Pattern):
            found[name] = value
        elif depth < 5 and isinstance(value, (tuple, list)):
            for index, item in enumerate(value):
                walk(f"{name}[{index}]", item, depth + 1)
        elif depth < 5 and dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                walk(f"{name}.{field.name}", getattr(value, field.name), depth + 1)

    for module in modules:
        for key, value in vars(module).items():
            walk(f"{module.__name__}.{key}", value, 0)
    return found


def seconds(pattern: re.Pattern[str], anchored: bool, text: str, tries: int = 1) -> float:
    """The best of ``tries`` timings of the pattern applied as the code applies it, in CPU
    time: on a loaded machine wall time inflates long runs more than short ones."""
    best = float("inf")
    for _ in range(tries):
        started = time.process_time()
        if anchored:
            pattern.match(text)
        else:
            for _match in pattern.finditer(text):  # not a list: no GC pauses in the timing
                pass
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.slow
def test_no_rule_or_dockerfile_regex_backtracks_quadratically() -> None:
    # 64 KB of one repeated token (a physical line's limit; logical lines are longer).
    # Linear patterns take a few milliseconds on it; only a slow one is timed again on
    # a sixteenth of the input, and it fails when sixteen times the input costs 64 times
    # more (linear: 16, quadratic: 256).
    patterns = module_patterns()
    assert len(patterns) > 30 and any("oct105" in name for name in patterns)
    slow = []
    for name, pattern in patterns.items():
        anchored = name in ANCHORED_USE
        for text in HOSTILE_TEXTS:
            first = seconds(pattern, anchored, text)
            if first < 0.02:
                continue
            if first > 1.0:  # a second of CPU for 64 KB: no need to time it again
                slow.append(f"{name} on {text[:20]!r}...: {first:.1f}s")
                continue
            part = text[: len(text) // 16]
            ratio = seconds(pattern, anchored, text, 3) / seconds(pattern, anchored, part, 5)
            if ratio > 64:
                slow.append(f"{name} on {text[:20]!r}...: x{ratio:.0f} for x16 the input")
    assert not slow, slow
