"""OCT204 image-icu: no ICU library reachable in the image.

.NET, and so Calamari, needs ICU (`libicuuc.so.N`, N >= 50) for
globalization unless `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT` is `1` or
`true`. Without it every step dies with "Couldn't find a valid ICU package
installed on the system". The library is looked up as the dynamic loader
would: `LD_LIBRARY_PATH` from the image's Env, `/etc/ld.so.cache`, and the
default and multiarch directories, after every layer's additions and
deletions.

Fails: an image built from

```dockerfile
FROM debian:bookworm-slim
```

Passes: an image built from

```dockerfile
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libicu72
```

How to fix: install the distribution's ICU package (`libicu72` on Debian 12,
`libicu74` on Ubuntu 24.04, `libicu` on Fedora/UBI) or set
`ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT204"
NAME = "image-icu"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "No ICU library (libicuuc.so.N) is reachable and invariant globalization is off."
HINT = "Install libicu, or set ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1."
SARIF_SCORE = SarifScore("8.0", "very-high")
MIN_ICU = 50
_ICU = re.compile(r"^libicuuc\.so\.(\d+)$")


def icu_versions(target: ImageTarget) -> dict[int, str]:
    """ICU major version -> the path the loader would use."""
    found = target.libraries_matching(_ICU.pattern)
    versions = {}
    for soname, path in found.items():
        match = _ICU.match(soname)
        if match and int(match.group(1)) >= MIN_ICU:
            versions[int(match.group(1))] = path
    return versions


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    if target.fs is None or target.os != "linux":
        return
    invariant = target.env.get("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "").strip().lower()
    if invariant in ("1", "true") or icu_versions(target):
        return
    yield problem_at(
        target.at("FROM"),
        "no libicuuc.so.N (N >= 50) is reachable by the dynamic loader and "
        "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT is not set: Calamari would fail with "
        '"Couldn\'t find a valid ICU package installed on the system"',
    )
