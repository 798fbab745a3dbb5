"""What deploy rules see: containers, workloads, services and claims, with positions.

Compose services and Kubernetes containers are read into the same shape, so
one rule covers both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, TypeVar

from octolint.imageref import ImageRef, parse_image_ref
from octolint.knowledge.octopus import SUPPORTED, OctopusServer
from octolint.model import FileLocation, Location, Problem, Span
from octolint.suppress import Suppressions, collect_comments

if TYPE_CHECKING:
    from octolint.rulebook import Rule

_T = TypeVar("_T")
COMPOSE = "compose"
KUBERNETES = "kubernetes"

_OCTOPUS_SERVER = re.compile(r"(^|/)octopusdeploy/octopusdeploy(-prerelease)?$")
# mcr.microsoft.com/mssql/server and azure-sql-edge; the older Docker Hub names
# (microsoft/mssql-server-linux, microsoft/mssql-server-windows-express and
# -developer) and Octopus' own rebuild of the Windows Express image.
_SQL_SERVER = re.compile(
    r"(^|/)(mssql/(rhel/)?server|azure-sql-edge"
    r"|(microsoft|octopusdeploy)/mssql-server-(linux|windows(-express|-developer)?))$"
)
_WINDOWS_IMAGE = re.compile(r"(?i)windows|nanoserver|servercore|ltsc\d")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")
# The Windows Octopus Server image (before 2020.3) read these; the Linux one does not.
WINDOWS_OCTOPUS_SETTINGS = ("sqlDbConnectionString", "OctopusAdminUsername",
                            "OctopusAdminPassword", "masterKey")  # fmt: skip
SA_PASSWORDS = ("SA_PASSWORD", "MSSQL_SA_PASSWORD", "sa_password")


@dataclass(frozen=True)
class Value:
    """A scalar setting: its value after interpolation and where its key is.

    ``text`` is None when the file cannot tell: it comes from an unset
    variable, a Kubernetes Secret or ConfigMap, or the shell environment.
    """

    text: str | None
    span: Span
    path: str
    origin: str = ""  # e.g. " (from .env line 3)", appended to messages
    secret: bool = False  # read from a Kubernetes Secret: never quote it
    # an image name whose unset variables Compose replaces with "" (the tag
    # part known): identifies the image, where `text` is None
    substituted: str | None = None

    @property
    def known(self) -> bool:
        return self.text is not None


@dataclass
class Container:
    """A Compose service or a Kubernetes container."""

    kind: str  # COMPOSE or KUBERNETES
    path: str
    name: str
    span: Span  # the service key, or the container's `name` key
    image: Value | None = None
    env: dict[str, Value] = field(default_factory=dict)
    privileged: Value | None = None
    memory_limit: Value | None = None
    probes: dict[str, Span] = field(default_factory=dict)  # startupProbe..., preStop
    mounts: dict[str, str] = field(default_factory=dict)  # mountPath -> volume name
    ports: dict[str, int] = field(default_factory=dict)  # port name -> containerPort
    group: str = ""  # the input it came from: a file, stdin, a directory
    namespace: str = ""
    # False when the environment may hold variables ``env`` does not list: a
    # Kubernetes envFrom of a ConfigMap, or of a Secret that is not among the files
    env_complete: bool = True

    def lacks(self, name: str) -> bool:
        """Whether the container certainly does not set ``name``: a rule may say it is
        missing (when ``env_complete`` is False, nobody can tell)."""
        return name not in self.env and self.env_complete

    @property
    def image_ref(self) -> ImageRef | None:
        if self.image is None:
            return None
        text = self.image.text if self.image.text is not None else self.image.substituted
        return parse_image_ref(text) if text else None

    @property
    def windows(self) -> bool:
        """A Windows container: its image says so, it mounts Windows paths, or it
        reads the settings only the Windows Octopus Server image knows."""
        ref = self.image_ref
        if ref is not None and _WINDOWS_IMAGE.search(f"{ref.repository}:{ref.tag or ''}"):
            return True
        if any(_WINDOWS_PATH.match(path) for path in self.mounts):
            return True
        return any(name in self.env for name in WINDOWS_OCTOPUS_SETTINGS)

    def setting(self, *names: str) -> tuple[str, Value] | None:
        """The first of these variables the container sets, with its value."""
        return next(((n, self.env[n]) for n in names if n in self.env), None)

    @property
    def is_octopus_server(self) -> bool:
        ref = self.image_ref
        return ref is not None and bool(_OCTOPUS_SERVER.search(ref.repository))

    @property
    def is_sql_server(self) -> bool:
        ref = self.image_ref
        if ref is not None and _SQL_SERVER.search(ref.repository):
            return True
        # ${SQL_IMAGE} left unset: the SA password tells it is SQL Server
        return ref is None and any(name in self.env for name in SA_PASSWORDS)

    @property
    def is_octopus(self) -> bool:
        """The Octopus Server: by image, or by its settings when the image is unknown."""
        if self.image_ref is not None:
            return self.is_octopus_server
        if "sqlDbConnectionString" in self.env:
            return True  # only the Windows Octopus Server image reads it
        return "DB_CONNECTION_STRING" in self.env and bool(
            {"MASTER_KEY", "ADMIN_USERNAME", "OCTOPUS_SERVER_NODE_NAME"} & set(self.env)
        )

    def env_text(self, name: str) -> str | None:
        value = self.env.get(name)
        return value.text if value is not None else None


@dataclass
class Workload:
    """A Kubernetes object that runs pods: StatefulSet, Deployment, Pod, Job..."""

    kind: str
    name: str
    path: str
    span: Span  # its `kind` key
    replicas: int = 1
    replicas_span: Span | None = None
    strategy: str | None = None  # updateStrategy/strategy type; None: the default
    strategy_span: Span | None = None
    volumes: dict[str, str | None] = field(default_factory=dict)  # volume -> claimName
    # volume -> its source's key (persistentVolumeClaim, emptyDir, nfs, azureFile...)
    volume_sources: dict[str, str] = field(default_factory=dict)
    claim_templates: set[str] = field(default_factory=set)  # volumeClaimTemplates names
    containers: list[Container] = field(default_factory=list)
    group: str = ""
    namespace: str = ""
    hooks: tuple[str, ...] = ()  # helm.sh/hook annotation: pre-upgrade, post-install...
    commands: str = ""  # its containers' command and args, joined (hook Jobs)


@dataclass(frozen=True)
class Service:
    name: str
    path: str
    selector: dict[str, str]
    ports: list[tuple[int | None, int | str | None]]  # (port, targetPort)
    group: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Claim:
    name: str
    path: str
    access_modes: tuple[str, ...]
    group: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Duplicate:
    """An object defined twice in one input: kubectl applies the second over the first."""

    kind: str
    namespace: str
    name: str
    path: str
    span: Span
    first: str  # "line 12" or "file.yaml line 12"


ObjectKey = tuple[str, str, str, str]  # (group, namespace, kind, name)


@dataclass
class DeployFile:
    """One file: its lines (secrets redacted) and pragma comments."""

    path: str
    kind: str  # COMPOSE or KUBERNETES
    lines: list[str]
    comments: dict[int, str]
    error: str | None = None  # why Compose / kubectl would refuse it
    error_span: Span | None = None


@dataclass
class DeployTarget:
    """Everything deployed together: the files of one `octolint deploy` run.

    Kubernetes objects refer to each other across files (a StatefulSet's
    claims, the Services that expose its pods), so rules see them all at once.
    """

    KIND: ClassVar[str] = "deploy"

    files: list[DeployFile] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    claims: dict[tuple[str, str, str], Claim] = field(default_factory=dict)  # group, ns, name
    duplicates: list[Duplicate] = field(default_factory=list)
    secret_values: list[str] = field(default_factory=list)  # decoded from Secrets: masked
    octopus: OctopusServer = SUPPORTED  # the Octopus version findings are judged for

    # -- what the engine asks of every target ---------------------------------
    # Findings point at the file a problem names; YAML comment pragmas work as
    # Dockerfile ones do (on the line(s) above the key). Lines are the redacted
    # ones, so no report can show a secret value.
    @cached_property
    def _by_path(self) -> dict[str, DeployFile]:
        return {f.path: f for f in self.files}

    @cached_property
    def _pragmas(self) -> dict[str, Suppressions]:
        return {path: collect_comments(f.comments, _content_lines(f.lines, f.comments))
                for path, f in self._by_path.items()}  # fmt: skip

    def accepts(self, rule: Rule) -> bool:
        return True

    def locate(self, problem: Problem) -> tuple[Location, str | None]:
        path = problem.path or (self.files[0].path if self.files else "-")
        known = self._by_path.get(path)
        lines = known.lines if known else []
        location = FileLocation.of(path, problem.span, lines)
        return location, "\n".join(lines[location.line - 1 : location.end_line]) or None

    def stage_of(self, problem: Problem) -> str | None:
        return None

    def silences(self, keys: tuple[str, str], location: Location) -> bool:
        if not isinstance(location, FileLocation) or location.path not in self._pragmas:
            return False
        return self._pragmas[location.path].silences(keys, location.line)

    def pragma_files(self) -> list[tuple[str, Suppressions, Sequence[str]]]:
        return [(path, found, self._by_path[path].lines) for path, found in self._pragmas.items()]

    def secrets(self) -> Sequence[str]:
        # the files' lines are redacted as they are read; values decoded from a
        # Secret's base64 `data` are masked in messages too, whatever a rule says
        return self.secret_values

    def close(self) -> None:
        """Nothing to release: the files are in memory."""

    def octopus_servers(self) -> list[Container]:
        return [c for c in self.containers if c.is_octopus]

    def sql_servers(self) -> list[Container]:
        return [c for c in self.containers if c.is_sql_server and not c.is_octopus]

    def octopus_workloads(self) -> list[tuple[Workload, Container]]:
        """Kubernetes workloads running the Octopus Server, with its container."""
        found = []
        for workload in self.workloads:
            server = next((c for c in workload.containers if c.is_octopus), None)
            if server is not None:
                found.append((workload, server))
        return found

    def claim(self, workload: Workload, name: str) -> Claim | None:
        """The claim a workload's volume names: in its own input and namespace, where an
        object without a namespace is in any (it goes where it is applied)."""
        return namespaced(self.claims, workload.group, workload.namespace, name)

    def services_of(self, workload: Workload) -> list[Service]:
        """The Services that can select the workload's pods: same input and namespace (an
        object without a namespace goes where it is applied: it may be the workload's)."""
        return [s for s in self.services if s.group == workload.group
                and same_namespace(s.namespace, workload.namespace)]  # fmt: skip

    def broken_files(self) -> list[DeployFile]:
        return [f for f in self.files if f.error is not None]


def namespaced(table: Mapping[tuple[str, str, str], _T], group: str, namespace: str,
               name: str) -> _T | None:  # fmt: skip
    """The object ``name`` of an input's ``table`` (by group, namespace, name) that one in
    ``namespace`` refers to: in that namespace; else, one without a namespace (it goes
    where it is applied); for a referrer without one, the only object of that name."""
    found = table.get((group, namespace, name))
    if found is not None:
        return found
    if namespace:
        return table.get((group, "", name))
    same = [value for (g, _ns, n), value in table.items() if (g, n) == (group, name)]
    return same[0] if len(same) == 1 else None


def same_namespace(one: str, other: str) -> bool:
    """Whether two objects of one input can be in the same namespace: equal, or one
    has none (kubectl puts it in the namespace it applies to)."""
    return one == other or not one or not other


def is_yes(value: Value | None) -> bool:
    return value is not None and value.text == "Y"


def is_true(value: Value | None) -> bool:
    return value is not None and value.text is not None and value.text.lower() == "true"


def _content_lines(lines: Sequence[str], comments: Mapping[int, str]) -> set[int]:
    """Lines holding YAML content (keys, items): what a pragma above can apply to."""
    return {n for n, text in enumerate(lines, 1) if text.strip() and n not in comments}
