"""Kubernetes manifests: multi-document YAML, ``List`` kinds, `helm template` output.

Objects are read as ``kubectl apply`` would see them; values are literal
(Kubernetes does not interpolate). An object is known by its kind, namespace
and name within its input (one file, stdin, or one directory given on the
command line, unless two of its files define the same object: then each
file is an input, see octolint.deploy.load): objects of two inputs never
meet, and an object defined twice in one input is a finding (OCT312), not
merged.

Environment values a container takes from a Secret of the same input and
namespace (``valueFrom.secretKeyRef``, ``envFrom.secretRef``) are decoded
(``data`` is base64, ``stringData`` plain and winning over ``data``, as the
API server merges them) and checked like literal values; they are redacted
from the lines a report shows and masked in its messages. A ConfigMap, a
field reference, or a Secret that is not among the inputs stays unknown; a
container with an ``envFrom`` of one may set any variable
(``Container.env_complete``). A Secret without a namespace goes where it is
applied: it serves a workload of the input that names it. ``$(VAR)`` in a value
is expanded from the variables defined before it, as the kubelet does.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, replace
from typing import Any

from octolint.deploy.compose import Secret, redact
from octolint.deploy.target import (
    KUBERNETES,
    Claim,
    Container,
    DeployFile,
    DeployTarget,
    Duplicate,
    Service,
    Value,
    Workload,
    namespaced,
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
from octolint.errors import InputError
from octolint.knowledge.secrets import MIN_LENGTH, secret_name
from octolint.model import Span

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# Declared alike by each file of a deployment (its Namespace): never a duplicate
SHARED_KINDS = frozenset({"Namespace"})
# envFrom: a Secret's keys for each container naming it (as MAX_VARIABLES for Compose)
MAX_ENV_FROM = 250_000
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


@dataclass(frozen=True)
class SecretRef:
    """A container's variable (or, with ``key`` None, all of them: ``envFrom``) taken
    from a Secret, resolved once every file of the input has been read."""

    container: Container
    variable: str  # the variable, or envFrom's prefix
    secret: str
    key: str | None
    span: Span


@dataclass
class KubeInputs:
    """What one run's files share: the objects seen, the Secrets, the references."""

    seen: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    secrets: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    refs: list[SecretRef] = field(default_factory=list)


