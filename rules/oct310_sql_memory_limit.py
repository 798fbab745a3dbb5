"""OCT310 sql-memory-limit: SQL Server runs without a memory limit.

SQL Server takes 80% of the memory it sees, and in a container it sees the
whole host: Octopus Server beside it is starved, or the kernel kills one of
them. The published Compose file sets `MSSQL_MEMORY_LIMIT_MB: 2048` for this
reason; the published Kubernetes Deployment sets nothing.

Counts as a limit: `MSSQL_MEMORY_LIMIT_MB`, Compose `mem_limit` or
`deploy.resources.limits.memory`, Kubernetes `resources.limits.memory`. A
SQL Server container is one running `mcr.microsoft.com/mssql/server` (or
`azure-sql-edge`, or the older `microsoft/mssql-server-linux` and
`microsoft/mssql-server-windows-express`), or one with an `SA_PASSWORD`
(`sa_password`) whose image is not known.

SQL Server Express is not reported: its buffer pool is capped at 1410 MB
whatever the host has ("Compute capacity limits by edition of SQL Server",
https://learn.microsoft.com/en-us/sql/sql-server/compute-capacity-limits-by-edition-of-sql-server).
Express is an `-express` image or `MSSQL_PID=Express`.

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

from octolint.deploy.target import Container
from octolint.plugin import DeployTarget, Options, Problem, SarifScore, problem_at

ID = "OCT310"
NAME = "sql-memory-limit"
SEVERITY = "warning"
APPLIES_TO = "deploy"
SUMMARY = "SQL Server (not Express) has no memory limit: it takes 80% of the host memory."
HINT = "Set MSSQL_MEMORY_LIMIT_MB and a container memory limit."
SARIF_SCORE = SarifScore("4.0", "medium")


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for container in target.sql_servers():
        if container.memory_limit is not None or not container.lacks("MSSQL_MEMORY_LIMIT_MB"):
            continue
        if _express(container):
            continue  # capped at 1410 MB of buffer pool by its edition
        yield problem_at(container, f"SQL Server container '{container.name}' has no memory "
                         "limit: it takes 80% of the host's memory")  # fmt: skip


def _express(container: Container) -> bool:
    ref = container.image_ref
    if ref is not None and "express" in f"{ref.repository}:{ref.tag or ''}".lower():
        return True
    return (container.env_text("MSSQL_PID") or "").strip().lower() == "express"
