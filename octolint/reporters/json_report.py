"""octolint's own JSON format (``--format json``), version 1.

The format is described by ``octolint/schemas/octolint-report.schema.json``
and documented in ``docs/json-format.md``. Its shape::

    {"version": 1,
     "tool": {"name": "octolint", "version": "0.1.0"},
     "findings": [{"rule_id", "rule_name", "severity", "message", "file", "line",
                   "column", "end_line", "end_column", "stage", "hint"}, ...],
     "summary": {"files", "errors", "warnings", "notes"},
     "files": ["Dockerfile", ...]}

Changing or removing a field bumps ``version``; adding one does not. The
output is ASCII (other characters are ``\\u`` escapes), so it survives any
console encoding. Control characters in text (ESC, C1, bidi overrides; see
:mod:`octolint.escape`) are written as the visible text ``\\x1b``, so a
consumer that prints a field cannot be made to obey them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from octolint.escape import escape_strings
from octolint.model import Finding, Report, Severity
from octolint.reporters._common import (
    clamped_region,
    display_path,
    effective_hint,
    ordered_findings,
)

if TYPE_CHECKING:
    from octolint.registry import Rule

SCHEMA_VERSION = 1
TOOL_NAME = "octolint"


def render(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
    **_: object,
) -> str:
    """The report as an indented JSON document followed by a newline."""
    document = build(report, rules, tool_version=tool_version)
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def build(report: Report, rules: Mapping[str, Rule], *, tool_version: str) -> dict[str, Any]:
    """The JSON document as Python data, control characters in its text escaped."""
    document: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version},
        "findings": [_finding(f, rules) for f in ordered_findings(report)],
        "summary": {
            "files": len(report.files),
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "notes": report.count(Severity.NOTE),
        },
        "files": [display_path(path) for path in report.files],
    }
    return escape_strings(document)


def _finding(finding: Finding, rules: Mapping[str, Rule]) -> dict[str, Any]:
    line, column, end_line, end_column = clamped_region(finding)
    return {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity.label,
        "message": finding.message,
        "file": display_path(finding.path),
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "stage": finding.stage,
        "hint": effective_hint(finding, rules),
    }
