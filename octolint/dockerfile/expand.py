"""Variable expansion as Docker does it for FROM, ENV and ARG values.

Only what can be known statically is expanded: a variable with no known value
makes the whole result unknown (``None``), so that callers can stay silent
instead of guessing. Supported forms: ``$VAR``, ``${VAR}``, ``${VAR:-word}``,
``${VAR-word}``, ``${VAR:+word}``, ``${VAR+word}``, and escaped ``\\$``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

# A name, or a braced expression whose body has no nested braces; nested ones
# are expanded innermost-first by repeated passes (bounded, see _MAX_PASSES).
_VAR = re.compile(
    r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^{}]*))?\})"
)
_MAX_PASSES = 32
# Expansion can make text grow without bound (ARG A2=$A1$A1, then A3=$A2$A2...; or
# 100k ARGs each one character longer than the last: quadratic). A value longer than
# MAX_VALUE is unknown, and within an expansion_budget() all expansions together may
# produce at most that many characters; beyond, values are unknown (memory stays
# bounded whatever the Dockerfile). Real values (PATH...) are far below either.
MAX_VALUE = 16 * 1024
MAX_TOTAL = 4 * 1024 * 1024
_BUDGET: ContextVar[list[int] | None] = ContextVar("octolint_expansion_budget", default=None)

# Values a variable can have: None means "declared, but its value is not known".
Variables = Mapping[str, "str | None"]


class _Unknown(Exception):
    pass


def _substitute(match: re.Match[str], variables: Variables) -> str:
    name = match.group(1) or match.group(2)
    operator, word = match.group(3), match.group(4) or ""
    known = name in variables and variables[name] is not None
    value = variables.get(name) or ""
    if operator is None:
        if not known:
            raise _Unknown(name)
        return value
    if operator == ":-":
        return value if known and value else word
    if operator == "-":
        return value if name in variables and known else word
    if operator == ":+":
        return word if known and value else ""
    return word if known else ""  # "+"


def expand(text: str, variables: Variables, escape: str = "\\") -> str | None:
    """Expand variables in text; None when any referenced variable is unknown."""
    if "$" not in text:
        return text
    placeholder = "\x00"
    text = text.replace(escape + "$", placeholder)
    try:
        for _ in range(_MAX_PASSES):
            new = _VAR.sub(lambda m: _substitute(m, variables), text)
            if new == text:
                break
            text = new
        else:
            return None  # nesting too deep to be a real Dockerfile: treat as unknown
    except _Unknown:
        return None
    if "${" in text:
        return None  # a form we do not understand: unknown rather than wrong
    if not _affordable(text):
        return None
    return text.replace(placeholder, "$")


@contextmanager
def expansion_budget(chars: int = MAX_TOTAL) -> Iterator[None]:
    """Bound the characters expansions may produce in this context (one Dockerfile)."""
    token = _BUDGET.set([chars])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _affordable(result: str) -> bool:
    """Charge ``result`` to the budget: False when it is too long to be kept."""
    if len(result) > MAX_VALUE:
        return False
    budget = _BUDGET.get()
    if budget is None:
        return True
    budget[0] -= len(result)
    return budget[0] >= 0


def expand_or_raw(text: str, variables: Variables, escape: str = "\\") -> str:
    """Expand what can be expanded, leaving unknown references as written.

    Used for PATH entries, where ``$NVM_DIR/versions/node/...`` is still
    recognisable even when NVM_DIR's value is not known.
    """

    def one(match: re.Match[str]) -> str:
        try:
            return _substitute(match, variables)
        except _Unknown:
            return match.group(0)

    if "$" not in text:
        return text
    result = _VAR.sub(one, text)
    return result if _affordable(result) else text
