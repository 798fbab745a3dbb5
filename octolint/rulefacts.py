"""The facts a rule module declares besides its code: option specs and its SARIF score.

Both are plain data, kept in the rule memo (octolint.rulebook) as JSON, so that
``octolint rules``, the configuration checks and the reporters never import a
rule's module.

An option is declared with its default and the type of every value::

    OPTIONS = {"musl-images": list_of(str, default=["acme/tiny-*"]),
               "max-layers": option(int, default=100)}

A plain default (``{"musl-images": []}``) still works: its type is the
default's, and a list's items are of the type of its first item (anything
when it is empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# The types an option (or a list option's items) may have: what TOML gives.
TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool, "list": list}
_NAMES = {kind: name for name, kind in TYPES.items()}
_ARTICLE = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
            "list": "a list"}  # fmt: skip


@dataclass(frozen=True)
class Option:
    """A rule option: its default, its type and, for a list, its items' type."""

    default: Any
    type: str  # a key of TYPES
    items: str | None = None  # for a list; None: anything

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (from a configuration file) cannot be this option; None if it can."""
        if not _is(value, self.type):
            return f"must be {_ARTICLE[self.type]}, not {_shown(value)}"
        if self.type == "list" and self.items is not None:
            for number, item in enumerate(value, 1):
                if not _is(item, self.items):
                    return (
                        f"must be a list of {self.items} values: item {number} is {_shown(item)}"
                    )
        return None

    def to_json(self) -> dict[str, Any]:
        return {"default": self.default, "type": self.type, "items": self.items}

    @classmethod
    def from_json(cls, data: Any) -> Option:
        """An option from the memo; ValueError when it is not one (a damaged memo)."""
        if not isinstance(data, Mapping) or set(data) != {"default", "type", "items"}:
            raise ValueError("not an option")
        kind, items = data["type"], data["items"]
        if kind not in TYPES or (items is not None and items not in TYPES):
            raise ValueError("unknown option type")
        option = cls(data["default"], kind, items)
        if option.problem(option.default) is not None:
            raise ValueError("default of the wrong type")
        return option


def option(kind: type, default: Any) -> Option:
    """A scalar option: ``option(int, default=3)``."""
    return Option(default, _name_of(kind))


def list_of(item: type, default: list[Any] | tuple[Any, ...] = ()) -> Option:
    """A list option whose every item has type ``item``: ``list_of(str, default=[])``."""
    return Option(list(default), "list", _name_of(item))


def options_from(declared: Mapping[str, Any]) -> dict[str, Option]:
    """A rule's ``OPTIONS``: Option specs, or plain defaults (typed by their value)."""
    return {
        str(name): value if isinstance(value, Option) else _inferred(value)
        for name, value in declared.items()
    }


def _inferred(default: Any) -> Option:
    kind = _name_of(type(default))
    items = None
    if kind == "list" and default:
        items = _name_of(type(default[0]))
    return Option(list(default) if kind == "list" else default, kind, items)


def _name_of(kind: type) -> str:
    if kind is tuple:
        return "list"
    if kind not in _NAMES:
        raise TypeError(f"option type must be one of {', '.join(TYPES)}, not {kind.__name__}")
    return _NAMES[kind]


def _is(value: Any, name: str) -> bool:
    if name == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def _shown(value: Any) -> str:
    name = _NAMES.get(type(value), type(value).__name__)
    return f"{value!r} ({name})" if len(repr(value)) <= 40 else f"a {name}"


class SarifScore(NamedTuple):
    """How GitHub code scanning should rank a rule's alerts (SARIF rule properties).

    ``security_severity`` rates what the problem does to the deployment, on
    GitHub's scale: 7.0-8.9 (high) every step in the container fails, or the server
    does not start or loses data; 4.0-6.9 (medium) some steps or tools fail;
    0.1-3.9 (low) nothing fails by itself. GitHub uses it only for rules tagged
    ``security`` (``security=True``: rules about published credentials and keys).
    ``precision``: very-high for what is read from the built image or is exact
    syntax, high for following a build or a manifest, medium for heuristics.
    """

    security_severity: str  # "0.0" to "10.0"
    precision: str  # very-high, high, medium or low
    security: bool = False

    @classmethod
    def from_json(cls, data: Any) -> SarifScore | None:
        if data is None:
            return None
        if not isinstance(data, list) or len(data) != 3:
            raise ValueError("not a score")
        severity, precision, security = data
        if not (isinstance(severity, str) and isinstance(precision, str)
                and isinstance(security, bool)):  # fmt: skip
            raise ValueError("not a score")
        return cls(severity, precision, security)
