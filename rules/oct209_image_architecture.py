"""OCT209 image-architecture: an architecture Calamari has no build for.

Calamari is published for linux-x64, linux-arm64 and linux-arm (and Windows
x64). An image for any other architecture (386, ppc64le, s390x, riscv64...)
cannot run it, nor can an `arm/v5` or `arm/v6` one (.NET's linux-arm needs
ARMv7 with hardware floating point) or a Windows image for anything but amd64.

Fails: an image for `linux/s390x`.

Passes: an image for `linux/amd64` or `linux/arm64`.

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "architecture": "s390x"}
```

Passes:

```image
{"base": "debian", "architecture": "arm64"}
```

How to fix: build the image for amd64, arm64 or arm (`docker build --platform
linux/amd64`).
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT209"
NAME = "image-architecture"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "The image's architecture is not one Calamari is built for (amd64, arm64, arm)."
HINT = "Build the image for linux/amd64, linux/arm64 or linux/arm."
SARIF_SCORE = SarifScore("8.0", "very-high")
SUPPORTED = ("amd64", "arm64", "arm")
_OLD_ARM = ("v5", "v6")  # before ARMv7: no .NET build
WINDOWS = ("amd64",)


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    architecture, variant = target.architecture, target.variant
    supported = WINDOWS if target.os == "windows" else SUPPORTED
    if architecture in supported and not (architecture == "arm" and variant in _OLD_ARM):
        return
    shown = "/".join(p for p in (target.os, architecture, variant) if p)
    built = "amd64" if target.os == "windows" else "amd64, arm64 and arm/v7"
    yield problem_at(
        target.at("FROM"),
        f"the image is for {shown}: Calamari is built for {built} only",
    )
