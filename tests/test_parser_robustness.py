"""The parser fails only with DockerfileSyntaxError, and fast, whatever the input."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolint.dockerfile.parser import Dockerfile, parse
from octolint.errors import DockerfileSyntaxError

# Expected: the slowest case below (100k instructions) takes about 1.5 s on an idle 2-core
# VM and 2-5 s when it is loaded; every other one under 0.4 s. The bound is 10x the loaded
# time, so load cannot fail it (3 s did): it only catches the far-worse-than-linear (a
# quadratic path at these sizes takes minutes). How the work grows is counted, not
# timed, in test_parser_work_grows_linearly.
BUDGET_SECONDS = 30.0


def parse_or_error(text: str) -> Dockerfile | DockerfileSyntaxError:
    try:
        return parse(text)
    except DockerfileSyntaxError as error:
        return error


def check_structure(text: str) -> None:
    """Parse, and check the invariants every successful parse must keep."""
    result = parse_or_error(text)
    if isinstance(result, DockerfileSyntaxError):
        assert result.line >= 1
        return
    assert result.instructions
    previous_end = 0
    for item in result.instructions:
        assert previous_end < item.start_line <= item.end_line <= len(result.lines)
        assert item.end_column >= 1
        assert item.name == item.keyword.upper()
        previous_end = item.end_line


@settings(max_examples=1500, deadline=None)
@given(st.text())
def test_arbitrary_text_only_raises_syntax_errors(text: str) -> None:
    check_structure(text)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet="RUNCOPYADDrun ONBUILD<-EOF'\"\\`#$={}[]:,\t\r\n\ufeff\xa0\x85"))
def test_dockerfile_alphabet_only_raises_syntax_errors(text: str) -> None:
    check_structure(text)


def timed(text: str) -> Dockerfile | DockerfileSyntaxError:
    start = time.perf_counter()
    result = parse_or_error(text)
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET_SECONDS, f"took {elapsed:.2f}s"
    return result


def test_megabyte_single_line_is_rejected_quickly() -> None:
    # BuildKit's scanner refuses lines of 64 KiB or more, and so do we.
    result = timed("FROM a\nRUN " + "a " * 500_000 + "\n")
    assert isinstance(result, DockerfileSyntaxError)
    assert result.line == 2


def test_megabyte_logical_line() -> None:
    result = timed("RUN " + "echo aaaa && \\\n" * 80_000 + "true\n")
    assert isinstance(result, Dockerfile)
    assert result.instructions[0].end_line == 80_001
    assert len(result.instructions[0].value[0]) > 1_000_000


def test_hundred_thousand_continuation_lines() -> None:
    result = timed("RUN a \\\n" + "# c\n \\\n" * 100_000 + "b\n")
    assert isinstance(result, Dockerfile)
    assert result.instructions[0].end_line == 200_002


def test_deeply_nested_variables_in_a_heredoc_line() -> None:
    nested = "${a:-" * 10_000 + "x" + "}" * 10_000
    result = timed(f"RUN cat {nested} <<EOF\nbody\nEOF\n")
    assert isinstance(result, Dockerfile)
    assert result.instructions[0].heredocs[0].content == "body\n"


def test_deeply_nested_unbalanced_variables() -> None:
    # The line does not lex, so BuildKit finds no heredoc and EOF is an instruction.
    result = timed("RUN cat " + "${a:-" * 12_000 + " <<EOF\nEOF\n")
    assert isinstance(result, Dockerfile)
    assert [i.name for i in result.instructions] == ["RUN", "EOF"]


def test_hundred_thousand_heredoc_lines() -> None:
    result = timed("RUN <<EOF\n" + "echo line\n" * 100_000 + "EOF\nUSER app\n")
    assert isinstance(result, Dockerfile)
    assert result.instructions[0].heredocs[0].content.count("\n") == 100_000
    assert result.instructions[1].start_line == 100_003


def test_many_heredocs_in_one_line() -> None:
    result = timed("RUN " + "<<A " * 10_000 + "\n" + "A\n" * 10_000)
    assert isinstance(result, Dockerfile)
    assert len(result.instructions[0].heredocs) == 10_000


@pytest.mark.parametrize("char", ["\\", '"', "'", "`", "$", "{", "<", "-", "="])
def test_long_runs_of_one_character(char: str) -> None:
    run = char * 60_000
    for text in (
        f"RUN {run}\n",
        f"ENV a={run}\n",
        f"COPY --x={run} a b\n",
        f"RUN cat <<{run}\n",
        f"# escape={run}\nFROM a\n",
        f"HEALTHCHECK CMD {run}\n",
        "RUN " + f"x{run}x \\\n" * 4 + "\n",
    ):
        timed(text)


def test_two_hundred_thousand_backslashes_and_quotes() -> None:
    # Too long for one physical line in BuildKit, so spread over continuations.
    piece = '\\"' * 20_000 + "x \\\n"
    result = timed("RUN " + piece * 5 + "\n")
    assert isinstance(result, Dockerfile)
    timed("RUN " + "\\" * 200_000 + "\n")
    timed("RUN " + '"' * 200_000 + "\n")


def test_whitespace_runs_do_not_backtrack() -> None:
    # Old regexps here (\\[ \t]*$ and a lazy directive value) were quadratic on these.
    timed("RUN " + "\\" * 30_000 + " " * 30_000 + "x\n")
    timed("# escape=x" + " " * 60_000 + "y\nFROM a\n")
    timed("RUN a" + " \t" * 30_000 + "\\\nb\n")


def test_deeply_nested_json_is_not_a_recursion_error() -> None:
    # Deeper than Go's limit of 10000 too, so BuildKit also falls back to shell form.
    result = timed("CMD " + "[" * 30_000 + "]" * 30_000 + "\n")
    assert isinstance(result, Dockerfile)
    assert not result.instructions[0].is_json


def test_wide_json_and_many_words() -> None:
    cmd = timed("CMD [" + '"a",' * 12_000 + '"b"]\n')
    assert isinstance(cmd, Dockerfile) and len(cmd.instructions[0].value) == 12_001
    env = timed("ENV " + "a=b " * 15_000 + "\n")
    assert isinstance(env, Dockerfile) and len(env.instructions[0].value) == 30_000
    flags = timed("RUN " + "--a=b " * 10_000 + "x\n")
    assert isinstance(flags, Dockerfile) and len(flags.instructions[0].flags) == 10_000


def test_hundred_thousand_instructions() -> None:
    result = timed("FROM a\n" + "RUN x\n" * 100_000)
    assert isinstance(result, Dockerfile)
    assert len(result.instructions) == 100_001


# -- how the work grows, counted ----------------------------------------------------------

# Inputs whose size is n (lines, words, heredocs, nesting depth), as in the cases above.
GROWING: dict[str, Callable[[int], str]] = {
    "instructions": lambda n: "FROM a\n" + "RUN x\n" * n,
    "continuation-lines": lambda n: "RUN a \\\n" + "# c\n \\\n" * n + "b\n",
    "logical-line": lambda n: "RUN " + "echo aaaa && \\\n" * n + "true\n",
    "heredoc-lines": lambda n: "RUN <<EOF\n" + "echo line\n" * n + "EOF\nUSER app\n",
    "heredocs-in-one-line": lambda n: "RUN " + "<<A " * n + "\n" + "A\n" * n,
    "nested-variables": lambda n: f"RUN cat {'${a:-' * n}x{'}' * n} <<EOF\nbody\nEOF\n",
    "unbalanced-variables": lambda n: "RUN cat " + "${a:-" * n + " <<EOF\nEOF\n",
    "json-words": lambda n: "CMD [" + '"a",' * n + '"b"]\n',
    "env-pairs": lambda n: "ENV " + "a=b " * n + "\n",
    "flags": lambda n: "RUN " + "--a=b " * n + "x\n",
}


def calls_while_parsing(text: str) -> int:
    """Python and builtin function calls made by parse(text): a measure of work that the
    machine's load does not change (work inside one C call, e.g. a regexp, is not seen:
    the time bound above stays for that)."""
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        parse_or_error(text)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("shape", sorted(GROWING))
def test_parser_work_grows_linearly(shape: str) -> None:
    # Linear work doubles with n (measured: 1.95 to 2.00); quadratic work would quadruple.
    small, large = (calls_while_parsing(GROWING[shape](n)) for n in (2_000, 4_000))
    assert small > 2_000
    assert large <= 2.2 * small, f"{shape}: {small} calls at n=2000, {large} at n=4000"
