"""OCT205 image-dotnet-deps: a .NET native dependency is missing from the image.

A .NET self-contained program such as Calamari needs, besides glibc and ICU:
`libstdc++.so.6`, `libgcc_s.so.1`, `libz.so.1` and an OpenSSL (`libssl.so.3`,
`.1.1`, `.1.0.2`, `.1.0.0` or `.10`). Each is looked up as the dynamic loader
would. The message lists everything missing and the packages that provide it
on the image's distribution. A missing `libgssapi_krb5.so.2` is reported as a
note: only Kerberos authentication needs it.

Fails: an image built from

```dockerfile
FROM debian:bookworm-slim
RUN apt-get purge -y --allow-remove-essential zlib1g
```

Passes: an image built from

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime-deps:8.0
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "layers": [
  {"/usr/lib/x86_64-linux-gnu/libz.so.1": {"whiteout": true}}
]}
```

Passes:

```image
{"base": "debian"}
```

How to fix: install the packages the message names; the fix names the
command for the image's distribution, e.g. on Debian
`RUN apt-get update && apt-get install -y --no-install-recommends zlib1g`,
on Fedora/UBI `RUN dnf install -y zlib`, on Alpine `RUN apk add --no-cache zlib`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge.dotnet import KERBEROS, PACKAGES, REQUIRED, install_step
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, Severity, problem_at

ID = "OCT205"
NAME = "image-dotnet-deps"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "A .NET native dependency (libstdc++, libgcc_s, zlib, OpenSSL) is missing."
HINT = "Install the packages that provide the missing libraries (see the message)."
SARIF_SCORE = SarifScore("8.0", "very-high")


def _package_note(target: ImageTarget, missing: list[str]) -> str:
    names = PACKAGES.get(target.distro_family)
    if not names:
        return ""
    return (
        f" (on {target.distro or target.distro_family}: install "
        + ", ".join(names[m] for m in missing if m in names)
        + ")"
    )


def _fix(target: ImageTarget, missing: list[str]) -> str | None:
    """The Dockerfile line that installs what is missing on the image's distribution."""
    names = PACKAGES.get(target.distro_family, {})
    step = install_step(target.distro_family, [names[m] for m in missing if m in names])
    return f"add `{step}` to the Dockerfile." if step else None


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    if target.fs is None or target.os != "linux" or target.loader() is None:
        return  # no loader at all is OCT203's finding
    missing = [
        library.label for library in REQUIRED
        if not any(target.library(s) for s in library.sonames)
    ]  # fmt: skip
    if missing:
        yield problem_at(
            target.at("FROM"),
            "the dynamic loader cannot find "
            + ", ".join(missing)
            + ": Calamari would not start"
            + _package_note(target, missing),
            hint=_fix(target, missing),
        )
    if target.library(KERBEROS) is None:
        yield problem_at(
            target.at("FROM"),
            f"{KERBEROS} is not reachable: only steps that use Kerberos "
            "authentication need it" + _package_note(target, [KERBEROS]),
            severity=Severity.NOTE,
            hint=_fix(target, [KERBEROS]),
        )
