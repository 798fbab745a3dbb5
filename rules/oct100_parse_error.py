"""OCT100 parse-error: the Dockerfile cannot be parsed.

`docker build` refuses a Dockerfile it cannot parse, so nothing else about
it can be checked. octolint reads Dockerfiles the way BuildKit does, so this
fires exactly where a build would stop: an unterminated heredoc, an unknown
instruction, an instruction other than `ARG` before the first `FROM`, a
JSON array holding something other than strings, a file with no
instructions, or a file saved as UTF-16.

Fails:

```dockerfile
FROM ubuntu:22.04
RUN <<END
apt-get update
```

Passes:

```dockerfile
FROM ubuntu:22.04
RUN <<END
apt-get update
END
```

How to fix: correct the line named in the message; `docker build` shows
the same error.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, Span

ID = "OCT100"
NAME = "parse-error"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "The Dockerfile cannot be parsed."
HINT = "Fix the syntax at this line; docker build stops here too."
SARIF_SCORE = SarifScore("8.0", "very-high")  # docker build refuses the file
RUNS_ON_SYNTAX_ERROR = True


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    error = target.syntax_error
    if error is not None:
        yield Problem(message=error.message, span=Span(line=error.line, column=error.column))
