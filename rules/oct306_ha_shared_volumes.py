"""OCT306 ha-shared-volumes: several Octopus nodes without shared ReadWriteMany storage.

Octopus nodes in a high-availability cluster share three folders: the
built-in package repository (`/repository`), artifacts (`/artifacts`) and
task logs (`/taskLogs`). With more than one replica, each must be mounted
from a PersistentVolumeClaim with access mode `ReadWriteMany`: otherwise a
node cannot find a package another node received, and task logs and
artifacts go missing depending on which node serves the page. Claims from
`volumeClaimTemplates` are per pod, so never shared. A claim not among the
linted files cannot be checked and is not reported; a claim is looked up in
the workload's own input and namespace only.

An inline volume whose source is a network file system every node mounts
alike (`nfs`, `azureFile`, `cephfs`, `glusterfs`, `quobyte`,
`portworxVolume`) is shared too: the Kubernetes documentation lists these
volume plugins as supporting ReadWriteMany
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#access-modes).
An `emptyDir` or `hostPath` is per node; an `emptyDir` there is also lost at
every reschedule, which OCT311 reports even for one replica.

Fails:

```yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  replicas: 2
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
```

Passes:

```yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  replicas: 1
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
```

How to fix: create three PersistentVolumeClaims with `accessModes:
[ReadWriteMany]` on a storage class that supports it (Azure Files, EFS,
NFS), list them under the pod's `volumes`, and mount them at `/repository`,
`/artifacts` and `/taskLogs`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.deploy.target import Container, Workload
from octolint.plugin import DeployTarget, Options, Problem, SarifScore

ID = "OCT306"
NAME = "ha-shared-volumes"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "Replicas > 1 without ReadWriteMany claims at /repository, /artifacts, /taskLogs."
HINT = "Mount ReadWriteMany PersistentVolumeClaims at /repository, /artifacts and /taskLogs."
SARIF_SCORE = SarifScore("7.0", "high")  # nodes lose packages, logs, artifacts

SHARED = ("/repository", "/artifacts", "/taskLogs")
# inline volume sources that many nodes mount read-write at once (Kubernetes'
# access-mode table: ReadWriteMany)
SHARED_SOURCES = frozenset({"nfs", "azureFile", "cephfs", "glusterfs", "quobyte",
                            "portworxVolume"})  # fmt: skip


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for workload, server in target.octopus_workloads():
        if workload.replicas <= 1:
            continue
        reasons = [r for path in SHARED if (r := _reason(path, workload, server, target))]
        if reasons:
            where = workload.replicas_span or workload.span
            yield Problem(
                message=f"{workload.kind} '{workload.name}' runs {workload.replicas} Octopus "
                f"nodes but {'; '.join(reasons)}: nodes lose each other's packages, "
                "artifacts and task logs",
                span=where,
                path=workload.path,
            )


def _reason(path: str, workload: Workload, server: Container, target: DeployTarget) -> str:
    volume = server.mounts.get(path)
    if volume is None:
        return f"nothing is mounted at {path}"
    if volume in workload.claim_templates:
        return f"{path} is a per-pod volumeClaimTemplate, not a shared claim"
    if volume not in workload.volumes:
        return ""  # an undefined volume: kubectl refuses it, not our finding
    claim_name = workload.volumes[volume]
    if claim_name is None:
        source = workload.volume_sources.get(volume, "")
        if source in SHARED_SOURCES:
            return ""  # a network file system every node mounts
        if source == "emptyDir":
            return ""  # OCT311 reports it, replicas or not
        return f"{path} is a {source or 'volume'} volume, not a shared claim"
    claim = target.claim(workload, claim_name)
    if claim is None or "ReadWriteMany" in claim.access_modes:
        return ""  # not among the files: cannot tell
    modes = ", ".join(claim.access_modes) or "no access mode"
    return f"{path} uses claim '{claim_name}' ({modes}), not ReadWriteMany"

