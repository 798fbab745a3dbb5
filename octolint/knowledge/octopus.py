"""The Octopus Server an execution container runs under, and what it does with CMD and ENTRYPOINT.

Octopus's documentation for execution containers says: "Docker images used
with the execution containers feature require that no CMD or ENTRYPOINT
directives be defined in your Dockerfile. Including one of these directives
will result in the step failing." (:data:`DOCS`). What Octopus really does
depends on its version (:data:`ISSUE_6788`, "Allow third party Docker images
with ENTRYPOINTs to be used as container images"):

- it has always replaced the image's CMD with its own command, so a CMD never
  runs in a step;
- since 2021.2.0 (released as 2021.2.124; every 2021.3 and later release) it
  replaces the ENTRYPOINT too. Before that, an ENTRYPOINT wrapped Octopus's
  command and the step failed; since then the step runs, but nothing the
  ENTRYPOINT would have done (put tools on PATH, activate an environment,
  source files, start a daemon) happens.

The version comes from ``octopus-version`` in the configuration or
``--octopus-version``; without one, octolint judges for a supported server
(2021.2 and later). Rules read it as ``target.octopus`` (every kind of target
has it; see octolint.plugin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from octolint.model import Severity

if TYPE_CHECKING:  # packaging is imported only when a version is given
    from packaging.version import Version

DOCS = "https://octopus.com/docs/projects/steps/execution-containers-for-workers"
ISSUE_6788 = "https://github.com/OctopusDeploy/Issues/issues/6788"
ENTRYPOINT_REPLACED_IN = "2021.2"  # 2021.2.0, released as 2021.2.124 (ISSUE_6788)
MAX_LENGTH = 40  # longer is no Octopus version; it would only bloat every message
# What an ENTRYPOINT typically sets up that a replaced one no longer does.
ENTRYPOINT_EFFECTS = "PATH, an activated environment, sourced files, a started daemon"


@dataclass(frozen=True)
class OctopusServer:
    """The Octopus Server version findings are judged for; ``None``: any supported one."""

    version: Version | None = None
    written: str | None = field(default=None, compare=False)  # as the user gave it

    @property
    def name(self) -> str:
        """How messages name it: ``Octopus 2020.6`` (as written: ``2021.2-beta``, not
        packaging's ``2021.2b0``), or ``Octopus`` for any supported one."""
        if self.version is None:
            return "Octopus"
        return f"Octopus {self.written or self.version}"

    @property
    def replaces_entrypoint(self) -> bool:
        """Whether it runs its command in place of the image's ENTRYPOINT (2021.2 on)."""
        if self.version is None:
            return True
        from packaging.version import Version

        return self.version >= Version(ENTRYPOINT_REPLACED_IN)

    def entrypoint_verdict(self, what: str) -> tuple[Severity, str]:
        """The severity of an ENTRYPOINT (``what``: how the message calls it) and what
        happens to it, citing the documentation and the version that changed it."""
        since, source = f"since {ENTRYPOINT_REPLACED_IN}", "OctopusDeploy/Issues#6788"
        if self.replaces_entrypoint:
            return Severity.WARNING, (
                f"{self.name} replaces {what} with its own command ({since}, {source}), so "
                f"whatever it sets up ({ENTRYPOINT_EFFECTS}) does not happen in steps; "
                "Octopus's documentation still requires no ENTRYPOINT"
            )
        return Severity.ERROR, (
            f"{self.name} runs its own command through {what} and the step fails: Octopus "
            f"replaces an ENTRYPOINT only {since} ({source}); Octopus's documentation "
            "requires no ENTRYPOINT"
        )

    def cmd_consequence(self) -> str:
        """What happens to a CMD: Octopus (every version) replaces it."""
        return (
            "Octopus replaces it with its own command (every version), so it never runs in a "
            "step; Octopus's documentation requires no CMD"
        )


SUPPORTED = OctopusServer()  # the default: a supported server (2021.2 and later)


def parse_octopus_version(text: str) -> OctopusServer:
    """``2021.2`` (or ``2021.2.124``) as an :class:`OctopusServer`; ValueError when it is
    not a version."""
    from packaging.version import InvalidVersion, Version

    given = text.strip()
    if len(given) > MAX_LENGTH:
        raise ValueError(f"'{given[:MAX_LENGTH]}...' is too long for a version")
    try:
        version = Version(given)
    except InvalidVersion:
        raise ValueError(
            f"'{text}' is not a version (expected X.Y, such as {ENTRYPOINT_REPLACED_IN})"
        ) from None
    if version.local or version.epoch:
        raise ValueError(f"'{text}' is not an Octopus version (expected X.Y, such as 2023.4)")
    return OctopusServer(version, given)
