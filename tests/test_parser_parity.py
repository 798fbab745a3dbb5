"""Parity between octolint's Dockerfile parser and BuildKit's.

The reference is the ``dockerfile`` package: BuildKit's own parser (v0.12.5)
compiled into a Python extension. Every example must either fail in both
parsers or give the same instructions, line ranges, flags, values, JSON
flag and heredoc bodies.

What the reference cannot be asked, and so is left out of the examples:

* NUL characters: the binding passes the text as a C string, which ends there.
* Lone surrogates: the binding crashes the interpreter on them.
* Results that are not valid UTF-8 (BuildKit cuts flag values and the
  HEALTHCHECK type byte by byte): the binding raises UnicodeDecodeError.
* Heredoc bodies of ONBUILD: BuildKit attaches them to the ONBUILD node but
  the binding reads them from the wrapped instruction, so it always reports
  none; the end line still shows that both parsers consumed the body.

Heredoc markers are found by BuildKit's shell lexer. The parser ports the
part of it that matters here (quotes, escapes, $name, ${name} and the ${name:-..}
family, with its errors), so the generator is not restricted to plain words:
TOKENS below deliberately includes the lexer's awkward shapes. Variables are
never expanded (BuildKit lexes with no environment), so none are generated
with values. Known divergence, not generated: a JSON array nested deeper than
Python's recursion limit (~900) but within Go's (10000) is shell form to us and
a non-string array (an error) to BuildKit.

The reference is BuildKit v0.12.5; octolint follows v0.32.2, whose own test
data is the oracle in test_buildkit_testdata.py. Where the two releases read a
text differently (KNOWN_CHANGES), a disagreement is discarded, not counted; the
current behaviour of each change is asserted in CHANGED below.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Union

import pytest
from conftest import corpus_dir
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from octolint.dockerfile.parser import KNOWN_INSTRUCTIONS, parse
from octolint.errors import DockerfileSyntaxError

dockerfile = pytest.importorskip("dockerfile", reason="the BuildKit binding is not installed")

# One instruction as both sides see it, or None when the parser rejected the file.
Row = tuple[Any, ...]
Outcome = Union[list[Row], None]

CORPUS = corpus_dir()

# What BuildKit changed between v0.12.5 and v0.32.2 in how it reads a Dockerfile,
# as the shapes of text where the two may disagree.
KNOWN_CHANGES = {
    # v0.15.0: json.Unmarshal, so text after a JSON array makes it shell form.
    "json-trailer": re.compile(r"\[[^\n]*\][^\n]*[^\s\]]"),
    # v0.22.0: spaces after "<<" belong to the heredoc word.
    "heredoc-space": re.compile(r"<<[ \t\r]"),
    # v0.13.0: ${a#b}, ${a%b}, ${a/b/c} lex; v0.15.0: a nested ${a:-...} scan empties
    # the word being built, so "<<" before it is lost. Both only matter near "<<".
    "nested-scan": re.compile(r"(?s)<<.*\$\{|\$\{.*<<"),
    # v0.14.0: "# check=" is a directive (once only, and it does not end the block).
    "check-directive": re.compile(r"(?i)#[^\n]*check"),
    # v0.15.0: any unicode.IsSpace (\v, NEL, NBSP...) may follow a directive's "#".
    "directive-space": re.compile(
        "#[\x0b\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    ),
    # v0.21.0: flags honour the escape directive, so with "`" a backslash is plain.
    "flag-escape": re.compile(r"(?is)escape\s*=\s*`.*--"),
}


def known_change(text: str) -> bool:
    return any(pattern.search(text) for pattern in KNOWN_CHANGES.values())


def reference(text: str) -> Outcome:
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError:
        return None
    return [
        (
            (command.cmd or "").upper(),  # None for an empty command
            command.sub_cmd.upper() if command.sub_cmd else None,
            command.start_line,
            command.end_line,
            tuple(command.flags),
            tuple(command.value),
            command.json,
            None if command.sub_cmd else [(h.name, h.content) for h in command.heredocs],
        )
        for command in commands
    ]


def ours(text: str) -> Outcome:
    try:
        instructions = parse(text).instructions
    except DockerfileSyntaxError:
        return None
    return [
        (
            item.name,
            item.sub.name if item.sub else None,
            item.start_line,
            item.end_line,
            item.flags,
            item.value,
            item.is_json,
            None if item.sub else [(h.name, h.content) for h in item.heredocs],
        )
        for item in instructions
    ]


def askable(text: str) -> bool:
    """Whether the binding can take this text (see the module docstring)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def assert_same(text: str) -> None:
    """Both parsers fail, or both give the same instructions."""
    mine = ours(text)  # first, so that a crash of ours is reported as such
    if not askable(text):
        reject()
    try:
        theirs = reference(text)
    except UnicodeDecodeError:
        reject()  # BuildKit produced bytes that are not UTF-8
    if mine != theirs and known_change(text):
        reject()  # BuildKit itself changed here since v0.12.5
    assert mine == theirs, f"parsers disagree on {text!r}"


