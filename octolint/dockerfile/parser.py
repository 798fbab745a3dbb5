"""A Dockerfile parser that agrees with BuildKit's.

It follows BuildKit's ``frontend/dockerfile/parser`` step by step (the test
suite checks the agreement against the real thing with hypothesis), so that
what octolint reports is what ``docker build`` would see: parser directives
(``# escape=``), line continuations with comment and blank lines inside them,
CRLF, a UTF-8 BOM, JSON (exec) form, and heredocs (``RUN <<EOF``, ``<<-EOF``,
quoted delimiters, several per instruction), whose bodies are never read as
instructions.

The reference is BuildKit v0.32.2 (Dockerfile frontend 1.26.0): its own test
data (fixtures/buildkit/) is the oracle, and the ``dockerfile`` package (a
binding of v0.12.5) checks everything the two releases read alike. Where
BuildKit's behaviour is surprising (byte-wise flag parsing, the 64 KiB line
limit, the shell lexer's rules for heredoc words, ``<<- EOF`` not being a
heredoc while ``<<  EOF`` is) we copy it anyway, because that is what
``docker build`` does. Text that is not UTF-8 is read byte for byte, as Go does.

We do not use dockerfile-parse for the structure because it does not know
heredocs, drops comment lines inside continuations differently from BuildKit
and cannot report an unterminated heredoc; see docs/decisions.md.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace

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
_DISPATCH = {name.lower(): name for name in KNOWN_INSTRUCTIONS}

# Go's regexp \s is [\t\n\f\r ] (no \v). The value part of BuildKit's
# `^#\s*(name)\s*=\s*(.+?)\s*$` is computed by hand in _directive_value: as a
# Python regex the lazy group backtracks quadratically on long lines.
_GO_RE_SPACE = "\t\n\f\r "
# After the "#" and any unicode.IsSpace run (stripped in _maybe_directive).
_DIRECTIVE_HEAD = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*")
_VALID_DIRECTIVES = frozenset({"escape", "syntax", "check"})
# Since BuildKit v0.22.0 spaces may follow "<<" or "<<-" (Go's \s, ASCII only).
_HEREDOC_WORD = re.compile(r"([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")  # a heredoc name the shell lexer leaves as is
# Go's regexp [\t\v\f\r ]: what BuildKit splits a command from its arguments on.
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
# Go's unicode.IsSpace, which differs from str.isspace for \x1c-\x1f.
_GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_GO_SPACE_CHARS = "".join(sorted(_GO_SPACES))
# The same test applied to single bytes, as Go code that does rune(line[i]) sees them.
_GO_SPACE_BYTES = frozenset(ch for ch in _GO_SPACES if ch < "\u0100")
# bufio.Scanner's default limit: BuildKit fails on a line this long or longer.
_MAX_LINE_BYTES = 64 * 1024
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
# Bytes that are not UTF-8 reach the parser as surrogates (Python's surrogateescape).
_SURROGATE = re.compile("[\ud800-\udfff]")
_BYTE_SURROGATE = re.compile("[\udc80-\udcff]")
_OTHER_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


class _NotStringArray(Exception):
    """A JSON array with a non-string element: BuildKit rejects the instruction."""


class _LexError(ValueError):
    """BuildKit's shell lexer rejected the text (unterminated quote, bad ${...})."""


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
    lines: list[str]  # physical lines; BOM, newline and trailing \r removed
    instructions: list[Instruction] = field(default_factory=list)
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)  # line -> text after '#'
    # (line, column, byte) of the first byte that is not UTF-8, when there is one
    invalid_utf8: tuple[int, int, int] | None = None
    # the frontend the file asks for: (reference, whole value, line); see detect_syntax
    syntax: tuple[str, str, int] | None = None

    def source(self, start_line: int, end_line: int) -> str:
        return "\n".join(self.lines[start_line - 1 : end_line])


def _is_go_space(ch: str) -> bool:
    return ch in _GO_SPACES


def _go_lstrip(text: str) -> str:
    return text.lstrip(_GO_SPACE_CHARS)


def _go_strip(text: str) -> str:
    return text.strip(_GO_SPACE_CHARS)


def _is_comment(line: str) -> bool:
    return _go_lstrip(line).startswith("#")


def _go_lower(text: str) -> str:
    """Go's strings.ToLower: simple case mapping, so U+0130 becomes a plain "i"."""
    if text.isascii():
        return text.lower()
    return "".join("i" if ch == "\u0130" else ch.lower() for ch in text)


