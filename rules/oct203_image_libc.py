"""OCT203 image-libc: the image's C library is not glibc.

Calamari is built for glibc only. The rule identifies the dynamic loader the
way the kernel would find it: `/lib/ld-musl-*.so.1` is musl; an
`ld-linux-*.so.*` that is a symlink to musl (Alpine's `libc6-compat` trap)
is musl too; an image with no dynamic loader at all (scratch, static
binaries only) cannot start Calamari either. Only the program interpreter path
binaries name counts (`/lib64/ld-linux-x86-64.so.2` on x86_64): the kernel opens
that one, so a loader left only in `/usr/lib/x86_64-linux-gnu`, its `/lib64`
link removed, starts nothing. Linux images only.

Fails: an image built from

```dockerfile
FROM alpine:3.20
RUN apk add --no-cache libc6-compat icu-libs
```

Passes: an image built from

```dockerfile
FROM debian:bookworm-slim
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"layers": [{
  "/lib/ld-musl-x86_64.so.1": {"exe": "musl libc (x86_64)"},
  "/lib64/ld-linux-x86-64.so.2": {"link": "/lib/ld-musl-x86_64.so.1"},
  "/bin/sh": {"exe": ""}
}]}
```

Passes:

```image
{"base": "debian"}
```

How to fix: build on a glibc distribution (Debian, Ubuntu, Fedora, UBI).
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT203"
NAME = "image-libc"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "The image's C library is not glibc (musl, or no dynamic loader at all)."
HINT = "Build on a glibc distribution such as Debian, Ubuntu, Fedora or UBI."
SARIF_SCORE = SarifScore("8.0", "very-high")


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    if target.fs is None or target.os != "linux":
        return
    loader = target.loader()
    if loader is None:
        yield problem_at(
            target.at("FROM"),
            f"the image has no dynamic loader for {target.machine} (no "
            "ld-linux-*.so.*): Calamari, a dynamically linked .NET program, cannot start",
        )
        return
    path, kind = loader
    if kind != "glibc":
        yield problem_at(
            target.at("FROM", file=path),
            f"the image's dynamic loader {path} is {kind}, not glibc: "
            "Calamari is built for glibc only",
        )
