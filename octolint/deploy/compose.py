"""Compose files: services, interpolated with the project's ``.env`` as Compose does.

The ``.env`` beside the Compose file (or the ``--env-file`` ones) provides
the variables; the shell environment is not read, so a run gives the same
answer on every machine. A ``${VAR}`` whose variable is set nowhere is
"unknown", not empty: the deploy environment may set it. An ``env_file`` is
interpolated with those variables too, and an ``environment`` entry without a
value takes its variable's.

``extends`` is followed within a file and into other files, and override
files are merged after that (see octolint.deploy.merge), as compose-go does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from octolint.deploy.dotenv import DotenvError, EnvEntry, parse_dotenv
from octolint.deploy.interpolate import (
    ExpansionLimit,
    InterpolationError,
    Resolution,
    expansion_budget,
    interpolate,
)
from octolint.deploy.merge import (
    RESET,
    RESET_TAG,
    Reset,
    ServiceSettings,
    merge_service,
    merge_services,
    mode_of,
)
from octolint.deploy.target import COMPOSE, DeployFile, DeployTarget, Value
from octolint.deploy.yamlsource import (
    YamlError,
    YamlFile,
    YamlLimit,
    comment_lines,
    get,
    item_span,
    key_span,
    load_yaml,
    tag_of,
    untagged,
    value_position,
)
from octolint.errors import InputError
from octolint.knowledge.secrets import MAYBE_SECRET_NAME, MIN_LENGTH, secret_name
from octolint.model import Span

_REFERENCE = re.compile(r"\$\{?([_A-Za-z][_A-Za-z0-9]*)")
_BARE_REFERENCES = re.compile(r"(?:\$\{[_A-Za-z][_A-Za-z0-9]*\}|\$[_A-Za-z][_A-Za-z0-9]*)+")
REDACTED = "<redacted>"
# (line, column) where a secret value starts, and whether it is a `KEY=value` item
Secret = tuple[int, int, bool]
# `source:target[:mode]` or `target`; a target or source may be a Windows path (C:/x)
_SHORT_VOLUME = re.compile(
    r"^(?:(?P<source>.*?):)??(?P<target>(?:[A-Za-z]:)?[\\/][^:]*)(?::(?P<mode>[a-z,]+))?$"
)
# compose-go's boolean casts, for settings such as `privileged: yes`
_TRUE = frozenset({"y", "yes", "true", "on"})
_FALSE = frozenset({"n", "no", "false", "off"})
# env_file and extends multiply variables: one 1 MB .env listed by 20,000 services,
# or a chain of services each extending the last, would give every container
# thousands of them (billions in all). About 300 bytes each in memory.
MAX_VARIABLES = 250_000


class _ServiceError(Exception):
    def __init__(self, message: str, span: Span):
        super().__init__(message)
        self.message = message
        self.span = span


class _Unusable(Exception):
    """A file named by `extends` that docker compose could not use."""


class _Project:
    """What the files of one Compose project share: the variables, and a reader per
    file, so that `extends: {file: ...}` reads each file once."""

    def __init__(self, entries: Mapping[str, EnvEntry], env_name: str,
                 env_file_variables: Mapping[str, str] | None = None):  # fmt: skip
        self.entries = entries
        self.variables = {k: e.value for k, e in entries.items() if e.known}
        # what env_files are interpolated with: the project's variables; in an included
        # project, the including one's (what docker compose does, its .env unused there)
        self.env_file_variables = (
            env_file_variables if env_file_variables is not None else self.variables
        )
        self.env_name = env_name
        self.readers: dict[str, ComposeReader | str] = {}  # file -> reader, or why unusable
        self.given: set[str] = set()  # the project's own files, not only extended
        # env_file path -> its variables, or why not: read once however many services
        # list it (each service reading a 1 MB file again made the work quadratic)
        self.env_files: dict[Path, dict[str, EnvEntry] | OSError | UnicodeDecodeError
                             | DotenvError] = {}  # fmt: skip
        self.variables_left = MAX_VARIABLES  # for services' containers, in all

    def charge(self, variables: int, path: str, span: Span) -> None:
        """Count variables a service's container gets; InputError past MAX_VARIABLES."""
        self.variables_left -= variables
        if self.variables_left < 0:
            raise InputError(path, f"line {span.line}: services get more than "
                                   f"{MAX_VARIABLES:,} variables in all through env_file "
                                   "and extends (octolint's limit)")  # fmt: skip

    def add(self, source: YamlFile) -> ComposeReader:
        reader = ComposeReader(source, self)
        self.readers[reader.key] = reader
        self.given.add(reader.key)
        return reader

    def reader(self, path: str) -> ComposeReader:
        if path not in self.readers:
            self.readers[path] = self._load(path)
        found = self.readers[path]
        if isinstance(found, str):
            raise _Unusable(found)
        return found

    def _load(self, path: str) -> ComposeReader | str:
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"
        except UnicodeDecodeError:
            return "not UTF-8 text"
        try:
            reader = ComposeReader(load_yaml(text, path), self)
        except YamlError as error:
            return str(error)
        except YamlLimit as error:
            raise InputError(path, str(error)) from None
        problem = reader._first_interpolation_error(reader.document)
        if problem is not None:
            return f"line {problem[1].line}: {problem[0]}"
        reader.collect_secrets()
        return reader

    def dotenv(self, path: Path) -> dict[str, EnvEntry]:
        """An env_file's variables, read once; raises what reading it raised."""
        key = Path(os.path.normpath(path.absolute()))
        if key not in self.env_files:
            try:
                text = path.read_text(encoding="utf-8")
                self.env_files[key] = parse_dotenv(text, self.env_file_variables)
            except (OSError, UnicodeDecodeError, DotenvError) as error:
                self.env_files[key] = error
            except ExpansionLimit as error:
                raise InputError(str(path), str(error)) from None
        found = self.env_files[key]
        if isinstance(found, Exception):
            raise found.with_traceback(None)  # raised again for each service listing it
        return found

    def extended_files(self) -> list[DeployFile]:
        """The files read only for `extends`, redacted, so findings can show their lines."""
        return [
            DeployFile(r.source.path, COMPOSE, redact(r.lines, r.secrets),
                       comment_lines(r.source.text))
            for key, r in self.readers.items()
            if key not in self.given and isinstance(r, ComposeReader)
        ]  # fmt: skip


