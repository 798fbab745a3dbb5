"""OCT302 eula-not-accepted: `ACCEPT_EULA` is not `Y` for Octopus Server or SQL Server.

Both images stop at start-up unless their licence is accepted with
`ACCEPT_EULA=Y`. The published Compose `.env` sets `ACCEPT_EULA=N` and
`ACCEPT_OCTOPUS_EULA=N` on purpose, so that nobody accepts a licence
without reading it; left as they are, `docker compose up` starts containers
that exit at once.

The check reads the containers' `ACCEPT_EULA` after `.env` interpolation
(the Compose example maps `ACCEPT_OCTOPUS_EULA` onto the Octopus
container's `ACCEPT_EULA`); the finding names the `.env` line the value came
from. A value from a variable set nowhere, or from a Secret that is not among the
files, is not reported. SQL Server is recognised by its current images
(`mcr.microsoft.com/mssql/server`, `azure-sql-edge`) and the older Docker Hub
ones (`microsoft/mssql-server-linux`, `microsoft/mssql-server-windows-express`,
`-developer`).

The Windows Octopus Server image (before 2020.3: a Windows image, `C:\\`
mounts, or its settings such as `sqlDbConnectionString`) has no licence
switch: its start-up scripts read none
(https://github.com/OctopusDeploy/Octopus-Docker, `Server/Scripts/configure.ps1`),
so its container is not asked for one.

Fails:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1
    privileged: true
    environment:
      ACCEPT_EULA: "N"
```

Passes:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1
    privileged: true
    environment:
      ACCEPT_EULA: "Y"
```

How to fix: read the Octopus Deploy EULA (https://octopus.com/company/legal)
and the SQL Server one, then set `ACCEPT_OCTOPUS_EULA=Y` and `ACCEPT_EULA=Y`
(in `.env` for Compose, or `value: "Y"` in the manifest).
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore, problem_at

ID = "OCT302"
NAME = "eula-not-accepted"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "ACCEPT_EULA is not Y for Octopus Server or SQL Server: the container exits."
HINT = "Read the EULA, then set ACCEPT_EULA (ACCEPT_OCTOPUS_EULA in the Compose .env) to Y."
SARIF_SCORE = SarifScore("8.0", "very-high")  # the containers exit at once


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for product, containers in (("Octopus Server", target.octopus_servers()),
                                ("SQL Server", target.sql_servers())):  # fmt: skip
        for container in containers:
            if product == "Octopus Server" and container.windows:
                continue  # the Windows image asks for no EULA
            value = container.env.get("ACCEPT_EULA")
            if value is None and container.lacks("ACCEPT_EULA"):
                yield problem_at(container, f"{product} container '{container.name}' has no "
                                 "ACCEPT_EULA: it exits at start-up")  # fmt: skip
            elif value is not None and value.known and (value.text or "").strip().upper() != "Y":
                shown = "not 'Y'" if value.secret else f"'{value.text}'"  # a Secret's: unsaid
                yield problem_at(value, f"ACCEPT_EULA is {shown}{value.origin}, not 'Y': "
                                 f"{product} exits at start-up")  # fmt: skip
