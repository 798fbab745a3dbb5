"""BuildKit's own test data as the oracle for the parser and the instruction checks.

The files under fixtures/buildkit/<tag>/ come from a BuildKit release (see its
README.md): the parser's testfiles with the AST dump BuildKit expects, the
negative testfiles that must fail, and cases.json, the inputs and expected
results of BuildKit's Go unit tests transcribed as data. Where BuildKit and the
``dockerfile`` package (v0.12.5, test_parser_parity.py) differ, this wins.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from octolint.api import lint_text
from octolint.dockerfile import instructions, parser
from octolint.dockerfile.parser import Dockerfile, Instruction, go_quote, heredocs_in_line, parse
from octolint.errors import DockerfileSyntaxError

BUILDKIT = Path(__file__).resolve().parents[1] / "fixtures" / "buildkit" / "v0.32.2"
CASES: dict[str, Any] = json.loads((BUILDKIT / "cases.json").read_text(encoding="utf-8"))
POSITIVE = sorted((BUILDKIT / "parser" / "testfiles").iterdir())
NEGATIVE = sorted((BUILDKIT / "parser" / "testfiles-negative").iterdir())


# -- BuildKit's Node.Dump, computed from our instructions ------------------------


def _arguments(instruction: Instruction, escape: str) -> list[str]:
    """The values of the nodes after the command, as BuildKit chains them."""
    kind = parser._kind(instruction.keyword)
    if kind == "ONBUILD":
        return [] if instruction.sub is None else [f"({dump(instruction.sub, escape)})"]
    quoted = [go_quote(value) for value in instruction.value]
    if kind in ("ENV", "LABEL") and instruction.value:
        # Each pair ends with a node holding its separator: "=" or "" (legacy form).
        legacy = "=" not in parser._words(instruction.rest, escape)[0]
        separator = go_quote("" if legacy else "=")
        return [part for i in range(0, len(quoted), 2) for part in (*quoted[i : i + 2], separator)]
    return quoted


def dump(instruction: Instruction, escape: str) -> str:
    text = parser._go_lower(instruction.keyword)
    if instruction.flags:
        text += " [" + " ".join(go_quote(flag) for flag in instruction.flags) + "]"
    for argument in _arguments(instruction, escape):
        text += " " + argument
    return text.strip()


def dump_file(dockerfile: Dockerfile) -> str:
    return "\n".join(f"({dump(i, dockerfile.escape)})" for i in dockerfile.instructions) + "\n"


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


# -- the parser's testfiles -------------------------------------------------------


@pytest.mark.parametrize("case", POSITIVE, ids=[p.name for p in POSITIVE])
def test_testfiles_dump_as_buildkit_expects(case: Path) -> None:
    expected = (case / "result").read_text(encoding="utf-8")
    assert dump_file(parse(read(case / "Dockerfile"))) == expected


@pytest.mark.parametrize("case", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_negative_testfiles_fail(case: Path) -> None:
    with pytest.raises(DockerfileSyntaxError):
        parse(read(case / "Dockerfile"))


def test_the_testfiles_are_all_there() -> None:
    assert len(POSITIVE) == 33 and len(NEGATIVE) == 4


def test_line_numbers() -> None:
    case = CASES["line_numbers"]
    instructions = parse(read(BUILDKIT / case["file"])).instructions
    assert [[i.start_line, i.end_line] for i in instructions] == case["children"]
    assert (instructions[0].start_line, instructions[-1].end_line) == (case["start"], case["end"])


# -- parser unit tests --------------------------------------------------------------


def test_extracted_heredocs() -> None:
    case = CASES["extracted_heredocs"]
    instructions = parse(case["dockerfile"]).instructions[case["children_from"] :]
    assert len(instructions) == len(case["expected"])
    for instruction, expected in zip(instructions, case["expected"]):
        found = [
            {"name": d.name, "content": d.content, "expand": d.expand, "chomp": d.chomp, "fd": d.fd}
            for d in instruction.heredocs
        ]
        assert found == (expected or []), instruction.original


def test_json_forms_hold_no_heredocs() -> None:
    case = CASES["json_heredoc"]
    instructions = parse(case["dockerfile"]).instructions
    assert all(not instructions[i].heredocs for i in case["no_heredocs"])


def heredoc_word(word: str) -> parser.Heredoc | None:
    return parser._heredoc_from_word(word)


def test_heredoc_words() -> None:
    case = CASES["heredoc_words"]
    for word in case["not"]:
        assert heredoc_word(word) is None, word
    for word in case["valid"]:
        doc = heredoc_word(word)
        assert doc is not None and doc.name == case["name"], word
    for word in case["invalid"]:
        with pytest.raises(parser._LexError):
            heredoc_word(word)


@pytest.mark.parametrize("case", CASES["heredocs_from_line"]["cases"], ids=lambda c: c["line"])
def test_heredocs_from_line(case: dict[str, Any]) -> None:
    # As BuildKit's test: each heredoc found has the expected name, in order.
    found = [doc.name for doc in heredocs_in_line(case["line"])]
    assert found == (case["names"] or [])[: len(found)]


@pytest.mark.parametrize("case", CASES["parse_words"]["cases"], ids=lambda c: c[0])
def test_parse_words(case: list[Any]) -> None:
    assert parser._words(case[0], "\\") == case[1]


def test_empty_continuation_lines_are_skipped() -> None:
    case = CASES["empty_continuation"]
    originals = [i.original for i in parse(case["dockerfile"]).instructions]
    assert all(original in originals for original in case["originals"])


def test_overlong_line() -> None:
    case = CASES["scanner_error"]
    text = case["dockerfile"].format(label=case["label"] * case["label_repeat"])
    with pytest.raises(DockerfileSyntaxError) as error:
        parse(text)
    assert error.value.message == case["error"]


@pytest.mark.parametrize("case", CASES["name_val"]["cases"], ids=lambda c: c["instruction"])
def test_name_values(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(DockerfileSyntaxError) as error:
            parse(case["instruction"])
        assert error.value.message == case["error"]
        return
    (instruction,) = parse(case["instruction"]).instructions
    triples = _arguments(instruction, "\\")
    assert triples == [go_quote(v) for v in case["values"]]


def test_json_arrays() -> None:
    case = CASES["json_arrays"]
    for text, expected in case["valid"]:
        assert parser._parse_json_array(text) == tuple(expected), text
    for text in case["invalid"]:
        with pytest.raises(parser._NotStringArray):
            parser._parse_json_array(text)


@pytest.mark.parametrize("case", CASES["directives"]["cases"], ids=lambda c: c["dockerfile"])
def test_directives(case: dict[str, Any]) -> None:
    dockerfile = parse(case["dockerfile"] + "FROM a\n")
    assert dockerfile.directives == case["directives"]


@pytest.mark.parametrize("case", CASES["check_directive"]["cases"], ids=lambda c: c["dockerfile"])
def test_check_directive_is_found_as_the_frontend_finds_it(case: dict[str, Any]) -> None:
    # A value that is not a valid check option fails the build at the directive's line.
    text = case["dockerfile"].replace("skip=all", "nonsense")
    if case["value"] is None:
        assert parser._check_option_error(text.splitlines()) is None
        return
    assert parser._check_option_error(text.splitlines()) == (
        'invalid check option "nonsense"',
        case["line"],
    )
    found = parser._check_option_error(case["dockerfile"].splitlines())
    assert found is None  # skip=all is valid


# -- the instruction parser's unit tests ----------------------------------------------

REACHABLE = [c for c in CASES["instruction_errors"] if c.get("reachable", True)]


@pytest.mark.parametrize("case", REACHABLE, ids=lambda c: c["dockerfile"])
def test_instruction_errors(case: dict[str, Any]) -> None:
    # As BuildKit's test: the first instruction of the file, on its own.
    instruction = parse(case["dockerfile"]).instructions[0]
    with pytest.raises(instructions._Rejected) as error:
        instructions.check_instruction(instruction)
    if case["exact"]:
        assert str(error.value) == case["error"]
    else:
        assert case["error"] in str(error.value)


@pytest.mark.parametrize("case", REACHABLE, ids=lambda c: c["dockerfile"])
def test_instruction_errors_after_a_from_are_oct100_at_their_line(case: dict[str, Any]) -> None:
    findings = lint_text("FROM scratch\n" + case["dockerfile"] + "\n").findings
    (finding,) = [f for f in findings if f.rule_id == "OCT100"]
    assert finding.line == 2 and case["error"] in finding.message


def test_unreachable_cases_are_unknown_instructions_as_written() -> None:
    # TestCommandsTooManyArguments hand-builds a node; its Original text is read as
    # an unknown instruction, in BuildKit as here.
    for case in CASES["instruction_errors"]:
        if not case.get("reachable", True):
            (instruction,) = parse(case["dockerfile"]).instructions
            with pytest.raises(instructions._Rejected, match="unknown instruction"):
                instructions.check_instruction(instruction)


@pytest.mark.parametrize("case", CASES["instructions_ok"], ids=lambda c: c["dockerfile"])
def test_instructions_accepted(case: dict[str, Any]) -> None:
    dockerfile = parse(case["dockerfile"])
    if case.get("whole_file"):
        instructions.check(dockerfile)
    else:
        instructions.check_instruction(dockerfile.instructions[0])


def test_any_instruction_with_any_few_arguments_never_crashes() -> None:
    case = CASES["instruction_no_crash"]
    for command in case["commands"]:
        for arguments in case["arguments"]:
            with contextlib.suppress(DockerfileSyntaxError):
                instructions.check(parse(case["prefix"] + command + arguments))


@pytest.mark.parametrize("case", CASES["detect_syntax"]["cases"], ids=lambda c: c["dockerfile"])
def test_syntax_directive_is_found_as_the_frontend_finds_it(case: dict[str, Any]) -> None:
    found = parser.detect_syntax(case["dockerfile"])
    if case["ref"] is None:
        assert found is None
        return
    assert found is not None and found[0] == case["ref"]
    if "cmdline" in case:
        assert found[1] == case["cmdline"]
    if "line" in case:
        assert found[2] == case["line"]


def test_parse_records_the_syntax_the_frontend_reads() -> None:
    dockerfile = parse("#!/bin/sh\n//syntax=docker/dockerfile:1.4 x\nFROM a\n")
    assert dockerfile.syntax == ("docker/dockerfile:1.4", "docker/dockerfile:1.4 x", 2)
    assert "syntax" not in dockerfile.directives  # not a parser directive: a comment
