"""OCT305 privileged-dind: `privileged` does not match whether Docker-in-Docker is on.

The Octopus Server Linux image runs a Docker daemon inside the container
(Docker-in-Docker), so that execution containers work on the built-in
worker. It is on by default and needs the container to be `privileged`;
without it the daemon fails and every step that uses an execution container
fails (an error). With `DISABLE_DIND=Y` the daemon is off, and `privileged`
only hands the container full control of the host (a warning).

Read from `privileged:` (Compose) or `securityContext.privileged`
(Kubernetes) and the container's `DISABLE_DIND`.

Not checked on Windows containers (a Windows image, `C:\\` mounts, or the
Windows Octopus Server image's settings such as `sqlDbConnectionString`):
the Windows image has no Docker-in-Docker, and Windows containers have no
privileged mode (https://learn.microsoft.com/en-us/virtualization/windowscontainers/manage-containers/container-security).

Fails:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1
    environment:
      ACCEPT_EULA: "Y"
```

Passes:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1
    environment:
      ACCEPT_EULA: "Y"
      DISABLE_DIND: "Y"
```

How to fix: set `privileged: true` (`securityContext.privileged: true`) if
you use execution containers on the built-in worker; otherwise set
`DISABLE_DIND=Y` and drop `privileged`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.deploy.target import is_true, is_yes
from octolint.plugin import DeployTarget, Options, Problem, SarifScore, Severity, problem_at

ID = "OCT305"
NAME = "privileged-dind"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "Docker-in-Docker is on but the container is not privileged, or off but privileged."
HINT = "privileged: true for Docker-in-Docker; or DISABLE_DIND=Y without privileged."
SARIF_SCORE = SarifScore("7.0", "high")  # execution containers fail, or host control


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for container in target.octopus_servers():
        if container.windows:
            continue  # no Docker-in-Docker, no privileged mode
        disable = container.env.get("DISABLE_DIND")
        if (disable is None and not container.lacks("DISABLE_DIND")) or (
            disable is not None and not disable.known
        ):
            continue  # from a Secret, an envFrom or an unset variable: cannot tell
        privileged = container.privileged
        if privileged is not None and not privileged.known:
            continue
        if is_yes(disable) and is_true(privileged):
            assert privileged is not None
            yield problem_at(privileged, "privileged is set but DISABLE_DIND=Y turns "
                             "Docker-in-Docker off: the container gets full control of the host "
                             "for nothing", severity=Severity.WARNING)  # fmt: skip
        elif not is_yes(disable) and not is_true(privileged):
            where = privileged if privileged is not None else container
            yield problem_at(where, "Docker-in-Docker is on (DISABLE_DIND is not Y) but the "
                             "container is not privileged: the inner Docker daemon cannot start "
                             "and execution-container steps fail")  # fmt: skip
