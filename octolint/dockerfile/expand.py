"""Variable expansion as Docker does it for FROM, ENV and ARG values.

Only what can be known statically is expanded: a variable with no known value
makes the whole result unknown (``None``), so that callers can stay silent
instead of guessing. Supported forms: ``$VAR``, ``${VAR}``, ``${VAR:-word}``,
``${VAR-word}``, ``${VAR:+word}``, ``${VAR+word}``, and escaped ``\\$``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A name, or a braced expression whose body has no nested braces; nested ones
# are expanded innermost-first by repeated passes (bounded, see _MAX_PASSES).
_VAR = re.compile(
    r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^{}]*))?\})"
)
_MAX_PASSES = 32

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
    return text.replace(placeholder, "$")


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
    return _VAR.sub(one, text)
