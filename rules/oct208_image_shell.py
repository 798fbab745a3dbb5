"""OCT208 image-shell: no /bin/sh (error), or no bash on PATH (warning).

Octopus starts Calamari and runs Bash script steps through a shell. Without
`/bin/sh` nothing runs; without `bash` on the image's PATH, Bash script steps
fail. Linux images only.

Fails: an image built from

```dockerfile
FROM gcr.io/distroless/cc-debian12
```

Passes: an image built from

```dockerfile
FROM debian:bookworm-slim
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"config": {"Env": ["PATH=/usr/bin:/bin"]},
 "layers": [{"/usr/bin/true": {"exe": ""}}]}
```

Passes:

```image
{"base": "debian"}
```

How to fix: use a base image with a shell; install bash (`apt-get install
bash`, `dnf install bash`) for Bash steps.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import ImageTarget, Options, Problem, SarifScore, Severity, problem_at

ID = "OCT208"
NAME = "image-shell"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "The image has no /bin/sh (error) or no bash on PATH (warning)."
HINT = "Use a base image with a shell, and install bash for Bash script steps."
SARIF_SCORE = SarifScore("8.0", "very-high")


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    fs = target.fs
    if fs is None or target.os != "linux":
        return
    if not fs.is_executable("/bin/sh"):
        yield problem_at(
            target.at("FROM"), "the image has no /bin/sh: Octopus cannot start anything in it"
        )
    if target.which("bash") is None:
        yield problem_at(
            target.at("FROM"),
            f"no bash on the image's PATH ({':'.join(target.path_dirs) or 'unset'}): "
            "Bash script steps would fail",
            severity=Severity.WARNING,
        )