class ComposeReader:
    """Reads one Compose file's services, interpolating with the project's variables."""

    def __init__(self, source: YamlFile, project: _Project):
        self.source = source
        self.project = project
        self.key = os.path.normpath(source.path)
        self.entries = project.entries
        self.variables = project.variables
        self.env_name = project.env_name
        self.lines = source.lines
        self.document = source.documents[0] if source.documents else None
        self.secrets: list[Secret] = []  # where secret values start
        # Each service is read once, however many others extend it: its env_files are
        # parsed and its secrets recorded once. Merging copies, so sharing is safe.
        self._settings: dict[str, ServiceSettings] = {}
        self._resolved: dict[str, ServiceSettings] = {}  # with what they extend merged

    def read(self, file: DeployFile) -> dict[str, ServiceSettings] | None:
        """The file's services, `extends` followed; None (and ``file.error``) when
        docker compose would refuse the file."""
        problem = self._first_interpolation_error(self.document)
        if problem is not None:
            self._refused(file, *problem)
            return None
        services = get(self.document, "services")
        found: dict[str, ServiceSettings] = {}
        if isinstance(services, dict):
            for name, service in services.items():
                if not isinstance(service, dict):
                    continue
                try:
                    found[str(name)] = self.resolve(str(name))
                except _ServiceError as error:  # docker compose refuses the whole file
                    self._refused(file, error.message, error.span)
                    return None
        file.lines = redact(self.lines, self.secrets)
        return found

    def _refused(self, file: DeployFile, message: str, span: Span) -> None:
        """Record why docker compose refuses the file. Its services were not all read, so
        secrets are also redacted by their shape, in the lines and the message."""
        lines, secrets = redact_unparsed(redact(self.lines, self.secrets))
        file.lines, file.error, file.error_span = lines, redact_message(message, secrets), span

    def collect_secrets(self) -> None:
        """Find every secret value of a file read for `extends`, to redact them all."""
        services = get(self.document, "services")
        for name, service in services.items() if isinstance(services, dict) else ():
            if isinstance(service, dict):
                try:
                    self._service(str(name), service, services)
                except _ServiceError:
                    continue

    # -- extends ------------------------------------------------------------------
    def resolve(self, name: str) -> ServiceSettings:
        """A service with what it `extends` merged under it, as Compose does per file.

        The chain is followed in a loop, not by recursion (chains of thousands of
        services), and each service is resolved once however many others extend it.
        """
        chain: list[_Link] = []  # the services that extend, and where they say so
        reader: ComposeReader = self
        visiting: set[tuple[str, str]] = set()
        while name not in reader._resolved:
            try:
                services = get(reader.document, "services")
                service = services[name]
                own = reader._service(name, service, services)
                if "extends" not in service:
                    reader._resolved[name] = own
                    break
                visiting.add((reader.key, name))
                target, name = reader._extended(service, visiting)
            except _ServiceError as error:
                raise _through(error, chain, reader) from None
            chain.append((reader, own, key_span(service, "extends")))
            reader = target
        settings = reader._resolved[name]
        for link, own, _span in reversed(chain):
            settings = merge_service(settings.settled(), own)
            settings.name, settings.path, settings.span = own.name, own.path, own.span
            self.project.charge(_variable_count(settings), link.source.path, own.span)
            link._resolved[own.name] = settings
        return settings

    def _extended(
        self, service: Any, visiting: set[tuple[str, str]]
    ) -> tuple[ComposeReader, str]:
        """The file and service that ``service`` extends."""
        raw, span = service["extends"], key_span(service, "extends")
        name = raw if isinstance(raw, str) else get(raw, "service")
        file = get(raw, "file") if isinstance(raw, dict) else None
        if not isinstance(name, str) or not isinstance(file, (str, type(None))):
            raise _ServiceError("extends needs a service name (and optionally a file)", span)
        name = self._interpolate(name, span).text
        reader = self
        if file is not None:
            file = self._interpolate(file, span).text
            path = os.path.normpath(Path(self.source.path).parent / file)
            try:
                reader = self.project.reader(path)
            except _Unusable as error:
                raise _ServiceError(f"extends: {path}: {error}", span) from None
        where = "this file" if reader is self else reader.source.path
        if (reader.key, name) in visiting:
            raise _ServiceError(f"extends: circular reference to service '{name}'", span)
        if not isinstance(get(reader.document, "services", name), dict):
            raise _ServiceError(f"extends: no service '{name}' in {where}", span)
        return reader, name

    # -- interpolation ----------------------------------------------------------
    def value(self, raw: Any, span: Span) -> Value:
        if raw is None:
            return Value(None, span, self.source.path)  # `KEY:` alone: from the shell
        if not isinstance(raw, str):
            text = str(raw).lower() if isinstance(raw, bool) else str(raw)
            return Value(text, span, self.source.path)
        resolution = self._interpolate(raw, span)
        return Value(resolution.text if resolution.known else None, span, self.source.path,
                     self._origin(raw))  # fmt: skip

    def _inherited(self, name: str, span: Span) -> Value:
        """`KEY` with no value: Compose gives the container the project's variable (its
        .env's); one set nowhere comes from the shell at `up`: unknown."""
        entry = self.entries.get(name)
        if entry is None or not entry.known:
            return Value(None, span, self.source.path)
        return Value(entry.value, span, self.source.path, f" (from {self._cited(entry)})")

    def _origin(self, raw: str) -> str:
        used = [n for n in _REFERENCE.findall(raw) if n in self.entries]
        if not used:
            return ""
        where = ", ".join(f"{n} at {self._cited(self.entries[n])}" for n in used)
        return f" (from {where})"

    def _cited(self, entry: EnvEntry) -> str:
        """Where a project variable is set: `.env line 3` (or the included project's)."""
        return f"{entry.source or self.env_name} line {entry.line}"

    def _interpolate(self, raw: str, span: Span) -> Resolution:
        try:
            return interpolate(raw, self.variables)
        except ExpansionLimit as error:
            raise InputError(self.source.path, f"line {span.line}: {error}") from None

    def _first_interpolation_error(self, root: Any) -> tuple[str, Span] | None:
        """Compose interpolates every string value and refuses the file on the first error
        (or on a key that is not a string: `1:` is an integer).

        Depth first, in the file's order, without recursion; a mapping or sequence
        reached again through an alias was checked the first time (same strings, same
        variables), so aliases cost nothing however far they expand.
        """
        seen: set[int] = set()
        pending = [_entries(root)]
        while pending:
            entry = next(pending[-1], None)
            if entry is None:
                pending.pop()
                continue
            node, key, child = entry
            if isinstance(node, dict) and not isinstance(key, str):
                shown = str(key).lower() if isinstance(key, bool) else str(key)
                return f"non-string key: {shown}", self._span(node, key)
            if isinstance(child, str):
                span = self._span(node, key)
                try:
                    self._interpolate(child, span)
                except InterpolationError as error:
                    return f"cannot interpolate '{key}': {error}", span
            elif isinstance(child, (dict, list)) and id(child) not in seen:
                seen.add(id(child))
                pending.append(_entries(child))
        return None

    def _span(self, node: Any, key: Any) -> Span:
        return key_span(node, key) if isinstance(node, dict) else item_span(node, key, self.lines)

    # -- services ---------------------------------------------------------------
    def _service(self, name: str, service: Any, services: Any) -> ServiceSettings:
        if name in self._settings:
            return self._settings[name]
        settings = ServiceSettings(name, self.source.path, key_span(services, name))
        for key in ("image", "privileged", "mem_limit"):
            if key in service:
                setattr(settings, key, self._setting(service, key))
        if isinstance(settings.privileged, Value):
            settings.privileged = self._boolean(settings.privileged, "privileged")
        limits = get(service, "deploy", "resources", "limits")
        if isinstance(limits, dict) and "memory" in limits:
            settings.deploy_memory = self._setting(limits, "memory")
        if "env_file" in service:
            settings.env_files = (mode_of(tag_of(service["env_file"])), self._env_files(service))
        if "environment" in service:
            raw = service["environment"]
            settings.environment = (mode_of(tag_of(raw)), self._environment(raw))
        if isinstance(service.get("volumes"), list):
            settings.mounts = self._mounts(service["volumes"])
        if isinstance(settings.image, Value) and not settings.image.known:
            settings.image = self._image(service)
        self._settings[name] = settings
        return settings

    def _setting(self, mapping: Any, key: str) -> Value | Reset:
        raw = mapping[key]
        if tag_of(raw) == RESET_TAG:
            return RESET
        return self.value(untagged(raw), key_span(mapping, key))

    def _boolean(self, value: Value, key: str) -> Value:
        """A boolean setting as compose-go casts it: y, yes, on, true (any case) are
        true, their opposites false; anything else is refused (1 too)."""
        if value.text is None:
            return value
        text = value.text.strip().lower()
        if text in _TRUE or text in _FALSE:
            return replace(value, text="true" if text in _TRUE else "false")
        raise _ServiceError(f"{key}: invalid boolean: {value.text}", value.span)

    def _image(self, service: Any) -> Value:
        """An image whose unset variables are all in its name, before the tag:
        Compose substitutes "" (with a warning) and pulls that image, so it is
        known by that name; a tag from an unset variable stays unknown."""
        raw, span = untagged(service["image"]), key_span(service, "image")
        value = self.value(raw, span)
        _name, colon, tag = str(raw).rpartition(":")
        if not colon or "/" in tag or ("}" in tag and "${" not in tag):
            tag = ""  # no tag, or the colon of a `${VAR:-default}`
        if self._interpolate(tag, span).known:
            return replace(value, substituted=self._interpolate(str(raw), span).text)
        return value

    def _mounts(self, volumes: list[Any]) -> dict[str, str]:
        """A service's `volumes`: target -> source (short `src:dst[:mode]`, or long)."""
        mounts: dict[str, str] = {}
        for item in volumes:
            if isinstance(item, dict) and item.get("target") is not None:
                mounts[str(item["target"])] = str(item.get("source", ""))
            elif isinstance(item, str):
                match = _SHORT_VOLUME.match(item)
                if match:
                    mounts[match["target"]] = match["source"] or ""
        return mounts

    def _env_files(self, service: Any) -> dict[str, dict[str, Value]]:
        """Variables of each of the service's `env_file`s, by file (`environment`
        overrides them)."""
        entries = service.get("env_file")
        span = key_span(service, "env_file")
        items = entries if isinstance(entries, list) else [entries]
        files: dict[str, dict[str, Value]] = {}
        for item in items:
            raw = item.get("path") if isinstance(item, dict) else item
            required = not isinstance(item, dict) or item.get("required", True) is not False
            if not isinstance(raw, str):
                continue
            path = Path(self.source.path).parent / self._interpolate(raw, span).text
            try:
                entries_read = self.project.dotenv(path)
            except (OSError, UnicodeDecodeError):
                if required:
                    raise _ServiceError(f"env_file {raw} cannot be read", span) from None
                continue
            except DotenvError as error:
                raise _ServiceError(f"env_file {raw}: {error}", span) from None
            self.project.charge(len(entries_read), self.source.path, span)
            files.setdefault(os.path.normpath(path.absolute()), {}).update(
                (name, Value(entry.value if entry.known else None, span, self.source.path,
                             f" (from {raw} line {entry.line})"))
                for name, entry in entries_read.items()
            )  # fmt: skip
        return files

    def _environment(self, environment: Any) -> dict[str, Value | Reset]:
        values: dict[str, Value | Reset] = {}
        if isinstance(environment, dict):
            for key, raw in environment.items():
                name = str(key)
                span = key_span(environment, key)
                if tag_of(raw) == RESET_TAG:  # `VAR: !reset null`: the variable goes
                    values[name] = RESET
                    continue
                values[name] = self.value(raw, span) if raw is not None else self._inherited(
                    name, span)
                position = value_position(environment, key)
                if secret_name(name) and position and not _reference_only(raw):
                    self.secrets.append((*position, False))
        elif isinstance(environment, list):
            for index, item in enumerate(environment):
                if not isinstance(item, str):
                    continue
                span = item_span(environment, index, self.lines)
                name, equals, raw = item.partition("=")
                values[name] = self.value(raw, span) if equals else self._inherited(name, span)
                if secret_name(name) and equals and not _reference_only(raw):
                    self.secrets.append((span.line, span.column, True))
        return values


