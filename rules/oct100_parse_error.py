"""OCT100 parse-error: the Dockerfile cannot be parsed.

`docker build` refuses a Dockerfile it cannot parse, so nothing else about
it can be checked. octolint reads Dockerfiles the way the Dockerfile frontend
of BuildKit v0.32.2 (frontend 1.26.0) does, in its two steps, and this fires
at the first line where that build would stop, with BuildKit's message:

- the line parser: an unterminated heredoc, a JSON array holding something
  other than strings, a line of 64 KiB or more, a repeated or invalid parser
  directive (`# escape=`, `# syntax=`, `# check=`), an invalid `# check=`
  value, an empty file, a file with no instructions, a file saved as UTF-16;
- the instruction parser: an unknown instruction (`unknown instruction: foo`),
  a missing or extra argument (`WORKDIR requires exactly one argument`,
  `COPY requires at least two arguments...`), an unknown, repeated or
  malformed flag (`unknown flag: --chow (did you mean chown?)`), an invalid
  `RUN --network`/`--security`/`--mount`/`--device` value, a bad `HEALTHCHECK`
  type or duration, `ONBUILD FROM`/`ONBUILD ONBUILD`, a heredoc as `COPY`
  destination, a bad stage name, an instruction other than `ARG` before the
  first `FROM`, a file without `FROM`.

Values BuildKit only reads while building a stage (variables, most `--mount`
options) are left to the build.

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
