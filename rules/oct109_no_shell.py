"""OCT109 no-shell: the final base image has no shell.

Octopus runs its steps inside an execution container through a shell: it
starts Calamari with `bash`/`sh` and runs your Bash scripts with them.
Images built `FROM scratch`, distroless images (any repository whose name
contains `distroless`, such as `gcr.io/distroless/*` and
`mcr.microsoft.com/azurelinux/distroless/*`, and `*-distroless` tags such as
`mcr.microsoft.com/dotnet/runtime:10.0-azurelinux3.0-distroless`) and Ubuntu
chiseled images (`*-chiseled*` tags, such as
`mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled`) contain no shell
at all. Distroless `:debug` tags add a busybox shell and pass.

Fails:

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled
```

Fails:

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime:10.0-azurelinux3.0-distroless
```

Passes:

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy
```

How to fix: use the non-distroless, non-chiseled variant of the base image.
If you copy a complete root filesystem into a `scratch` stage, silence the
rule for that line with `# octolint ignore=OCT109`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge.base_images import (
    NO_SHELL_COMPONENT,
    NO_SHELL_NAME,
    NO_SHELL_TAG,
    facts,
)
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT109"
NAME = "no-shell"
SEVERITY = "warning"
APPLIES_TO = "dockerfile"
SUMMARY = "The final base image has no shell (scratch, distroless, chiseled)."
HINT = "Use a base image variant that includes bash or sh."
SARIF_SCORE = SarifScore("8.0", "medium")  # no shell: nothing can be started


def shell_less(name: str, tag: str | None) -> str | None:
    """Why an image has no shell, or None when it probably has one."""
    if name in NO_SHELL_NAME:
        return NO_SHELL_NAME[name]
    known = facts(name, tag).shell
    if known is not None:  # a well-known image: its table row decides (distroless :debug)
        return None if known else f"{name} images contain no shell"
    reason = next((r for c, r in NO_SHELL_COMPONENT.items() if c in name.lower()), None)
    return reason or next((r for t, r in NO_SHELL_TAG.items() if t in (tag or "").lower()),
                          None)  # fmt: skip


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    found = target.build.base_image()
    if found is None:
        return
    stage, ref = found
    reason = shell_less(ref.short_name, ref.tag)
    if reason:
        yield problem_at(
            stage.from_instruction,
            f"the final image is based on {ref}: {reason}, and Octopus runs its steps "
            "through a shell",
            target.build.final,
        )
