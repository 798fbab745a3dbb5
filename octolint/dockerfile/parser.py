"""A Dockerfile parser that agrees with BuildKit's.

It follows BuildKit's ``frontend/dockerfile/parser`` step by step (the test
suite checks the agreement against the real thing with hypothesis), so that
what octolint reports is what ``docker build`` would see: parser directives
(``# escape=``), line continuations with comment and blank lines inside them,
CRLF, a UTF-8 BOM, JSON (exec) form, and heredocs (``RUN <<EOF``, ``<<-EOF``,
quoted delimiters, several per instruction), whose bodies are never read as
instructions.

We do not use dockerfile-parse for the structure because it does not know
heredocs, drops comment lines inside continuations differently from BuildKit
and cannot report an unterminated heredoc; see docs/decisions.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from octolint.errors import DockerfileSyntaxError

# Instructions whose argument may hold heredocs, and compound ones that wrap them.
_HEREDOC_INSTRUCTIONS = frozenset({"ADD", "COPY", "RUN"})
KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
        "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
        "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip

_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_VALID_DIRECTIVES = frozenset({"escape", "syntax", "check"})
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")
# Go's regexp [\t\v\f\r ]: what BuildKit splits a command from its arguments on.
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
# Go's unicode.IsSpace, which differs from str.isspace for \x1c-\x1f.
_GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)


class _NotStringArray(Exception):
    """A JSON array with a non-string element: BuildKit rejects the instruction."""


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str
    chomp: bool = False  # <<- strips leading tabs
    expand: bool = True  # False when the delimiter was quoted
    fd: int = 0


@dataclass(frozen=True)
class Instruction:
    """One instruction: a logical line plus any heredoc bodies that follow it."""

    keyword: str  # as written, e.g. "cmd"; use .name for comparisons
    rest: str  # the argument text after the flags, continuations joined
    value: tuple[str, ...]  # BuildKit's argument nodes
    start_line: int
    end_line: int
    end_column: int  # 1-based column of the last character of the last line
    flags: tuple[str, ...] = ()
    is_json: bool = False
    original: str = ""
    heredocs: tuple[Heredoc, ...] = ()
    sub: Instruction | None = None  # the wrapped instruction of ONBUILD
    start_column: int = 1

    @property
    def name(self) -> str:
        return self.keyword.upper()

    def flag(self, name: str) -> str | None:
        """The value of ``--name=value``, or None when the flag is absent."""
        prefix = f"--{name}="
        for flag in self.flags:
            if flag.startswith(prefix):
                return flag[len(prefix) :]
            if flag == f"--{name}":
                return ""
        return None


@dataclass
class Dockerfile:
    path: str
    lines: list[str]  # physical lines, newline and BOM removed
    instructions: list[Instruction] = field(default_factory=list)
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)  # line -> text after '#'

    def source(self, start_line: int, end_line: int) -> str:
        return "\n".join(self.lines[start_line - 1 : end_line])


def _is_go_space(ch: str) -> bool:
    return ch in _GO_SPACES


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


class _Parser:
    def __init__(self, text: str, path: str):
        if text.startswith("\ufeff"):
            text = text[1:]
        # bufio.ScanLines semantics: split on \n, drop one trailing \r.
        raw = text.split("\n")
        if raw and raw[-1] == "":
            raw.pop()
        self.lines = [line[:-1] if line.endswith("\r") else line for line in raw]
        self.dockerfile = Dockerfile(path=path, lines=self.lines)
        self.escape = "\\"
        self._continuation = re.compile(r"\\[ \t]*$")
        self._directives_done = False
        self.pos = 0  # index of the next physical line to read

    # -- directives -------------------------------------------------------
    def _maybe_directive(self, line: str, number: int) -> None:
        if self._directives_done:
            return
        match = _DIRECTIVE.match(line)
        key = match.group(1).lower() if match else ""
        if not match or key not in _VALID_DIRECTIVES:
            self._directives_done = True
            return
        if key in self.dockerfile.directives:
            raise DockerfileSyntaxError(f"only one {key} parser directive can be used", number)
        value = match.group(2)
        self.dockerfile.directives[key] = value
        if key == "escape":
            if value not in ("`", "\\"):
                raise DockerfileSyntaxError(
                    f"invalid escape token '{value}' does not match ` or \\", number
                )
            self.escape = value
            self.dockerfile.escape = value
            self._continuation = re.compile(re.escape(value) + r"[ \t]*$")

    def _trim_continuation(self, line: str) -> tuple[str, bool]:
        """Strip a trailing escape character; the bool says the logical line ended."""
        match = self._continuation.search(line)
        if match:
            return line[: match.start()], False
        return line, True

    # -- main loop --------------------------------------------------------
    def parse(self) -> Dockerfile:
        while self.pos < len(self.lines):
            self._parse_logical_line()
        if not self.dockerfile.instructions:
            raise DockerfileSyntaxError("file with no instructions", max(len(self.lines), 1))
        return self.dockerfile

    def _parse_logical_line(self) -> None:
        line = self.lines[self.pos]
        self.pos += 1
        number = self.pos
        stripped = line.lstrip(" \t")
        if stripped.startswith("#"):
            self.dockerfile.comments[number] = stripped[1:]
            self._maybe_directive(stripped, number)
            return
        self._maybe_directive(stripped, number)
        text, ended = self._trim_continuation(stripped)
        if ended and not text:
            return  # blank line
        parts = [text]
        while not ended and self.pos < len(self.lines):
            physical = self.lines[self.pos]
            self.pos += 1
            if _is_comment(physical):
                self.dockerfile.comments[self.pos] = physical.lstrip(" \t")[1:]
                continue
            if not physical.strip(" \t"):
                continue  # BuildKit warns about empty continuation lines, but accepts them
            text, ended = self._trim_continuation(physical)
            parts.append(text)
        logical = "".join(parts)
        instruction = self._node(logical, number)
        heredocs = self._read_heredocs(instruction, logical, number)
        end_line = self.pos
        end_column = max(len(self.lines[end_line - 1]), 1)
        start_column = len(line) - len(stripped) + 1
        self.dockerfile.instructions.append(
            _replace(
                instruction,
                heredocs=heredocs,
                end_line=end_line,
                end_column=end_column,
                start_column=start_column,
            )
        )

    # -- heredocs ---------------------------------------------------------
    def _read_heredocs(
        self, instruction: Instruction, logical: str, start: int
    ) -> tuple[Heredoc, ...]:
        target = instruction.sub if instruction.name == "ONBUILD" else instruction
        if target is None or target.name not in _HEREDOC_INSTRUCTIONS or target.is_json:
            return ()
        if "<<" not in logical:
            return ()
        found = []
        for heredoc in heredocs_in_line(logical):
            body: list[str] = []
            while True:
                if self.pos >= len(self.lines):
                    raise DockerfileSyntaxError(
                        f"unterminated heredoc '{heredoc.name}'", start
                    )
                physical = self.lines[self.pos]
                self.pos += 1
                candidate = physical.lstrip("\t") if heredoc.chomp else physical
                if candidate == heredoc.name:
                    break
                body.append(physical + "\n")
            found.append(_replace(heredoc, content="".join(body)))
        return tuple(found)

    # -- one logical line -------------------------------------------------
    def _node(self, logical: str, number: int) -> Instruction:
        keyword, flags, rest = split_command(logical)
        value, is_json, sub = self._arguments(keyword.upper(), rest, number)
        return Instruction(
            keyword=keyword,
            rest=rest,
            value=value,
            start_line=number,
            end_line=number,
            end_column=1,
            flags=flags,
            is_json=is_json,
            original=logical,
            sub=sub,
        )

    def _arguments(
        self, name: str, rest: str, number: int
    ) -> tuple[tuple[str, ...], bool, Instruction | None]:
        try:
            if name in ("RUN", "CMD", "ENTRYPOINT", "SHELL"):
                return (*_maybe_json(rest), None)
            if name in ("ADD", "COPY", "VOLUME"):
                value, is_json = _maybe_json(rest)
                if is_json or not rest:
                    return value, is_json, None
                return tuple(_WHITESPACE.split(rest)), False, None
            if name in ("FROM", "EXPOSE"):
                return (tuple(_WHITESPACE.split(rest)) if rest else ()), False, None
            if name in ("ENV", "LABEL"):
                return _name_values(rest, name, self.escape, number), False, None
            if name == "ARG":
                return tuple(_words(rest, self.escape)), False, None
            if name == "HEALTHCHECK":
                return (*_healthcheck(rest), None)
            if name == "ONBUILD":
                return self._onbuild(rest, number)
            if name in KNOWN_INSTRUCTIONS:  # MAINTAINER, STOPSIGNAL, USER, WORKDIR
                return ((rest,) if rest else ()), False, None
        except _NotStringArray:
            raise DockerfileSyntaxError(
                "when using JSON array syntax, arrays must be comprised of strings only",
                number,
            ) from None
        return ("",), False, None  # unknown instruction: BuildKit keeps it, dispatch rejects it

    def _onbuild(
        self, rest: str, number: int
    ) -> tuple[tuple[str, ...], bool, Instruction | None]:
        if not rest:
            return (), False, None
        sub = self._node(rest, number)
        return sub.value, sub.is_json, sub


def _replace(obj, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(obj, **changes)


def split_command(line: str) -> tuple[str, tuple[str, ...], str]:
    """Split a logical line into keyword, builder flags and the remaining text."""
    parts = _WHITESPACE.split(line.strip(" \t\v\f\r\n"), maxsplit=1)
    if len(parts) < 2:
        return parts[0], (), ""
    rest, flags = _extract_flags(parts[1])
    return parts[0], tuple(flags), rest.strip(" \t\v\f\r\n")


def _extract_flags(line: str) -> tuple[str, list[str]]:
    """Leading ``--name=value`` words, quotes removed, as BuildKit's extractBuilderFlags."""
    words: list[str] = []
    pos, n = 0, len(line)
    while True:
        while pos < n and _is_go_space(line[pos]):
            pos += 1
        if pos >= n:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words
        word, pos, blank_ok = _flag_word(line, pos)
        if word == "--" and pos < n:
            return line[pos:], words
        if word != "--" and (blank_ok or word):
            words.append(word)
        if pos >= n:
            return "", words


