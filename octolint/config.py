"""Configuration: ``.octolint.toml`` or ``[tool.octolint]`` in ``pyproject.toml``.

Found without flags, as ruff and black do: starting at the first linted path,
each directory up to the repository root (the one holding ``.git``) is tried;
in each, ``.octolint.toml`` wins over ``pyproject.toml``, and a
``pyproject.toml`` without a ``[tool.octolint]`` table is passed over.

An invalid file is an error naming the file, the key and the reason: it is
never silently replaced by defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octolint.errors import ConfigError
from octolint.knowledge.octopus import OctopusServer, parse_octopus_version
from octolint.model import Severity

CONFIG_FILE = ".octolint.toml"
PYPROJECT = "pyproject.toml"
FAIL_ON_CHOICES = ("error", "warning", "note", "never")
_KNOWN_KEYS = frozenset({"ignore", "severity", "fail-on", "exclude", "rules", "octopus-version"})


@dataclass
class Config:
    """Settings for one run. Rule ids here may be unknown: the engine reports those."""

    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_on: str | None = None  # None: not set here, the CLI default applies
    exclude: list[str] = field(default_factory=list)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    octopus: OctopusServer | None = None  # octopus-version; None: not set here
    source: Path | None = None  # the file it came from; None for defaults
    root: Path = field(default_factory=Path.cwd)  # exclude globs are relative to it

    def mentioned_rule_ids(self) -> list[str]:
        return [*self.ignore, *self.severity, *self.rule_options]


def fail_threshold(name: str) -> Severity | None:
    """Map a --fail-on / fail-on value to a severity; 'never' is None."""
    return None if name == "never" else Severity.parse(name)


def find_config_file(start: Path) -> Path | None:
    """The nearest config file at or above start, stopping at the repository root."""
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for candidate in (directory, *directory.parents):
        dotfile = candidate / CONFIG_FILE
        if dotfile.is_file():
            return dotfile
        pyproject = candidate / PYPROJECT
        if pyproject.is_file() and _has_octolint_table(pyproject):
            return pyproject
        if (candidate / ".git").exists():
            return None
    return None


def _has_octolint_table(pyproject: Path) -> bool:
    data = _read_toml(pyproject)
    return isinstance(data.get("tool"), dict) and "octolint" in data["tool"]


def _read_toml(path: Path) -> dict[str, Any]:
    # Imported here: most runs have no config file, and start-up time matters.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=str(path)) from None


def load_config(path: Path) -> Config:
    """Read and validate one config file."""
    data = _read_toml(path)
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("octolint")
        if table is None:
            raise ConfigError("has no [tool.octolint] table", source=str(path))
        prefix = "tool.octolint."
    else:
        table, prefix = data, ""
    if not isinstance(table, dict):
        raise ConfigError("must be a table", source=str(path), key=prefix.rstrip("."))
    return _validate(table, path, prefix)


def _validate(table: Mapping[str, Any], path: Path, prefix: str) -> Config:
    source = str(path)

    def fail(key: str, reason: str) -> ConfigError:
        return ConfigError(reason, source=source, key=prefix + key)

    for key in table:
        if key not in _KNOWN_KEYS:
            known = ", ".join(sorted(_KNOWN_KEYS))
            raise fail(key, f"unknown setting (known: {known})")
    config = Config(source=path, root=path.parent.resolve())
    config.ignore = _string_list(table, "ignore", fail)
    config.exclude = _string_list(table, "exclude", fail)
    config.severity = _severities(table.get("severity", {}), fail)
    config.rule_options = _rule_options(table.get("rules", {}), fail)
    if "fail-on" in table:
        value = table["fail-on"]
        if value not in FAIL_ON_CHOICES:
            raise fail("fail-on", f"must be one of {', '.join(FAIL_ON_CHOICES)}, not {value!r}")
        config.fail_on = value
    if "octopus-version" in table:
        config.octopus = _octopus_version(table["octopus-version"], fail)
    return config


def _octopus_version(value: Any, fail: Any) -> OctopusServer:
    # A TOML number would lose what matters: 2021.10 is the float 2021.1.
    if not isinstance(value, str):
        raise fail("octopus-version", 'must be a quoted version like "2021.2", not a number')
    try:
        return parse_octopus_version(value)
    except ValueError as exc:
        raise fail("octopus-version", str(exc)) from None


def _string_list(table: Mapping[str, Any], key: str, fail: Any) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(key, "must be a list of strings")
    return [v.strip() for v in value]


def _severities(value: Any, fail: Any) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise fail("severity", 'must be a table like { OCT107 = "error" }')
    result: dict[str, Severity] = {}
    for rule_id, name in value.items():
        try:
            result[rule_id] = Severity.parse(str(name))
        except ValueError as exc:
            raise fail(f"severity.{rule_id}", str(exc)) from None
    return result


def _rule_options(value: Any, fail: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise fail("rules", "must hold one table per rule, like [rules.OCT103]")
    return {rule_id: dict(options) for rule_id, options in value.items()}


def resolve_config(explicit: Path | None, first_input: Path | None) -> Config:
    """The run's configuration: --config FILE, else the one found, else defaults."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError("no such file", source=str(explicit), key="--config")
        return load_config(explicit)
    found = find_config_file(first_input or Path.cwd())
    return load_config(found) if found else Config()