# -- a grammar-shaped Dockerfile generator ------------------------------------

KEYWORDS = sorted(KNOWN_INSTRUCTIONS)
UNKNOWN = ["FOO", "RUNX", "COPYY", "X", "ÉTAPE"]
WORD_CHARS = "abcxyz019_-./:@%+,*é"
TRICKY_CHARS = "'\"\\`${}[]<>=#&|; \t\xa0\u2003"
TOKENS = [
    "$HOME", "${VAR}", "${VAR:-x}", "${VAR:+y}", '"a b"', "'c d'", '\\"', "\\ ", "&&",
    "|", ";", "a=b", 'k="v w"', "k='v'", "k=v\\ w", "k=", "=", "#", "# not a comment",
    "[", "]", "<", "<<", "2>&1", "--", "-", "--x", "echo", "apt-get", "install", "-y",
    # shapes BuildKit's shell lexer treats specially when it looks for heredocs
    '"\\a"', '"\\$x"', "${a:-'x y'}", '${a:-"b c"}', "${a?}", "${a-}", "${a:}", "${a",
    '"${a}"', "$'x'", "${a:-$b}", "${1}", "${@}", "${a.b}", "${a#b}", "${}", "$(x)",
    "\\", "'", '"', "$$", "$${a", "$1${", "$-{",
]  # fmt: skip
FLAGS = [
    "--from=builder", "--chown=app:app", '--chown="a b"', "--from='x y'", "--link",
    "--mount=type=cache,target=/root/.cache", "--mount=type=secret,id=x", "--network=none",
    "--platform=$BUILDPLATFORM", "--chmod=755", "--", "--x=é", "--a=\\b", '--q=""', "--=",
]  # fmt: skip
HEREDOC_BODY = [
    "FROM y", 'CMD ["x"]', "RUN echo hi \\", "# comment", "", "  ", "\tindented", "\t\tEOF",
    "echo $HOME", "EOF ", " EOF", "EOFX", "eof", "<<EOF", "a\\", "ENV a b",
]  # fmt: skip


