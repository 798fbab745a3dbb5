"""octolint's own JSON format (``--format json``), version 3.

The format is described by ``octolint/schemas/octolint-report.schema.json``
and documented in ``docs/json-format.md``. Its shape::

    {"version": 3,
     "tool": {"name": "octolint", "version": "0.1.0"},
     "findings": [{"rule_id", "rule_name", "severity", "message", "file", "line",
                   "column", "end_line", "end_column", "stage", "hint",
                   "location": {"kind": "file", "path", "line", ...}
                             | {"kind": "image", "reference", "platform", "path",
                                "layer", "history_step", "dockerfile"}}, ...],
     "summary": {"files", "errors", "warnings", "notes"},
     "files": ["Dockerfile", ...],
     "errors": [{"input": "b/Dockerfile", "message": "b/Dockerfile: binary file ..."}]}

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
from octolint.model import FileLocation, Finding, Location, Report, Severity
from octolint.reporters._common import (
    clamped_region,
    display_path,
    effective_hint,
    ordered_findings,
)

if TYPE_CHECKING:
    from octolint.rulebook import Rule

# 2: "location"; an image finding's "file" is null without --dockerfile. 3: "errors", the
# inputs that could not be read (a report is written all the same).
SCHEMA_VERSION = 3
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
        "errors": [
            {"input": display_path(failure.input), "message": failure.message}
            for failure in report.errors
        ],
    }
    return escape_strings(document)


def _finding(finding: Finding, rules: Mapping[str, Rule]) -> dict[str, Any]:
    region = _region(finding.file) if finding.file else dict.fromkeys(_REGION_KEYS)
    return {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity.label,
        "message": finding.message,
        **region,
        "stage": finding.stage,
        "hint": effective_hint(finding, rules),
        "location": _location(finding.location),
    }


_REGION_KEYS = ("file", "line", "column", "end_line", "end_column")


def _region(region: FileLocation) -> dict[str, Any]:
    line, column, end_line, end_column = clamped_region(region)
    return dict(zip(_REGION_KEYS, (display_path(region.path), line, column, end_line,
                                   end_column)))  # fmt: skip


def _location(location: Location) -> dict[str, Any]:
    if isinstance(location, FileLocation):
        return {"kind": "file", **{("path" if k == "file" else k): v
                                   for k, v in _region(location).items()}}  # fmt: skip
    return {
        "kind": "image",
        "reference": location.reference,
        "platform": location.platform,
        "path": location.path,
        "layer": location.layer,
        "history_step": location.history_step,
        "dockerfile": _location(location.dockerfile) if location.dockerfile else None,
    }
