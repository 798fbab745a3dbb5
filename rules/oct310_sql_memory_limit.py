"""OCT310 sql-memory-limit: SQL Server runs without a memory limit.

SQL Server takes 80% of the memory it sees, and in a container it sees the
whole host: Octopus Server beside it is starved, or the kernel kills one of
them. The published Compose file sets `MSSQL_MEMORY_LIMIT_MB: 2048` for this
reason; the published Kubernetes Deployment sets nothing.

Counts as a limit: `MSSQL_MEMORY_LIMIT_MB`, Compose `mem_limit` or
`deploy.resources.limits.memory`, Kubernetes `resources.limits.memory`. A
SQL Server container is one running `mcr.microsoft.com/mssql/server` (or
`azure-sql-edge`), or one with an `SA_PASSWORD` whose image is not known.

Fails:

```yaml
services:
  db:
    image: mcr.microsoft.com/mssql/server:2022-latest
    environment:
      ACCEPT_EULA: "Y"
```

Passes:

```yaml
services:
  db:
    image: mcr.microsoft.com/mssql/server:2022-latest
    environment:
      ACCEPT_EULA: "Y"
      MSSQL_MEMORY_LIMIT_MB: 2048
```

How to fix: set `MSSQL_MEMORY_LIMIT_MB` (SQL Server's own cap), and a
container memory limit a little above it.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore, problem_at

ID = "OCT310"
NAME = "sql-memory-limit"
SEVERITY = "warning"
APPLIES_TO = "deploy"
SUMMARY = "SQL Server has no memory limit: it takes 80% of the host and starves Octopus."
HINT = "Set MSSQL_MEMORY_LIMIT_MB and a container memory limit."
SARIF_SCORE = SarifScore("4.0", "medium")


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for container in target.sql_servers():
        if container.memory_limit is not None or "MSSQL_MEMORY_LIMIT_MB" in container.env:
            continue
        yield problem_at(container, f"SQL Server container '{container.name}' has no memory "
                         "limit: it takes 80% of the host's memory")  # fmt: skip