_Link = tuple["ComposeReader", ServiceSettings, Span]


def _through(error: _ServiceError, chain: list[_Link], failed: ComposeReader) -> _ServiceError:
    """The error as the first service of the chain reports it: each time the chain
    went into another file, the `extends` that did says which file and line failed."""
    for reader, _own, span in reversed(chain):
        if failed is not reader:
            where = f"extends: {failed.source.path} line {error.span.line}"
            error = _ServiceError(f"{where}: {error.message}", span)
        failed = reader
    return error


def _variable_count(settings: ServiceSettings) -> int:
    """The variables a service's container will have, counted before it is built."""
    files = settings.env_files[1].values() if settings.env_files is not None else ()
    environment = settings.environment[1] if settings.environment is not None else {}
    return len(environment) + sum(len(variables) for variables in files)


def _entries(node: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(node, key or index, child) for each child of a mapping or sequence."""
    if isinstance(node, dict):
        return ((node, k, v) for k, v in node.items())
    if isinstance(node, list):
        return ((node, i, v) for i, v in enumerate(node))
    return iter(())


def _reference_only(raw: Any) -> bool:
    """`${VAR}` or `$VAR` alone holds no secret (a default like `${VAR:-x}` may)."""
    return isinstance(raw, str) and bool(_BARE_REFERENCES.fullmatch(raw.strip()))


def read_compose(
    source: YamlFile,
    target: DeployTarget,
    env_files: Sequence[Path] | None,
    overrides: Sequence[YamlFile | DeployFile] = (),
) -> None:
    """Add a Compose file, the override files merged into it and its .env to the target.

    As ``docker compose`` does, every file is interpolated with the same
    variables (the .env beside the first file), and a project with one
    broken file has no services at all. What interpolation produces for the
    whole project, its .env and env_files included, is bounded (ExpansionLimit).
    """
    with expansion_budget():
        _read_project(source, target, env_files, overrides)


def _read_project(
    source: YamlFile,
    target: DeployTarget,
    env_files: Sequence[Path] | None,
    overrides: Sequence[YamlFile | DeployFile],
) -> None:
    found = _project_variables(source.path, target, env_files)
    if found is None:
        return
    services = _services(source, overrides, target, _Project(*found), _Includes())
    if services is not None:
        target.containers += [settings.container() for settings in services.values()]


def _services(
    source: YamlFile,
    overrides: Sequence[YamlFile | DeployFile],
    target: DeployTarget,
    project: _Project,
    includes: _Includes,
) -> dict[str, ServiceSettings] | None:
    """A project's services, overrides merged and `include`s added; None when docker
    compose refuses the project (the file that says why has its ``error``)."""
    files = []
    for layer in (source, *overrides):
        if isinstance(layer, DeployFile):  # an override that is not YAML
            target.files.append(layer)
            continue
        file = DeployFile(layer.path, COMPOSE, layer.lines, comment_lines(layer.text))
        target.files.append(file)
        files.append((project.add(layer), file))
    layers = [services for reader, file in files if (services := reader.read(file)) is not None]
    target.files += project.extended_files()
    if len(layers) < 1 + len(overrides):
        return None
    merged = layers[0]
    for later in layers[1:]:
        merged = merge_services(merged, later)
    documents = [reader.document for reader, _file in files]
    name = fragment_service(documents)
    if name is not None:
        reader, file = files[0]
        span = key_span(get(reader.document, "services"), name)
        reader._refused(file, f"service '{name}' has neither an image nor a build context: "
                        "docker compose refuses this file alone (a fragment for `docker compose "
                        "-f base.yaml -f this.yaml`? lint that project's `docker compose -f ... "
                        "config` output through stdin)", span)  # fmt: skip
        return None
    for reader, file in files:
        if not includes.add(reader, file, merged, target, project):
            return None
    return merged


def fragment_service(documents: Sequence[Any]) -> str | None:
    """The first service that no file of the project gives an image, a build context or
    an `extends` (which may bring one): docker compose refuses such a project, and
    such a file is usually meant to be merged into another (`-f base -f this`)."""
    found: dict[str, bool] = {}
    for document in documents:
        services = get(document, "services")
        for name, service in services.items() if isinstance(services, dict) else ():
            complete = isinstance(service, dict) and any(
                key in service for key in ("image", "build", "extends"))
            found[str(name)] = found.get(str(name), False) or complete
    return next((name for name, complete in found.items() if not complete), None)


# `include` chains and fans out: each included file is a project read in full.
MAX_INCLUDED_FILES = 256


class _Includes:
    """The `include` sections of one run's project, followed as docker compose does:
    each included file is a project of its own (its `.env`, or the entry's
    `env_file`), whose variables the including project's override; its services join
    the including project's, and a service defined on both sides is refused."""

    def __init__(self) -> None:
        self.chain: list[str] = []  # the files including the one being read
        self.files = 0

    def add(self, reader: ComposeReader, file: DeployFile, services: dict[str, ServiceSettings],
            target: DeployTarget, project: _Project) -> bool:  # fmt: skip
        """Add ``reader``'s included services to ``services``; False when refused."""
        raw = get(reader.document, "include")
        if raw is None:
            return True
        span = key_span(reader.document, "include")
        self.chain.append(reader.key)
        try:
            for entry in raw if isinstance(raw, list) else [raw]:
                included = self._entry(reader, entry, span, target, project)
                for name, settings in included.items():
                    if name in services:
                        raise _ServiceError(f"services.{name} conflicts with imported "
                                            "resource", span)  # fmt: skip
                    services[name] = settings
        except _ServiceError as error:
            reader._refused(file, error.message, error.span)
            return False
        finally:
            self.chain.pop()
        return True

    def _entry(self, reader: ComposeReader, entry: Any, span: Span, target: DeployTarget,
               project: _Project) -> dict[str, ServiceSettings]:  # fmt: skip
        paths, env_files = self._paths(reader, entry, span)
        sources = [self._load(path, span) for path in paths]
        found = _project_variables(paths[0], target, env_files)
        if found is None:
            raise _ServiceError(f"include: {paths[0]}: its .env cannot be read", span)
        own, own_name = found
        entries = {k: replace(e, source=e.source or own_name) for k, e in own.items()}
        entries.update((k, replace(e, source=e.source or project.env_name))
                       for k, e in project.entries.items())  # fmt: skip
        included = _Project(entries, own_name, project.env_file_variables)
        services = _services(sources[0], sources[1:], target, included, self)
        if services is None:
            raise _ServiceError(f"include: {paths[0]} cannot be used", span)
        return services

    def _paths(self, reader: ComposeReader, entry: Any,
               span: Span) -> tuple[list[str], list[Path] | None]:  # fmt: skip
        """The files of an `include` entry (short: a path; long: `path`, one or a list)
        and its `env_file`s (None: the `.env` beside the first), relative to the file."""
        base = Path(reader.source.path).parent
        raw_paths = entry.get("path") if isinstance(entry, dict) else entry
        raw_envs = entry.get("env_file") if isinstance(entry, dict) else None
        items = raw_paths if isinstance(raw_paths, list) else [raw_paths]
        envs = raw_envs if isinstance(raw_envs, list) else [] if raw_envs is None else [raw_envs]
        texts = [i for i in [*items, *envs] if isinstance(i, str)]
        if not items or len(texts) < len(items) + len(envs):
            raise _ServiceError("include: each entry needs a path", span)
        resolved = [base / reader._interpolate(text, span).text for text in texts]
        paths = [os.path.normpath(path) for path in resolved[: len(items)]]
        if any(path in self.chain for path in paths):
            raise _ServiceError(f"include: cycle through {paths[0]}", span)
        env_files = resolved[len(items) :] or None
        return paths, env_files

    def _load(self, path: str, span: Span) -> YamlFile:
        self.files += 1
        if self.files > MAX_INCLUDED_FILES:
            raise InputError(path, f"more than {MAX_INCLUDED_FILES} files included in one "
                             "project (octolint's limit)")  # fmt: skip
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
            return load_yaml(text, path)
        except OSError as exc:
            raise _ServiceError(f"include: {path}: cannot read: {exc.strerror or exc}",
                                span) from None  # fmt: skip
        except UnicodeDecodeError:
            raise _ServiceError(f"include: {path}: not UTF-8 text", span) from None
        except YamlError as error:
            raise _ServiceError(f"include: {path}: {error}", span) from None
        except YamlLimit as error:
            raise InputError(path, str(error)) from None


def _project_variables(
    path: str, target: DeployTarget, env_files: Sequence[Path] | None
) -> tuple[dict[str, EnvEntry], str] | None:
    """The .env (or --env-file) variables; None when one is broken (an OCT300 file)."""
    entries: dict[str, EnvEntry] = {}
    env_name = ".env"
    paths = list(env_files) if env_files is not None else _default_env(path)
    for env_path in paths:
        env_name = str(env_path)
        try:
            text = env_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(str(env_path), f"cannot read: {reason}") from None
        try:
            entries.update(parse_dotenv(text))
        except ExpansionLimit as error:
            raise InputError(str(env_path), str(error)) from None
        except DotenvError as error:
            target.files.append(DeployFile(str(env_path), "dotenv", redact_dotenv(text), {},
                                           error.message, Span(error.line)))  # fmt: skip
            return None
    return entries, env_name


def _default_env(path: str) -> list[Path]:
    candidate = Path(path).parent / ".env"
    return [candidate] if candidate.is_file() else []


def redact(lines: list[str], positions: Sequence[Secret]) -> list[str]:
    """Lines with each secret value replaced, so no report can print it.

    Only a Compose list item (``- KEY=value``, ``named`` true) keeps the text
    up to its first ``=``, the variable's name; a value of its own is cut whole
    from where it starts, so a base64 value's ``=`` padding or a connection
    string's ``Server=`` never leaves part of it on show.
    """
    result = list(lines)
    for line, column, named in positions:
        if 0 < line <= len(result):
            text = result[line - 1]
            cut = column - 1
            if named and "=" in text[cut:] and text[cut:].lstrip(
                " -\"'"
            ).split("=", 1)[0].isidentifier():
                cut += text[cut:].index("=") + 1  # `- KEY=value`: keep the name
            result[line - 1] = text[:cut] + REDACTED
    return result


def redact_dotenv(text: str) -> list[str]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"\s*(?:export\s+)?([^=:\s]+)\s*[=:]", line)
        if match and secret_name(match.group(1)):
            lines[index] = line[: match.end()] + REDACTED
    return lines


