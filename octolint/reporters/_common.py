"""Helpers the reporters share: display paths, ordering and counting findings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from octolint.model import FileLocation, Finding, ImageLocation, Report, Severity

if TYPE_CHECKING:
    from octolint.rulebook import Rule

STDIN_PATH = "-"
STDIN_DISPLAY = "<stdin>"


def relative_posix(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str | None:
    """``path`` relative to ``root`` in POSIX form; None when it is not inside."""
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # on another drive (Windows)
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def normalised_source(finding: Finding) -> str:
    """The finding's source (or message) with whitespace differences removed."""
    text = finding.source if finding.source and finding.source.strip() else finding.message
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def display_path(path: str) -> str:
    """The path as the user gave it, except that ``-`` (stdin) reads ``<stdin>``."""
    return STDIN_DISPLAY if path == STDIN_PATH else path


def ordered_findings(report: Report) -> list[Finding]:
    """Findings grouped by file (in the order the files were linted), then by position.

    Files that have findings but are missing from ``report.files`` come last, by name.
    """
    rank = {path: index for index, path in enumerate(report.files)}
    unknown = len(rank)

    def key(finding: Finding) -> tuple[int, tuple[str, int, int, str], str]:
        return (rank.get(finding.subject, unknown), finding.sort_key(), finding.message)

    return sorted(report.findings, key=key)


def grouped_by_file(report: Report) -> list[tuple[str, list[Finding]]]:
    """``ordered_findings`` split into one ``(subject, findings)`` pair per file or image."""
    groups: list[tuple[str, list[Finding]]] = []
    for finding in ordered_findings(report):
        if not groups or groups[-1][0] != finding.subject:
            groups.append((finding.subject, []))
        groups[-1][1].append(finding)
    return groups


def severity_counts(report: Report) -> dict[Severity, int]:
    """How many findings have each severity, most severe first."""
    return {severity: report.count(severity) for severity in sorted(Severity, reverse=True)}


def effective_hint(finding: Finding, rules: Mapping[str, Rule]) -> str | None:
    """The finding's own hint, else its rule's default hint, else None."""
    if finding.hint:
        return finding.hint
    rule = rules.get(finding.rule_id)
    return rule.hint if rule is not None and rule.hint else None


def clamped_region(finding: FileLocation) -> tuple[int, int, int, int]:
    """``(line, column, end_line, end_column)``, all >= 1, never ending before it starts.

    ``end_column`` is exclusive, so a region on one line always covers at least
    one character: ``end_column > column``.
    """
    line = max(1, finding.line)
    column = max(1, finding.column)
    end_line = max(line, finding.end_line)
    end_column = max(1, finding.end_column)
    if end_line == line:
        end_column = max(end_column, column + 1)
    return line, column, end_line, end_column


def image_place(location: ImageLocation) -> str:
    """``ref (os/arch)``, then the file (and its layer) or the history step it is about."""
    text = location.image
    if location.path:
        text += f" {location.path}"
        if location.layer:
            text += f" (layer {short_digest(location.layer)})"
    if location.history_step is not None:
        text += f", history step {location.history_step}"
    return text


def short_digest(digest: str) -> str:
    """The first 12 hex digits, as ``docker images`` shows an id."""
    return digest.split(":", 1)[-1][:12]
