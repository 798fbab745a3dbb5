"""OCT204 image-icu: no ICU library reachable in the image.

.NET, and so Calamari, needs ICU (`libicuuc.so.N` and `libicui18n.so.N` of the
same N >= 50: .NET passes over a version without both) for globalization
unless `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT` is exactly `1` or `true` (any
case, no spaces around: .NET does not trim it). Without it every step dies
with "Couldn't find a valid ICU package installed on the system". The
libraries are looked up as the dynamic loader would: `LD_LIBRARY_PATH` from the
image's Env, `/etc/ld.so.cache`, and the default and multiarch directories,
after every layer's additions and deletions.

Fails: an image built from

```dockerfile
FROM debian:bookworm-slim
```

Passes: an image built from

```dockerfile
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libicu72
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "layers": [
  {"/usr/lib/x86_64-linux-gnu/libicuuc.so.72": {"whiteout": true}}
]}
```

Passes:

```image
{"base": "debian", "config": {"Env": ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1"]},
 "layers": [{"/usr/lib/x86_64-linux-gnu/libicuuc.so.72": {"whiteout": true}}]}
```

How to fix: install the distribution's ICU package (`libicu72` on Debian 12,
`libicu74` on Ubuntu 24.04, `libicu` on Fedora/UBI and openSUSE, `icu-libs` on
Alpine) or set `ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1`. The fix names the
command for the image's distribution, e.g.
`RUN apt-get update && apt-get install -y --no-install-recommends libicu72`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge import icu
from octolint.knowledge.dotnet import install_step
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT204"
NAME = "image-icu"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "No ICU (libicuuc.so.N with libicui18n.so.N) is reachable; invariant mode is off."
HINT = f"Install libicu, or set ENV {icu.INVARIANT_ENV}=1."
SARIF_SCORE = SarifScore("8.0", "very-high")


def icu_versions(target: ImageTarget) -> dict[int, str]:
    """ICU major version -> the path the loader would use, for the versions whose
    libicui18n.so.N is reachable too: .NET loads libicuuc.so.N, then libicui18n.so.N of
    the same N, and passes over a version that lacks it (dotnet/runtime pal_icushim.c)."""
    found = target.libraries_matching(icu.SONAME.pattern)
    return {v: path for soname, path in found.items()
            if (v := icu.version(soname)) is not None
            and target.library(f"{icu.I18N_PREFIX}{v}") is not None}  # fmt: skip


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    if target.fs is None or target.os != "linux":
        return
    if icu.invariant(target.env) or icu_versions(target):
        return
    yield problem_at(
        target.at("FROM"),
        f"no libicuuc.so.N with its libicui18n.so.N (N >= {icu.MIN_VERSION}) is reachable by "
        f"the dynamic loader and {icu.INVARIANT_ENV} is not 1 or true: Calamari would fail with "
        '"Couldn\'t find a valid ICU package installed on the system"',
        hint=_fix(target),
    )


def _fix(target: ImageTarget) -> str | None:
    """The install step for the image's distribution, or the invariant-mode switch."""
    package = icu.package(target.distro_family, target.os_release)
    step = install_step(target.distro_family, [package]) if package else None
    if step is None:
        return None  # the rule's HINT
    return f"add `{step}` to the Dockerfile, or set ENV {icu.INVARIANT_ENV}=1."
