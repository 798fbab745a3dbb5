"""Compose files: services, interpolated with the project's ``.env`` as Compose does.

The ``.env`` beside the Compose file (or the ``--env-file`` ones) provides
the variables; the shell environment is not read, so a run gives the same
answer on every machine. A ``${VAR}`` whose variable is set nowhere is
"unknown", not empty: the deploy environment may set it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from octolint.deploy.dotenv import DotenvError, EnvEntry, parse_dotenv
from octolint.deploy.interpolate import InterpolationError, interpolate
from octolint.deploy.model import COMPOSE, Container, DeployFile, DeployTarget, Value
from octolint.deploy.yamlsource import (
    YamlFile,
    comment_lines,
    get,
    item_span,
    key_span,
    value_position,
)
from octolint.model import Span

SENSITIVE = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|MASTER_KEY|LICENSE|CONNECTION_?STRING", re.I
)
_REFERENCE = re.compile(r"\$\{?([_A-Za-z][_A-Za-z0-9]*)")
_BARE_REFERENCES = re.compile(r"(?:\$\{[_A-Za-z][_A-Za-z0-9]*\}|\$[_A-Za-z][_A-Za-z0-9]*)+")
REDACTED = "<redacted>"


class _ServiceError(Exception):
    def __init__(self, message: str, span: Span):
        super().__init__(message)
        self.message = message
        self.span = span


class ComposeReader:
    """Reads one Compose file into the target, interpolating with its variables."""

    def __init__(self, source: YamlFile, env_entries: Mapping[str, EnvEntry], env_name: str):
        self.source = source
        self.entries = env_entries
        self.variables = {k: e.value for k, e in env_entries.items()}
        self.env_name = env_name
        self.lines = source.lines
        self.secrets: list[tuple[int, int]] = []  # (line, column) of secret values

    def read(self, target: DeployTarget, file: DeployFile) -> None:
        document = self.source.documents[0] if self.source.documents else None
        problem = self._first_interpolation_error(document, ())
        if problem is not None:
            file.error, file.error_span = problem
            return
        services = get(document, "services")
        containers = []
        if isinstance(services, dict):
            for name, service in services.items():
                if not isinstance(service, dict):
                    continue
                try:
                    containers.append(self._service(str(name), service, services))
                except _ServiceError as error:  # docker compose refuses the whole file
                    file.error, file.error_span = error.message, error.span
                    return
        target.containers += containers
        file.lines = redact(self.lines, self.secrets)

    # -- interpolation ----------------------------------------------------------
    def value(self, raw: Any, span: Span) -> Value:
        if raw is None:
            return Value(None, span, self.source.path)  # `KEY:` alone: from the shell
        if not isinstance(raw, str):
            text = str(raw).lower() if isinstance(raw, bool) else str(raw)
            return Value(text, span, self.source.path)
        resolution = interpolate(raw, self.variables)
        return Value(resolution.text if resolution.known else None, span, self.source.path,
                     self._origin(raw))  # fmt: skip

    def _origin(self, raw: str) -> str:
        used = [n for n in _REFERENCE.findall(raw) if n in self.entries]
        if not used:
            return ""
        where = ", ".join(f"{n} at {self.env_name} line {self.entries[n].line}" for n in used)
        return f" (from {where})"

    def _first_interpolation_error(self, node: Any, at: Sequence[Any]) -> tuple[str, Span] | None:
        """Compose interpolates every string value and refuses the file on the first error."""
        items: Iterator[tuple[Any, Any, Span]]
        if isinstance(node, dict):
            items = ((k, v, key_span(node, k)) for k, v in node.items())
        elif isinstance(node, list):
            items = ((i, v, item_span(node, i, self.lines)) for i, v in enumerate(node))
        else:
            return None
        for key, child, span in items:
            if isinstance(child, str):
                try:
                    interpolate(child, self.variables)
                except InterpolationError as error:
                    return f"cannot interpolate '{key}': {error}", span
            else:
                found = self._first_interpolation_error(child, (*at, key))
                if found:
                    return found
        return None

    # -- services ---------------------------------------------------------------
    def _service(self, name: str, service: Any, services: Any) -> Container:
        container = Container(COMPOSE, self.source.path, name, key_span(services, name))
        if "image" in service:
            container.image = self.value(service["image"], key_span(service, "image"))
        if "privileged" in service:
            container.privileged = self.value(service["privileged"],
                                              key_span(service, "privileged"))  # fmt: skip
        container.env = self._env_files(service)
        container.env.update(self._environment(service.get("environment")))
        limits = get(service, "deploy", "resources", "limits")
        if isinstance(limits, dict) and "memory" in limits:
            container.memory_limit = self.value(limits["memory"], key_span(limits, "memory"))
        elif "mem_limit" in service:
            container.memory_limit = self.value(service["mem_limit"],
                                                key_span(service, "mem_limit"))  # fmt: skip
        return container

    def _env_files(self, service: Any) -> dict[str, Value]:
        """Variables from the service's `env_file`s (`environment` overrides them)."""
        entries = service.get("env_file")
        span = key_span(service, "env_file")
        items = entries if isinstance(entries, list) else [entries]
        values: dict[str, Value] = {}
        for item in items:
            raw = item.get("path") if isinstance(item, dict) else item
            required = not isinstance(item, dict) or item.get("required", True) is not False
            if not isinstance(raw, str):
                continue
            path = Path(self.source.path).parent / interpolate(raw, self.variables).text
            try:
                entries_read = parse_dotenv(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                if required:
                    raise _ServiceError(f"env_file {raw} cannot be read", span) from None
                continue
            except DotenvError as error:
                raise _ServiceError(f"env_file {raw}: {error}", span) from None
            for name, entry in entries_read.items():
                values[name] = Value(entry.value, span, self.source.path,
                                     f" (from {raw} line {entry.line})")  # fmt: skip
        return values

    def _environment(self, environment: Any) -> dict[str, Value]:
        values: dict[str, Value] = {}
        if isinstance(environment, dict):
            for key, raw in environment.items():
                name = str(key)
                values[name] = self.value(raw, key_span(environment, key))
                position = value_position(environment, key)
                if SENSITIVE.search(name) and position and not _reference_only(raw):
                    self.secrets.append(position)
        elif isinstance(environment, list):
            for index, item in enumerate(environment):
                if not isinstance(item, str):
                    continue
                span = item_span(environment, index, self.lines)
                name, equals, raw = item.partition("=")
                values[name] = self.value(raw if equals else None, span)
                if SENSITIVE.search(name) and equals and not _reference_only(raw):
                    self.secrets.append((span.line, span.column))
        return values


def _reference_only(raw: Any) -> bool:
    """`${VAR}` or `$VAR` alone holds no secret (a default like `${VAR:-x}` may)."""
    return isinstance(raw, str) and bool(_BARE_REFERENCES.fullmatch(raw.strip()))


def read_compose(
    source: YamlFile, target: DeployTarget, env_files: Sequence[Path] | None
) -> None:
    """Add one Compose file (and its .env) to the target."""
    file = DeployFile(source.path, COMPOSE, source.lines, comment_lines(source.text))
    entries: dict[str, EnvEntry] = {}
    env_name = ".env"
    paths = list(env_files) if env_files is not None else _default_env(source.path)
    for env_path in paths:
        env_name = str(env_path)
        try:
            text = env_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            from octolint.errors import InputError

            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(str(env_path), f"cannot read: {reason}") from None
        try:
            entries.update(parse_dotenv(text))
        except DotenvError as error:
            target.files.append(DeployFile(str(env_path), "dotenv", redact_dotenv(text), {},
                                           error.message, Span(error.line)))  # fmt: skip
            return
    target.files.append(file)
    ComposeReader(source, entries, env_name).read(target, file)


def _default_env(path: str) -> list[Path]:
    candidate = Path(path).parent / ".env"
    return [candidate] if candidate.is_file() else []


def redact(lines: list[str], positions: Sequence[tuple[int, int]]) -> list[str]:
    """Lines with each secret value replaced, so no report can print it."""
    result = list(lines)
    for line, column in positions:
        if 0 < line <= len(result):
            text = result[line - 1]
            cut = column - 1
            if "=" in text[cut:] and text[cut:].lstrip(" -\"'").split("=", 1)[0].isidentifier():
                cut += text[cut:].index("=") + 1  # `- KEY=value`: keep the name
            result[line - 1] = text[:cut] + REDACTED
    return result


def redact_dotenv(text: str) -> list[str]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"\s*(?:export\s+)?([^=:\s]+)\s*[=:]", line)
        if match and SENSITIVE.search(match.group(1)):
            lines[index] = line[: match.end()] + REDACTED
    return lines