def _flag_word(line: str, pos: int) -> tuple[str, int, bool]:
    chars: list[str] = []
    quote = ""
    blank_ok = False
    n = len(line)
    while pos < n:
        ch = line[pos]
        if quote:
            if ch == quote:
                quote = ""
                pos += 1
                continue
        elif _is_go_space(ch):
            break
        elif ch in "'\"":
            quote = ch
            blank_ok = True
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                pos += 1
                quote = ""
                continue
            pos += 1
            ch = line[pos]
        chars.append(ch)
        pos += 1
    return "".join(chars), pos, blank_ok


def _parse_json_array(rest: str) -> tuple[str, ...] | None:
    text = rest.lstrip()
    if not text.startswith("["):
        return None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    if not all(isinstance(item, str) for item in data):
        raise _NotStringArray
    return tuple(data)


def _reject_constant(name: str) -> None:
    raise ValueError(name)  # Go's encoding/json knows no NaN or Infinity


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    if not rest:
        return (), False
    array = _parse_json_array(rest)
    if array is not None:
        return array, True
    return (rest,), False


def _healthcheck(rest: str) -> tuple[tuple[str, ...], bool]:
    sep = 0
    while sep < len(rest) and not _is_go_space(rest[sep]):
        sep += 1
    if sep == 0:
        return (), False
    nxt = sep
    while nxt < len(rest) and _is_go_space(rest[nxt]):
        nxt += 1
    value, is_json = _maybe_json(rest[nxt:])
    return (rest[:sep], *value), is_json


