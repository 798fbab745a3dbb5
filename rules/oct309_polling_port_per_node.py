"""OCT309 polling-port-per-node: several Octopus nodes but port 10943 not exposed for each.

Polling Tentacles connect to every Octopus node individually (port 10943)
to pick up their work: a Tentacle that cannot reach the node holding its
task waits forever. A load-balanced Service is not enough; each pod of the
StatefulSet needs a Service of its own, selecting it by
`statefulset.kubernetes.io/pod-name: NAME-0`, `NAME-1`... and exposing
10943. Pods of a Deployment have random names and cannot be addressed one
by one at all. Only Services of the StatefulSet's own input (a file, stdin,
or a directory named on the command line) and namespace count.

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
          ports:
            - containerPort: 10943
              name: tentacle
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

How to fix: add one Service per replica (`octopus-0`, `octopus-1`, ...) with
`selector: {statefulset.kubernetes.io/pod-name: octopus-N}` and a port
10943, and register each node's address with the Polling Tentacles.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.deploy.target import Container, Service
from octolint.plugin import DeployTarget, Options, Problem, SarifScore

ID = "OCT309"
NAME = "polling-port-per-node"
SEVERITY = "warning"
APPLIES_TO = "deploy"
SUMMARY = "Replicas > 1 but polling port 10943 is not exposed by a Service for each node."
HINT = "One Service per pod (statefulset.kubernetes.io/pod-name: NAME-N) exposing 10943."
SARIF_SCORE = SarifScore("5.0", "high")  # polling Tentacles wait forever

POLLING_PORT = 10943
POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX = "apps.kubernetes.io/pod-index"


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for workload, server in target.octopus_workloads():
        if workload.replicas <= 1 or workload.kind not in ("StatefulSet", "Deployment"):
            continue
        span, path = workload.replicas_span or workload.span, workload.path
        if workload.kind == "Deployment":
            yield Problem(message=f"Deployment '{workload.name}' runs {workload.replicas} "
                          "Octopus nodes whose pods cannot be addressed one by one: Polling "
                          "Tentacles need each node's port 10943; use a StatefulSet",
                          span=span, path=path)  # fmt: skip
            continue
        missing = [
            f"{workload.name}-{index}"
            for index in range(workload.replicas)
            if not any(_exposes(s, workload.name, index, server)
                       for s in target.services_of(workload))
        ]
        if missing:
            yield Problem(message=f"no Service exposes port {POLLING_PORT} of "
                          f"{', '.join(missing)}: Polling Tentacles cannot reach "
                          f"{'that node' if len(missing) == 1 else 'those nodes'}",
                          span=span, path=path)  # fmt: skip


def _exposes(service: Service, name: str, index: int, server: Container) -> bool:
    selected = service.selector.get(POD_NAME) == f"{name}-{index}" or (
        service.selector.get(POD_INDEX) == str(index)
    )
    return selected and any(_polling(port, target, server) for port, target in service.ports)


def _polling(port: int | None, target: int | str | None, server: Container) -> bool:
    if isinstance(target, str):
        return server.ports.get(target) == POLLING_PORT
    return (target if target is not None else port) == POLLING_PORT
