"""Human-readable output: findings grouped by file, with the source and a fix.

::

    Dockerfile
    Dockerfile:3:1  error    OCT101  ENTRYPOINT [] ...  (no-entrypoint, stage "final")
        3 | ENTRYPOINT ["/app/run"]
        fix: Remove the ENTRYPOINT ...

    1 problem (1 error) in 1 file; 1 file checked.
    Run `octolint explain OCT101` for details.

octolint's own decorations are ASCII (``|``, ``...``), so they survive any
console encoding.
Text from the Dockerfile and from rules is never read as rich markup, and
non-printable characters in it are shown escaped (``\\x1b``), so a hostile file
cannot inject terminal escape sequences. A path that would start a line with
``::`` (a GitHub Actions workflow command in a CI log) has that colon shown as
``\\x3a``. rich is imported only for coloured output.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from octolint.escape import defuse_commands
from octolint.model import Finding, ImageLocation, Location, Report, Severity
from octolint.reporters._common import (
    display_path,
    effective_hint,
    grouped_by_file,
    image_place,
    ordered_findings,
    severity_counts,
)

if TYPE_CHECKING:
    from octolint.rulebook import Rule

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
MAX_SOURCE_LINES = 5
MAX_SOURCE_WIDTH = 120
INDENT = "    "

# A line is a list of (text, style) segments. Plain output joins the texts
# without importing rich at all (it costs ~30 ms, a lot for a git hook);
# coloured output hands the same segments to rich.
Line = list[tuple[str, str]]


def render(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str = "",
    subject: str | None = None,
    **_: object,
) -> str:
    """The whole report as text; with ``color=False`` it contains no escape sequences.
    Nothing when nothing could be checked: the errors on stderr say it all.

    ``subject`` "image" counts what was checked as images, anything else as files."""
    if report.errors and not report.files and not report.findings:
        return ""
    lines = list(_report_lines(report, rules, "image" if subject == "image" else "file"))
    if not color:
        return "".join("".join(text for text, _style in line) + "\n" for line in lines)
    return _render_with_rich(lines)


def _render_with_rich(lines: list[Line]) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,  # never wrap or crop: the width is irrelevant
        legacy_windows=False,
    )
    for line in lines:
        console.print(Text.assemble(*line))
    return buffer.getvalue()


def _report_lines(report: Report, rules: Mapping[str, Rule], noun: str) -> Iterator[Line]:
    for path, findings in grouped_by_file(report):
        yield [(defuse_commands(printable(display_path(path))), "bold underline")]
        for finding in findings:
            yield from _finding_lines(finding, rules)
            yield []
    yield summary_line(report, noun)
    if report.findings:
        yield _next_step_line(report)


def _finding_lines(finding: Finding, rules: Mapping[str, Rule]) -> Iterator[Line]:
    yield _headline(finding)
    location = finding.location
    if isinstance(location, ImageLocation) and location.dockerfile and location.path:
        yield [(INDENT, ""), ("in image:", "dim"), (" " + printable(image_place(location)), "")]
    yield from _source_lines(finding)
    hint = effective_hint(finding, rules)
    if hint:
        yield [(INDENT, ""), ("fix:", "bold green"), (" " + printable(hint), "")]


def _headline(finding: Finding) -> Line:
    where = _where(finding.location)
    details = finding.rule_name
    if finding.stage:
        details += f', stage "{finding.stage}"'
    return [
        (defuse_commands(printable(where)), "bold"),
        ("  ", ""),
        (finding.severity.label, SEVERITY_STYLE[finding.severity]),
        (" " * (9 - len(finding.severity.label)), ""),
        (printable(finding.rule_id), "bold"),
        ("  " + printable(finding.message) + "  ", ""),
        (f"({printable(details)})", "dim"),
    ]


def _where(location: Location) -> str:
    """``path:line:column``; an image finding at its --dockerfile line reads the same,
    any other names the image and platform, and what in it (see image_place)."""
    if isinstance(location, ImageLocation):
        if location.dockerfile is None:
            return image_place(location)
        location = location.dockerfile
    return f"{display_path(location.path)}:{location.line}:{location.column}"


def _source_lines(finding: Finding) -> Iterator[Line]:
    """Up to MAX_SOURCE_LINES numbered lines of the offending source, then '...'."""
    first = finding.file.line if finding.file else 1
    lines = [line.rstrip() for line in (finding.source or "").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    shown = lines[:MAX_SOURCE_LINES]
    width = len(str(first + max(len(shown) - 1, 0)))
    for number, line in enumerate(shown, start=first):
        yield [(f"{INDENT}{number:>{width}} | {clip(printable(line))}", "dim")]
    if len(lines) > len(shown):
        more = len(lines) - len(shown)
        yield [(f"{INDENT}{'':>{width}} | ... ({_plural(more, 'more line')})", "dim")]


def summary_line(report: Report, noun: str = "file") -> Line:
    """'3 problems (2 errors, 1 warning) in 2 files; 5 files checked.' or 'No problems...';
    images are counted as images, and inputs that could not be read are counted too."""
    line = _findings_summary(report, noun)
    if report.errors:
        unread = _plural(len(report.errors), "input")
        line[-1] = (line[-1][0].rstrip("."), line[-1][1])
        line.append((f"; {unread} could not be read.", "bold red"))
    return line


def _findings_summary(report: Report, noun: str) -> Line:
    checked = _plural(len(report.files), noun)
    if not report.findings:
        if not report.files:
            return [(f"No {noun}s checked.", "bold")]
        return [(f"No problems found in {checked}.", "bold green")]
    parts: Line = []
    for severity, count in severity_counts(report).items():
        if count and parts:
            parts.append((", ", ""))
        if count:
            parts.append((_plural(count, severity.label), SEVERITY_STYLE[severity]))
    with_findings = _plural(len({f.subject for f in report.findings}), noun)
    return [
        (_plural(len(report.findings), "problem"), "bold"),
        (" (", ""),
        *parts,
        (f") in {with_findings}; {checked} checked.", ""),
    ]


def _next_step_line(report: Report) -> Line:
    first = max(ordered_findings(report), key=lambda finding: finding.severity)
    return [
        ("Run ", ""),
        (f"`octolint explain {printable(first.rule_id)}`", "bold"),
        (" for details.", ""),
    ]


def printable(text: str) -> str:
    """``text`` with tabs expanded and every non-printable character escaped."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text.expandtabs(4))


def clip(text: str, width: int = MAX_SOURCE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
