"""Example-based tests of the Dockerfile parser.

Each expectation here was checked against BuildKit's own parser; the
hypothesis tests in test_parser_parity.py do that systematically.
"""

from __future__ import annotations

import pytest

from octolint.dockerfile.parser import Heredoc, Instruction, heredocs_in_line, parse
from octolint.errors import DockerfileSyntaxError


def only(text: str) -> Instruction:
    instructions = parse(text).instructions
    assert len(instructions) == 1, instructions
    return instructions[0]


def syntax_error(text: str) -> DockerfileSyntaxError:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(text)
    return info.value


# -- heredocs -------------------------------------------------------------------


def test_heredoc_body_belongs_to_its_instruction() -> None:
    run = only("RUN <<EOF\necho hi\necho there\nEOF\n")
    assert run.value == ("<<EOF",)
    assert run.heredocs == (Heredoc(name="EOF", content="echo hi\necho there\n"),)
    assert (run.start_line, run.end_line) == (1, 4)


def test_heredoc_with_command_after_marker() -> None:
    run = only("RUN <<EOT bash\n  set -e\nEOT\n")
    assert run.value == ("<<EOT bash",)
    assert run.heredocs[0].content == "  set -e\n"


def test_chomping_heredoc_accepts_tab_indented_terminator() -> None:
    run = only("RUN <<-EOF\n\techo\n\t\tEOF\n")
    (doc,) = run.heredocs
    assert doc.chomp
    assert doc.content == "\techo\n"  # the parser keeps the tabs; <<- strips them at build
    assert run.end_line == 3


def test_plain_heredoc_needs_the_terminator_at_column_one() -> None:
    error = syntax_error("FROM a\nRUN <<EOF\n\tEOF\n")
    assert error.line == 2


def test_terminator_must_match_exactly() -> None:
    run = parse("RUN <<EOF\nEOF \n EOF\neof\nEOF\nFROM x\n").instructions[0]
    assert run.heredocs[0].content == "EOF \n EOF\neof\n"


@pytest.mark.parametrize("marker", ['<<"EOF"', "<<'EOF'", '<<E"O"F', "<<-'EOF'"])
def test_quoted_delimiter_turns_expansion_off(marker: str) -> None:
    (doc,) = only(f"RUN cat {marker}\n$HOME\nEOF\n").heredocs
    assert doc.name == "EOF"
    assert doc.content == "$HOME\n"
    assert not doc.expand


def test_unquoted_delimiter_expands() -> None:
    (doc,) = only("RUN cat <<EOF\n$HOME\nEOF\n").heredocs
    assert doc.expand
    assert not doc.chomp


def test_two_heredocs_in_one_instruction() -> None:
    run = only("RUN <<A cat - <<B > out\na\nA\nb\nB\n")
    assert [(d.name, d.content) for d in run.heredocs] == [("A", "a\n"), ("B", "b\n")]
    assert run.end_line == 5


def test_file_descriptor_prefix() -> None:
    (doc,) = only("RUN cat 3<<EOF\nx\nEOF\n").heredocs
    assert doc.fd == 3


def test_copy_heredoc_to_a_path() -> None:
    copy = only("COPY <<EOF /etc/app.conf\nkey=value\nEOF\n")
    assert copy.value == ("<<EOF", "/etc/app.conf")
    assert copy.heredocs[0].content == "key=value\n"


def test_heredoc_bodies_are_never_instructions() -> None:
    text = 'FROM a\nRUN <<EOF\nCMD ["x"]\nFROM y\n# escape=`\nRUN z \\\nEOF\nUSER app\n'
    names = [i.name for i in parse(text).instructions]
    assert names == ["FROM", "RUN", "USER"]


def test_onbuild_heredoc() -> None:
    onbuild = only("ONBUILD RUN <<EOF\nFROM y\nEOF\n")
    assert onbuild.sub is not None and onbuild.sub.name == "RUN"
    assert onbuild.heredocs[0].content == "FROM y\n"


def test_heredoc_body_keeps_crlf() -> None:
    run = only("RUN <<EOF\r\nhi\r\nEOF\r\n")
    assert run.heredocs[0].content == "hi\r\n"