def _kind(keyword: str) -> str:
    """The instruction BuildKit dispatches a keyword to, or "" when it ignores it."""
    return _DISPATCH.get(_go_lower(keyword), "")


def _utf8(text: str) -> bytes:
    """The bytes of the file: a byte that was not UTF-8 is a surrogate (see parse)."""
    return text.encode("utf-8", "surrogateescape")


def _as_bytes(text: str) -> str:
    """One character per UTF-8 byte: how Go code that indexes a string sees it."""
    return _utf8(text).decode("latin-1")


def _from_bytes(text: str) -> str:
    # A byte-wise cut can split a character: Go keeps the broken bytes, and so
    # do we, as surrogates, until parse() cleans its result.
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def _replace_bytes(text: str) -> str:
    """What Go's UTF-8 decoding (range, DecodeRune, text/scanner) makes of a stray byte."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _split_lines(text: str) -> tuple[list[str], list[str]]:
    """Physical lines with their newline (for heredoc bodies) and without it.

    BuildKit's scanner splits on \\n only and trims every trailing \\r and \\n
    when it looks at a line, but heredoc bodies keep the line endings as read.
    """
    pieces = text.split("\n")
    raw = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        raw.append(pieces[-1])
    for number, line in enumerate(raw, start=1):
        # A cheap length test first: a line needs this many characters to be too long.
        if len(line) > _MAX_LINE_BYTES // 4 and len(_utf8(line.rstrip("\n"))) >= _MAX_LINE_BYTES:
            raise DockerfileSyntaxError(
                f"dockerfile line greater than max allowed size of {_MAX_LINE_BYTES - 1}", number
            )
    if raw and raw[0].startswith("\ufeff"):
        raw[0] = raw[0][1:]
    return raw, [line.rstrip("\r\n") for line in raw]


def _directive_value(line: str, head_end: int) -> str | None:
    """The (.+?)\\s*$ part of BuildKit's directive regexp, matched without backtracking."""
    value = line[head_end:].rstrip(_GO_RE_SPACE)
    if value:
        return value
    # Only spaces follow "=": the lazy group then takes the last of them, so
    # "# syntax= " sets syntax to " ". A bare "# syntax=" is no directive.
    return line[-1] if head_end and line[head_end - 1] in _GO_RE_SPACE else None


