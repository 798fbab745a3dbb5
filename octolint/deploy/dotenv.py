"""Compose's ``.env`` files, read the way ``docker compose`` reads them.

python-dotenv's format differs from Compose's in ways that change values
(Compose interpolates ``${VAR-d}``/``${VAR:?e}`` and earlier keys, keeps
``a#b`` whole, accepts ``KEY: value``), so this follows compose-go's
``dotenv`` parser; the tests compare it with the real ``docker compose``.

- ``KEY=value`` or ``KEY: value``, optionally after ``export``; blank lines
  and lines starting with ``#`` are skipped.
- Unquoted values end at the line end or at `` #`` (a comment), are trimmed,
  and are interpolated with the keys defined above them; an ``env_file``'s are
  interpolated with the project's variables first (its ``.env``), then those keys,
  as compose-go's lookup does.
- ``'single'`` values are literal (``\\'`` is a quote); ``"double"`` values
  know ``\\n``, ``\\r``, ``\\t``, ``\\\\``, ``\\"``, ``\\$`` and are interpolated.
  Quoted values may span lines; parsing goes on right after the closing quote.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass

from octolint.deploy.interpolate import (
    ExpansionLimit,
    InterpolationError,
    Resolution,
    expansion_budget,
    interpolate,
)

_KEY = re.compile(r"[\w.\-]*")  # a key's characters, as compose-go allows them
_BLANKS = re.compile(r"[ \t]*")
# what ends a run of plain characters in a quoted value
_SPECIAL = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]')}
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


class DotenvError(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


@dataclass(frozen=True)
class EnvEntry:
    value: str
    line: int  # 1-based line of the key, to cite where a value came from
    # False when the value uses a variable set nowhere: the deploy environment's,
    # which Compose would read (octolint does not), so the value is unknown
    known: bool = True
    source: str = ""  # the file, when a project's variables come from several


def parse_dotenv(text: str, project: Mapping[str, str] | None = None) -> dict[str, EnvEntry]:
    """Variables of a .env file, in Compose's reading; DotenvError names the bad line.

    ``project``: for an ``env_file``, the project's variables, which its ``${VAR}``
    look up before the keys above them.

    Linear in the file's length: line numbers are counted as parsing goes, and
    the variables interpolation sees are kept up to date rather than copied for
    each value (a 200,000-line file took minutes). What interpolation produces is
    bounded for the whole file (ExpansionLimit, with the line).
    """
    entries: dict[str, EnvEntry] = {}
    variables: dict[str, str] = {}  # the known keys above
    lookup: Mapping[str, str] = ChainMap(dict(project), variables) if project else variables
    position = 0
    line, counted = 1, 0  # the line number at `counted`
    with expansion_budget():
        while True:
            position = _statement_start(text, position)
            if position >= len(text):
                return entries
            line, counted = line + text.count("\n", counted, position), position
            key, position, separator = _key(text, position, line)
            if separator == "\n" or separator == "":
                continue  # a bare KEY inherits from the environment, which we do not read
            value, position = _value(text, position, line, lookup)
            entries[key] = EnvEntry(value.text, line, value.known)
            if value.known:
                variables[key] = value.text
            else:  # so that what uses it is unknown too
                variables.pop(key, None)


def _statement_start(text: str, position: int) -> int:
    while position < len(text):
        if text[position].isspace():
            position += 1
        elif text[position] == "#":
            end = text.find("\n", position)
            position = len(text) if end < 0 else end
        else:
            break
    return position


def _key(text: str, position: int, line: int) -> tuple[str, int, str]:
    """The key at ``position``, where its value starts, and the separator after it."""
    if text.startswith("export", position) and text[position + 6 : position + 7] in (" ", "\t"):
        position += 6
    start = _skip(_BLANKS, text, position)
    end = _skip(_KEY, text, start)
    position = _skip(_BLANKS, text, end)
    separator = text[position : position + 1]
    if separator not in ("=", ":", "\n", ""):
        if position > end:
            raise DotenvError("key cannot contain a space", line)
        raise DotenvError(f"unexpected character {separator!r} in variable name", line)
    return text[start:end], position + 1, separator


def _skip(pattern: re.Pattern[str], text: str, position: int) -> int:
    """Where a run of what ``pattern`` (which matches the empty string) matches ends."""
    found = pattern.match(text, position)
    return found.end() if found else position


def _value(
    text: str, position: int, line: int, variables: Mapping[str, str]
) -> tuple[Resolution, int]:
    """The value starting at ``position`` and where parsing goes on.

    After a closing quote Compose parses on from there, not from the next line:
    ``A="x" # note`` is a comment, ``A="x"B=y`` defines B too.
    """
    while position < len(text) and text[position] in " \t":
        position += 1
    quote = text[position] if position < len(text) and text[position] in "'\"" else ""
    if not quote:
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        raw = re.split(r"[ \t]#", text[position:end], maxsplit=1)[0].rstrip()
        return _expand(raw, variables, line), end
    body: list[str] = []
    index = position + 1
    special = _SPECIAL[quote]
    while (found := special.search(text, index)) is not None:
        body.append(text[index : found.start()])
        index = found.start()
        if text[index] == quote:
            value = "".join(body)
            if quote == "'":
                return Resolution(value), index + 1
            return _double_quoted(value, variables, line), index + 1
        # an escaped quote is the quote; any other pair stays for _double_quoted
        pair = text[index : index + 2]
        body.append(quote if pair[1:] == quote else pair)
        index += 2
    # the value itself is not quoted back: it may be a password
    kind = "single" if quote == "'" else "double"
    raise DotenvError(f"unterminated {kind}-quoted value", line)


def _double_quoted(body: str, variables: Mapping[str, str], line: int) -> Resolution:
    # \$ is a literal dollar: written as $$ so that interpolation keeps it;
    # unknown escapes (\q) stay as they are, as in Compose
    parts = re.split(r"(\\.)", body, flags=re.S)
    template = "".join(
        ("$$" if p == "\\$" else _DOUBLE_ESCAPES.get(p[1], p)) if len(p) == 2 and p[0] == "\\"
        else p
        for p in parts
    )  # fmt: skip
    return _expand(template, variables, line)


def _expand(template: str, variables: Mapping[str, str], line: int) -> Resolution:
    try:
        return interpolate(template, variables)
    except InterpolationError as error:
        raise DotenvError(str(error), line) from None
    except ExpansionLimit as error:
        raise ExpansionLimit(f"line {line}: {error}") from None
