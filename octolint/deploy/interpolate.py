"""Compose variable interpolation, as ``docker compose`` does it.

No maintained Python library implements Compose's rules (python-dotenv knows
``${VAR}`` and ``${VAR:-default}`` only), so this follows compose-go's
``template`` package: the same regular expression (Go's RE2 and Python's
``re`` both pick the leftmost, first-alternative match), the same choice of
operator, the same nesting. The test suite checks agreement with the real
``docker compose config`` binary on generated templates.

Supported: ``$$`` (a literal ``$``), ``$VAR``, ``${VAR}``, ``${VAR:-d}``,
``${VAR-d}``, ``${VAR:?err}``, ``${VAR?err}``, ``${VAR:+alt}``, ``${VAR+alt}``,
with nested templates in ``d``/``err``/``alt``. A ``${`` that starts none
of these is an error, as in Compose; a ``$`` before anything else (``$1``,
``$ ``) stays as it is.

Unlike Compose, which silently substitutes an empty string for an unset
variable, the result also says which unset variables it depended on: a linter
must not call a password "empty" when it will come from the deploy
environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_PATTERN = re.compile(
    r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)"
    r"|\{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))"
)
# In compose-go the operator is the one whose first occurrence comes first.
_OPERATORS = (":?", "?", ":-", "-", ":+", "+")


class InterpolationError(ValueError):
    """A template Compose refuses (invalid ``$`` use, or ``${VAR:?err}`` unmet)."""


@dataclass
class Resolution:
    """The interpolated text and the unset variables it depended on."""

    text: str
    unset: set[str] = field(default_factory=set)

    @property
    def known(self) -> bool:
        return not self.unset


class _Lookup:
    def __init__(self, variables: Mapping[str, str]):
        self.variables = variables
        self.unset: set[str] = set()

    def __call__(self, name: str) -> str | None:
        value = self.variables.get(name)
        if value is None:
            self.unset.add(name)
        return value


def interpolate(template: str, variables: Mapping[str, str]) -> Resolution:
    """Interpolate one string value; raises InterpolationError as Compose would fail."""
    lookup = _Lookup(variables)
    text = _substitute(template, lookup)
    return Resolution(text, lookup.unset)


def _substitute(template: str, lookup: _Lookup) -> str:
    errors: list[str] = []

    def replace(match: re.Match[str]) -> str:
        try:
            return _one(match.group(0), lookup)
        except InterpolationError as error:
            errors.append(str(error))
            return ""

    result = _PATTERN.sub(replace, template)
    if errors:
        raise InterpolationError(errors[0])
    return result


def _one(matched: str, lookup: _Lookup) -> str:
    operator = _first_operator(matched)
    closing = _closing_brace(matched)
    rest = ""
    if closing > -1:
        matched, rest = matched[: closing + 1], matched[closing + 1 :]
    groups = _PATTERN.match(matched)
    assert groups is not None  # the text starts with what matched before
    if groups.group("escaped"):
        return "$"
    substitution = groups.group("named") or groups.group("braced")
    if not substitution:
        raise InterpolationError(f"invalid interpolation format: {matched!r}")
    if groups.group("braced") and operator is not None and operator in substitution:
        return _apply(operator, substitution, lookup) + _substitute(rest, lookup)
    return lookup(substitution) or ""


def _first_operator(text: str) -> str | None:
    found = [(text.find(op), op) for op in _OPERATORS if op in text]
    return min(found)[1] if found else None


def _closing_brace(text: str) -> int:
    """Index of the '}' that balances the first '{' (compose-go's count, including
    its skip of the character after each '{'), or -1."""
    depth = 0
    i = 0
    while i < len(text):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        if text[i] == "{":
            depth += 1
            i += 1
        i += 1
    return -1


def _apply(operator: str, substitution: str, lookup: _Lookup) -> str:
    """A braced template with an operator. Its fallback is what the file says for an
    unset variable, so unlike a bare ${VAR} the result counts as known."""
    name, _, argument = substitution.partition(operator)
    argument = _substitute(argument, lookup)
    value = lookup.variables.get(name)
    if operator in (":?", "?"):
        if value is None or (operator == ":?" and value == ""):
            raise InterpolationError(f"required variable {name} is missing a value: {argument}")
        return value
    return _ACTIONS[operator](value, argument)


_ACTIONS: dict[str, Callable[[str | None, str], str]] = {
    ":-": lambda value, default: value if value else default,
    "-": lambda value, default: default if value is None else value,
    ":+": lambda value, alt: alt if value else (value or ""),
    "+": lambda value, alt: alt if value is not None else "",
}
