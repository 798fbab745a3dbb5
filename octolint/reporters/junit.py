"""JUnit XML (``--format junit``), for CI systems that show test reports.

One ``<testsuite>`` per checked file or image and in it one ``<testcase>`` per
rule that ran (``classname`` the file, ``name`` "OCT101 no-entrypoint"); an input
that could not be read is a suite of its own whose one testcase, "read input", is
an ``<error>`` naming what is wrong::

    <testsuites name="octolint" tests="12" failures="1" errors="0" time="0">
      <testsuite name="Dockerfile" tests="12" failures="1" errors="0" skipped="0" time="0">
        <testcase classname="Dockerfile" name="OCT101 no-entrypoint" time="0">
          <failure type="error" message="ENTRYPOINT [] is set">Dockerfile:3:1: error ...

A testcase fails when it has a finding at or above the ``--fail-on`` threshold
(so the report agrees with the exit code); its one ``<failure>`` lists all its
findings, one per line with location, severity, message and fix. Findings below
the threshold are listed in ``<system-out>`` of a passing testcase. An image
finding belongs to its image's suite (``reference (os/arch)``), also when it
points at a ``--dockerfile`` line. Control characters (those XML cannot carry,
and those a terminal or log viewer would obey: ESC, C1, bidi overrides; see
:mod:`octolint.escape`) are written escaped as ``\\x1b``, and a line of text
that would start with ``::`` (a GitHub Actions workflow command when the report
is printed in a CI log) has that colon written ``&#58;``. The output is ASCII,
declared UTF-8.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from octolint.escape import defuse_commands, escape_text
from octolint.model import Finding, InputFailure, Report, Severity
from octolint.reporters._ci import file_of
from octolint.reporters._common import (
    clamped_region,
    display_path,
    effective_hint,
    ordered_findings,
)

if TYPE_CHECKING:
    from octolint.rulebook import Rule

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot contain, even as character references.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Suites = dict[str, dict[str, list[Finding]]]


def render(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
    fail_threshold: Severity | None = Severity.NOTE,
    **_options: Any,
) -> str:
    """The report as a JUnit XML document (``testsuites`` root) followed by a newline."""
    root = ET.Element("testsuites", name="octolint")
    for name, cases in suites(report).items():
        suite = ET.SubElement(root, "testsuite", name=xml_text(display_path(name)))
        for rule_id, findings in cases.items():
            case = ET.SubElement(
                suite,
                "testcase",
                classname=xml_text(display_path(name)),
                name=xml_text(_case_name(rule_id, rules, findings)),
                time="0",
            )
            _outcome(case, findings, rules, fail_threshold)
        _count(suite, extra={"skipped": "0"})
    for failure in report.errors:
        _unread_suite(root, failure)
    _count(root)
    ET.indent(root)
    # ASCII with character references survives any console encoding, and is UTF-8
    body: bytes = ET.tostring(root, encoding="us-ascii", xml_declaration=False)
    # Only element text can start a line with "::" (attribute values keep their
    # newlines as &#10;), and a character reference there reads back the same.
    return DECLARATION + defuse_commands(body.decode("ascii"), "&#58;") + "\n"


def suites(report: Report) -> Suites:
    """``{suite name: {rule id: findings}}``: every checked file (in order) with every
    rule that ran, then findings whose path is not a checked file.

    A rule with such a stray finding is not listed as passing anywhere else, so a
    report never says a rule both passed and failed on the same subject.
    """
    files = list(dict.fromkeys(report.files))
    result: Suites = {name: {} for name in files}
    stray: set[str] = set()
    for finding in ordered_findings(report):
        name = finding.subject
        if name not in files:
            stray.add(finding.rule_id)
        result.setdefault(name, {}).setdefault(finding.rule_id, []).append(finding)
    for name in files:
        for rule_id in set(report.rules_run) - stray:
            result[name].setdefault(rule_id, [])
    return {name: dict(sorted(cases.items())) for name, cases in result.items()}


def _case_name(rule_id: str, rules: Mapping[str, Rule], findings: list[Finding]) -> str:
    rule = rules.get(rule_id)
    name = rule.name if rule is not None else (findings[0].rule_name if findings else "")
    return f"{rule_id} {name}".strip()


def _outcome(
    case: ET.Element,
    findings: list[Finding],
    rules: Mapping[str, Rule],
    threshold: Severity | None,
) -> None:
    if not findings:
        return
    details = "\n".join(_describe(f, rules) for f in findings)
    worst = max(findings, key=lambda finding: finding.severity)
    if threshold is None or worst.severity < threshold:
        ET.SubElement(case, "system-out").text = xml_text(details)
        return
    message = worst.message.strip() or worst.rule_id
    if len(findings) > 1:
        message += f" (and {len(findings) - 1} more)"
    failure = ET.SubElement(case, "failure", type=worst.severity.label, message=xml_text(message))
    failure.text = xml_text(details)


def _describe(finding: Finding, rules: Mapping[str, Rule]) -> str:
    """``Dockerfile:3:1: error OCT101: message`` and, on the next line, the fix."""
    where = display_path(finding.subject)
    if finding.file is not None and file_of(finding) is not None:
        line, column, _end_line, _end_column = clamped_region(finding.file)
        where = f"{display_path(finding.file.path)}:{line}:{column}"
    text = f"{where}: {finding.severity.label} {finding.rule_id}: {finding.message}"
    hint = effective_hint(finding, rules)
    return text + (f"\n  fix: {hint}" if hint else "")


def xml_text(text: str) -> str:
    """``text`` with controls (CR included) and what XML 1.0 cannot carry escaped as
    ``\\x1b``; newlines and tabs stay."""
    return NOT_XML.sub(lambda match: ascii(match.group())[1:-1], escape_text(text))


def _unread_suite(root: ET.Element, failure: InputFailure) -> None:
    """An input that could not be read: a suite with one testcase in ``<error>`` (the
    check could not run), so CI shows it rather than a report with it left out."""
    name = xml_text(display_path(failure.input))
    suite = ET.SubElement(root, "testsuite", name=name)
    case = ET.SubElement(suite, "testcase", classname=name, name="read input", time="0")
    error = ET.SubElement(case, "error", type="input-error", message=xml_text(failure.message))
    error.text = xml_text(failure.message)
    _count(suite, extra={"skipped": "0"})


def _count(element: ET.Element, extra: Mapping[str, str] | None = None) -> None:
    """Set tests/failures/errors/time from the testcases below ``element``."""
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(1 for case in cases if case.find("failure") is not None)))
    element.set("errors", str(sum(1 for case in cases if case.find("error") is not None)))
    for key, value in (extra or {}).items():
        element.set(key, value)
    element.set("time", "0")