def mixed_case(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(lambda bits: "".join(c.lower() if b else c for c, b in zip(word, bits)))


keywords = st.sampled_from(KEYWORDS + UNKNOWN).flatmap(mixed_case)
words = st.one_of(
    st.text(alphabet=WORD_CHARS, min_size=1, max_size=6),
    st.text(alphabet=WORD_CHARS + TRICKY_CHARS, min_size=1, max_size=6),
    st.sampled_from(TOKENS),
)
gaps = st.sampled_from([" ", " ", " ", "  ", "\t", " \t"])


@st.composite
def shell_text(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(words, max_size=6))


@st.composite
def json_form(draw: st.DrawFn) -> list[str]:
    items: list[Any] = draw(st.lists(st.text(alphabet=WORD_CHARS + TRICKY_CHARS, max_size=5)))
    if draw(st.integers(0, 9)) == 0:
        items.append(draw(st.sampled_from([1, None, True, [], 1e999])))
    text = json.dumps(items, ensure_ascii=draw(st.booleans())).replace("Infinity", "1e999")
    broken = draw(st.sampled_from(["", "", "", "", "drop", "comma", "trail"]))
    if broken == "drop":
        text = text[:-1]
    elif broken == "comma":
        text = text[:-1] + ",]"
    elif broken == "trail":
        text += " x"
    return [text]


@st.composite
def name_values(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):
        return [draw(st.sampled_from(["KEY", "a", "A_B"])), *draw(shell_text())]
    keys = st.sampled_from(["a", "B", "key.name", "x-y", "", '"q"'])
    values = st.one_of(words, st.just(""), st.sampled_from(['"v w"', "'v w'", "v\\ w", '"\\""']))
    pairs = draw(st.lists(st.tuples(keys, values), min_size=1, max_size=3))
    return [f"{k}={v}" for k, v in pairs] + draw(st.sampled_from([[], [], ["stray"]]))


@st.composite
def heredoc_marker(draw: st.DrawFn) -> tuple[str, str, bool]:
    """A heredoc word as written, the terminator it needs, and whether it chomps."""
    name = draw(st.sampled_from(["EOF", "END", "eof", "X1", "_EOT", "E-F", "$E", "${E}"]))
    quoted = draw(st.sampled_from(["", "", '"', "'", "partial", "backslash"]))
    written = {
        "": name,
        '"': f'"{name}"',
        "'": f"'{name}'",
        "partial": f'{name[0]}"{name[1:]}"',
        "backslash": f"\\{name}",
    }[quoted]
    chomp = draw(st.booleans())
    fd = draw(st.sampled_from(["", "", "1", "2"]))
    return f"{fd}<<{'-' if chomp else ''}{written}", name, chomp


@st.composite
def heredoc_body(draw: st.DrawFn, terminator: str, chomp: bool) -> list[str]:
    body = draw(st.lists(st.one_of(st.sampled_from(HEREDOC_BODY), st.text(max_size=8)), max_size=4))
    body = [line.replace("\n", " ").replace("\r", " ") for line in body]
    ending = draw(st.sampled_from(["plain", "plain", "tabs", "missing", "spaces"]))
    if ending == "missing":
        return body
    if ending == "tabs":
        return [*body, "\t" + terminator]
    if ending == "spaces":
        return [*body, terminator + " ", terminator]
    return [*body, terminator]


@st.composite
def arguments(draw: st.DrawFn, kind: str) -> list[str]:
    if kind in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME"):
        return draw(st.one_of(shell_text(), json_form()))
    if kind in ("ENV", "LABEL", "ARG"):
        return draw(name_values())
    if kind == "HEALTHCHECK":
        return [draw(st.sampled_from(["NONE", "CMD", "cmd"])), *draw(arguments("CMD"))]
    if kind == "ONBUILD":
        inner = draw(st.sampled_from(["RUN", "COPY", "ENV", "ONBUILD", "FROM"]))
        return [draw(mixed_case(inner)), *draw(arguments(inner if inner != "ONBUILD" else "RUN"))]
    return draw(shell_text())


@st.composite
def instruction(draw: st.DrawFn, escape: str) -> list[str]:
    """The physical lines of one instruction, heredoc bodies included."""
    keyword = draw(keywords)
    kind = keyword.upper()
    tokens = [keyword]
    if kind in ("ADD", "COPY", "RUN", "FROM", "ONBUILD") or draw(st.integers(0, 9)) == 0:
        tokens += draw(st.lists(st.sampled_from(FLAGS), max_size=2))
    tokens += draw(arguments(kind))
    bodies: list[str] = []
    wrapped = tokens[1].upper() if kind == "ONBUILD" and len(tokens) > 1 else kind
    if wrapped in ("RUN", "COPY", "ADD") and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            marker, terminator, chomp = draw(heredoc_marker())
            tokens.insert(draw(st.integers(1, len(tokens))), marker)
            bodies += draw(heredoc_body(terminator, chomp))
    return [*continued(draw, tokens, escape), *bodies]


def continued(draw: st.DrawFn, tokens: list[str], escape: str) -> list[str]:
    """Join tokens into physical lines, breaking some gaps with a line continuation."""
    lines = [draw(st.sampled_from(["", "", " ", "\t", "\xa0"])) + tokens[0]]
    for token in tokens[1:]:
        if draw(st.integers(0, 4)) == 0:
            trailing = draw(st.sampled_from(["", "", " ", "\t ", "  "]))
            lines[-1] += draw(gaps) + escape + trailing
            lines += draw(st.lists(st.sampled_from(["# inside", "  # indented", "", "   "])))
            lines.append(draw(st.sampled_from(["", " ", "\t"])) + token)
        else:
            lines[-1] += draw(gaps) + token
    return lines


@st.composite
def directives(draw: st.DrawFn, escape: str) -> list[str]:
    lines = []
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["# syntax=docker/dockerfile:1", "#syntax = x"])))
    spacing = draw(
        st.sampled_from(["# escape=", "#escape=", "# escape = ", "# ESCAPE=", "#\tescape="])
    )
    if escape == "`" or draw(st.booleans()):
        lines.append(spacing + escape + draw(st.sampled_from(["", " ", "\t"])))
    if draw(st.integers(0, 5)) == 0:  # a duplicate, or one that comes too late
        lines.insert(0, draw(st.sampled_from(["", "# comment", "# escape=\\", "# escape=x"])))
    return lines


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    escape = draw(st.sampled_from(["\\", "\\", "`"]))
    lines = draw(directives(escape))
    for _ in range(draw(st.integers(0, 6))):
        lines += draw(
            st.one_of(
                instruction(escape),
                instruction(escape),
                st.sampled_from([[""], ["# comment"], ["  # indented comment"], ["  "]]),
            )
        )
    eol = draw(st.sampled_from(["\n", "\n", "\r\n", "mixed"]))
    if eol == "mixed":
        text = "".join(line + draw(st.sampled_from(["\n", "\r\n", "\r\r\n"])) for line in lines)
    else:
        text = eol.join(lines) + draw(st.sampled_from([eol, ""]))
    return draw(st.sampled_from(["", "", "", "\ufeff"])) + text


