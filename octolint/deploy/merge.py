"""Merging a Compose service across files, as ``docker compose`` merges override files.

compose-spec's merge rules for the settings the rules read: a scalar
(``image``, ``privileged``, ``mem_limit``, ``deploy.resources.limits.memory``)
of the later file replaces the earlier one; ``environment`` is merged by
variable name whatever its form (mapping or ``KEY=VALUE`` list); ``env_file``
lists are appended (a file already listed keeps its place), so a variable of
a later file wins; and the variables of
``environment`` beat those of ``env_file`` whichever file set them. ``!reset``
removes a setting, ``!override`` replaces a mapping instead of merging it.

The merge keeps each value's own file and line, so a finding points at the
override file when the override set the value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from octolint.deploy.target import COMPOSE, Container, Value
from octolint.model import Span

RESET_TAG = "!reset"
OVERRIDE_TAG = "!override"


class Reset:
    """``!reset``: the setting is removed from what earlier files said."""

    def __repr__(self) -> str:
        return "RESET"


RESET = Reset()
Mode = Literal["merge", "override", "reset"]
_T = TypeVar("_T")
# a variable's value, or RESET: `VAR: !reset null` in an override removes it
Variables = tuple[Mode, dict[str, "Value | Reset"]]
EnvFiles = tuple[Mode, dict[str, dict[str, Value]]]  # file -> its variables, in order


def mode_of(tag: str | None) -> Mode:
    if tag == RESET_TAG:
        return "reset"
    return "override" if tag == OVERRIDE_TAG else "merge"


@dataclass
class ServiceSettings:
    """What one file (or several, merged) says about one service."""

    name: str
    path: str
    span: Span  # the service key where the service was first defined
    image: Value | Reset | None = None
    privileged: Value | Reset | None = None
    mem_limit: Value | Reset | None = None
    deploy_memory: Value | Reset | None = None
    env_files: EnvFiles | None = None  # (how it merges, variables read from each file)
    environment: Variables | None = None
    # volumes' targets -> sources, merged by target as Compose merges volumes
    mounts: dict[str, str] | None = None

    def container(self) -> Container:
        container = Container(COMPOSE, self.path, self.name, self.span)
        container.image = _value(self.image)
        container.privileged = _value(self.privileged)
        container.memory_limit = _value(self.deploy_memory) or _value(self.mem_limit)
        container.env = {}
        for variables in _variables(self.env_files).values():
            container.env.update(variables)
        container.env.update(_set(_variables(self.environment)))
        container.mounts = dict(self.mounts or {})
        return container


    def settled(self) -> ServiceSettings:
        """The service as a base for others to extend: its own ``!reset`` and
        ``!override`` were about its own file and are done with."""
        settled = replace(self)
        for name in _SCALARS:
            if isinstance(getattr(self, name), Reset):
                setattr(settled, name, None)
        if self.env_files is not None:
            settled.env_files = ("merge", _variables(self.env_files))
        if self.environment is not None:
            settled.environment = ("merge", dict(_set(_variables(self.environment))))
        return settled


_SCALARS = ("image", "privileged", "mem_limit", "deploy_memory")


def merge_service(base: ServiceSettings, later: ServiceSettings) -> ServiceSettings:
    """``later`` (an override file's statement of the service) applied to ``base``."""
    merged = replace(base)
    for name in _SCALARS:
        value = getattr(later, name)
        if value is not None:
            setattr(merged, name, value)
    merged.env_files = _merge(base.env_files, later.env_files, keep_first=True)
    merged.environment = _merge(base.environment, later.environment, keep_first=False)
    if later.mounts is not None:
        merged.mounts = {**(base.mounts or {}), **later.mounts}
    return merged


def merge_services(
    base: dict[str, ServiceSettings], later: dict[str, ServiceSettings]
) -> dict[str, ServiceSettings]:
    merged = dict(base)
    for name, settings in later.items():
        merged[name] = merge_service(base[name], settings) if name in base else settings
    return merged


def _merge(
    base: tuple[Mode, dict[str, _T]] | None,
    later: tuple[Mode, dict[str, _T]] | None,
    *,
    keep_first: bool,
) -> tuple[Mode, dict[str, _T]] | None:
    """Merged by key: a variable name (the later value wins), or an env_file's
    path (``keep_first``: a file already listed keeps its place, as in Compose)."""
    if later is None:
        return base
    mode, values = later
    if mode != "merge" or base is None:
        return later
    earlier = _variables(base)
    added = {k: v for k, v in values.items() if not (keep_first and k in earlier)}
    return "merge", {**earlier, **added}


def _variables(variables: tuple[Mode, dict[str, _T]] | None) -> dict[str, _T]:
    if variables is None or variables[0] == "reset":
        return {}
    return variables[1]


def _set(variables: dict[str, Value | Reset]) -> dict[str, Value]:
    """The variables a `!reset` has not removed."""
    return {k: v for k, v in variables.items() if isinstance(v, Value)}


def _value(value: Value | Reset | None) -> Value | None:
    return value if isinstance(value, Value) else None
