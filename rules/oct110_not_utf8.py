"""OCT110 not-utf8: the Dockerfile is not valid UTF-8.

BuildKit reads a Dockerfile as bytes, so a file saved as Latin-1 or
Windows-1252 (what many Windows editors call "ANSI") still builds, and
octolint lints it the same way, byte for byte. But the bytes reach the
image as they are: `LABEL maintainer="José"` saved as Latin-1 gives a label
that is not valid UTF-8, shown as `Jos�` by Docker, Octopus and most tools.
This note names the first such byte. Only a binary file (NUL bytes, which
is also what UTF-16 or UTF-32 without a byte-order mark look like) is an
input error (exit 3); UTF-16 or UTF-32 with a byte-order mark is OCT100.

Fails (the example saved as Latin-1):

```dockerfile latin-1
FROM ubuntu:22.04
LABEL maintainer="José"
```

Passes (the same text saved as UTF-8):

```dockerfile
FROM ubuntu:22.04
LABEL maintainer="José"
```

How to fix: re-save the file as UTF-8 (in VS Code: "Save with Encoding",
UTF-8; with iconv: `iconv -f latin1 -t utf-8`).
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, Span

ID = "OCT110"
NAME = "not-utf8"
SEVERITY = "note"
APPLIES_TO = "dockerfile"
SUMMARY = "The Dockerfile is not valid UTF-8; it is linted byte for byte, as BuildKit reads it."
HINT = "Re-save the file as UTF-8: other bytes reach the image as they are."
SARIF_SCORE = SarifScore("1.0", "very-high")  # builds; text reaches the image as bytes
RUNS_ON_SYNTAX_ERROR = True  # the file was read even when it does not build


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    dockerfile = target.dockerfile
    if dockerfile is None or dockerfile.invalid_utf8 is None:
        return
    line, column, byte = dockerfile.invalid_utf8
    yield Problem(
        message=(
            f"the file is not valid UTF-8 (byte 0x{byte:02x} at line {line}, column {column}); "
            "linted byte for byte, as BuildKit reads it"
        ),
        span=Span(line=line, column=column, end_line=line, end_column=column),
    )