# -- files that cannot be parsed ---------------------------------------------------
# Without a parse there is no structure to find secret values by, so they are found
# by shape: a setting whose name looks secret (`KEY: value`, `"KEY": value`,
# `- KEY=value`, `{KEY: value}`), and a Kubernetes env var's `value:` in the same
# mapping as a `name:` that looks secret. The value is replaced to the end of its
# line, and so is every more indented line after it (a block or multi-line scalar).
# Every step is linear in the file's size: the file is hostile input.

# A key (a whole word: the look-behind keeps the search linear) and its separator.
_SETTING = re.compile(r"""(?<![\w.-])([\w.-]++)["']?[ \t]*+(?::(?=[ \t]|$)|=)[ \t]*+""")
_ITEM_LEAD = r"""[ \t]*(?:-[ \t]+)*["']?"""  # indentation, list dashes, a key's quote
_NAME_KEY = re.compile(rf"""{_ITEM_LEAD}name["']?[ \t]*:[ \t]+["']?([\w.-]+)""")
_VALUE_KEY = re.compile(rf"""{_ITEM_LEAD}value["']?[ \t]*:(?=[ \t]|$)[ \t]*""")


def redact_unparsed(lines: Sequence[str]) -> tuple[list[str], list[str]]:
    """Lines of a file that could not be read as Compose or Kubernetes would, with what
    looks like a secret value replaced; and the values replaced, to mask them in the
    error message too."""
    result = list(lines)
    cuts = [
        (index, match.end(), _depth(text, match.group()))
        for index, text in enumerate(result)
        if (match := _secret_setting(text))
    ]
    cuts += _secret_env_values(result)
    removed: list[str] = []
    done: set[int] = set()  # lines already replaced, as a value or its continuation
    for index, start, depth in sorted(cuts):  # the first cut on a line is the leftmost
        if index not in done:
            removed += _cut(result, (index, start, depth), done)
    return result, [value for value in removed if value and value != REDACTED]


