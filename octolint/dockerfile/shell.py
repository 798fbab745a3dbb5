"""Just enough shell reading for rules: the script of a RUN and its simple commands.

This is deliberately a light, fast approximation (a pre-push hook must feel
instant): commands are split on ``&&``, ``||``, ``;``, ``|`` and newlines,
and a command's words are read as the shell reads them (``shlex``: quotes and
escapes), with the keywords that can start a command in a compound one (``then``,
``do``, ``else``...) dropped. Rules use it to spot package installs and
well-known tools, where that is enough.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from octolint.dockerfile.parser import Instruction

_SEPARATORS = re.compile(r"&&|\|\||[;|\n()]")
_LIST_SEPARATORS = re.compile(r"&&|\|\||[;\n]")  # keeps pipelines whole
_WRAPPERS = frozenset({"sudo", "env", "command", "exec", "time", "nice", "xargs"})
# Reserved words before a command: `if true; then apt-get install ...; fi` has the
# segment `then apt-get install ...`, whose command is apt-get.
_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{"})


def run_script(instruction: Instruction) -> str:
    """The shell text a RUN executes: its argument plus any heredoc bodies."""
    text = " ".join(instruction.value) if instruction.is_json else instruction.rest
    if instruction.heredocs:
        text += "\n" + "\n".join(h.content for h in instruction.heredocs)
    return text


def segments(script: str, *, keep_pipelines: bool = False) -> list[str]:
    """The script cut into simple commands (an approximation, see module doc).

    With keep_pipelines, ``echo x | tee -a file`` stays one segment.
    """
    separators = _LIST_SEPARATORS if keep_pipelines else _SEPARATORS
    return [s.strip() for s in separators.split(script) if s.strip()]


def words(segment: str) -> list[str]:
    """The segment's words as the shell reads them, leading keywords, sudo/env wrappers
    and VAR=x dropped."""
    result = unquoted(segment)
    while result and (
        result[0] in _WRAPPERS or result[0] in _KEYWORDS or _is_assignment(result[0])
    ):
        result.pop(0)
    return result


def unquoted(segment: str) -> list[str]:
    """The segment's words, quotes and escapes applied; a quote left open (segments
    are cut without reading quotes: `echo "a;b"`) falls back to stripping them."""
    try:
        return shlex.split(segment)
    except ValueError:
        return [w.strip("'\"") for w in segment.split()]


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and name.isidentifier()


def commands(script: str) -> Iterator[list[str]]:
    for segment in segments(script):
        found = words(segment)
        if found:
            yield found


def program(word: str) -> str:
    """'/usr/bin/apt-get' -> 'apt-get'."""
    return word.rsplit("/", 1)[-1]
