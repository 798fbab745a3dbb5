"""OCT101 no-entrypoint: the final stage defines a non-empty ENTRYPOINT.

Octopus starts an execution container with its own command and runs
Calamari inside it. An `ENTRYPOINT` wraps or replaces that command, and the
step fails. Octopus's documentation: "Docker images used with the execution
containers feature require that no CMD or ENTRYPOINT directives be defined".

The check follows the final stage (the last one, or `--target`) through the
stages it is built `FROM`; a later `ENTRYPOINT` overrides an earlier one, and
`ENTRYPOINT []` resets it. `ONBUILD ENTRYPOINT` does not apply to the image.
An entrypoint inherited from a well-known base image is reported at its `FROM`
line: `node` (`docker-entrypoint.sh`), `nginx`, `postgres` and the other
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

How to fix: delete the `ENTRYPOINT`. If the base image sets one, add
`ENTRYPOINT []` to the final stage to reset it.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge.base_images import facts
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT101"
NAME = "no-entrypoint"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "The final stage defines an ENTRYPOINT; execution containers must have none."
HINT = "Remove it; `ENTRYPOINT []` resets one inherited from the base image."
SARIF_SCORE = SarifScore("8.0", "high")  # ENTRYPOINT: every step fails


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    found = target.build.last_setting("ENTRYPOINT")
    if found is None:
        yield from _inherited(target)
        return
    stage, instruction = found
    where = target.build.inherited_note(stage)
    yield problem_at(
        instruction,
        f"the final image has an ENTRYPOINT{where}: Octopus runs its own command in an "
        "execution container, and an ENTRYPOINT makes the step fail",
        stage,
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
        yield problem_at(
            stage.from_instruction,
            f"the final image inherits ENTRYPOINT {entrypoint} from its base image {ref}, a "
            "well-known image that sets it: Octopus runs its own command in an execution "
            "container, and an ENTRYPOINT makes the step fail",
            build.final,
        )
