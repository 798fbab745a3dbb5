"""Compose's ``.env`` files, read the way ``docker compose`` reads them.

python-dotenv's format differs from Compose's in ways that change values
(Compose interpolates ``${VAR-d}``/``${VAR:?e}`` and earlier keys, keeps
``a#b`` whole, accepts ``KEY: value``), so this follows compose-go's
``dotenv`` parser; the tests compare it with the real ``docker compose``.

- ``KEY=value`` or ``KEY: value``, optionally after ``export``; blank lines
  and lines starting with ``#`` are skipped.
- Unquoted values end at the line end or at `` #`` (a comment), are trimmed,
  and are interpolated with the keys defined above them.
- ``'single'`` values are literal (``\\'`` is a quote); ``"double"`` values
  know ``\\n``, ``\\r``, ``\\t``, ``\\\\``, ``\\"``, ``\\$`` and are interpolated.
  Quoted values may span lines; parsing goes on right after the closing quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from octolint.deploy.interpolate import InterpolationError, interpolate

_KEY = re.compile(r"[^\W]|[.\-]")
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


def parse_dotenv(text: str) -> dict[str, EnvEntry]:
    """Variables of a .env file, in Compose's reading; DotenvError names the bad line."""
    entries: dict[str, EnvEntry] = {}
    position = 0
    while True:
        position = _statement_start(text, position)
        if position >= len(text):
            return entries
        line = text.count("\n", 0, position) + 1
        key, position, separator = _key(text, position, line)
        if separator == "\n" or separator == "":
            continue  # a bare KEY inherits from the environment, which we do not read
        value, position = _value(text, position, line, entries)
        entries[key] = EnvEntry(value, line)


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
    if text.startswith("export", position) and text[position + 6 : position + 7] in (" ", "\t"):
        position += 6
    while position < len(text) and text[position] in " \t":
        position += 1
    start = position
    while position < len(text) and text[position] not in "=:\n":
        char = text[position]
        if char in " \t":
            if text[position:].lstrip(" \t")[:1] not in ("=", ":", "\n", ""):
                raise DotenvError("key cannot contain a space", line)
        elif not _KEY.match(char):
            raise DotenvError(f"unexpected character {char!r} in variable name", line)
        position += 1
    key = text[start:position].rstrip(" \t")
    separator = text[position] if position < len(text) else ""
    return key, position + 1, separator


def _value(
    text: str, position: int, line: int, known: dict[str, EnvEntry]
) -> tuple[str, int]:
    """The value starting at ``position`` and where parsing goes on.

    After a closing quote Compose parses on from there, not from the next line:
    ``A="x" # note`` is a comment, ``A="x"B=y`` defines B too.
    """
    while position < len(text) and text[position] in " \t":
        position += 1
    variables = {k: e.value for k, e in known.items()}
    quote = text[position] if position < len(text) and text[position] in "'\"" else ""
    if not quote:
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        raw = re.split(r"[ \t]#", text[position:end], maxsplit=1)[0].rstrip()
        return _expand(raw, variables, line), end
    body: list[str] = []
    index = position + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            # an escaped quote is the quote; any other pair stays for _double_quoted
            pair = text[index : index + 2]
            body.append(quote if pair[1] == quote else pair)
            index += 2
            continue
        if char == quote:
            value = "".join(body)
            if quote == "'":
                return value, index + 1
            return _double_quoted(value, variables, line), index + 1
        body.append(char)
        index += 1
    # the value itself is not quoted back: it may be a password
    kind = "single" if quote == "'" else "double"
    raise DotenvError(f"unterminated {kind}-quoted value", line)


def _double_quoted(body: str, variables: dict[str, str], line: int) -> str:
    # \$ is a literal dollar: written as $$ so that interpolation keeps it;
    # unknown escapes (\q) stay as they are, as in Compose
    parts = re.split(r"(\\.)", body, flags=re.S)
    template = "".join(
        ("$$" if p == "\\$" else _DOUBLE_ESCAPES.get(p[1], p)) if len(p) == 2 and p[0] == "\\"
        else p
        for p in parts
    )  # fmt: skip
    return _expand(template, variables, line)


def _expand(template: str, variables: dict[str, str], line: int) -> str:
    try:
        return interpolate(template, variables).text
    except InterpolationError as error:
        raise DotenvError(str(error), line) from None
