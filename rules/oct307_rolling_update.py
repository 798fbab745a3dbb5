"""OCT307 rolling-update: the Octopus Server workload is updated with RollingUpdate.

A new Octopus version upgrades the database schema when it starts. A rolling
update replaces nodes one at a time, so old and new versions run against one
schema: at best unpredictable, at worst corrupted data. A StatefulSet uses
`RollingUpdate` unless `updateStrategy` says otherwise, and has no
`Recreate`; with more than one replica, use `OnDelete` and delete the old
pods (or the StatefulSet) to upgrade. A Deployment's default rolling update
starts the new pod before the old one stops, even with one replica: use
`Recreate`.

Fails:

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: octopus
spec:
  selector:
    matchLabels:
      app: octopus
  template:
    metadata:
      labels:
        app: octopus
    spec:
      containers:
        - name: octopus
          image: octopusdeploy/octopusdeploy:2024.1
```

Passes:

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: octopus
spec:
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app: octopus
  template:
    metadata:
      labels:
        app: octopus
    spec:
      containers:
        - name: octopus
          image: octopusdeploy/octopusdeploy:2024.1
```

How to fix: StatefulSet: `updateStrategy: {type: OnDelete}`, and upgrade by
stopping every node (scale to 0, or delete the StatefulSet) before starting
the new version. Deployment: `strategy: {type: Recreate}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore

ID = "OCT307"
NAME = "rolling-update"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "The Octopus Server is updated with RollingUpdate: two versions share one schema."
HINT = "StatefulSet: updateStrategy type OnDelete; Deployment: strategy type Recreate."
SARIF_SCORE = SarifScore("7.0", "high")  # two versions on one schema


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for workload, _server in target.octopus_workloads():
        if workload.kind == "StatefulSet" and workload.replicas <= 1:
            continue  # one pod is stopped before the new one starts: no overlap
        if workload.kind not in ("StatefulSet", "Deployment"):
            continue
        if workload.strategy not in (None, "RollingUpdate"):
            continue
        how = "uses RollingUpdate" if workload.strategy else "defaults to RollingUpdate"
        yield Problem(
            message=f"{workload.kind} '{workload.name}' {how}: during an upgrade old and new "
            "Octopus versions run against one database schema",
            span=workload.strategy_span or workload.span,
            path=workload.path,
        )
