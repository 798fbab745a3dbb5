"""OCT201 image-entrypoint: the image config has a non-empty Entrypoint.

The built image is the truth: an `ENTRYPOINT` can come from a base image
without appearing in your Dockerfile at all (nginx, node and docker images
set one). Octopus's documentation requires that an execution container
define no `ENTRYPOINT`; what really happens depends on the Octopus Server
version (`octopus-version` in the configuration, `--octopus-version`), as for
OCT101:

- **before 2021.2** Octopus ran its command through the Entrypoint, and the
  step failed: an **error**;
- **from 2021.2.0** (released as 2021.2.124; OctopusDeploy/Issues#6788)
  Octopus replaces the Entrypoint, so the step runs but whatever the
  Entrypoint sets up (PATH, an activated environment, sourced files, a
  started daemon) does not happen in steps: a **warning** (the default).

An Entrypoint of one empty string (`ENTRYPOINT [""]`) is none, as Docker's
engine treats it. The finding cites the history step that set it, and with
`--dockerfile` says whether your Dockerfile set it or it was inherited from
the base image.

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

Passes (one empty string is no entrypoint):

```image
{"base": "debian", "config": {"Entrypoint": [""]}}
```

How to fix: add `ENTRYPOINT []` to the final stage of the Dockerfile, or
remove the `ENTRYPOINT` you set, and do what it did in the image itself
(`ENV PATH=...`).
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.image.target import origin
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at
from octolint.redact import masked_command

ID = "OCT201"
NAME = "image-entrypoint"
SEVERITY = "warning"  # for a supported server (2021.2 and later); an error before 2021.2
APPLIES_TO = "image"
SUMMARY = "The image has an Entrypoint: Octopus replaces it (before 2021.2: the step fails)."
HINT = "Add `ENTRYPOINT []` to the final stage of the Dockerfile; set up PATH with ENV."
# the Entrypoint's set-up is missing in steps (2021.2 on); every step failed before
SARIF_SCORE = SarifScore("5.0", "very-high")


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    entrypoint = target.command("Entrypoint")
    if not entrypoint:
        return
    # shown as a shell would be given it, built from masked words (octolint.redact)
    shown = masked_command(entrypoint, target.env)
    severity, consequence = target.octopus.entrypoint_verdict("it")
    yield problem_at(
        target.at("ENTRYPOINT"),
        f"the image's Entrypoint is `{shown}`{origin(target, 'ENTRYPOINT')}: {consequence}",
        severity=severity,
    )
