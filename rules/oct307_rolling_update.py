"""OCT307 rolling-update: the Octopus Server workload is updated with RollingUpdate.

A new Octopus version upgrades the database schema when it starts. A rolling
update replaces nodes one at a time, so old and new versions run against one
schema: at best unpredictable, at worst corrupted data. A StatefulSet uses
`RollingUpdate` unless `updateStrategy` says otherwise, and has no
`Recreate`; with more than one replica, use `OnDelete` and delete the old
pods (or the StatefulSet) to upgrade. A Deployment's default rolling update
starts the new pod before the old one stops, even with one replica: use
`Recreate`.

Not reported when the same input has a Helm `pre-upgrade` hook Job
(annotation `helm.sh/hook: pre-upgrade`) that scales the StatefulSet to
zero (`kubectl scale statefulset/NAME --replicas=0`): Helm runs it to
completion before it changes the StatefulSet
(https://helm.sh/docs/topics/charts_hooks/), so no old node is left when
the new version starts. A hook that deletes the StatefulSet with
`--cascade=orphan` leaves its pods running and does not count.

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

import re
from collections.abc import Iterator

from octolint.deploy.target import Workload
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
        if any(_scales_to_zero(hook, workload) for hook in target.workloads):
            continue
        how = "uses RollingUpdate" if workload.strategy else "defaults to RollingUpdate"
        yield Problem(
            message=f"{workload.kind} '{workload.name}' {how}: during an upgrade old and new "
            "Octopus versions run against one database schema",
            span=workload.strategy_span or workload.span,
            path=workload.path,
        )


_TO_ZERO = re.compile(r"--replicas[= ]0\b")


def _scales_to_zero(hook: Workload, workload: Workload) -> bool:
    """A pre-upgrade hook Job of the same input and namespace that runs
    `kubectl scale` to 0 on this StatefulSet (by name, or on all of them)."""
    if hook.kind != "Job" or "pre-upgrade" not in hook.hooks:
        return False
    if (hook.group, hook.namespace) != (workload.group, workload.namespace):
        return False
    for line in hook.commands.splitlines():
        if "scale" in line and _TO_ZERO.search(line) and (
            workload.name in line or re.search(r"\b(statefulsets?|sts)\b.*--all", line)
        ):
            return True
    return False
