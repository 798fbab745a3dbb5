"""OCT312 duplicate-object: one input defines a Kubernetes object twice.

An object is known by its kind, namespace and name. `kubectl apply` given a
file, a directory or a stream that defines one twice applies the second over
the first: what runs is not what the first definition says, and which one
wins depends on the order of the documents. octolint checks the first and
reports the second; it never merges them. Objects of different inputs (two
files named on the command line, say two `helm template` renders) are
separate deployments and never clash; so are the files of a directory when
two of them define the same object (a folder of alternative renders), while
a directory whose files define distinct objects is one deployment, as
`kubectl apply -f DIR` applies it.

Fails:

```yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: repository
spec:
  accessModes: [ReadWriteMany]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: repository
spec:
  accessModes: [ReadWriteOnce]
```

Passes:

```yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: repository
spec:
  accessModes: [ReadWriteMany]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: repository
  namespace: staging
spec:
  accessModes: [ReadWriteOnce]
```

How to fix: keep one definition, or give the objects different names or
namespaces; lint separate deployments as separate files.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore

ID = "OCT312"
NAME = "duplicate-object"
SEVERITY = "warning"
APPLIES_TO = "deploy"
SUMMARY = "A Kubernetes object is defined twice in one input: the second replaces the first."
HINT = "Keep one definition, or rename it or move it to another namespace."
SARIF_SCORE = SarifScore("5.0", "high")


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for dup in target.duplicates:
        where = f"namespace '{dup.namespace}'" if dup.namespace else "the default namespace"
        yield Problem(message=f"{dup.kind} '{dup.name}' in {where} is already defined at "
                      f"{dup.first}: kubectl applies this one over it", span=dup.span,
                      path=dup.path)  # fmt: skip
