"""OCT202 image-cmd: the image config's Cmd is something other than a bare shell.

Distribution base images set `Cmd` to a shell (`bash`, `sh`, `/bin/bash`,
`/bin/sh`), which is harmless: Octopus replaces it. Any other `Cmd` (a
server, a script, `node`) means the image was built to run something else,
and Octopus's documentation requires that no `CMD` be defined.

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
SEVERITY = "warning"
APPLIES_TO = "image"
SUMMARY = "The image's Cmd is set to something other than a bare shell."
HINT = "Remove the CMD (or reset it with `CMD []`)."
SARIF_SCORE = SarifScore("4.0", "high")  # a Cmd other than a shell: usually replaced

BARE_SHELLS = (["bash"], ["sh"], ["/bin/bash"], ["/bin/sh"])


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    cmd = target.command("Cmd")
    if not cmd or cmd in BARE_SHELLS:
        return
    # shown as a shell would be given it, built from masked words (octolint.redact)
    shown = masked_command(cmd, target.env)
    yield problem_at(
        target.at("CMD"),
        f"the image's Cmd is `{shown}`{origin(target, 'CMD')}: execution containers must "
        "define no CMD",
    )
