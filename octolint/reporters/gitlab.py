"""GitLab Code Quality report (``--format gitlab``): a JSON array of Code Climate issues.

Each finding is one issue::

    {"type": "issue", "engine_name": "octolint", "check_name": "OCT101",
     "description": "OCT101: ENTRYPOINT [] is set", "content": {"body": "Fix: ..."},
     "categories": ["Compatibility"], "severity": "critical",
     "fingerprint": "<sha256>", "location": {"path": "Dockerfile",
     "lines": {"begin": 3, "end": 3}}}

Severities: error is ``critical``, warning ``minor``, note ``info``. The
fingerprint (unique in the report, which GitLab requires) leaves the line
number out, so an issue keeps it when unrelated lines move and GitLab does not
report it as new. Paths are relative to the working directory (run octolint
from the repository root); a finding without a file names the image (or
``<stdin>``) as its path, on line 1. An input that could not be read is a
``blocker`` issue with ``check_name`` ``input-error`` at its path, line 1 (Code
Quality has no other place for it, and the merge request must not show it as
clean). Control characters in text are written as
the visible text ``\\x1b`` (see :mod:`octolint.escape`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from octolint.escape import escape_strings
from octolint.model import Finding, InputFailure, Report, Severity
from octolint.reporters._ci import file_of, fingerprints
from octolint.reporters._common import (
    clamped_region,
    display_path,
    effective_hint,
    ordered_findings,
)

if TYPE_CHECKING:
    from octolint.rulebook import Rule

ENGINE = "octolint"
CATEGORY = "Compatibility"  # every rule is about whether the image works with Octopus
INPUT_CHECK = "input-error"  # check_name of an input octolint could not read
SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "minor", Severity.NOTE: "info"}


def render(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
    **_options: Any,
) -> str:
    """The Code Quality issues as an indented JSON array (ASCII) followed by a newline."""
    findings = ordered_findings(report)
    issues = [
        _issue(finding, fingerprint, rules)
        for finding, fingerprint in zip(findings, fingerprints(findings))
    ]
    issues += [_input_issue(failure) for failure in report.errors]
    return json.dumps(escape_strings(issues), indent=2, ensure_ascii=True) + "\n"


def _input_issue(failure: InputFailure) -> dict[str, Any]:
    """An input that could not be read, as a ``blocker`` issue at its path (line 1):
    Code Quality has no place for a tool's own errors, and a merge request must not
    show a file that was never checked as clean."""
    path = display_path(failure.input)
    payload = f"{INPUT_CHECK}\0{path}".encode("utf-8", "surrogatepass")
    return {
        "type": "issue",
        "engine_name": ENGINE,
        "check_name": INPUT_CHECK,
        "description": f"not checked: {failure.message}",
        "categories": [CATEGORY],
        "severity": "blocker",
        "fingerprint": hashlib.sha256(payload).hexdigest(),
        "location": {"path": path, "lines": {"begin": 1, "end": 1}},
    }


def _issue(
    finding: Finding,
    fingerprint: str,
    rules: Mapping[str, Rule],
) -> dict[str, Any]:
    path = file_of(finding)
    if path is None or finding.file is None:
        path, begin, end = display_path(finding.subject), 1, 1
    else:
        begin, _column, end, _end_column = clamped_region(finding.file)
    issue: dict[str, Any] = {
        "type": "issue",
        "engine_name": ENGINE,
        "check_name": finding.rule_id,
        "description": f"{finding.rule_id}: {finding.message.strip() or finding.rule_name}",
        "categories": [CATEGORY],
        "severity": SEVERITIES[finding.severity],
        "fingerprint": fingerprint,
        "location": {"path": path, "lines": {"begin": begin, "end": end}},
    }
    hint = effective_hint(finding, rules)
    if hint:
        issue["content"] = {"body": f"Fix: {hint}"}
    return issue
