"""Make text that came from an input safe to print, in one place.

Everything octolint prints can hold text an attacker chose: a Dockerfile's
path, an image reference, a RepoTag, a tar member name, a registry's error
message, a YAML line. On a terminal, an escape sequence in it could clear the
screen, retitle the window or hide text; on a CI log, a line starting with
``::`` is a GitHub Actions workflow command (``::add-mask::``, ``::error::``,
``::stop-commands::``). So every stream escapes such text at its boundary:

- :func:`escape_line` for one-line messages (stderr, annotations): control
  characters, newlines included, are shown as Python escapes (``\\x1b``,
  ``\\n``, ``\\u202e``);
- :func:`escape_text` for multi-line text (source snippets, report fields):
  the same, except that newlines and tabs stay;
- :func:`defuse_commands` for output whose lines may start with input (the
  human report's paths, JUnit's element text): a line that would start with
  ``::`` has its first colon written another way.

What is escaped: C0 controls (tab kept), DEL, C1 controls (NEL included),
the bidirectional formatting characters (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069: "Trojan Source"), the Unicode line and
paragraph separators, and lone surrogates (undecodable file-name bytes,
which no encoder accepts). Other characters, non-ASCII letters included,
are left alone; the backslash too, so Windows paths read as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

_Data = TypeVar("_Data")

_UNSAFE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, isolates
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # lone surrogates (os.fsdecode of undecodable bytes)
)
_IN_TEXT = re.compile(f"[{_UNSAFE}]")
_IN_LINE = re.compile(f"[{_UNSAFE}\n]")
# A line start (after a CR or LF: .NET's ReadLine, which the Actions runner uses,
# ends lines at both), then the whitespace the runner trims before looking for
# "::" (only that line's: the match stays linear in the text's length).
_COMMAND_START = re.compile(r"(?:^|(?<=[\r\n]))([^\S\r\n]*):(?=:)")


def _visible(match: re.Match[str]) -> str:
    return ascii(match.group())[1:-1]


def escape_line(text: str) -> str:
    """``text`` as one printable line: controls and newlines shown as ``\\x1b``, ``\\n``."""
    return _IN_LINE.sub(_visible, text)


def escape_text(text: str) -> str:
    """``text`` with controls shown as ``\\x1b``; newlines and tabs kept."""
    return _IN_TEXT.sub(_visible, text)


def defuse_commands(text: str, colon: str = "\\x3a") -> str:
    """``text`` with the first colon of any line that would start with ``::`` replaced
    by ``colon``, so that no line can be read as a workflow command."""
    return _COMMAND_START.sub(lambda match: match.group(1) + colon, text)


def escape_strings(data: _Data) -> _Data:
    """A copy of JSON-like ``data`` with :func:`escape_text` applied to every string value."""
    return cast(_Data, _escaped(data))


def _escaped(data: Any) -> Any:
    if isinstance(data, str):
        return escape_text(data)
    if isinstance(data, Mapping):
        return {key: _escaped(value) for key, value in data.items()}
    if isinstance(data, Sequence):
        return [_escaped(item) for item in data]
    return data