@pytest.mark.parametrize(
    "text",
    [
        'RUN ["cat", "<<EOF"]\nFROM x\n',  # JSON form has no heredocs
        "CMD cat <<EOF\nFROM x\n",  # only RUN, COPY and ADD take them
        'RUN echo "<<EOF"\nFROM x\n',  # quoted: not a marker word
        "RUN echo <<\nFROM x\n",  # no delimiter
        'RUN cat <<EOF "unterminated\nFROM x\n',  # the line does not lex: BuildKit skips it
    ],
)
def test_things_that_are_not_heredocs(text: str) -> None:
    assert [i.name for i in parse(text).instructions][-1] == "FROM"


def test_unterminated_heredoc_reports_the_instruction_line() -> None:
    error = syntax_error("FROM a\n\nRUN <<EOF\necho hi\nEOS\n")
    assert error.line == 3
    assert "unterminated heredoc" in error.message


def test_second_heredoc_unterminated() -> None:
    assert syntax_error("FROM a\nRUN <<A <<B\na\nA\nb\n").line == 2


def test_marker_before_a_default_value_is_lost() -> None:
    # BuildKit v0.15.0 on shares one word buffer between the shell lexer's nested
    # scans, and ${a:-...} starts one: the "<<" before it is dropped, so this line
    # holds no heredoc (v0.12.5 failed on the marker instead) and "b" is an instruction.
    instructions = parse("FROM a\nRUN cat <<${a:-x y}\nb\n").instructions
    assert [(i.keyword, i.heredocs) for i in instructions] == [("FROM", ()), ("RUN", ()), ("b", ())]


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("RUN <<  EOF", ["EOF"]),  # BuildKit v0.22.0 on: spaces after << join the word
        ("RUN <<\t EOF  > foo", ["EOF"]),
        ("RUN << -EOF", ["-EOF"]),  # a name may start with "-"
        ("RUN 3<< EOF", ["EOF"]),
        ("RUN <<- EOF", []),  # "<<-" ends at the space: no heredoc (moby/buildkit#6822)
        ("RUN x << EOF", ["EOF"]),
        ("RUN a<b <<EOF", ["EOF"]),
    ],
)
def test_spaces_after_heredoc_operator(line: str, names: list[str]) -> None:
    assert [doc.name for doc in heredocs_in_line(line)] == names


def test_heredocs_in_line_reads_markers() -> None:
    docs = heredocs_in_line("RUN 2<<-'A' cat <<B x<<C")
    assert [(d.name, d.fd, d.chomp, d.expand) for d in docs] == [
        ("A", 2, True, False),
        ("B", 0, False, True),
    ]


# -- parser directives -----------------------------------------------------------


def test_backtick_escape_directive() -> None:
    dockerfile = parse("# escape=`\nFROM a\nRUN echo `\n  hi\nRUN a \\\n")
    assert dockerfile.escape == "`"
    assert dockerfile.directives == {"escape": "`"}
    run, plain = dockerfile.instructions[1:]
    assert run.value == ("echo   hi",)
    assert (run.start_line, run.end_line) == (3, 4)
    assert plain.value == ("a \\",)  # a backslash no longer continues the line


def test_backtick_escape_in_env_words() -> None:
    env = parse('# escape=`\nENV a="x`"y" b=c\n').instructions[0]
    assert env.value == ("a", '"x`"y"', "b", "c")


@pytest.mark.parametrize("before", ["# a comment\n", "\n", "FROM a\n"])
def test_directive_after_anything_else_is_a_comment(before: str) -> None:
    dockerfile = parse(before + "# escape=`\nFROM b `\nRUN c\n")
    assert dockerfile.escape == "\\"
    assert dockerfile.instructions[-1].name == "RUN"
    assert dockerfile.instructions[-2].value == ("b", "`")


def test_duplicate_directive_is_an_error() -> None:
    error = syntax_error("# escape=`\n# escape=`\nFROM a\n")
    assert "only one escape parser directive" in error.message
    assert error.line == 2