FAST = settings(
    max_examples=int(os.environ.get("OCTOLINT_PARITY_EXAMPLES", "1500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@FAST
@given(dockerfiles())
@pytest.mark.slow
def test_grammar_shaped_dockerfiles_parse_like_buildkit(text: str) -> None:
    assert_same(text)


@FAST
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="RUNCOPYrun <-EOF'\"\\`#$={}[]\t\r\n\xa0"),
    )
)
def test_arbitrary_text_parses_like_buildkit(text: str) -> None:
    assert_same(text)


QUIRKS = {
    "doubled-escape": "FROM a\nRUN foo \\\\\nRUN x\n",  # does not continue the line
    "flag-bytes": "COPY --chown=josé a b\n",  # BuildKit reads flags byte by byte
    "go-space": "\x0b# comment\nRUN x\n",  # Go's unicode.IsSpace trims \v before a comment
    "crlf-heredoc": "RUN <<EOF\r\nhi\r\nEOF\r\n",  # heredoc bodies keep CRLF
    "many-cr": "RUN <<EOF\nhi\nEOF\r\r\n",  # every trailing \r goes before matching
    "json-overflow": "RUN [1e999]\n",  # a number overflowing float64 is not JSON to Go
    "json-surrogate": 'RUN ["\\ud800"]\n',  # Go decodes a lone surrogate escape to U+FFFD
    "not-go-space": '\x1cRUN ["a"]\n',  # \x1c is not a space to Go
    "backtick": "# escape=`\nFROM a \\\nRUN b `\n  c\n",
    "bad-line": 'RUN <<"EOF\nbody\nRUN x\n',  # the line fails to lex: no heredoc at all
    "special-param": "RUN cat <<$${\nbody\n$${\n",  # $$ is one parameter: no ${ here
    "raw-escape": 'RUN cat <<EOF "\\a"\nx\nEOF\n',
    "go-lower": '\u017ftopsignal x\nWOR\u212aDIR /x\nentrypo\u0130nt ["a"]\n',
    "longest-line": "RUN " + "a" * 65531 + "\n",  # the longest line BuildKit's scanner takes
    "too-long-line": "RUN " + "a" * 65532 + "\n",  # one byte more fails the build
}


@pytest.mark.parametrize("text", QUIRKS.values(), ids=QUIRKS.keys())
def test_known_quirks_match_buildkit(text: str) -> None:
    assert_same(text)


# Each change above as current BuildKit has it: (text, instructions or None for an error).
CHANGED: dict[str, tuple[str, Outcome]] = {
    "json-trailer": (
        'RUN ["a"] trailing\n',
        [("RUN", None, 1, 1, (), ('["a"] trailing',), False, [])],
    ),
    "check-directive": ("# syntax=x\n# check=a\n# check=b\nFROM a\n", None),
    "heredoc-space": (
        "RUN <<  EOF\nx\nEOF\n",
        [("RUN", None, 1, 3, (), ("<<  EOF",), False, [("EOF", "x\n")])],
    ),
    "nested-scan": (
        "RUN cat <<${a:-x y}\nb\n",
        [
            ("RUN", None, 1, 1, (), ("cat <<${a:-x y}",), False, []),
            ("B", None, 2, 2, (), ("",), False, []),
        ],
    ),
    "modifier": (  # lexes now (v0.12.5 failed the build), but the nested scan drops "<<"
        "RUN <<${a#b}\nx\n",
        [
            ("RUN", None, 1, 1, (), ("<<${a#b}",), False, []),
            ("X", None, 2, 2, (), ("",), False, []),
        ],
    ),
    "directive-space": (
        "#\x0bescape=`\nFROM a `\n b\n",
        [("FROM", None, 2, 3, (), ("a", "b"), False, [])],
    ),
    "flag-escape": (
        "# escape=`\nCOPY --chown=a\\b x y\n",
        [("COPY", None, 2, 2, ("--chown=a\\b",), ("x", "y"), False, [])],
    ),
}


@pytest.mark.parametrize("name", CHANGED)
def test_what_changed_since_the_reference(name: str) -> None:
    text, expected = CHANGED[name]
    assert KNOWN_CHANGES.get(name, KNOWN_CHANGES["nested-scan"]).search(text)
    assert ours(text) == expected


@pytest.mark.skipif(CORPUS is None, reason="no Dockerfile corpus (OCTOLINT_CORPUS)")
def test_corpus_parses_like_buildkit() -> None:
    assert CORPUS is not None
    files = sorted(path for path in CORPUS.iterdir() if path.is_file())
    checked = 0
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # e.g. a UTF-16 fixture: neither parser reads it as text
        assert ours(text) == reference(text), f"parsers disagree on {path.name}"
        checked += 1
    assert checked >= len(files) - 5, "most of the corpus should be UTF-8"
