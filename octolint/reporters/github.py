"""GitHub Actions workflow-command annotations (``--format github``).

One line per finding, which the Actions runner turns into an annotation on the
pull request and the run summary::

    ::error title=OCT101,file=Dockerfile,line=3,endLine=3,col=1,endColumn=23::ENTRYPOINT ...

Errors are ``::error``, warnings ``::warning``, notes ``::notice``. The text is
escaped exactly as ``@actions/core`` does it (``%``, CR and LF in the message;
also ``:`` and ``,`` in properties), and properties come in its order, so a
hostile message or file name can neither end the command nor start another.
Before that, other control characters (ESC, BEL, C1, bidi overrides) are shown
as ``\\x1b`` (:mod:`octolint.escape`): the log viewer and a terminal would
obey them.
``col``/``endColumn`` are given only when the finding is on one line (GitHub
ignores them otherwise; ``endColumn`` is inclusive). File paths are relative to
the working directory; a finding without a file (an image finding that does not
point at the ``--dockerfile``, or standard input) is an annotation without
``file`` whose message starts with what was checked. An input that could not
be read is an ``::error`` titled "octolint: input not checked" naming it. No
findings and no such input: no output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from octolint.escape import escape_text
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

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
    **_options: Any,
) -> str:
    """One workflow command per finding, then one ``::error`` per input that could not
    be read, each on its own line; empty when there is neither."""
    lines = [annotation(finding, rules) for finding in ordered_findings(report)]
    lines += [input_annotation(failure) for failure in report.errors]
    return "".join(line + "\n" for line in lines)


def input_annotation(failure: InputFailure) -> str:
    """``::error title=octolint::<input>: what is wrong`` (no file: it could not be read)."""
    return command("error", {"title": "octolint: input not checked"}, failure.message)


def annotation(finding: Finding, rules: Mapping[str, Rule]) -> str:
    """The ``::level properties::message`` line for one finding (no newline)."""
    properties: dict[str, object] = {"title": finding.rule_id}
    message = finding.message
    path = file_of(finding)
    if path is None or finding.file is None:
        message = f"{display_path(finding.subject)}: {message}"
    else:
        line, column, end_line, end_column = clamped_region(finding.file)
        properties |= {"file": path, "line": line, "endLine": end_line}
        if end_line == line:
            properties |= {"col": column, "endColumn": end_column - 1}
    hint = effective_hint(finding, rules)
    if hint:
        message += f"\nFix: {hint}"
    return command(COMMANDS[finding.severity], properties, message)


def command(name: str, properties: Mapping[str, object], message: str) -> str:
    """A workflow command as ``@actions/core`` writes it (empty properties are left out)."""
    text = f"::{name}"
    pairs = [f"{key}={escape_property(str(value))}" for key, value in properties.items() if value]
    if pairs:
        text += " " + ",".join(pairs)
    return f"{text}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """Controls shown escaped, then ``%``, CR and LF %-encoded as ``@actions/core`` does."""
    safe = escape_text(text)  # CR becomes "\\r" here; LF stays, a line of the annotation
    return safe.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