class KubeReader:
    def __init__(self, source: YamlFile, group: str, inputs: KubeInputs):
        self.source = source
        self.group = group
        self.inputs = inputs
        self.lines = source.lines
        self.secrets: list[Secret] = []
        self.namespace = ""
        self.file = DeployFile(source.path, KUBERNETES, self.lines, comment_lines(source.text))

    def read(self, target: DeployTarget) -> None:
        file = self.file
        target.files.append(file)
        for document in self.source.documents:
            for obj in objects(document):
                self._object(obj, target)
        file.lines = redact(self.lines, self.secrets)

    def _object(self, obj: Any, target: DeployTarget) -> None:
        kind = str(obj.get("kind", ""))
        name = str(get(obj, "metadata", "name") or "")
        self.namespace = str(get(obj, "metadata", "namespace") or "")
        if name and kind not in SHARED_KINDS and not self._first(kind, name, obj, target):
            if kind == "Secret":
                self._secret(obj, name, None)  # not used, but never shown either
            return  # kubectl applies the second over the first: OCT312 reports it
        if kind == "Secret":
            self._secret(obj, name, target)
        elif kind == "Service":
            target.services.append(self._service(obj, name))
        elif kind == "PersistentVolumeClaim":
            modes = get(obj, "spec", "accessModes")
            modes = tuple(str(m) for m in modes) if isinstance(modes, list) else ()
            claim = Claim(name, self.source.path, modes, self.group, self.namespace)
            target.claims[(self.group, self.namespace, name)] = claim
        elif kind in POD_SPECS:
            target.workloads.append(self._workload(obj, kind, name, target))

    def _first(self, kind: str, name: str, obj: Any, target: DeployTarget) -> bool:
        """Whether this is the first object of its kind, namespace and name in the input."""
        seen = self.inputs.seen
        key = (self.group, self.namespace, kind, name)
        span = key_span(obj, "kind")
        here = f"{self.source.path} line {span.line}"
        if key not in seen:
            seen[key] = here
            return True
        first = seen[key]
        if first.startswith(f"{self.source.path} line "):
            first = first[len(self.source.path) + 1 :]
        target.duplicates.append(Duplicate(kind, self.namespace, name, self.source.path,
                                           span, first))  # fmt: skip
        return False

    def _secret(self, obj: Any, name: str, target: DeployTarget | None) -> None:
        """Decode a Secret's values and redact them from the lines shown (only that,
        without a target: a duplicate). A Secret the API server refuses (``data``
        that is not base64) is OCT300, and its values stay unknown."""
        values: dict[str, str] = {}
        refused = None
        for field_name, encoded in (("data", True), ("stringData", False)):
            data = obj.get(field_name)
            if not isinstance(data, dict):
                continue
            for key, raw in data.items():
                self._redact_value(data, key, raw)
                if raw is None or isinstance(raw, (dict, list)):
                    continue  # the API server refuses it: no value to check
                text = _decoded(raw) if encoded else str(raw)
                if text is not None:
                    values[str(key)] = text
                elif encoded and not _is_base64(raw) and refused is None:
                    refused = (f"Secret '{name}' data key '{key}' is not valid base64: "
                               "kubectl refuses the Secret", key_span(data, key))  # fmt: skip
        if target is None:
            return
        if refused is not None:
            self._refuse(*refused)
            return
        self.inputs.secrets[(self.group, self.namespace, name)] = values
        target.secret_values.extend(v for v in values.values() if len(v) >= MIN_LENGTH)

    def _refuse(self, message: str, span: Span) -> None:
        """What kubectl refuses: an OCT300 finding on this file (its first such)."""
        if self.file.error is None:
            self.file.error, self.file.error_span = message, span

    def _redact_value(self, mapping: Any, key: Any, raw: Any) -> None:
        position = value_position(mapping, key)
        if position is None:
            return
        self.secrets.append((*position, False))
        line, _column = position
        for extra in range(1, str(raw).count("\n") + 1):  # a block scalar's lines
            self.secrets.append((line + extra, 1, False))

    def _service(self, obj: Any, name: str) -> Service:
        selector = get(obj, "spec", "selector")
        if not isinstance(selector, dict):
            selector = {}
        selector = {str(k): str(v) for k, v in selector.items()}
        ports = [(_int(p.get("port")), _port(p.get("targetPort")))
                 for p in mappings(get(obj, "spec", "ports"))]  # fmt: skip
        return Service(name, self.source.path, selector, ports, self.group, self.namespace)

    def _workload(self, obj: Any, kind: str, name: str, target: DeployTarget) -> Workload:
        workload = Workload(kind, name, self.source.path, key_span(obj, "kind"),
                            group=self.group, namespace=self.namespace)  # fmt: skip
        hooks = get(obj, "metadata", "annotations", "helm.sh/hook")
        if hooks is not None:
            workload.hooks = tuple(h.strip() for h in str(hooks).split(","))
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
            source = next((str(k) for k in volume if k != "name"), "")
            workload.volume_sources[str(volume.get("name"))] = source
        containers = get(pod, "containers")
        commands = []
        for index, item in enumerate(containers if isinstance(containers, list) else []):
            if isinstance(item, dict):
                container = self._container(item, containers, index)
                workload.containers.append(container)
                target.containers.append(container)
                commands += [a for k in ("command", "args") for a in _strings(item.get(k))]
        workload.commands = "\n".join(commands)
        return workload

    def _container(self, item: Any, containers: Any, index: int) -> Container:
        span = key_span(item, "name") if "name" in item else item_span(containers, index)
        container = Container(KUBERNETES, self.source.path, str(item.get("name", "")), span,
                              group=self.group, namespace=self.namespace)  # fmt: skip
        if "image" in item:
            container.image = self._value(item["image"], key_span(item, "image"))
        security = item.get("securityContext")
        if isinstance(security, dict) and "privileged" in security:
            span = key_span(security, "privileged")
            if self._kubectl_type(security, "privileged") != "boolean":
                self._refuse("securityContext.privileged must be a boolean (true or "
                             "false, unquoted): kubectl refuses the object", span)  # fmt: skip
            raw = security["privileged"]
            if isinstance(raw, str) and _YAML11_BOOLEAN.fullmatch(raw):  # `yes`, unquoted
                raw = raw.lower() in ("y", "yes", "true", "on")
            container.privileged = self._value(raw, span)
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
        sources = list(mappings(item.get("envFrom")))
        container.env = self._env(item.get("env"), container, bool(sources))
        refs = self.inputs.refs
        for source in sources:
            secret = get(source, "secretRef", "name")
            if secret is not None:
                prefix = str(source.get("prefix") or "")
                refs.append(SecretRef(container, prefix, str(secret), None,
                                      key_span(source, "secretRef")))  # fmt: skip
            else:  # a ConfigMap's keys are not in the files
                container.env_complete = False
        return container

    def _env(self, env: Any, container: Container, env_from: bool) -> dict[str, Value]:
        values: dict[str, Value] = {}
        for var in mappings(env):
            name = str(var.get("name", ""))
            if "value" in var:
                value = self._value(var["value"], key_span(var, "value"))
                kind = self._kubectl_type(var, "value")
                if kind not in ("string", "null"):
                    # kubectl's YAML 1.1 reads `value: Y` as a boolean, `2048` as a number
                    self._refuse(f"the value of {name} is a {kind} to kubectl: quote "
                                 "it (\"Y\"); kubectl refuses the object", value.span)  # fmt: skip
                    value = replace(value, text=None)
                values[name] = _expanded(value, values, env_from)
                position = value_position(var, "value")
                if secret_name(name) and position:
                    self.secrets.append((*position, False))
                continue
            # valueFrom: a Secret of the input is read once all files are; a
            # ConfigMap or a field is not in the files
            values[name] = Value(None, key_span(var, "name"), self.source.path)
            ref = get(var, "valueFrom", "secretKeyRef")
            if isinstance(ref, dict) and ref.get("name") is not None:
                self.inputs.refs.append(SecretRef(
                    container, name, str(ref["name"]), str(ref.get("key", "")),
                    key_span(var, "name")))  # fmt: skip
        return values

    def _kubectl_type(self, mapping: Any, key: Any) -> str:
        """What kubectl's YAML 1.1 reading makes of a value: "string", "boolean",
        "number" or "null" (an unquoted `Y`, `yes`, `on` are booleans there)."""
        raw = mapping[key]
        if raw is None:
            return "null"
        if isinstance(raw, bool):
            return "boolean"
        if isinstance(raw, (int, float)):
            return "number"
        if not isinstance(raw, str) or not _YAML11_BOOLEAN.fullmatch(raw):
            return "string"
        position = value_position(mapping, key)
        if position is None:
            return "string"
        line, column = position
        first = self.lines[line - 1][column - 1 : column] if line <= len(self.lines) else ""
        return "string" if first in ("'", '"') else "boolean"

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


