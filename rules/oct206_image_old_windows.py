"""OCT206 image-old-windows: a Windows image older than ltsc2019.

The image config's `os.version` holds the Windows build (for example
`10.0.14393.6897` for Server 2016). Octopus supports Windows execution
containers from ltsc2019 (build 17763) on.

Fails: an image built from

```dockerfile
FROM mcr.microsoft.com/windows/servercore:ltsc2016
```

Passes: an image built from

```dockerfile
FROM mcr.microsoft.com/windows/servercore:ltsc2022
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"os": "windows", "os.version": "10.0.14393.6897"}
```

Passes:

```image
{"os": "windows", "os.version": "10.0.20348.2227"}
```

How to fix: rebase on ltsc2019 or newer.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge.base_images import SUPPORTED_WINDOWS_BUILD as SUPPORTED_BUILD
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT206"
NAME = "image-old-windows"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "A Windows image older than ltsc2019 (os.version build < 17763)."
HINT = "Rebase on ltsc2019 or newer, e.g. mcr.microsoft.com/windows/servercore:ltsc2022."
SARIF_SCORE = SarifScore("8.0", "very-high")


def windows_build(os_version: str | None) -> int | None:
    parts = (os_version or "").split(".")
    if len(parts) >= 3 and parts[2].isdigit():
        return int(parts[2])
    return None


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    if target.os != "windows":
        return
    build = windows_build(target.os_version)
    if build is not None and build < SUPPORTED_BUILD:
        yield problem_at(
            target.at("FROM"),
            f"the image is Windows {target.os_version} (build {build}): Octopus "
            f"supports Windows execution containers from ltsc2019 (build {SUPPORTED_BUILD}) on",
        )
