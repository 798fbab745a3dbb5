"""OCT308 missing-probes: the Octopus container lacks probes or a preStop drain hook.

Checked: `startupProbe`, `readinessProbe`, `livenessProbe` and
`lifecycle.preStop`.

Octopus takes minutes to start (longer when it upgrades the schema). Without
a `startupProbe`, a `livenessProbe` kills it mid-upgrade; without a
`readinessProbe`, the load balancer sends users to a node that is not
serving yet; without a `livenessProbe`, a hung node is never restarted. A
`preStop` hook that drains the node (`Octopus.Server node --drain=true
--wait=600`) lets running deployments finish before the pod stops. The
published StatefulSet has all four; this checks Kubernetes manifests only, and
not Jobs or CronJobs (a helm hook running `Octopus.Server database --upgrade`
runs to completion: no traffic, no node to drain).

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
      startupProbe:
        httpGet: {path: /api/octopusservernodes/ping, port: 8080}
        failureThreshold: 30
        periodSeconds: 60
      readinessProbe:
        httpGet: {path: /api/serverstatus/hosted/internal, port: 8080}
      livenessProbe:
        httpGet: {path: /api/octopusservernodes/ping, port: 8080}
      lifecycle:
        preStop:
          exec:
            command:
              - /Octopus/Octopus.Server
              - node
              - --instance=OctopusServer
              - --drain=true
              - --wait=600
```

How to fix: copy the probes and the `preStop` hook of the published
StatefulSet (see the reference post), adjusting the timings to how long your
server takes to start.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.deploy.target import KUBERNETES
from octolint.plugin import DeployTarget, Options, Problem, SarifScore, problem_at

ID = "OCT308"
NAME = "missing-probes"
SEVERITY = "warning"
APPLIES_TO = "deploy"
SUMMARY = "The Octopus container has no startup/readiness/liveness probe or preStop drain hook."
HINT = "Add startupProbe, readinessProbe, livenessProbe and a preStop hook that drains the node."
SARIF_SCORE = SarifScore("4.0", "high")

EXPECTED = ("startupProbe", "readinessProbe", "livenessProbe", "preStop")


# Workloads that run to completion: no Service sends them traffic, no node to drain
# (a helm pre-upgrade Job running `Octopus.Server database --upgrade`).
ONE_SHOT = frozenset({"Job", "CronJob"})


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    one_shot = {id(c) for w in target.workloads if w.kind in ONE_SHOT for c in w.containers}
    for container in target.octopus_servers():
        if container.kind != KUBERNETES or id(container) in one_shot:
            continue
        missing = [name for name in EXPECTED if name not in container.probes]
        if missing:
            names = ", ".join(n if n != "preStop" else "preStop drain hook" for n in missing)
            yield problem_at(container, f"Octopus container '{container.name}' has no {names}")
