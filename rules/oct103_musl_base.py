"""OCT103 musl-base: the final stage's base image is musl-based (Alpine and friends).

Calamari, the tool Octopus runs inside an execution container, is a .NET
self-contained program built for the GNU C library (glibc) only. On a musl
distribution such as Alpine it cannot start. Octopus's documentation: "Linux
distributions built on musl, most notably Alpine, do not support Calamari,
and cannot be used as a container image."

The base image is found by following the final stage through stage aliases
and expanding `ARG` defaults (and `--build-arg` values); when it cannot be
known, this rule says nothing. An image counts as musl-based when its name or
tag says `alpine` or `musl`, or it is a known musl image (`busybox:*musl*`,
Void Linux musl, Chimera Linux, postmarketOS), or a well-known image built on
Alpine (`hashicorp/terraform`, `docker`, `alpine/helm`: the table in
`octolint/knowledge/base_images.py`), or it matches the option `musl-images`.
A variable left unknown in the tag does not hide the rest of it:
`runtime:7.0-alpine-${PLATFORM}` is Alpine whatever `PLATFORM` is.

Fails:

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-alpine
RUN apk add --no-cache icu-libs
```

Fails:

```dockerfile
ARG PLATFORM
FROM mcr.microsoft.com/dotnet/runtime:7.0-alpine-${PLATFORM}
```

Passes:

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-bookworm-slim
```

How to fix: build on a glibc distribution (Debian, Ubuntu, Fedora, RHEL UBI)
or on `octopusdeploy/worker-tools`. Installing `libc6-compat`/`gcompat` on
Alpine is not enough: it only emulates part of glibc.

Options (in `[tool.octolint.rules.OCT103]` or `[rules.OCT103]`):

- `musl-images`: extra image names (glob patterns such as
  `"myorg/tiny-*"`) to treat as musl-based.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from octolint.imageref import ImageRef
from octolint.knowledge.base_images import MUSL_IMAGES, MUSL_TAGGED, MUSL_WORD, facts
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, list_of, problem_at

ID = "OCT103"
NAME = "musl-base"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "The final base image is musl-based (e.g. Alpine); Calamari needs glibc."
HINT = "Build on a glibc distribution (Debian, Ubuntu, Fedora, UBI) or octopusdeploy/worker-tools."
SARIF_SCORE = SarifScore("8.0", "high")  # musl: Calamari cannot start
OPTIONS = {"musl-images": list_of(str, default=[])}



def is_musl(ref: ImageRef, extra: list[str]) -> bool:
    name, tag = ref.short_name, ref.tag
    # the name too, past its registry: mhart/alpine-node, linuxserver/baseimage-alpine
    if MUSL_WORD.search(tag or "") or MUSL_WORD.search(ref.repository):
        return True
    if name == MUSL_TAGGED and tag and "musl" in tag:
        return True
    patterns = (*MUSL_IMAGES, *extra)
    if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
        return True
    return facts(name, tag).libc == "musl"


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    found = target.build.base_image()
    if found is None:
        return
    stage, ref = found
    if is_musl(ref, list(options["musl-images"])):
        yield problem_at(
            stage.from_instruction,
            f"the final image is based on {ref}, a musl-based image: Calamari is built "
            "for glibc only and cannot run on it",
            target.build.final,
        )
