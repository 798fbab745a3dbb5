"""A Dockerfile, loaded for the rules: parsed, analysed, with its lines and pragmas.

``load_text`` never fails on a broken Dockerfile: the target then has no
``build`` and carries the ``syntax_error``, which only the rules that ask for it
(``RUNS_ON_SYNTAX_ERROR``, OCT100) see. Input that is not a Dockerfile at all
(binary, invalid UTF-8) is an ``InputError`` from :mod:`octolint.inputs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from octolint.dockerfile import instructions
from octolint.dockerfile.parser import Dockerfile, parse
from octolint.dockerfile.stages import Build, analyse
from octolint.errors import DockerfileSyntaxError
from octolint.inputs import decode
from octolint.knowledge.octopus import SUPPORTED, OctopusServer
from octolint.model import FileLocation, Location, Problem
from octolint.suppress import Suppressions, collect

if TYPE_CHECKING:
    from octolint.rulebook import Rule


@dataclass(frozen=True)
class DockerfileTarget:
    """What a Dockerfile rule's ``check()`` receives.

    ``build`` is the analysed Dockerfile (stages, base images, settings). A file
    that does not parse has none: the engine then only calls rules that set
    ``RUNS_ON_SYNTAX_ERROR = True`` (only OCT100 does), which read ``syntax_error``.
    """

    KIND: ClassVar[str] = "dockerfile"

    path: str
    dockerfile: Dockerfile | None  # None: not even readable as a Dockerfile (UTF-16)
    analysed: Build | None
    syntax_error: DockerfileSyntaxError | None = None
    pragmas: Suppressions = field(default_factory=Suppressions)
    octopus: OctopusServer = SUPPORTED  # the Octopus version findings are judged for

    @property
    def build(self) -> Build:
        if self.analysed is None:  # only RUNS_ON_SYNTAX_ERROR rules see such a target
            raise AttributeError(f"{self.path} does not parse: it has no build")
        return self.analysed

    # -- what the engine asks of every target ---------------------------------
    @property
    def lines(self) -> Sequence[str]:
        return self.dockerfile.lines if self.dockerfile else ()

    def accepts(self, rule: Rule) -> bool:
        return self.analysed is not None or rule.runs_on_syntax_error

    def locate(self, problem: Problem) -> tuple[Location, str | None]:
        location = FileLocation.of(problem.path or self.path, problem.span, self.lines)
        return location, _source(self.lines, location)

    def stage_of(self, problem: Problem) -> str | None:
        # naming the stage only helps when there is more than one
        several = self.analysed is not None and len(self.analysed.stages) > 1
        return problem.stage if several else None

    def silences(self, keys: tuple[str, str], location: Location) -> bool:
        return isinstance(location, FileLocation) and self.pragmas.silences(keys, location.line)

    def pragma_files(self) -> list[tuple[str, Suppressions, Sequence[str]]]:
        return [(self.path, self.pragmas, self.lines)] if self.dockerfile else []

    def secrets(self) -> Sequence[str]:
        return ()

    def close(self) -> None:
        """Nothing to release: the text is in memory."""


def _source(lines: Sequence[str], location: FileLocation) -> str | None:
    return "\n".join(lines[location.line - 1 : location.end_line]) or None


def load_bytes(
    data: bytes,
    display: str,
    target_stage: str | None = None,
    build_args: Mapping[str, str] | None = None,
    octopus: OctopusServer = SUPPORTED,
) -> DockerfileTarget:
    """The target for a file's bytes; UTF-16 is a syntax error (OCT100), as for docker."""
    try:
        text = decode(data, display)
    except DockerfileSyntaxError as error:
        return DockerfileTarget(display, None, None, error, octopus=octopus)
    return load_text(text, display, target_stage, build_args, octopus)


def load_text(
    text: str,
    display: str,
    target_stage: str | None = None,
    build_args: Mapping[str, str] | None = None,
    octopus: OctopusServer = SUPPORTED,
) -> DockerfileTarget:
    """Parse and analyse; call it inside ``expansion_budget()`` with the rules' run."""
    dockerfile: Dockerfile | None = None
    try:
        dockerfile = parse(text, display)
        build = _analyse(dockerfile, target_stage, build_args or {})
    except DockerfileSyntaxError as error:
        pragmas = collect(dockerfile) if dockerfile else Suppressions()
        return DockerfileTarget(display, dockerfile, None, error, pragmas, octopus)
    return DockerfileTarget(display, dockerfile, build, None, collect(dockerfile), octopus)


def _analyse(
    dockerfile: Dockerfile, target_stage: str | None, build_args: Mapping[str, str]
) -> Build:
    instructions.check(dockerfile)  # where BuildKit's instruction parser stops the build
    return analyse(dockerfile, target_stage, dict(build_args))
