"""OCT300 deploy-parse-error: a Compose file, `.env` or manifest that cannot be read.

`docker compose` and `kubectl` refuse a file that is not valid YAML, a
Compose file whose interpolation fails (`${VAR:?message}` with VAR unset or
empty, a lone `$`), and a `.env` file with a malformed line. The finding
points at the line they would complain about; the other files of the run
are still checked.

Fails:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1
    environment:
      MASTER_KEY: ${MASTER_KEY:?set MASTER_KEY in .env}
```

Passes:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1
    environment:
      DISABLE_DIND: "Y"
```

How to fix: correct the YAML at the line shown; write a literal `$` as `$$`
in Compose files; define variables that are marked required.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore

ID = "OCT300"
NAME = "deploy-parse-error"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "A Compose file, .env file or Kubernetes manifest cannot be read."
HINT = "Fix the file at the line shown; Compose and kubectl refuse it as it is."
SARIF_SCORE = SarifScore("8.0", "very-high")  # docker compose / kubectl refuse the file
RUNS_ON_SYNTAX_ERROR = True


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for file in target.broken_files():
        what = {"compose": "Compose file", "dotenv": ".env file"}.get(file.kind, "manifest")
        yield Problem(message=f"{what} cannot be read: {file.error}", span=file.error_span,
                      path=file.path)  # fmt: skip
