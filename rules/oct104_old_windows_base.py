"""OCT104 old-windows-base: the final base image is Windows older than ltsc2019.

Octopus's documentation: "Octopus does not support images that are older
than ltsc2019, and while containers based on these images can still run
steps, you may run into unexpected issues." Windows Server 2016 dynamic
workers cannot run execution containers at all.

The Windows release is read from the base image's tag: `ltsc2016`,
`sac2016`, `1607`, `1709` and `1803`, and the full build numbers
`10.0.14393.*`, `10.0.16299.*` and `10.0.17134.*`, also inside compound tags
such as `4.8-windowsservercore-ltsc2016`. Release numbers such as `1709` are
only read on Windows images (servercore, nanoserver, windows, .NET
Framework or PowerShell images), so `node:1709` is not mistaken for one.
`1809`/`ltsc2019` (build 17763) and newer pass. The legacy Docker Hub
repositories `microsoft/windowsservercore` and `microsoft/nanoserver` fail
whatever the tag: every one of their tags is older than ltsc2019 (the
images moved to `mcr.microsoft.com/windows/*` with 1809).

Fails:

```dockerfile
FROM mcr.microsoft.com/windows/servercore:ltsc2016
```

Fails:

```dockerfile
# the legacy Docker Hub repository: every tag is older than ltsc2019
FROM microsoft/nanoserver
```

Passes:

```dockerfile
FROM mcr.microsoft.com/windows/servercore:ltsc2019
```

How to fix: rebase the image on `ltsc2019` or newer (`ltsc2022`,
`ltsc2025`) and run it on a Windows Server 2019 or newer worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octolint.knowledge.base_images import (
    OLD_WINDOWS_RELEASES,
    OLD_WINDOWS_VERSIONS,
    SUPPORTED_WINDOWS_BUILD,
    WINDOWS_BUILD,
    WINDOWS_IMAGE,
    facts,
)
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT104"
NAME = "old-windows-base"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "The final base image is Windows older than ltsc2019 (build 17763)."
HINT = "Rebase on ltsc2019 or newer, e.g. mcr.microsoft.com/windows/servercore:ltsc2022."
SARIF_SCORE = SarifScore("8.0", "high")  # Windows older than ltsc2019: unsupported

SUPPORTED_BUILD = SUPPORTED_WINDOWS_BUILD


def windows_build(name: str, tag: str) -> tuple[str, int] | None:
    """(what it is, in words; its build number) for a Windows image older than
    ltsc2019, else None."""
    tokens = re.split(r"[-_]", tag.lower())
    release = next((t for t in tokens if t in OLD_WINDOWS_RELEASES), None)
    if release:
        return _release(release, OLD_WINDOWS_RELEASES[release])
    if WINDOWS_IMAGE.search(name) or WINDOWS_IMAGE.search(tag):
        version = next((t for t in tokens if t in OLD_WINDOWS_VERSIONS), None)
        if version:
            return _release(version, OLD_WINDOWS_VERSIONS[version])
    match = WINDOWS_BUILD.search(tag)
    if match and int(match.group(1)) < SUPPORTED_BUILD:
        return _release(f"10.0.{match.group(1)}", int(match.group(1)))
    newest = facts(name, tag).windows_build  # a legacy repository: no tag is new enough
    if newest is not None and newest < SUPPORTED_BUILD:
        legacy = f"from the legacy {name} repository, all of whose tags are build {newest} or older"
        return legacy, newest
    return None


def _release(release: str, build: int) -> tuple[str, int]:
    return f"Windows {release} (build {build})", build


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    found = target.build.base_image()
    if found is None:
        return
    stage, ref = found
    old = windows_build(ref.short_name, ref.tag or "")
    if old is not None:
        yield problem_at(
            stage.from_instruction,
            f"the final image is based on {ref}, {old[0]}: Octopus supports Windows "
            f"execution containers from ltsc2019 (build {SUPPORTED_BUILD}) on",
            target.build.final,
        )
