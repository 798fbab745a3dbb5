"""Dockerfiles written to break the linter: arbitrary bytes, grammar-shaped noise, and
inputs built to make parsers, regexps or variable expansion blow up.

What must hold: the engine never raises anything but the documented InputError
(exit 3: not text at all), every report it renders in every format is valid (JSON
and SARIF against their schemas, which ship in octolint/schemas), and the real CLI
finishes each pathological input within a stated bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.config import Config
from octolint.engine import Engine
from octolint.errors import InputError
from octolint.model import Report
from octolint.registry import load_rules, rules_by_id
from octolint.reporters import FORMATS, render
from octolint.schemas import load_schema

REPORT_SCHEMA = load_schema("octolint-report.schema.json")
SARIF_SCHEMA = load_schema("sarif-2.1.0.json")
ENGINE = Engine(Config(), load_rules())
RULES = rules_by_id()
CLI_BOUND = 20.0  # seconds, per pathological file and format, interpreter start-up included


def lint(data: bytes) -> Report | None:
    """The report for a Dockerfile's bytes; None for bytes that are not text (exit 3)."""
    try:
        findings = ENGINE.lint_bytes(data, "Dockerfile")
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
def test_arbitrary_bytes_never_crash_and_give_valid_reports(data: bytes) -> None:
    report = lint(data)
    if report is not None:
        check_reports(report)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
def test_grammar_shaped_dockerfiles_never_crash_and_give_valid_reports(data: bytes) -> None:
    report = lint(data)
    assert report is not None  # always text
    check_reports(report)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles(), st.binary(max_size=8), st.integers(min_value=0, max_value=10_000))
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
                           for n in range(1, 20_000)),
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
