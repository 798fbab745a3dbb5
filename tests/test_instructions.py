"""Instruction checks beyond BuildKit's unit tests (test_buildkit_testdata.py has those).

Each expectation follows BuildKit v0.32.2's frontend/dockerfile/instructions
(parse.go, bflag.go, commands_run*.go) and is checked end to end: the
Dockerfile is linted and OCT100 must name the line and BuildKit's message.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolint.api import lint_text
from octolint.dockerfile import instructions
from octolint.dockerfile.parser import parse
from octolint.errors import DockerfileSyntaxError


def oct100(text: str) -> tuple[int, str] | None:
    found = [f for f in lint_text(text).findings if f.rule_id == "OCT100"]
    assert len(found) <= 1
    return (found[0].line, found[0].message) if found else None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("COPY --chow=app a b", "unknown flag: --chow (did you mean chown?)"),
        ("COPY --from a b", "missing a value on flag: --from"),
        ("COPY --link=maybe a b", "expecting boolean value for flag --link, not: maybe"),
        ("COPY --link= a b", "missing a value on flag: --link"),
        ("COPY --from=a --from=b c d", "duplicate flag specified: --from"),
        ("ADD --keep-git-dir=false --exclude=a --exclude=b x y", None),
        ("WORKDIR --x /app", "unknown flag: --x"),
        ("STOPSIGNAL --x SIGTERM", None),  # BuildKit never parses STOPSIGNAL's flags
        ("ARG --x a=1", None),  # nor ARG's
        ("RUN --network=bridge true", 'invalid network mode "bridge"'),
        ("RUN --security=x true", 'security "x" is not valid'),
        ("RUN --network=none --security=insecure true", None),
        ("RUN --mount= true", "failed to parse csv mounts: EOF"),
        (  # the line parser strips quotes from flags: an escaped one gets through
            'RUN --mount=type=cache,a\\"b true',
            "failed to parse csv mounts: parse error on line 1, column 13: "
            'bare " in non-quoted-field',
        ),
        (
            'RUN --mount=\\"type=cache true',
            "failed to parse csv mounts: parse error on line 1, column 2: "
            'extraneous or missing " in quoted-field',
        ),
        ('RUN --mount=\\"a\\"\\"b\\",target=/x true', None),
        (
            "RUN --mount=from=$X,target=/x true",
            "'from' doesn't support variable expansion, define alias stage instead",
        ),
        ("RUN --mount=type=nonsense,size=1 true", None),  # read only while building
        ("RUN --device=gpu,x=1 true", "unexpected key 'x' in 'x=1'"),
        ("RUN --device=name=a,name=b true", "device name already set to a"),
        ("HEALTHCHECK --interval=5 CMD true", 'time: missing unit in duration "5"'),
        ("HEALTHCHECK --interval=5x CMD true", 'time: unknown unit "x" in duration "5x"'),
        ("HEALTHCHECK --timeout=50ns CMD true", 'Interval "timeout" cannot be less than 1ms'),
        ("HEALTHCHECK --interval=0s --timeout=1.5s CMD true", None),
        ("HEALTHCHECK --retries=-1 CMD true", "--retries cannot be negative (-1)"),
        ("HEALTHCHECK --retries=x CMD true", 'strconv.ParseInt: parsing "x": invalid syntax'),
        ("HEALTHCHECK CONNECT TCP 7000", 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)'),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK --interval=x NONE", None),  # NONE parses no flags
        ('VOLUME [""]', "VOLUME specified can not be an empty string"),
        ("SHELL bash -c", "SHELL requires the arguments to be in JSON form"),
        ("SHELL []", "SHELL requires at least one argument"),
        ("ARG =x", "ARG names can not be blank"),
        ("ARG", "ARG requires at least one argument"),
        ("ONBUILD MAINTAINER me", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("ONBUILD FOO bar", None),  # the trigger is only read when a child image builds
        ("ONBUILD --x RUN true", "unknown flag: --x"),
        ("COPY a b <<EOF\nx\nEOF", "COPY cannot accept a heredoc as a destination"),
        ("COPY <<EOF /dest\nx\nEOF", None),
        ("RUNN true", "unknown instruction: RUNN (did you mean RUN?)"),
        ("Cmd true", None),  # instructions are matched whatever their case
        ("Runn true", "unknown instruction: Runn (did you mean run?)"),  # mixed: lower case
    ],
)
def test_instruction_checks(line: str, message: str | None) -> None:
    found = oct100(f"FROM scratch\n{line}\n")
    if message is None:
        assert found is None
    else:
        assert found is not None and found[0] == 2 and found[1] == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "FROM a AS 1st\n",
            (
                1,
                'invalid name for build stage: "1st", '
                "name can't start with a number or contain symbols",
            ),
        ),
        ("FROM a b\n", (1, "FROM requires either one or three arguments")),
        ("FROM --platform a\n", (1, "missing a value on flag: --platform")),
        ("FROM a AS Build.x-1\n", None),
        ("ARG A=1\nARG B\n", (1, "dockerfile contains no stages to build: there is no FROM")),
    ],
)
def test_stage_checks(text: str, expected: tuple[int, str] | None) -> None:
    assert oct100(text) == expected


def test_the_first_failing_instruction_wins_in_file_order() -> None:
    # BuildKit stops at the first instruction it rejects, so line 2 and not line 3.
    text = "FROM a\nWORKDIR\nfoo bar\n"
    assert oct100(text) == (2, "WORKDIR requires exactly one argument")
    # An instruction before FROM is rejected where it stands, after a bad ARG-free line.
    text = "RUN true\nFROM a\nWORKDIR\n"
    found = oct100(text)
    assert found is not None and found[0] == 1
    assert found[1].startswith("no build stage in current context")


def test_copy_with_a_tab_then_a_continuation_is_reported_on_its_own_line() -> None:
    # BuildKit's copyEmptyWhitespace: "COPY\t" has no continuation; "quux bar" is
    # the next instruction. The COPY fails first, on line 2.
    text = "FROM a\nCOPY\t\n\t\tquux \\\n      bar\n"
    found = oct100(text)
    assert found is not None and found[0] == 2
    assert found[1].startswith("COPY requires at least two arguments")


def test_unknown_instruction_keeps_its_spelling() -> None:
    found = oct100("FROM a\nfoo bar\n")
    assert found is not None and found[1].startswith("unknown instruction: foo")


def test_heredoc_with_spaces_is_no_false_unknown_instruction() -> None:
    text = "FROM alpine\nRUN <<  EOF\necho hi\nEOF\nRUN cat << -EOF\nx\n-EOF\n"
    assert oct100(text) is None


def test_chomping_marker_followed_by_a_space_is_not_a_heredoc() -> None:
    # BuildKit v0.32.2's lexer ends the word "<<-" at the space (moby/buildkit#6822):
    # the body's first line is an instruction, as docker build reports.
    found = oct100("FROM alpine\nRUN <<- EOF\necho hi\nEOF\n")
    assert found == (3, "unknown instruction: echo")


def test_long_unknown_words_are_checked_quickly() -> None:
    (instruction,) = parse("x" * 60_000 + " y\n").instructions
    with pytest.raises(instructions._Rejected, match="unknown instruction"):
        instructions.check_instruction(instruction)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--interval=" + "9" * 5000 + "s", "time: invalid duration"),
        ("--interval=1." + "5" * 5000 + "s", None),
        ("--interval=" + "1s" * 30_000, None),
        ("--retries=" + "9" * 5000, "value out of range"),
        ("--retries=-" + "9" * 5000, "value out of range"),
    ],
)
def test_huge_flag_values_are_bounded(flag: str, message: str | None) -> None:
    # A 60 KB flag value is checked in linear time, and Python's int() digit limit
    # never surfaces as a crash.
    found = oct100(f"FROM a\nHEALTHCHECK {flag} CMD true\n")
    if message is None:
        assert found is None
    else:
        assert found is not None and message in found[1]


def test_many_csv_fields_are_linear() -> None:
    mount = ",".join(["target=/x"] * 6000)  # 60 KB of fields
    assert oct100(f"FROM a\nRUN --mount={mount} true\n") is None


_WORDS = [
    "FROM", "RUN", "COPY", "ADD", "HEALTHCHECK", "ONBUILD", "ENV", "LABEL", "ARG", "SHELL",
    "VOLUME", "EXPOSE", "WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER", "CMD", "ENTRYPOINT",
    "foo", "NONE", "AS", "a", "=", "a=", "=b", "[]", '[""]', '["a"]', "<<EOF", "EOF", "--",
    "--mount=", '--mount=\\"x', "--mount=from=$x", "--network=x", "--device=a,b", "--link=",
    "--interval=1.5h", "--interval=", "--retries=9", "--from=a", "--x", "--platform", "\\",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=5), max_size=6))
def test_instruction_checks_never_crash(lines: list[list[str]]) -> None:
    text = "\n".join(" ".join(words) for words in lines) + "\n"
    try:
        dockerfile = parse(text)
    except DockerfileSyntaxError:
        return
    try:
        instructions.check(dockerfile)
    except DockerfileSyntaxError as error:
        assert error.line >= 1 and error.message
