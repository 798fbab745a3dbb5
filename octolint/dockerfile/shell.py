"""Just enough shell reading for rules: the script of a RUN and its simple commands.

This is deliberately a light, fast approximation (a pre-push hook must feel
instant): commands are split on ``&&``, ``||``, ``;``, ``|`` and newlines,
words on white space, and quotes are stripped from words. Rules use it to
spot package installs and well-known tools, where that is enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octolint.dockerfile.parser import Instruction

_SEPARATORS = re.compile(r"&&|\|\||[;|\n()]")
_LIST_SEPARATORS = re.compile(r"&&|\|\||[;\n]")  # keeps pipelines whole
_WRAPPERS = frozenset({"sudo", "env", "command", "exec", "time", "nice", "xargs"})


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
    """The segment's words, quotes removed, leading sudo/env wrappers and VAR=x dropped."""
    result = [w.strip("'\"") for w in segment.split()]
    while result and (result[0] in _WRAPPERS or _is_assignment(result[0])):
        result.pop(0)
    return result


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