class _Parser:
    def __init__(self, text: str, path: str):
        self.text = text
        self.raw, self.lines = _split_lines(text)
        self.dockerfile = Dockerfile(path=path, lines=self.lines)
        self.escape = "\\"
        self._directives_done = False
        self.pos = 0  # index of the next physical line to read

    # -- directives -------------------------------------------------------
    def _maybe_directive(self, line: str, number: int) -> None:
        if self._directives_done:
            return
        body = _go_lstrip(line[1:]) if line.startswith("#") else ""
        match = _DIRECTIVE_HEAD.match(body)
        value = _directive_value(body, match.end()) if match else None
        key = match.group(1).lower() if match else ""
        if value is None or key not in _VALID_DIRECTIVES:
            self._directives_done = True
            return
        if key in self.dockerfile.directives:
            raise DockerfileSyntaxError(f"only one {key} parser directive can be used", number)
        self.dockerfile.directives[key] = value
        if key == "escape":
            if value not in ("`", "\\"):
                raise DockerfileSyntaxError(
                    f"invalid escape token '{value}' does not match ` or \\", number
                )
            self.escape = value
            self.dockerfile.escape = value

    def _trim_continuation(self, line: str) -> tuple[str, bool]:
        """Strip a trailing escape character; the bool says the logical line ended.

        BuildKit's regexp is ``([^E])E[ \\t]*$|^E[ \\t]*$``: an escape preceded by
        another escape does not continue the line, whatever the run's length.
        """
        body = line.rstrip(" \t")
        if body.endswith(self.escape) and (len(body) == 1 or body[-2] != self.escape):
            return body[:-1], False
        return line, True

    # -- main loop --------------------------------------------------------
    def parse(self) -> Dockerfile:
        self.dockerfile.syntax = detect_syntax(self.text)
        check = _check_option_error(self.lines)
        if check is not None:
            raise DockerfileSyntaxError(f"failed to parse check options: {check[0]}", check[1])
        while self.pos < len(self.lines):
            self._parse_logical_line()
        if not self.dockerfile.instructions:
            raise DockerfileSyntaxError("file with no instructions", max(len(self.lines), 1))
        return self.dockerfile

    def _parse_logical_line(self) -> None:
        line = self.lines[self.pos]
        self.pos += 1
        number = self.pos
        stripped = _go_lstrip(line)
        self._maybe_directive(stripped, number)
        if stripped.startswith("#"):
            self.dockerfile.comments[number] = stripped[1:]
            return
        text, ended = self._trim_continuation(stripped)
        if ended and not text:
            return  # blank line
        logical = self._join_continuations(text, ended)
        instruction = self._node(logical, number)
        heredocs = self._read_heredocs(instruction, logical, number)
        end_line = self.pos
        self.dockerfile.instructions.append(
            replace(
                instruction,
                heredocs=heredocs,
                end_line=end_line,
                end_column=max(len(self.lines[end_line - 1]), 1),
                start_column=len(line) - len(stripped) + 1,
            )
        )

    def _join_continuations(self, first: str, ended: bool) -> str:
        parts = [first]
        while not ended and self.pos < len(self.lines):
            physical = self.lines[self.pos]
            self.pos += 1
            if _is_comment(physical):
                self.dockerfile.comments[self.pos] = _go_lstrip(physical)[1:]
                continue
            if not _go_lstrip(physical):
                continue  # BuildKit warns about empty continuation lines, but accepts them
            text, ended = self._trim_continuation(physical)
            parts.append(text)
        return "".join(parts)

    # -- heredocs ---------------------------------------------------------
    def _read_heredocs(
        self, instruction: Instruction, logical: str, start: int
    ) -> tuple[Heredoc, ...]:
        target = instruction.sub if _kind(instruction.keyword) == "ONBUILD" else instruction
        if target is None or _kind(target.keyword) not in _HEREDOC_INSTRUCTIONS:
            return ()
        if target.is_json or "<<" not in logical:
            return ()
        try:
            markers = heredocs_in_line(logical)
        except _LexError as error:
            raise DockerfileSyntaxError(str(error), start) from None
        return tuple(self._heredoc_body(marker, start) for marker in markers)

    def _heredoc_body(self, heredoc: Heredoc, start: int) -> Heredoc:
        body: list[str] = []
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            self.pos += 1
            if (line.lstrip("\t") if heredoc.chomp else line) == heredoc.name:
                return replace(heredoc, content="".join(body))
            body.append(self.raw[self.pos - 1])
        raise DockerfileSyntaxError(f"unterminated heredoc '{heredoc.name}'", start)

    # -- one logical line -------------------------------------------------
    def _node(self, logical: str, number: int) -> Instruction:
        keyword, flags, rest = split_command(logical, self.escape)
        value, is_json, sub = self._arguments(_kind(keyword), rest, number)
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
        self, kind: str, rest: str, number: int
    ) -> tuple[tuple[str, ...], bool, Instruction | None]:
        try:
            if kind == "ONBUILD":
                return self._onbuild(rest, number)
            return (*_simple_arguments(kind, rest, self.escape, number), None)
        except _NotStringArray:
            raise DockerfileSyntaxError(
                "when using JSON array syntax, arrays must be comprised of strings only",
                number,
            ) from None

    def _onbuild(self, rest: str, number: int) -> tuple[tuple[str, ...], bool, Instruction | None]:
        if not rest:
            return (), False, None
        sub = self._node(rest, number)
        return sub.value, sub.is_json, sub


def _simple_arguments(
    kind: str, rest: str, escape: str, number: int
) -> tuple[tuple[str, ...], bool]:
    """BuildKit's line parser for every instruction but ONBUILD."""
    if kind in ("RUN", "CMD", "ENTRYPOINT", "SHELL"):
        return _maybe_json(rest)
    if kind in ("ADD", "COPY", "VOLUME"):
        value, is_json = _maybe_json(rest)
        if is_json or not rest:
            return value, is_json
        return tuple(_WHITESPACE.split(rest)), False
    if kind in ("FROM", "EXPOSE"):
        return (tuple(_WHITESPACE.split(rest)) if rest else ()), False
    if kind in ("ENV", "LABEL"):
        return _name_values(rest, kind, escape, number), False
    if kind == "ARG":
        return tuple(_words(rest, escape)), False
    if kind == "HEALTHCHECK":
        return _healthcheck(rest)
    if kind:  # MAINTAINER, STOPSIGNAL, USER, WORKDIR
        return ((rest,) if rest else ()), False
    return ("",), False  # unknown instruction: BuildKit keeps it, dispatch rejects it


