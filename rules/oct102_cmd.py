"""OCT102 no-cmd: the final stage defines a non-empty CMD.

Octopus's documentation: "Docker images used with the execution containers
feature require that no CMD or ENTRYPOINT directives be defined in your
Dockerfile. Including one of these directives will result in the step
failing." Octopus has, in every version, replaced the image's `CMD` with its
own command (OctopusDeploy/Issues#6788), so a `CMD` never runs in a step and
does not make it fail: a **note** at every `octopus-version`, for a `CMD`
that the image does not need (a server, `bash`, a script left from another
use of the image).

The final stage is followed through the stages it is built `FROM`; a later
`CMD` overrides an earlier one, `CMD []` resets it, and an `ENTRYPOINT`
clears a `CMD` inherited from an earlier stage, as `docker build` does.

Fails:

```dockerfile
FROM ubuntu:22.04
CMD ["bash"]
```

Passes:

```dockerfile
FROM ubuntu:22.04
RUN apt-get update && apt-get install -y --no-install-recommends libicu70
```

How to fix: delete the `CMD`; add `CMD []` to reset one set in an earlier stage.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT102"
NAME = "no-cmd"
SEVERITY = "note"
APPLIES_TO = "dockerfile"
SUMMARY = "The final stage defines a CMD, which Octopus replaces: it never runs in a step."
HINT = "Remove the CMD (or reset an inherited one with `CMD []`)."
SARIF_SCORE = SarifScore("2.0", "high")  # CMD: replaced by Octopus, harmless


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    found = target.build.last_setting("CMD")
    if found is None:
        return
    stage, instruction = found
    where = target.build.inherited_note(stage)
    yield problem_at(
        instruction,
        f"the final image has a CMD{where}: {target.octopus.cmd_consequence()}",
        stage,
    )