def test_invalid_escape_token_is_an_error() -> None:
    assert "invalid escape token" in syntax_error("# escape=x\nFROM a\n").message


def test_directive_spelling_is_loose() -> None:
    dockerfile = parse("#  ESCAPE =  `  \n# syntax=docker/dockerfile:1\nFROM a\n")
    assert dockerfile.escape == "`"
    assert dockerfile.directives["syntax"] == "docker/dockerfile:1"


# -- physical and logical lines -----------------------------------------------------


def test_continuation_skips_comment_and_blank_lines() -> None:
    dockerfile = parse("FROM a\nRUN apt-get update \\\n# why\n\n    && apt-get install x\n")
    run = dockerfile.instructions[1]
    assert run.value == ("apt-get update     && apt-get install x",)
    assert (run.start_line, run.end_line) == (2, 5)
    assert dockerfile.comments[3] == " why"


def test_trailing_whitespace_after_escape_still_continues() -> None:
    run = only("RUN a \\ \t\n  b\n")
    assert run.value == ("a   b",)


def test_doubled_escape_does_not_continue() -> None:
    instructions = parse("RUN a \\\\\nRUN b\n").instructions
    assert [i.value for i in instructions] == [("a \\\\",), ("b",)]


def test_continuation_at_end_of_file() -> None:
    run = only("RUN a \\\n")
    assert run.value == ("a",)


def test_crlf_line_endings() -> None:
    dockerfile = parse("FROM a\r\nRUN b \\\r\n  c\r\n")
    assert [i.value for i in dockerfile.instructions] == [("a",), ("b   c",)]
    assert dockerfile.lines == ["FROM a", "RUN b \\", "  c"]


def test_utf8_bom_is_ignored() -> None:
    dockerfile = parse("\ufeff# escape=`\nFROM a `\n  b\n")
    assert dockerfile.escape == "`"
    assert dockerfile.instructions[0].value == ("a", "b")
    assert dockerfile.lines[0] == "# escape=`"


def test_line_numbers_and_columns() -> None:
    dockerfile = parse("FROM a\n\n  RUN x \\\n    yy\nUSER app\n")
    run = dockerfile.instructions[1]
    assert (run.start_line, run.end_line) == (3, 4)
    assert (run.start_column, run.end_column) == (3, 6)
    assert dockerfile.source(run.start_line, run.end_line) == "  RUN x \\\n    yy"
    user = dockerfile.instructions[2]
    assert (user.start_line, user.end_line, user.end_column) == (5, 5, 8)


def test_overlong_line_is_an_error() -> None:
    # BuildKit's line scanner stops at 64 KiB and the build fails.
    parse("RUN " + "a" * 65531 + "\n")
    assert "max allowed size" in syntax_error("FROM a\nRUN " + "é" * 40000 + "\n").message


@pytest.mark.parametrize("text", ["\n\n", "# just a comment\n", "\t\n# a\n  # b\n", "\ufeff"])
def test_no_instructions_is_an_error(text: str) -> None:
    assert syntax_error(text).message == "file with no instructions"


def test_empty_file_is_refused_before_parsing() -> None:
    assert syntax_error("").message == "the Dockerfile cannot be empty"


# -- arguments ------------------------------------------------------------------------


def test_exec_form() -> None:
    cmd = only('CMD ["python", "-m", "app"]\n')
    assert cmd.is_json
    assert cmd.value == ("python", "-m", "app")


def test_empty_exec_form() -> None:
    entrypoint = only("ENTRYPOINT []\n")
    assert entrypoint.is_json
    assert entrypoint.value == ()


@pytest.mark.parametrize("args", ['["a",]', "[a]", "['a']", '["a"', "[ nope"])
def test_invalid_json_falls_back_to_shell_form(args: str) -> None:
    cmd = only(f"CMD {args}\n")
    assert not cmd.is_json
    assert cmd.value == (args,)


