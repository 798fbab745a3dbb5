"""OCT311 ephemeral-data-volume: an `emptyDir` holds the packages, artifacts or task logs.

The Octopus Server keeps the built-in package repository (`/repository`),
artifacts (`/artifacts`) and task logs (`/taskLogs`) on disk, not in the
database. An `emptyDir` lives as long as the pod on its node: every
reschedule, node drain, eviction or upgrade deletes it
(https://kubernetes.io/docs/concepts/storage/volumes/#emptydir), so the
packages pushed to the built-in feed, the artifacts and every task log are
gone, even with a single replica. OCT306 covers what is missing with several
replicas; this covers what is thrown away with one.

Fails:

```yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  serviceName: octopus
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
          volumeMounts:
            - name: repository
              mountPath: /repository
      volumes:
        - name: repository
          emptyDir: {}
```

Passes:

```yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  serviceName: octopus
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
          volumeMounts:
            - name: repository
              mountPath: /repository
      volumes:
        - name: repository
          persistentVolumeClaim:
            claimName: octopus-repository
```

How to fix: mount a PersistentVolumeClaim at `/repository`, `/artifacts`
and `/taskLogs` (`ReadWriteMany` with more than one replica).
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore

ID = "OCT311"
NAME = "ephemeral-data-volume"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "An emptyDir at /repository, /artifacts or /taskLogs: lost at every reschedule."
HINT = "Mount a PersistentVolumeClaim there instead of an emptyDir."
SARIF_SCORE = SarifScore("7.0", "high")  # packages, artifacts, task logs deleted

DATA = ("/repository", "/artifacts", "/taskLogs")


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for workload, server in target.octopus_workloads():
        lost = [path for path in DATA
                if workload.volume_sources.get(server.mounts.get(path, "")) == "emptyDir"]
        if lost:
            yield Problem(message=f"{workload.kind} '{workload.name}' keeps {', '.join(lost)} "
                          "in an emptyDir: every reschedule, drain or upgrade deletes "
                          f"{'it' if len(lost) == 1 else 'them'}", span=server.span,
                          path=server.path)  # fmt: skip