def split_command(line: str, escape: str = "\\") -> tuple[str, tuple[str, ...], str]:
    """Split a logical line into keyword, builder flags and the remaining text."""
    parts = _WHITESPACE.split(_go_strip(line), maxsplit=1)
    if len(parts) < 2:
        return parts[0], (), ""
    rest, flags = _extract_flags(_as_bytes(parts[1]), escape)
    return parts[0], tuple(flags), _go_strip(_from_bytes(rest))


def _extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Leading ``--name=value`` words, quotes removed, as BuildKit's extractBuilderFlags.

    BuildKit walks this text byte by byte, so ``line`` holds one character per
    byte and a non-ASCII flag value comes out as its UTF-8 bytes read as
    Latin-1 ("é" becomes "Ã©"), exactly as ``docker build`` receives it.
    """
    words: list[str] = []
    pos, n = 0, len(line)
    while True:
        while pos < n and line[pos] in _GO_SPACE_BYTES:
            pos += 1
        if pos >= n:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words
        word, pos, blank_ok = _flag_word(line, pos, escape)
        if word == "--" and pos < n:
            return line[pos:], words
        if word != "--" and (blank_ok or word):
            words.append(word)
        if pos >= n:
            return "", words


def _flag_word(line: str, pos: int, escape: str) -> tuple[str, int, bool]:
    """One flag word; the escape token is the file's (BuildKit v0.13.0 on)."""
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
        elif ch in _GO_SPACE_BYTES:
            break
        elif ch in "'\"":
            quote = ch
            blank_ok = True
            pos += 1
            continue
        if ch == escape:
            if pos + 1 == n:
                pos += 1
                quote = ""
                continue
            pos += 1
            ch = line[pos]
        chars.append(ch)
        pos += 1
    return "".join(chars), pos, blank_ok


def _go_number(text: str) -> float:
    """Go's encoding/json reads numbers as float64 and fails when one overflows."""
    number = float(text)
    if math.isinf(number):
        raise ValueError(text)
    return number


def _reject_constant(name: str) -> None:
    raise ValueError(name)  # Go's encoding/json knows no NaN or Infinity


