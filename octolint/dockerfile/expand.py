"""Variable expansion as Docker does it for FROM, ENV and ARG values.

Only what can be known statically is expanded: a variable with no known value
makes the whole result unknown (``None``), so that callers can stay silent
instead of guessing. Supported forms: ``$VAR``, ``${VAR}``, ``${VAR:-word}``,
``${VAR-word}``, ``${VAR:+word}``, ``${VAR+word}``, and escaped ``\\$``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
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
# produce at most MAX_TOTAL characters (every pass of every expansion counts, kept or
# not); beyond, values are unknown. Text is built piece by piece and given up as soon
# as it would pass either limit, so memory and time stay bounded whatever the
# Dockerfile (``ARG B=$A$A$A...`` with a 16 KiB A once built 525 MB before the check).
# Real values (PATH...) are far below either.
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

    def strict(match: re.Match[str]) -> str:
        return _substitute(match, variables)

    try:
        for _ in range(_MAX_PASSES):
            new = _substitute_all(text, strict)
            if new is None:
                return None  # too long to keep
            if new == text:
                break
            text = new
        else:
            return None  # nesting too deep to be a real Dockerfile: treat as unknown
    except _Unknown:
        return None
    if "${" in text:
        return None  # a form we do not understand: unknown rather than wrong
    return text.replace(placeholder, "$")


def _substitute_all(text: str, substitute: Callable[[re.Match[str]], str]) -> str | None:
    """One pass of substitution, like ``_VAR.sub``; ``text`` itself when nothing matched.

    None as soon as the result would pass MAX_VALUE or the budget: the pieces are
    measured before they are joined, so nothing longer than the limit is ever built.
    """
    limit = _limit()
    pieces: list[str] = []
    size = last = 0
    for match in _VAR.finditer(text):
        value = substitute(match)
        size += match.start() - last + len(value)
        if size > limit:
            _charge(size)
            return None
        pieces += (text[last : match.start()], value)
        last = match.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    size += len(text) - last
    _charge(size)
    return "".join(pieces) if size <= limit else None


@contextmanager
def expansion_budget(chars: int = MAX_TOTAL) -> Iterator[None]:
    """Bound the characters expansions may produce in this context (one Dockerfile)."""
    token = _BUDGET.set([chars])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _limit() -> int:
    """How long the text being built may grow: MAX_VALUE, or less when the budget is low."""
    budget = _BUDGET.get()
    return MAX_VALUE if budget is None else min(MAX_VALUE, budget[0])


def _charge(chars: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget[0] -= chars


def referenced(text: str) -> list[str]:
    """The variables ``text`` needs a value for: those it names without a default
    (``${X:-word}`` and ``${X:+word}`` need none)."""
    return [m.group(1) or m.group(2) for m in _VAR.finditer(text) if m.group(3) is None]


def expand_or_raw(text: str, variables: Variables, escape: str = "\\") -> str:
    """Expand what can be expanded, leaving unknown references as written.

    Used for PATH entries, where ``$NVM_DIR/versions/node/...`` is still
    recognisable even when NVM_DIR's value is not known. Text that would grow
    past the limits is returned as written.
    """

    def lenient(match: re.Match[str]) -> str:
        try:
            return _substitute(match, variables)
        except _Unknown:
            return match.group(0)

    if "$" not in text:
        return text
    result = _substitute_all(text, lenient)
    return text if result is None else result
