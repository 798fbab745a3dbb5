"""OCT201 image-entrypoint: the image config has a non-empty Entrypoint.

The built image is the truth: an `ENTRYPOINT` can come from a base image
without appearing in your Dockerfile at all (nginx, node and docker images
set one). Octopus starts an execution container with its own command, and an
entrypoint makes the step fail.

The finding cites the history step that set it, and with `--dockerfile`
says whether your Dockerfile set it or it was inherited from the base image.

Fails: an image built from

```dockerfile
FROM node:20-bookworm
```

(its base sets `ENTRYPOINT ["docker-entrypoint.sh"]`).

Passes: an image built from

```dockerfile
FROM node:20-bookworm
ENTRYPOINT []
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "config": {"Entrypoint": ["docker-entrypoint.sh"]}}
```

Passes:

```image
{"base": "debian", "config": {"Entrypoint": []}}
```

How to fix: add `ENTRYPOINT []` to the final stage of the Dockerfile, or
remove the `ENTRYPOINT` you set.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.image.target import origin
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at
from octolint.redact import masked_command

ID = "OCT201"
NAME = "image-entrypoint"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "The image has an Entrypoint; execution containers must have none."
HINT = "Add `ENTRYPOINT []` to the final stage of the Dockerfile."
SARIF_SCORE = SarifScore("8.0", "very-high")


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    entrypoint = target.command("Entrypoint")
    if not entrypoint:
        return
    # shown as a shell would be given it, built from masked words (octolint.redact)
    shown = masked_command(entrypoint, target.env)
    yield problem_at(
        target.at("ENTRYPOINT"),
        f"the image's Entrypoint is `{shown}`{origin(target, 'ENTRYPOINT')}: "
        "Octopus runs its own command in an execution container and the step would fail",
    )
