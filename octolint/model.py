"""The data every part of octolint shares: severities, problems, findings, reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """Ordered so that ``severity >= threshold`` reads naturally."""

    NOTE = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, name: str) -> Severity:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity '{name}' (expected error, warning or note)"
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Span:
    """A 1-based, inclusive region of a source file; end_column is the last column."""

    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class Problem:
    """What a rule's ``check()`` yields: the engine adds rule id, severity and file."""

    message: str
    span: Span | None = None
    stage: str | None = None
    hint: str | None = None
    severity: Severity | None = None  # overrides the rule's default for this one problem
    path: str | None = None  # where it is, when not the target itself (e.g. the --dockerfile)


@dataclass(frozen=True)
class Finding:
    """A problem bound to a rule and a file, after configuration and suppression."""

    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    stage: str | None = None
    hint: str | None = None
    source: str | None = None  # the offending source text, for human output

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule_id)


@dataclass
class Report:
    """The outcome of one octolint run over one or more inputs."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def fails(self, threshold: Severity | None) -> bool:
        """True when a finding reaches the threshold; None means never fail."""
        if threshold is None:
            return False
        return any(f.severity >= threshold for f in self.findings)
