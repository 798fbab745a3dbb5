"""Everything a rule module needs, in one import.

A rule is a module (or any object) with the constants ``ID``, ``NAME``,
``SEVERITY``, ``APPLIES_TO``, ``SUMMARY``, ``HINT``, optionally ``OPTIONS``,
and a function ``check(target, options)`` that yields :class:`Problem`.
Register it in your package's entry points::

    [options.entry_points]
    octolint.rules =
        ACME001 = acme_rules.no_latest_tag

See ``rules/`` in the octolint repository for the built-in rules, which use
exactly this interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from octolint.dockerfile.parser import Dockerfile, Instruction
from octolint.dockerfile.stages import Build, Stage
from octolint.errors import DockerfileSyntaxError
from octolint.model import Problem, Severity, Span

__all__ = [
    "Build",
    "Dockerfile",
    "DockerfileTarget",
    "Instruction",
    "Problem",
    "Severity",
    "Span",
    "Stage",
    "problem_at",
    "span_of",
]


@dataclass(frozen=True)
class DockerfileTarget:
    """What a Dockerfile rule's ``check()`` receives.

    ``build`` is None only when the file could not be parsed; rules that set
    ``RUNS_ON_SYNTAX_ERROR = True`` (only OCT100 does) then see ``syntax_error``.
    """

    path: str
    dockerfile: Dockerfile | None
    build: Build | None
    syntax_error: DockerfileSyntaxError | None = None


def span_of(instruction: Instruction) -> Span:
    """The whole instruction, continuation lines and heredoc bodies included."""
    return Span(
        line=instruction.start_line,
        column=instruction.start_column,
        end_line=instruction.end_line,
        end_column=instruction.end_column,
    )


def problem_at(
    instruction: Instruction,
    message: str,
    stage: Stage | None = None,
    *,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Problem:
    """A Problem spanning an instruction, labelled with its stage."""
    return Problem(
        message=message,
        span=span_of(instruction),
        stage=stage.label if stage else None,
        hint=hint,
        severity=severity,
    )
