"""Finding the rules: every rule, built-in or third-party, is an entry point.

A rule is any object (usually a module) registered in the entry-point group
``octolint.rules`` that has these attributes, yamllint-style:

``ID``          stable id users search for, e.g. ``"OCT101"``
``NAME``        short kebab-case name, e.g. ``"no-entrypoint"``
``SEVERITY``    default severity: ``"error"``, ``"warning"`` or ``"note"``
``APPLIES_TO``  ``"dockerfile"`` or ``"image"``
``SUMMARY``     one line for ``octolint rules`` and SARIF shortDescription
``HINT``        one-line fix hint shown under each finding
``OPTIONS``     optional dict of option name -> default value
``RUNS_ON_SYNTAX_ERROR``  optional; True to be run on files that do not parse
``check(target, options)``  yields :class:`octolint.model.Problem`

The module docstring is the rule's documentation (``octolint explain``,
SARIF help). See ``rules/`` for the built-in ones.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from octolint.errors import ConfigError
from octolint.model import Problem, Severity

ENTRY_POINT_GROUP = "octolint.rules"
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*[0-9]+$")
TARGET_KINDS = ("dockerfile", "image")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    applies_to: str
    summary: str
    hint: str
    doc: str
    check: Callable[[Any, Mapping[str, Any]], Iterable[Problem]]
    options: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""  # the entry point's value, for error messages
    runs_on_syntax_error: bool = False  # only the parse-error rule wants broken files


class RuleLoadError(ConfigError):
    pass


def rule_from_object(obj: Any, origin: str) -> Rule:
    """Validate a rule object's metadata and wrap it; errors name the plugin."""

    def attr(name: str) -> Any:
        if not hasattr(obj, name):
            raise RuleLoadError(f"rule plugin has no {name}", source=origin)
        return getattr(obj, name)

    rule_id = str(attr("ID"))
    if not RULE_ID.match(rule_id):
        raise RuleLoadError(f"invalid rule id '{rule_id}'", source=origin)
    applies_to = str(attr("APPLIES_TO"))
    if applies_to not in TARGET_KINDS:
        raise RuleLoadError(f"APPLIES_TO must be one of {TARGET_KINDS}", source=origin)
    try:
        severity = Severity.parse(str(attr("SEVERITY")))
    except ValueError as exc:
        raise RuleLoadError(str(exc), source=origin) from None
    check = attr("check")
    if not callable(check):
        raise RuleLoadError("check is not callable", source=origin)
    return Rule(
        id=rule_id,
        name=str(attr("NAME")),
        severity=severity,
        applies_to=applies_to,
        summary=str(attr("SUMMARY")),
        hint=str(getattr(obj, "HINT", "")),
        doc=inspect.cleandoc(getattr(obj, "__doc__", None) or ""),
        check=check,
        options=dict(getattr(obj, "OPTIONS", {}) or {}),
        origin=origin,
        runs_on_syntax_error=bool(getattr(obj, "RUNS_ON_SYNTAX_ERROR", False)),
    )


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """All installed rules, sorted by id."""
    from importlib.metadata import entry_points

    rules: dict[str, Rule] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the tool down
            raise RuleLoadError(f"cannot load rule plugin: {exc}", source=ep.value) from exc
        rule = rule_from_object(obj, ep.value)
        if rule.id in rules and rules[rule.id].origin != rule.origin:
            raise RuleLoadError(
                f"rule id {rule.id} is registered twice ({rules[rule.id].origin})",
                source=ep.value,
            )
        rules[rule.id] = rule
    return tuple(sorted(rules.values(), key=lambda r: r.id))


def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in load_rules()}
