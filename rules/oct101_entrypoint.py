"""OCT101 no-entrypoint: the final stage defines a non-empty ENTRYPOINT.

Octopus's documentation: "Docker images used with the execution containers
feature require that no CMD or ENTRYPOINT directives be defined in your
Dockerfile. Including one of these directives will result in the step
failing." What really happens depends on the Octopus Server version
(`octopus-version` in the configuration, `--octopus-version`):

- **before 2021.2** Octopus ran its command through the image's
  `ENTRYPOINT`, and the step failed: an **error**;
- **from 2021.2.0** (released as 2021.2.124; OctopusDeploy/Issues#6788,
  "Allow third party Docker images with ENTRYPOINTs to be used as container
  images") Octopus replaces the `ENTRYPOINT` with its own command. The step
  runs, but whatever the `ENTRYPOINT` sets up (PATH, an activated
  environment, sourced files, a started daemon) does not happen in steps: a
  **warning**. This is the default, the behaviour of every supported server.

A `severity` set for OCT101 in the configuration wins over both.

The check follows the final stage (the last one, or `--target`) through the
stages it is built `FROM`; a later `ENTRYPOINT` overrides an earlier one, and
`ENTRYPOINT []` or `ENTRYPOINT [""]` resets it (Docker's engine treats an
entrypoint of one empty string as none). `ONBUILD ENTRYPOINT` does not apply
to the image. An entrypoint inherited from the base image cannot be seen in a
Dockerfile, except from a well-known base image, which is reported at its
`FROM` line: `node` (`docker-entrypoint.sh`), `nginx`, `postgres` and the other
official images whose Dockerfile ends with an `ENTRYPOINT`, `eclipse-temurin`,
`hashicorp/terraform`, `amazon/aws-cli`, distroless `nodejs`/`java`/`python3`
(the table and its sources are in `octolint/knowledge/base_images.py`). A base
octolint does not know is not guessed at: `octolint image` (OCT201) checks
the built image.

Fails:

```dockerfile
FROM ubuntu:22.04
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
```

Fails:

```dockerfile
# node images set ENTRYPOINT ["docker-entrypoint.sh"]: reported at this FROM
FROM node:20-bookworm
RUN npm install -g firebase-tools
```

Passes:

```dockerfile
FROM nginx:1.27
ENTRYPOINT []
```

How to fix: delete the `ENTRYPOINT`, and do what it did in the image itself
(`ENV PATH=...` for the tools it put on PATH). If the base image sets one,
add `ENTRYPOINT []` to the final stage to reset it.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge.base_images import facts
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT101"
NAME = "no-entrypoint"
SEVERITY = "warning"  # for a supported server (2021.2 and later); an error before 2021.2
APPLIES_TO = "dockerfile"
SUMMARY = "The final stage has an ENTRYPOINT: Octopus replaces it (before 2021.2: the step fails)."
HINT = (
    "Remove it and set up in the image what it did (ENV PATH=...); `ENTRYPOINT []` resets "
    "one inherited from the base image."
)
# ENTRYPOINT: what it sets up is missing in steps (2021.2 on); every step failed before
SARIF_SCORE = SarifScore("5.0", "high")


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    found = target.build.last_setting("ENTRYPOINT")
    if found is None:
        yield from _inherited(target)
        return
    stage, instruction = found
    where = target.build.inherited_note(stage)
    severity, consequence = target.octopus.entrypoint_verdict("it")
    yield problem_at(
        instruction,
        f"the final image has an ENTRYPOINT{where}: {consequence}",
        stage,
        severity=severity,
    )


def _inherited(target: DockerfileTarget) -> Iterator[Problem]:
    """The ENTRYPOINT a well-known base image sets, when the Dockerfile never sets or
    resets one itself."""
    build = target.build
    base = build.base_image()
    if base is None or build.sets("ENTRYPOINT"):
        return
    stage, ref = base
    entrypoint = facts(ref.short_name, ref.tag).entrypoint
    if entrypoint:  # None: not known; "": known to have none
        severity, consequence = target.octopus.entrypoint_verdict("it")
        yield problem_at(
            stage.from_instruction,
            f"the final image inherits ENTRYPOINT {entrypoint} from its base image {ref}, a "
            f"well-known image that sets it: {consequence}",
            build.final,
            severity=severity,
        )
