"""OCT210 image-old-glibc: glibc older than 2.23, .NET 8's minimum.

.NET 8 (and so current Calamari) needs glibc 2.23 or newer. The version is
read from the C library the dynamic loader would use (`libc.so.6`), not from
the distribution's name.

Fails: an image built from

```dockerfile
FROM centos:6
```

Passes: an image built from

```dockerfile
FROM debian:bookworm-slim
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "layers": [{"/lib/x86_64-linux-gnu/libc.so.6":
  "GNU C Library (GLIBC 2.17) stable release version 2.17."}]}
```

Passes:

```image
{"base": "debian"}
```

How to fix: use a newer distribution release (Debian 9+, Ubuntu 16.04+, RHEL 8+).
"""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import InvalidVersion, Version

from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT210"
NAME = "image-old-glibc"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "glibc older than 2.23 (the minimum for .NET 8)."
HINT = "Use a newer distribution release."
SARIF_SCORE = SarifScore("8.0", "very-high")
MINIMUM = Version("2.23")


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    fs = target.fs
    if fs is None or target.os != "linux":
        return
    libc = target.library("libc.so.6")
    version = fs.fact(libc, "glibc") if libc else None
    if not libc or not version:
        return
    try:
        if Version(version) >= MINIMUM:
            return
    except InvalidVersion:
        return
    yield problem_at(
        target.at("FROM", file=libc),
        f"glibc {version} ({libc}) is older than {MINIMUM}, the "
        ".NET 8 minimum: Calamari cannot run",
    )
