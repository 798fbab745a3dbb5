"""The data every part of octolint shares: severities, problems, locations, findings, reports.

A finding's :data:`Location` says by its type what it points at, so reporters
render it without guessing: a :class:`FileLocation` is a region of a file (a
Dockerfile, a Compose file, a manifest, the configuration); an
:class:`ImageLocation` is an image for one platform, with what is known of the
place inside it (a file and its layer, a history step) and, with
``--dockerfile``, the Dockerfile region that made it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union


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
class FileLocation:
    """A 1-based region of a file; ``end_column`` is exclusive (as SARIF counts)."""

    path: str
    line: int = 1
    column: int = 1
    end_line: int = 1
    end_column: int = 2

    @classmethod
    def of(cls, path: str, span: Span | None, lines: Sequence[str]) -> FileLocation:
        """The span in ``path`` (whose text is ``lines``); an open end ends its last line."""
        span = span or Span(line=1)
        end_line = max(span.end_line or span.line, span.line)
        end_column = span.end_column
        if end_column is None:
            end_column = max(len(lines[end_line - 1]) if end_line <= len(lines) else 1, 1)
        return cls(path, span.line, span.column, end_line, end_column + 1)


@dataclass(frozen=True)
class ImageLocation:
    """Somewhere in one image for one platform.

    ``path`` is a file in the image the finding is about and ``layer`` the digest of
    the layer that holds it; ``history_step`` the 1-based entry of the image's
    history that made the setting; ``dockerfile`` the region of the ``--dockerfile``
    that made it, when one was given.
    """

    reference: str
    platform: str  # "linux/amd64"
    path: str | None = None
    layer: str | None = None
    history_step: int | None = None
    dockerfile: FileLocation | None = None

    @property
    def image(self) -> str:
        """The image as reports list it: ``reference (os/arch)``."""
        return f"{self.reference} ({self.platform})"


Location = Union[FileLocation, ImageLocation]


@dataclass(frozen=True)
class Problem:
    """What a rule's ``check()`` yields: the engine adds rule id, severity and location.

    Build one with ``octolint.plugin.problem_at``. ``span`` is in the target's file,
    or in ``path`` when the target has several (deployments); an image rule gives
    ``image`` instead (``ImageTarget.at``).
    """

    message: str
    span: Span | None = None
    stage: str | None = None
    hint: str | None = None
    severity: Severity | None = None  # overrides the rule's default for this one problem
    path: str | None = None  # the file of ``span`` when the target has several
    image: ImageLocation | None = None  # where in the image (image rules)


@dataclass(frozen=True)
class Finding:
    """A problem bound to a rule and a location, after configuration and suppression."""

    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    location: Location
    stage: str | None = None
    hint: str | None = None
    source: str | None = None  # the offending source text, for human output

    @property
    def file(self) -> FileLocation | None:
        """The file region to show: the location, or an image finding's Dockerfile region."""
        if isinstance(self.location, FileLocation):
            return self.location
        return self.location.dockerfile

    @property
    def subject(self) -> str:
        """What was checked, as ``Report.files`` lists it: a file's path, or the image."""
        if isinstance(self.location, FileLocation):
            return self.location.path
        return self.location.image

    # Shorthands for API users and tests; reporters use ``location`` and ``file``.
    @property
    def path(self) -> str:
        return self.subject

    @property
    def line(self) -> int:
        return self.file.line if self.file else 1

    @property
    def column(self) -> int:
        return self.file.column if self.file else 1

    @property
    def end_line(self) -> int:
        return self.file.end_line if self.file else 1

    @property
    def end_column(self) -> int:
        return self.file.end_column if self.file else 2

    def sort_key(self) -> tuple[str, int, int, str]:
        region = self.file
        return (self.subject, region.line if region else 0, region.column if region else 0,
                self.rule_id)  # fmt: skip


@dataclass(frozen=True)
class InputFailure:
    """An input that could not be read or analysed: the rest of the run goes on, and
    every report names it (exit code 3).

    ``input`` is the input as the user gave it (a path, ``-``, an image reference);
    ``message`` the one-line error, which names it too; ``exit_code`` 2 when it is
    the command line's fault (a ``--target`` stage this file does not have).
    """

    input: str
    message: str
    exit_code: int = 3


@dataclass
class Report:
    """The outcome of one octolint run over one or more inputs."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # each Finding.subject checked, in order
    rules_run: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # the image references checked
    errors: list[InputFailure] = field(default_factory=list)  # inputs that could not be read

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def fails(self, threshold: Severity | None) -> bool:
        """True when a finding reaches the threshold; None means never fail."""
        if threshold is None:
            return False
        return any(f.severity >= threshold for f in self.findings)