def redact_message(message: str, values: Sequence[str]) -> str:
    """``message`` with each value (long enough not to garble it) replaced."""
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= MIN_LENGTH:
            message = message.replace(value, REDACTED)
    return message


def _secret_setting(text: str) -> re.Match[str] | None:
    """The first `KEY: ` / `KEY=` on the line whose KEY looks secret."""
    if not MAYBE_SECRET_NAME.search(text):  # most lines: one quick search
        return None
    return next((m for m in _SETTING.finditer(text) if secret_name(m.group(1))), None)


def _depth(text: str, setting: str) -> int:
    """How far a value's continuation lines are indented at least: beyond the key of a
    `key: value` (`- key:` starts a mapping), beyond the dash of a `- KEY=value` item."""
    return _indent(text) if setting.rstrip().endswith("=") else _key_column(text)


def _cut(lines: list[str], cut: tuple[int, int, int], done: set[int]) -> list[str]:
    """Replace the value at ``(line index, start, depth)`` and its continuation lines
    (indented beyond depth), adding them to ``done``; return what was removed.

    A continuation line is never cut again, so all cuts together read each line once.
    """
    index, start, depth = cut
    text = lines[index]
    removed = [text[start:].strip().strip("\"'")]
    if text[start:]:
        lines[index] = text[:start] + REDACTED
    done.add(index)
    for after in range(index + 1, len(lines)):
        following = lines[after]
        content = following.lstrip(" \t")
        if not content.strip():
            continue
        indent = len(following) - len(content)
        if indent <= depth:
            break
        removed.append(content.strip().strip("\"'"))
        lines[after] = following[:indent] + REDACTED
        done.add(after)
    return removed


