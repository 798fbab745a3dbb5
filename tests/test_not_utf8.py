"""Dockerfiles that are not UTF-8 are linted as BuildKit reads them: byte for byte.

BuildKit builds a Latin-1 Dockerfile (its parser works on Go strings, which
are bytes), so octolint lints it too, with the note OCT110, instead of the
old exit 3. The parser must treat each stray byte as Go does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from octolint.api import lint_bytes
from octolint.engine import Engine
from octolint.model import Finding

LATIN1 = 'FROM ubuntu:22.04\nLABEL maintainer="José"\n'.encode("latin-1")


def lint(data: bytes) -> list[Finding]:
    return lint_bytes(data, "Dockerfile", Engine())


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_latin1_dockerfile_is_linted_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(LATIN1)
    result = run_cli(["--format", "json", str(path)])
    assert result.returncode == 0, result.stderr  # a note and a warning: below fail-on
    assert "Traceback" not in result.stderr and not result.stderr.strip()
    found = json.loads(result.stdout)["findings"]
    (note,) = [f for f in found if f["rule_id"] == "OCT110"]
    assert note["severity"] == "note" and (note["line"], note["column"]) == (2, 22)
    assert "0xe9" in note["message"]
    assert "OCT107" in {f["rule_id"] for f in found}  # the other rules ran on the file


@pytest.mark.parametrize("form", ["human", "sarif", "github", "gitlab", "junit"])
def test_every_format_can_print_a_latin1_file(tmp_path: Path, form: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(LATIN1 + b"RUN echo \xe9t\xe9 && false \\\n  || \xff\n")
    result = run_cli(["--format", form, "--fail-on", "never", str(path)])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_stdin_reads_bytes_too() -> None:
    result = run_cli(["--format", "json", "-"], stdin=LATIN1)
    assert result.returncode == 0, result.stderr
    assert "OCT110" in {f["rule_id"] for f in json.loads(result.stdout)["findings"]}


def test_utf8_file_gets_no_note() -> None:
    assert not by_rule(lint(LATIN1.decode("latin-1").encode("utf-8")), "OCT110")


def test_a_stray_byte_is_no_space() -> None:
    # Latin-1 NBSP is 0xa0: Go decodes it as U+FFFD, not as a space, so it is
    # part of the keyword (UTF-8 NBSP, "\xc2\xa0", would be trimmed).
    (error,) = by_rule(lint(b"FROM a\n\xa0RUN x\n"), "OCT100")
    assert error.line == 2 and error.message.startswith("unknown instruction: \ufffdRUN")
    assert not by_rule(lint("FROM a\n\xa0RUN x\n".encode()), "OCT100")


def test_heredoc_name_with_a_stray_byte_never_ends() -> None:
    # BuildKit's lexer reads the name as U+FFFD and compares it with the raw line.
    (error,) = by_rule(lint(b"FROM a\nRUN <<\xc9OF\nx\n\xc9OF\n"), "OCT100")
    assert error.line == 2 and error.message.startswith("unterminated heredoc")
    assert not by_rule(lint("FROM a\nRUN <<ÉOF\nx\nÉOF\n".encode()), "OCT100")


def test_stray_bytes_in_values_flags_and_json() -> None:
    data = b'FROM a\nCOPY --chown=jos\xe9 a b\nENV NAME=Jos\xe9\nCMD ["jos\xe9"]\n'
    findings = lint(data)
    assert not by_rule(findings, "OCT100")
    (note,) = by_rule(findings, "OCT110")
    assert (note.line, note.column) == (2, 17)
    assert note.source == "COPY --chown=jos\ufffd a b"


def test_the_line_limit_counts_bytes() -> None:
    # 65,536 bytes of which many are single stray bytes: too long, as in BuildKit.
    (error,) = by_rule(lint(b"FROM a\nRUN " + b"\xe9" * 65_532 + b"\n"), "OCT100")
    assert error.line == 2 and "max allowed size" in error.message
    assert not by_rule(lint(b"FROM a\nRUN " + b"\xe9" * 65_531 + b"\n"), "OCT100")


def test_a_pragma_silences_the_note() -> None:
    assert not by_rule(lint(b"# octolint global ignore=OCT110\n" + LATIN1), "OCT110")
