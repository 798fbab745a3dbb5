"""Everything a rule module needs, in one import: ``from octolint.plugin import ...``.

A rule is a module (or any object) registered in the entry-point group
``octolint.rules``::

    [options.entry_points]
    octolint.rules =
        ACME001 = acme_rules.no_latest_tag

holding its documentation (the module docstring, with Fails:/Passes:
examples), these constants and one function:

``ID``, ``NAME``, ``SEVERITY``   ``"ACME001"``, ``"no-latest"``, ``"error"|"warning"|"note"``
``APPLIES_TO``                    the kind of target: ``"dockerfile"``, ``"image"`` or ``"deploy"``
``SUMMARY``, ``HINT``             one line each: what is wrong, how to fix it
``OPTIONS`` (optional)            ``{"musl-images": list_of(str, default=[])}``: values in
                                  ``[rules.ACME001]`` of the configuration are checked
                                  against it (a wrong type is a configuration error)
``SARIF_SCORE`` (optional)        ``SarifScore("7.0", "high")``: GitHub's ranking
``READS_FILES`` (image rules)     ``("/etc/os-release",)``: the files whose contents
                                  ``target.fs.read()`` may return (only those are kept)
``check(target, options)``        yields :class:`Problem`, each made with :func:`problem_at`

The target ``check`` receives depends on ``APPLIES_TO``; annotate it, so mypy
checks the rule's code (a rule whose annotation names another kind's target is
refused when it is loaded):

- ``"dockerfile"``: :class:`DockerfileTarget` (``.build``: stages, base images,
  settings; the engine calls the rule only when the file parses);
- ``"image"``: :class:`ImageTarget` (config, environment, merged filesystem,
  library lookups);
- ``"deploy"``: :class:`DeployTarget` (Compose services and Kubernetes containers,
  workloads, services, claims).

Every target also has ``.octopus``, the :class:`OctopusServer` findings are
judged for (``--octopus-version`` or ``octopus-version`` in the configuration;
by default any supported server, 2021.2 and later): ``.version`` (a
``packaging`` ``Version``, or None for the default), ``.name`` for messages,
``.replaces_entrypoint``, and ``.entrypoint_verdict(what)`` /
``.cmd_consequence()``, the severity and wording OCT101/OCT201 and
OCT102/OCT202 use (see :mod:`octolint.knowledge.octopus`). A rule whose verdict
depends on the version keeps the supported server's verdict as its
``SEVERITY`` and passes another as ``problem_at(..., severity=...)``: a
``severity`` in the user's configuration still wins.

One function builds a problem for every kind, from where it is:
``problem_at(instruction, message, stage)`` for a Dockerfile instruction,
``problem_at(value_or_container_or_workload, message)`` for a deployment key,
``problem_at(target.at("ENTRYPOINT"), message)`` or
``problem_at(target.at(file="/lib/libc.so.6"), message)`` for an image (the
location names the image, the file and its layer, the history step, and the
``--dockerfile`` line when one was given). See ``rules/`` in the octolint
repository for the built-in rules, which use exactly this interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, Union

from octolint.dockerfile.parser import Dockerfile, Instruction
from octolint.dockerfile.stages import Build, Stage
from octolint.dockerfile.target import DockerfileTarget
from octolint.errors import DockerfileSyntaxError
from octolint.knowledge.octopus import OctopusServer
from octolint.model import ImageLocation, Problem, Severity, Span
from octolint.rulefacts import SarifScore, list_of, option

if TYPE_CHECKING:  # imported on first use: linting a Dockerfile never loads them
    from octolint.deploy.target import DeployTarget
    from octolint.image.target import ImageTarget

__all__ = [
    "Build",
    "DeployTarget",
    "Dockerfile",
    "DockerfileSyntaxError",
    "DockerfileTarget",
    "ImageLocation",
    "ImageTarget",
    "Instruction",
    "OctopusServer",
    "Options",
    "Problem",
    "SarifScore",
    "Severity",
    "Span",
    "Stage",
    "list_of",
    "option",
    "problem_at",
    "span_of",
]

Options = Mapping[str, Any]  # what check() receives: option name -> configured value


class InFile(Protocol):
    """A deployment key (Value), container or workload: a span in a file."""

    @property
    def span(self) -> Span: ...

    @property
    def path(self) -> str: ...


Where = Union[Instruction, ImageLocation, InFile]


def __getattr__(name: str) -> Any:
    if name == "ImageTarget":
        from octolint.image.target import ImageTarget

        return ImageTarget
    if name == "DeployTarget":
        from octolint.deploy.target import DeployTarget

        return DeployTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def span_of(instruction: Instruction) -> Span:
    """The whole instruction, continuation lines and heredoc bodies included."""
    return Span(
        line=instruction.start_line,
        column=instruction.start_column,
        end_line=instruction.end_line,
        end_column=instruction.end_column,
    )


def problem_at(
    where: Where,
    message: str,
    stage: Stage | None = None,
    *,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Problem:
    """A Problem at a Dockerfile instruction (labelled with its stage), a place in an
    image (``ImageTarget.at``), or a deployment key, container or workload."""
    label = stage.label if stage else None
    if isinstance(where, Instruction):
        return Problem(message, span_of(where), label, hint, severity)
    if isinstance(where, ImageLocation):
        return Problem(message, None, label, hint, severity, image=where)
    return Problem(message, where.span, label, hint, severity, path=where.path)