# BuildKit decodes with json.Unmarshal (since v0.16.0): the whole text must be
# one JSON value, so '["a"] b' is shell form (v0.12.5 ignored the trailing text).
_JSON_TRAILER = re.compile("[ \t\n\r]*")
_JSON = json.JSONDecoder(
    parse_float=_go_number, parse_int=_go_number, parse_constant=_reject_constant
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_json_array(rest: str) -> tuple[str, ...] | None:
    text = _go_lstrip(rest)
    if not text.startswith("["):
        return None
    try:
        data, end = _JSON.raw_decode(text)
    except ValueError:
        return None
    except RecursionError:
        # Nested deeper than Python allows (~900 levels). Go decodes up to 10000
        # and would then reject the non-string element; nobody writes that by
        # hand, so we accept the difference rather than write a JSON parser.
        return None
    if not isinstance(data, list) or _JSON_TRAILER.fullmatch(text, end) is None:
        return None
    if not all(isinstance(item, str) for item in data):
        raise _NotStringArray
    # Go decodes an unpaired \ud800-style escape to U+FFFD.
    return tuple(_LONE_SURROGATE.sub("\ufffd", item) for item in data)


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    if not rest:
        return (), False
    array = _parse_json_array(rest)
    if array is not None:
        return array, True
    return (rest,), False


def _healthcheck(rest: str) -> tuple[tuple[str, ...], bool]:
    """HEALTHCHECK's type word and command; BuildKit finds the gap byte by byte."""
    data = _as_bytes(rest)
    sep = 0
    while sep < len(data) and data[sep] not in _GO_SPACE_BYTES:
        sep += 1
    if sep == 0:
        return (), False
    nxt = sep
    while nxt < len(data) and data[nxt] in _GO_SPACE_BYTES:
        nxt += 1
    value, is_json = _maybe_json(_from_bytes(data[nxt:]))
    return (_from_bytes(data[:sep]), *value), is_json


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
    """BuildKit's parseWords: split on spaces outside quotes, keeping quotes and escapes.

    It decodes runes and writes them back, so a stray byte becomes U+FFFD.
    """
    rest = _replace_bytes(rest)
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


# -- BuildKit's shell lexer, as far as heredoc detection needs it -----------

# A lexer step: yields a nested step, receives its text, returns its own text.
_Frame = Generator["_Frame", str, str]


def _run(top: _Frame) -> str:
    """Drive nested steps with an explicit stack: ${...} may nest thousands deep.

    An error in a nested step is thrown into the step that started it, which
    may turn it into another error, as BuildKit's processDollar does.
    """
    stack: list[_Frame] = []
    frame: _Frame = top
    sent: str | None = None  # None: the frame has not started yet
    error: _LexError | None = None
    while True:
        try:
            if error is not None:
                child = frame.throw(error)
            else:
                child = next(frame) if sent is None else frame.send(sent)
            error = None
        except StopIteration as done:
            if not stack:
                return str(done.value)
            frame, sent, error = stack.pop(), str(done.value), None
            continue
        except _LexError as failure:
            if not stack:
                raise
            frame, sent, error = stack.pop(), None, failure
            continue
        stack.append(frame)
        frame, sent = child, None


def _is_name_char(ch: str) -> bool:
    return ch.isalpha() or ch.isdecimal() or ch == "_"


class _WordSplitter:
    """BuildKit's wordsStruct: collects words, splitting on unquoted spaces."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word: list[str] = []
        self.size = 0
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if not _is_go_space(ch):
            self.add_raw(ch)
        elif self.in_word and self.size:
            self.words.append("".join(self.word))
            self.word, self.size, self.in_word = [], 0, False

    def add_raw(self, text: str) -> None:
        self.word.append(text)
        self.size += len(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def drop_word(self) -> None:
        """What a nested scan does to the word being built: BuildKit shares one
        buffer between all scans of a line and every scan starts by emptying it."""
        self.word, self.size = [], 0

    def result(self) -> list[str]:
        if self.size:
            self.words.append("".join(self.word))
            self.word, self.size, self.in_word = [], 0, False
        return self.words


class _ShellLexer:
    """BuildKit's shell.Lex word splitting with SkipUnsetEnv and no variables.

    Every variable reference therefore stays as written, but quoting and
    ``${...}`` syntax are checked, and words split, exactly as BuildKit does
    when it looks for heredoc markers (escape token always ``\\``). text/scanner
    reads a byte that is not UTF-8 as U+FFFD, so a marker holding one never
    matches its terminator line, as in BuildKit.
    """

    def __init__(self, text: str, raw_quotes: bool, raw_escapes: bool):
        self.text = _replace_bytes(text)
        self.pos = 1 if text.startswith("\ufeff") else 0  # text/scanner skips a leading BOM
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.splitter = _WordSplitter()

    def words(self) -> list[str]:
        _run(self._scan("", self.raw_escapes))
        return self.splitter.result()

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _next(self) -> str:
        ch = self._peek()
        self.pos += 1 if ch else 0
        return ch

    def _scan(self, stop: str, raw_escapes: bool) -> _Frame:
        """processStopOn: read up to ``stop`` (or the end when ``stop`` is "").

        Only the outermost scan splits words. A nested one (``stop`` set)
        empties the word being built, as BuildKit's shared buffer does, and
        reads escapes raw or not as its ``${...}`` form says.
        """
        words = None if stop else self.splitter
        if stop:
            self.splitter.drop_word()
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == stop:
                self.pos += 1
                self.raw_escapes = saved
                return "".join(out)
            if ch == "'":
                piece = self._single_quote()
            elif ch == '"':
                piece = yield self._double_quote()
            elif ch == "<":
                piece = self._possible_heredoc()
            elif ch == "$":
                piece = yield self._dollar()
                out.append(piece)
                if words is not None:
                    words.add_string(piece)
                continue
            else:
                out.append(self._plain(words))
                continue
            out.append(piece)
            if words is not None:
                words.add_raw(piece)
        if stop:
            raise _LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out)

    def _plain(self, words: _WordSplitter | None) -> str:
        ch = self._next()
        if ch != "\\":
            if words is not None:
                words.add_char(ch)
            return ch
        escaped = self._next()
        if words is not None and self.raw_escapes:
            words.add_raw(ch)
        if words is not None and escaped:
            words.add_raw(escaped)
        return (ch if self.raw_escapes else "") + escaped

    def _possible_heredoc(self) -> str:
        """processPossibleHeredoc (BuildKit v0.22.0 on): ``<<`` keeps the tabs,
        carriage returns and spaces after it in its word, so ``<<  EOF`` is one
        word; a single ``<`` is plain text. Nothing else (not ``<<- EOF``) joins."""
        self.pos += 1
        if self._peek() != "<":
            return "<"
        self.pos += 1
        start = self.pos
        while self._peek() in ("\t", "\r", " "):
            self.pos += 1
        return "<<" + self.text[start : self.pos]

    def _single_quote(self) -> str:
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise _LexError("unexpected end of statement while looking for matching single-quote")
        piece = self.text[self.pos : end + 1] if self.raw_quotes else self.text[self.pos + 1 : end]
        self.pos = end + 1
        return piece

    def _double_quote(self) -> _Frame:
        self.pos += 1
        out = ['"'] if self.raw_quotes else []
        while True:
            ch = self._peek()
            if not ch:
                raise _LexError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if ch == '"':
                self.pos += 1
                return "".join([*out, '"'] if self.raw_quotes else out)
            if ch == "$":
                out.append((yield self._dollar()))
                continue
            self.pos += 1
            if ch == "\\":
                # With raw escapes Go writes the escape, then writes it again when
                # it escapes nothing: "\a" becomes \\a. Copied as is.
                if self.raw_escapes:
                    out.append(ch)
                if self._peek() in ('"', "$", "\\"):
                    ch = self._next()
            out.append(ch)

    def _dollar(self) -> _Frame:
        """processDollar: check the syntax, return the reference as written."""
        self.pos += 1
        if self._peek() != "{":
            # $name. The name may be the special parameter "$", so in "$${" the
            # brace is plain text and no ${ follows.
            return "$" + self._name()
        self.pos += 1
        ch = self._peek()
        if not ch:
            raise _LexError("syntax error: missing '}'")
        if ch in "{}:":
            raise _LexError("syntax error: bad substitution")
        name = self._name()
        ch = self._next() or "\ufffd"  # Go's string(scanner.EOF)
        if ch == "}":
            return "${" + name + "}"
        if ch == "/":
            return (yield self._replacement(name))
        modifier = ch
        if ch == ":":
            ch = self._next() or "\ufffd"
            modifier += ch
            if ch in "#%":
                raise _LexError(f"unsupported modifier ({modifier}) in substitution")
        elif ch not in "+-?#%":
            raise _LexError(f"unsupported modifier ({modifier}) in substitution")
        word = yield self._nested("}", ch in "#%", "syntax error: missing '}'")
        return "${" + name + modifier + word + "}"

    def _replacement(self, name: str) -> _Frame:
        """${name/pattern/string} and ${name//pattern/string} (BuildKit v0.19.0 on)."""
        if self._peek() == "/":
            self.pos += 1
        pattern = yield self._nested("/", True, "syntax error: missing '/' in ${}")
        string = yield self._nested("}", True, "syntax error: missing '}'")
        return "${" + name + "/" + pattern + "/" + string + "}"

    def _nested(self, stop: str, raw_escapes: bool, at_end: str) -> _Frame:
        """A nested scan; any error it meets at the end of the text becomes ``at_end``."""
        try:
            return (yield self._scan(stop, raw_escapes))
        except _LexError:
            if self.pos >= len(self.text):
                raise _LexError(at_end) from None
            raise

    def _name(self) -> str:
        start = self.pos
        ch = self._peek()
        if ch.isdecimal():
            while self._peek().isdecimal():
                self.pos += 1
        elif ch in _SPECIAL_PARAMS:
            self.pos += 1
        else:
            # Go's unicode.IsLetter/IsDigit; str.isalnum would also take "²".
            while _is_name_char(self._peek()):
                self.pos += 1
        return self.text[start : self.pos]


def shell_words(line: str) -> list[tuple[str, str]]:
    """Split like BuildKit's shell lexer, returning each word as (raw, unquoted).

    Variables are not expanded. Returns [] when the line does not lex (an
    unterminated quote, a malformed ``${...}``).
    """
    try:
        raw_words = _ShellLexer(line, raw_quotes=True, raw_escapes=True).words()
    except _LexError:
        return []
    result = []
    for raw in raw_words:
        try:
            plain = "".join(_ShellLexer(raw, raw_quotes=False, raw_escapes=False).words())
        except _LexError:
            plain = raw
        result.append((raw, plain))
    return result


def _heredoc_from_word(word: str) -> Heredoc | None:
    """BuildKit's heredocFromMatch; raises _LexError where BuildKit fails the build."""
    match = _HEREDOC_WORD.fullmatch(word)
    if not match or not match.group(3):
        return None
    rest = match.group(3)
    digits = match.group(1)
    fd = min(int(digits[:21]), 2**64 - 1) if digits else 0  # Go's ParseUint saturates
    if _PLAIN_NAME.fullmatch(rest):
        # Nothing for the shell lexer to do (the usual EOF): lexing it twice was most
        # of the parse time of a Dockerfile of many short heredocs.
        return Heredoc(name=rest, content="", chomp=match.group(2) == "-", expand=True, fd=fd)
    try:
        words = _ShellLexer(rest, raw_quotes=False, raw_escapes=False).words()
        if len(words) != 1:
            return None
        raw = _ShellLexer(rest, raw_quotes=True, raw_escapes=False).words()
    except _LexError as error:
        raise _LexError(f"failed to process {go_quote(rest)}: {error}") from None
    if len(raw) != 1:
        raise _LexError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(
        name=words[0],
        content="",
        chomp=match.group(2) == "-",
        expand=quotes == raw_quotes,
        fd=fd,  # Python's int() refuses very long digit strings, hence digits[:21]
    )


def heredocs_in_line(line: str) -> list[Heredoc]:
    """The heredoc markers in an instruction line, in order.

    BuildKit ignores a lexing error of the whole line (no heredocs), but fails
    on one in a marker word; that raises a ValueError here.
    """
    try:
        words = _ShellLexer(line, raw_quotes=True, raw_escapes=True).words()
    except _LexError:
        return []
    return [doc for doc in map(_heredoc_from_word, words) if doc is not None]


def parse(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Read Dockerfile text as BuildKit's Dockerfile frontend does before it looks at
    instructions: refuse an empty file and a bad ``# check=`` directive, then run the
    line parser. Raise DockerfileSyntaxError where the build would stop.

    ``text`` is the file decoded with ``surrogateescape``: a byte that is not UTF-8
    is a surrogate, which the parser treats as Go treats a stray byte. The result
    holds no surrogates (each such byte reads U+FFFD) and says where the first was.
    """
    if not text:
        raise DockerfileSyntaxError("the Dockerfile cannot be empty", 1)
    if not text.isascii():
        text = _OTHER_SURROGATE.sub("\ufffd", text)  # no byte gives these
    try:
        dockerfile = _Parser(text, path).parse()
    except DockerfileSyntaxError as error:
        if error.message.isascii():
            raise
        raise DockerfileSyntaxError(
            _replace_bytes(error.message), error.line, error.column
        ) from None
    if text.isascii():
        return dockerfile
    return _clean(dockerfile, _first_invalid_byte(text))


def _first_invalid_byte(text: str) -> tuple[int, int, int] | None:
    found = _BYTE_SURROGATE.search(text)
    if found is None:
        return None
    start = found.start()
    line_start = text.rfind("\n", 0, start) + 1
    column = start - line_start + 1 - (line_start == 0 and text.startswith("\ufeff"))
    return text.count("\n", 0, start) + 1, column, ord(found.group()) - 0xDC00


def _clean(dockerfile: Dockerfile, invalid: tuple[int, int, int] | None) -> Dockerfile:
    """The parse result with every stray byte as U+FFFD, so no surrogate leaves the parser."""
    dockerfile.lines[:] = [_replace_bytes(line) for line in dockerfile.lines]
    dockerfile.comments = {n: _replace_bytes(c) for n, c in dockerfile.comments.items()}
    dockerfile.directives = {k: _replace_bytes(v) for k, v in dockerfile.directives.items()}
    if dockerfile.syntax is not None:
        reference, value, line = dockerfile.syntax
        dockerfile.syntax = (_replace_bytes(reference), _replace_bytes(value), line)
    dockerfile.instructions = [_clean_instruction(i) for i in dockerfile.instructions]
    dockerfile.invalid_utf8 = invalid
    return dockerfile


def _clean_instruction(instruction: Instruction) -> Instruction:
    return replace(
        instruction,
        keyword=_replace_bytes(instruction.keyword),
        rest=_replace_bytes(instruction.rest),
        value=tuple(map(_replace_bytes, instruction.value)),
        flags=tuple(map(_replace_bytes, instruction.flags)),
        original=_replace_bytes(instruction.original),
        heredocs=tuple(
            replace(doc, name=_replace_bytes(doc.name), content=_replace_bytes(doc.content))
            for doc in instruction.heredocs
        ),
        sub=_clean_instruction(instruction.sub) if instruction.sub else None,
    )


# -- the # syntax= and # check= directives, as the frontend reads them ----------


def detect_syntax(text: str) -> tuple[str, str, int] | None:
    """BuildKit's DetectSyntax: the frontend image a file asks for, as (reference,
    whole value, line), or None. Read apart from the parser: past a ``#!`` first
    line, from ``# syntax=`` lines, else ``// syntax=`` lines, else a JSON object's
    ``"syntax"`` string. octolint lints as frontend 1.26.0 whatever it names.
    """
    data = text[1:] if text.startswith("\ufeff") else text
    offset = 0
    first, _, rest = data.partition("\n")
    if first.startswith("#!"):
        data, offset = rest, 1
    for comment in ("#", "//"):
        lines = (line.removesuffix("\r") for line in _lines_of(data))
        found = _directives_from(lines, comment).get("syntax")
        if found is not None:
            value, index = found
            return value.split(" ", 1)[0], value, offset + index + 1
    try:
        document, end = _JSON.raw_decode(data.lstrip(" \t\n\r"))
    except (ValueError, RecursionError):
        return None
    trailer_ok = _JSON_TRAILER.fullmatch(data.lstrip(" \t\n\r"), end) is not None
    if trailer_ok and isinstance(document, dict) and isinstance(document.get("syntax"), str):
        return document["syntax"], document["syntax"], offset
    return None


def _lines_of(text: str) -> Iterator[str]:
    """The lines of text one by one: directive scans stop at the first lines."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _directives_from(lines: Iterable[str], comment: str) -> dict[str, tuple[str, int]]:
    """DirectiveParser.ParseAll: each directive's value and line index, up to the first
    line that is none (no leading spaces allowed) or repeats one."""
    found: dict[str, tuple[str, int]] = {}
    for index, line in enumerate(lines):
        if not line.startswith(comment):
            break
        body = _go_lstrip(line[len(comment) :])
        match = _DIRECTIVE_HEAD.match(body)
        value = _directive_value(body, match.end()) if match else None
        key = match.group(1).lower() if match else ""
        if value is None or key not in _VALID_DIRECTIVES or key in found:
            break
        found[key] = (value, index)
    return found


def _check_option_error(lines: list[str]) -> tuple[str, int] | None:
    """Why the ``# check=`` directive fails the build, and its line; None when it does not.

    The frontend reads it apart from the parser (ParseDirective): past a ``#!``
    first line, only from lines that start with ``#`` (no leading space), up to
    the first line that is no directive or repeats one.
    """
    start = 1 if lines and lines[0].startswith("#!") else 0
    found = _directives_from(itertools.islice(lines, start, None), "#").get("check")
    if found is None:
        return None
    value, index = found
    error = lint_options_error(value.split(" ", 1)[0])
    return (error, start + index + 1) if error else None


_GO_BOOLS = frozenset(
    {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
)


def lint_options_error(options: str) -> str | None:
    """BuildKit's ParseLintOptions: what is wrong with a ``check`` value, or None."""
    options = _go_strip(options)
    if not options:
        return None
    for part in options.split(";", 2):
        key, has_value, value = part.partition("=")
        if not has_value:
            return f"invalid check option {go_quote(part)}"
        key = _go_strip(key)
        if key == "error" and _go_strip(value) not in _GO_BOOLS:
            return (
                f"failed to parse check option {go_quote(part)}: "
                f"strconv.ParseBool: parsing {go_quote(_go_strip(value))}: invalid syntax"
            )
        if key not in ("skip", "experimental", "error"):
            return f"invalid check option {go_quote(key)}"
    return None


_GO_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    '"': '\\"', "\\": "\\\\",
}  # fmt: skip


def go_quote(text: str) -> str:
    """Go's strconv.Quote (fmt's %q), which BuildKit's messages use; a stray byte is \\xNN."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
