"""OCT303 master-key: the Octopus Server has no `MASTER_KEY`, or the published sample one.

Octopus encrypts sensitive values in its database with the master key. When
`MASTER_KEY` is empty, the container generates one when it creates the
database and keeps it inside the container: rebuild or reschedule the
container and the new one cannot read the database (a warning). The key in
the published Kubernetes example (`6EdU6IWsCtMEwk0kPKflQQ==`) and the one in
the Octopus documentation's examples (`U9ZrQR98uLXyz4CXJzUuCA==`) protect
nothing, and a value that is not 16 bytes of base64 (`GENERATE_ME`,
`MASTER_KEY_HERE`, a 32-byte key) stops the server at start-up: Octopus
reads the key as base64 of a 128-bit AES key (`openssl rand -base64 16`,
https://octopus.com/docs/installation/octopus-server-linux-container)
(errors). A key from a Kubernetes Secret of the same input is decoded and
checked alike. The key itself is never printed.

The Windows Octopus Server image (before 2020.3) reads `masterKey`, and when
none is given writes the key it generates into `C:\\MasterKey`: with a
volume mounted there the key outlives the container, so no warning
(https://github.com/OctopusDeploy/Octopus-Docker, `Server/docker-compose.yml`).

Fails:

```yaml
apiVersion: v1
kind: Pod
metadata:
  name: octopus
spec:
  containers:
    - name: octopus
      image: octopusdeploy/octopusdeploy:2024.1
      env:
        - name: MASTER_KEY
          value: 6EdU6IWsCtMEwk0kPKflQQ==
```

Passes:

```yaml
apiVersion: v1
kind: Pod
metadata:
  name: octopus
spec:
  containers:
    - name: octopus
      image: octopusdeploy/octopusdeploy:2024.1
      env:
        - name: MASTER_KEY
          valueFrom:
            secretKeyRef:
              name: octopus
              key: master-key
```

How to fix: generate a key once (`openssl rand -base64 16`), store it
outside the repository (a Kubernetes Secret, an uncommitted `.env`) and back
it up with the database. For an existing database, use the key it was
created with (Octopus Manager, or `Octopus.Server show-master-key`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

from octolint.deploy.target import Container
from octolint.plugin import DeployTarget, Options, Problem, SarifScore, Severity, problem_at

ID = "OCT303"
NAME = "master-key"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "MASTER_KEY is empty (the database is lost with the container) or the published sample."
HINT = "Generate a key (openssl rand -base64 16), keep it in a Secret and back it up."
SARIF_SCORE = SarifScore("7.5", "high", security=True)  # published master key protects nothing

PUBLISHED = ("6EdU6IWsCtMEwk0kPKflQQ==", "U9ZrQR98uLXyz4CXJzUuCA==")
WINDOWS_KEY_FOLDER = "c:/masterkey"


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for container in target.octopus_servers():
        found = container.setting("MASTER_KEY", "masterKey")
        name = found[0] if found else ("masterKey" if container.windows else "MASTER_KEY")
        value = found[1] if found else None
        if value is None and not (container.lacks("MASTER_KEY") and container.lacks("masterKey")):
            continue  # perhaps from an envFrom octolint cannot read
        if value is None or value.text == "":
            if not _kept_in_volume(container):
                where = value if value is not None else container
                yield problem_at(where, f"{name} is not set: the container generates a key "
                                 "that only it knows, and a rebuilt container cannot read the "
                                 "database" + (value.origin if value else ""),
                                 severity=Severity.WARNING)  # fmt: skip
        elif value.text in PUBLISHED:
            yield problem_at(value, f"{name} is the sample key published in the Octopus "
                             f"examples{value.origin}: it protects nothing")  # fmt: skip
        elif value.text is not None and not _valid(value.text):
            yield problem_at(value, f"{name} is not a base64-encoded 16-byte key{value.origin}:"
                             " Octopus Server refuses it at start-up")  # fmt: skip


def _kept_in_volume(container: Container) -> bool:
    """The Windows image writes the key it generates into a mounted C:\\MasterKey."""
    return container.windows and any(
        path.replace("\\", "/").rstrip("/").lower() == WINDOWS_KEY_FOLDER
        for path in container.mounts
    )


def _valid(text: str) -> bool:
    try:
        return len(base64.b64decode(text.strip(), validate=True)) == 16
    except (binascii.Error, ValueError):
        return False
