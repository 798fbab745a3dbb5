"""OCT202 image-cmd: the image config's Cmd is something other than a bare shell.

Distribution base images set `Cmd` to a shell (`bash`, `sh`, `/bin/bash`,
`/bin/sh`), which is harmless. Any other `Cmd` (a server, a script, `node`)
means the image was built to run something else, and Octopus's documentation
requires that no `CMD` be defined. Octopus has, in every version, replaced
the image's `Cmd` with its own command (OctopusDeploy/Issues#6788), so it
never runs in a step and does not make it fail: a **note** at every
`octopus-version`.

Fails: an image built from

```dockerfile
FROM ubuntu:22.04
CMD ["node", "server.js"]
```

Passes: an image built from

```dockerfile
FROM ubuntu:22.04
```

(its Cmd is the base image's `["/bin/bash"]`).

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "config": {"Cmd": ["node", "server.js"]}}
```

Passes:

```image
{"base": "debian", "config": {"Cmd": ["/bin/bash"]}}
```

How to fix: remove the `CMD`, or reset it with `CMD []`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.image.target import origin
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at
from octolint.redact import masked_command

ID = "OCT202"
NAME = "image-cmd"
SEVERITY = "note"
APPLIES_TO = "image"
SUMMARY = "The image's Cmd is something other than a bare shell; Octopus replaces it."
HINT = "Remove the CMD (or reset it with `CMD []`)."
SARIF_SCORE = SarifScore("2.0", "high")  # a Cmd: replaced by Octopus, harmless

BARE_SHELLS = (["bash"], ["sh"], ["/bin/bash"], ["/bin/sh"])


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    cmd = target.command("Cmd")
    if not cmd or cmd in BARE_SHELLS:
        return
    # shown as a shell would be given it, built from masked words (octolint.redact)
    shown = masked_command(cmd, target.env)
    yield problem_at(
        target.at("CMD"),
        f"the image's Cmd is `{shown}`{origin(target, 'CMD')}: "
        f"{target.octopus.cmd_consequence()}",
    )
