"""Kubernetes manifests: multi-document YAML, ``List`` kinds, `helm template` output.

Objects are read as ``kubectl apply`` would see them; values are literal
(Kubernetes does not interpolate), and ``valueFrom`` (a Secret or ConfigMap)
is unknown to a linter.
"""

from __future__ import annotations

from typing import Any

from octolint.deploy.compose import redact
from octolint.deploy.target import (
    KUBERNETES,
    Claim,
    Container,
    DeployFile,
    DeployTarget,
    Service,
    Value,
    Workload,
)
from octolint.deploy.yamlsource import (
    YamlFile,
    comment_lines,
    get,
    item_span,
    key_span,
    mappings,
    value_position,
)
from octolint.knowledge.secrets import secret_name
from octolint.model import Span

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# kind -> path from the object to its pod template's spec
POD_SPECS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def objects(document: Any) -> list[Any]:
    """The objects of one document; a ``List`` (kubectl's, or a *List kind) is unwrapped."""
    if not isinstance(document, dict):
        return []
    kind = str(document.get("kind", ""))
    if kind == "List" or (kind.endswith("List") and isinstance(document.get("items"), list)):
        return [o for item in mappings(document.get("items")) for o in objects(item)]
    return [document]


class KubeReader:
    def __init__(self, source: YamlFile):
        self.source = source
        self.lines = source.lines
        self.secrets: list[tuple[int, int]] = []

    def read(self, target: DeployTarget) -> None:
        file = DeployFile(self.source.path, KUBERNETES, self.lines, comment_lines(self.source.text))
        target.files.append(file)
        for document in self.source.documents:
            for obj in objects(document):
                self._object(obj, target)
        file.lines = redact(self.lines, self.secrets)

    def _object(self, obj: Any, target: DeployTarget) -> None:
        kind = str(obj.get("kind", ""))
        name = str(get(obj, "metadata", "name") or "")
        if kind == "Service":
            target.services.append(self._service(obj, name))
        elif kind == "PersistentVolumeClaim":
            modes = get(obj, "spec", "accessModes")
            modes = tuple(str(m) for m in modes) if isinstance(modes, list) else ()
            target.claims[name] = Claim(name, self.source.path, modes)
        elif kind in POD_SPECS:
            target.workloads.append(self._workload(obj, kind, name, target))

    def _service(self, obj: Any, name: str) -> Service:
        selector = get(obj, "spec", "selector")
        if not isinstance(selector, dict):
            selector = {}
        selector = {str(k): str(v) for k, v in selector.items()}
        ports = [(_int(p.get("port")), _port(p.get("targetPort")))
                 for p in mappings(get(obj, "spec", "ports"))]  # fmt: skip
        return Service(name, self.source.path, selector, ports)

    def _workload(self, obj: Any, kind: str, name: str, target: DeployTarget) -> Workload:
        workload = Workload(kind, name, self.source.path, key_span(obj, "kind"))
        spec = get(obj, "spec")
        if kind in ("StatefulSet", "Deployment", "ReplicaSet", "ReplicationController"):
            replicas = _int(get(spec, "replicas"))
            workload.replicas = 1 if replicas is None else replicas  # Kubernetes' default
            if isinstance(spec, dict) and "replicas" in spec:
                workload.replicas_span = key_span(spec, "replicas")
        strategy_key = {"StatefulSet": "updateStrategy", "Deployment": "strategy"}.get(kind)
        strategy = get(spec, strategy_key) if strategy_key else None
        if isinstance(strategy, dict) and "type" in strategy:
            workload.strategy = str(strategy["type"])
            workload.strategy_span = key_span(strategy, "type")
        elif isinstance(spec, dict) and strategy_key and strategy_key in spec:
            workload.strategy_span = key_span(spec, strategy_key)
        for template in mappings(get(spec, "volumeClaimTemplates")):
            workload.claim_templates.add(str(get(template, "metadata", "name") or ""))
        pod = get(obj, *POD_SPECS[kind])
        for volume in mappings(get(pod, "volumes")):
            claim = get(volume, "persistentVolumeClaim", "claimName")
            workload.volumes[str(volume.get("name"))] = str(claim) if claim is not None else None
        containers = get(pod, "containers")
        for index, item in enumerate(containers if isinstance(containers, list) else []):
            if isinstance(item, dict):
                container = self._container(item, containers, index)
                workload.containers.append(container)
                target.containers.append(container)
        return workload

    def _container(self, item: Any, containers: Any, index: int) -> Container:
        span = key_span(item, "name") if "name" in item else item_span(containers, index)
        container = Container(KUBERNETES, self.source.path, str(item.get("name", "")), span)
        if "image" in item:
            container.image = self._value(item["image"], key_span(item, "image"))
        security = item.get("securityContext")
        if isinstance(security, dict) and "privileged" in security:
            container.privileged = self._value(security["privileged"],
                                               key_span(security, "privileged"))  # fmt: skip
        limits = get(item, "resources", "limits")
        if isinstance(limits, dict) and "memory" in limits:
            container.memory_limit = self._value(limits["memory"], key_span(limits, "memory"))
        for probe in PROBES:
            if item.get(probe) is not None:
                container.probes[probe] = key_span(item, probe)
        lifecycle = item.get("lifecycle")
        if isinstance(lifecycle, dict) and lifecycle.get("preStop") is not None:
            container.probes["preStop"] = key_span(lifecycle, "preStop")
        for mount in mappings(item.get("volumeMounts")):
            container.mounts[str(mount.get("mountPath", "")).rstrip("/") or "/"] = str(
                mount.get("name", "")
            )
        for port in mappings(item.get("ports")):
            number = _int(port.get("containerPort"))
            if number is not None:
                container.ports[str(port.get("name", number))] = number
        container.env = self._env(item.get("env"))
        return container

    def _env(self, env: Any) -> dict[str, Value]:
        values: dict[str, Value] = {}
        for var in mappings(env):
            name = str(var.get("name", ""))
            if "value" in var:
                values[name] = self._value(var["value"], key_span(var, "value"))
                position = value_position(var, "value")
                if secret_name(name) and position:
                    self.secrets.append(position)
            else:  # valueFrom: a Secret, ConfigMap or field: not in the file
                values[name] = Value(None, key_span(var, "name"), self.source.path)
        return values

    def _value(self, raw: Any, span: Span) -> Value:
        if raw is None:
            return Value("", span, self.source.path)
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        return Value(text, span, self.source.path)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _port(value: Any) -> int | str | None:
    number = _int(value)
    return number if number is not None else (str(value) if value is not None else None)


def read_kubernetes(source: YamlFile, target: DeployTarget) -> None:
    KubeReader(source).read(target)