class _Mapping:
    """A block mapping being read: its keys' column, whether a `name:` in it looks
    secret, and its `value:` keys as cuts."""

    def __init__(self, column: int):
        self.column = column
        self.secret = False
        self.values: list[tuple[int, int, int]] = []


def _secret_env_values(lines: Sequence[str]) -> list[tuple[int, int, int]]:
    """Cuts for each `value:` of a mapping whose `name:` looks secret, in one pass: the
    mappings open at a line form a stack by column (more indented lines belong to a
    nested one, a less indented line or a new `- ` item closes them)."""
    found: list[tuple[int, int, int]] = []
    stack: list[_Mapping] = []
    for index, text in enumerate(lines):
        content = text.lstrip(" \t")
        if not content or content[0] in "#\r\n" or content.isspace():
            continue
        indent = len(text) - len(content)
        column = _key_column(text) if content[0] == "-" else indent
        while stack and (stack[-1].column > indent or stack[-1].column == column > indent):
            closed = stack.pop()
            found += closed.values if closed.secret else []
        if not stack or stack[-1].column != column:
            stack.append(_Mapping(column))
        mapping = stack[-1]
        if "name" in content and (name := _NAME_KEY.match(text)):
            mapping.secret |= secret_name(name.group(1))
        if "value" in content and (value := _VALUE_KEY.match(text)):
            mapping.values.append((index, value.end(), column))
    return found + [cut for mapping in stack if mapping.secret for cut in mapping.values]


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def _key_column(text: str) -> int:
    """Where a line's first key starts, after its indentation and list dashes."""
    match = _LEAD.match(text)
    return match.end() if match else 0


_LEAD = re.compile(r"[ \t]*(?:-[ \t]+)*")