@pytest.mark.parametrize("args", ['["a", 1]', "[null]", '[["a"]]', '[{"a": "b"}]'])
def test_json_with_non_strings_is_an_error(args: str) -> None:
    error = syntax_error(f"FROM a\nRUN {args}\n")
    assert "must be comprised of strings only" in error.message
    assert error.line == 2


def test_json_form_for_copy() -> None:
    copy = only('COPY ["a b", "/dst/"]\n')
    assert copy.is_json
    assert copy.value == ("a b", "/dst/")


def test_lowercase_instruction_names() -> None:
    instructions = parse("from alpine AS base\nrun echo hi\nCopy a b\n").instructions
    assert [i.name for i in instructions] == ["FROM", "RUN", "COPY"]
    assert [i.keyword for i in instructions] == ["from", "run", "Copy"]
    assert instructions[0].value == ("alpine", "AS", "base")


def test_unknown_instruction_is_kept() -> None:
    bogus = only("FROBNICATE a b\n")
    assert bogus.name == "FROBNICATE"
    assert bogus.value == ("",)
    assert bogus.rest == "a b"


def test_onbuild_wraps_an_instruction() -> None:
    onbuild = only('ONBUILD COPY --from=x ["a", "b"]\n')
    assert onbuild.sub is not None
    assert onbuild.sub.name == "COPY"
    assert onbuild.sub.flags == ("--from=x",)
    assert onbuild.value == ("a", "b")
    assert onbuild.is_json


def test_flags() -> None:
    run = only("RUN --mount=type=cache,target=/root/.cache --network=none pip install x\n")
    assert run.flags == ("--mount=type=cache,target=/root/.cache", "--network=none")
    assert run.flag("mount") == "type=cache,target=/root/.cache"
    assert run.flag("network") == "none"
    assert run.flag("security") is None
    assert run.value == ("pip install x",)


def test_copy_from_and_bare_flag() -> None:
    copy = only("COPY --from=builder --link /app /app\n")
    assert copy.flag("from") == "builder"
    assert copy.flag("link") == ""
    assert copy.value == ("/app", "/app")


def test_quoted_flag_values_lose_their_quotes() -> None:
    copy = only("COPY --chown=\"app user\" --chmod='755' a b\n")
    assert copy.flags == ("--chown=app user", "--chmod=755")


def test_double_dash_ends_flags() -> None:
    run = only("RUN --x -- --y\n")
    assert run.flags == ("--x",)
    assert run.value == ("--y",)


def test_non_ascii_flag_value_is_read_byte_by_byte() -> None:
    # BuildKit walks flags byte by byte: docker build sees these bytes as Latin-1.
    assert only("COPY --chown=josé a b\n").flags == ("--chown=josÃ©",)


def test_env_key_value_form_keeps_quotes() -> None:
    env = only('ENV A=1 B="two words" C=a\\ b D=\n')
    assert env.value == ("A", "1", "B", '"two words"', "C", "a\\ b", "D", "")


def test_env_legacy_form() -> None:
    assert only("ENV A some value\n").value == ("A", "some value")


def test_label_forms() -> None:
    assert only('LABEL a=b "c d"="e"\n').value == ("a", "b", '"c d"', '"e"')
    assert only("LABEL maintainer someone\n").value == ("maintainer", "someone")


def test_env_without_value_is_an_error() -> None:
    assert syntax_error("FROM a\nENV a\n").message == "ENV must have two arguments"


def test_env_mixing_forms_is_an_error() -> None:
    assert "can't find =" in syntax_error("FROM a\nENV a=1 b\n").message


def test_arg_words() -> None:
    assert only("ARG a b=c\n").value == ("a", "b=c")


def test_healthcheck() -> None:
    check = only('HEALTHCHECK --interval=5s CMD ["curl", "-f", "x"]\n')
    assert check.flags == ("--interval=5s",)
    assert check.value == ("CMD", "curl", "-f", "x")
    assert check.is_json
    assert only("HEALTHCHECK NONE\n").value == ("NONE",)


def test_whitespace_delimited_instructions() -> None:
    assert only("EXPOSE 80\t443/tcp\n").value == ("80", "443/tcp")
    assert only("USER app:app\n").value == ("app:app",)