def _strings(node: Any) -> list[str]:
    return [str(a) for a in node] if isinstance(node, list) else []


def _decoded(raw: Any) -> str | None:
    """A Secret's `data` value as text; None when it is not base64 of UTF-8."""
    try:
        return base64.b64decode(str(raw), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _is_base64(raw: Any) -> bool:
    """Whether the API server can decode a `data` value (its bytes may be anything)."""
    try:
        base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_YAML11_BOOLEAN = re.compile(
    r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
)
# Kubernetes' dependent variables: `$(NAME)` is NAME's value when an earlier entry of
# the container's `env` (or its envFrom) defines it, and stays as written otherwise;
# `$$` is a `$` (so `$$(NAME)` is the text `$(NAME)`).
_DEPENDENT = re.compile(r"\$(?:\$|\(([^)]*)\))")


def _expanded(value: Value, earlier: dict[str, Value], env_from: bool) -> Value:
    """``value`` with its `$(NAME)` references expanded as the kubelet does; unknown
    when one names a value octolint cannot know (a Secret's, a ConfigMap's, or a name
    an envFrom may define)."""
    text = value.text
    if text is None or "$" not in text:
        return value
    unknown = False

    def replace_one(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1)
        if name is None:
            return "$"
        found = earlier.get(name)
        if found is None:
            unknown = unknown or env_from
            return match.group()
        if found.text is None:
            unknown = True
            return ""
        return found.text

    expanded = _DEPENDENT.sub(replace_one, text)
    return replace(value, text=None if unknown else expanded)


def read_kubernetes(
    source: YamlFile, target: DeployTarget, group: str = "", inputs: KubeInputs | None = None
) -> None:
    """Read one manifest file; ``group`` names the input it belongs to (its path by
    default), ``inputs`` is shared by the files of one run."""
    own = inputs if inputs is not None else KubeInputs()
    KubeReader(source, group or source.path, own).read(target)
    if inputs is None:
        resolve_secrets(own)


def resolve_secrets(inputs: KubeInputs) -> None:
    """Give containers the values of the Secrets they reference in their input.

    ``env`` wins over ``envFrom`` whatever the order, and a later ``envFrom``
    over an earlier one, as the kubelet builds the environment. ``envFrom``
    multiplies a Secret's keys by the containers naming it: more than
    MAX_ENV_FROM variables in all is an input error, not hours of work.
    """
    budget = MAX_ENV_FROM
    explicit = {id(r.container): set(r.container.env) for r in inputs.refs}
    for ref in inputs.refs:
        container = ref.container
        data = namespaced(inputs.secrets, container.group, container.namespace, ref.secret)
        if data is None:  # not among the inputs: its values are unknown
            if ref.key is None:
                container.env_complete = False
            continue
        if ref.key is not None:
            if ref.key in data:
                container.env[ref.variable] = _from_secret(data[ref.key], ref, ref.key)
            continue
        budget -= len(data)
        if budget < 0:
            raise InputError(ref.container.path, f"line {ref.span.line}: envFrom gives the "
                             f"containers more than {MAX_ENV_FROM:,} variables in all "
                             "(octolint's limit)")  # fmt: skip
        for key, text in data.items():
            name = ref.variable + key
            if name not in explicit[id(container)]:
                container.env[name] = _from_secret(text, ref, key)


def _from_secret(text: str, ref: SecretRef, key: str) -> Value:
    return replace(Value(text, ref.span, ref.container.path),
                   origin=f" (from Secret '{ref.secret}' key '{key}')", secret=True)