def _name_values(rest: str, name: str, escape: str, number: int) -> tuple[str, ...]:
    words = _words(rest, escape)
    if not words:
        return ()
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise DockerfileSyntaxError(f"{name} must have two arguments", number)
        return (parts[0], parts[1])
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise DockerfileSyntaxError(
                f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value',
                number,
            )
        key, _, val = word.partition("=")
        values += [key, val]
    return tuple(values)


def _words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: split on spaces outside quotes, keeping quotes and escapes."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    blank_ok = False
    in_word = False
    pos, n = 0, len(rest)
    while pos < n:
        ch = rest[pos]
        if not in_word:
            if _is_go_space(ch):
                pos += 1
                continue
            in_word = True
        if not quote:
            if _is_go_space(ch):
                if blank_ok or word:
                    words.append("".join(word))
                word, blank_ok, in_word = [], False, False
                pos += 1
                continue
            if ch in "'\"":
                quote, blank_ok = ch, True
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch == quote:
            quote = ""
        elif ch == escape and quote != "'":
            if pos + 1 == n:
                quote = ""
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


def shell_words(line: str) -> list[tuple[str, str]]:
    """Split like a POSIX shell, returning each word as (raw, unquoted).

    Used for heredoc detection, where BuildKit lexes the line with its shell
    lexer. Variables are not expanded: they do not occur in heredoc markers
    written by anyone in practice, and expanding would need the build context.
    """
    result: list[tuple[str, str]] = []
    raw: list[str] = []
    plain: list[str] = []
    pos, n = 0, len(line)
    started = False
    while pos < n:
        ch = line[pos]
        if ch in " \t\r\n":
            if started:
                result.append(("".join(raw), "".join(plain)))
                raw, plain, started = [], [], False
            pos += 1
            continue
        started = True
        if ch == "\\" and pos + 1 < n:
            raw.append(line[pos : pos + 2])
            plain.append(line[pos + 1])
            pos += 2
        elif ch in "'\"":
            end = _closing_quote(line, pos)
            raw.append(line[pos : end + 1])
            inner = line[pos + 1 : end]
            plain.append(inner if ch == "'" else re.sub(r"\\([\\\"$`])", r"\1", inner))
            pos = end + 1
        else:
            raw.append(ch)
            plain.append(ch)
            pos += 1
    if started:
        result.append(("".join(raw), "".join(plain)))
    return result


def _closing_quote(line: str, start: int) -> int:
    quote = line[start]
    pos = start + 1
    while pos < len(line):
        if line[pos] == "\\" and quote == '"':
            pos += 2
            continue
        if line[pos] == quote:
            return pos
        pos += 1
    return len(line)


def heredocs_in_line(line: str) -> list[Heredoc]:
    """The heredoc markers in an instruction line, in order."""
    docs: list[Heredoc] = []
    for raw, _plain in shell_words(line):
        match = _HEREDOC_WORD.match(raw)
        if not match or not match.group(3):
            continue
        words = shell_words(match.group(3))
        if len(words) != 1:
            continue
        word_raw, word = words[0]
        quoted = word_raw.count("'") + word_raw.count('"') != word.count("'") + word.count('"')
        docs.append(
            Heredoc(
                name=word,
                content="",
                chomp=match.group(2) == "-",
                expand=not quoted,
                fd=int(match.group(1) or 0),
            )
        )
    return docs


def parse(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile text; raise DockerfileSyntaxError where BuildKit would fail."""
    return _Parser(text, path).parse()
