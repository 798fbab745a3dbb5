"""Inline pragmas: silence a rule for one instruction or for the whole file."""

from __future__ import annotations

from conftest import rule_ids

from octolint import lint_text


def test_pragma_directly_above_silences_that_instruction() -> None:
    text = 'FROM ubuntu:22.04\n# octolint ignore=OCT102\nCMD ["bash"]\n'
    assert "OCT102" not in rule_ids(text)


def test_pragma_block_of_comments_and_names() -> None:
    text = (
        "FROM ubuntu:22.04\n# we need this for local debugging\n"
        '# octolint ignore=no-cmd, OCT101 # a free comment\nCMD ["bash"]\n'
    )
    assert "OCT102" not in rule_ids(text) and "OCT001" not in rule_ids(text)


def test_pragma_does_not_reach_past_a_blank_line_or_other_instruction() -> None:
    gap = 'FROM ubuntu:22.04\n# octolint ignore=OCT102\n\nCMD ["bash"]\n'
    assert "OCT102" in rule_ids(gap)
    other = 'FROM ubuntu:22.04\n# octolint ignore=OCT102\nRUN true\nCMD ["bash"]\n'
    assert "OCT102" in rule_ids(other)


def test_global_pragma_anywhere() -> None:
    text = 'FROM debian:12\nCMD ["bash"]\n# octolint global ignore=OCT107,OCT102\n'
    assert rule_ids(text) == []


def test_pragma_applies_to_multi_line_instruction_start() -> None:
    text = 'FROM ubuntu:22.04\n# octolint ignore=OCT102\nCMD ["bash", \\\n  "-l"]\n'
    assert "OCT102" not in rule_ids(text)


def test_unknown_ids_and_malformed_pragmas_are_notes() -> None:
    typo = (
        'FROM ubuntu:22.04\nRUN apt-get install -y libicu70\n# octolint ignore=OCT9999\nCMD ["x"]\n'
    )
    assert rule_ids(typo) == ["OCT001", "OCT102"]  # the note, and nothing silenced
    malformed = 'FROM ubuntu:22.04\n# octolint ignor=OCT102\nCMD ["x"]\n'
    assert "OCT001" in rule_ids(malformed) and "OCT102" in rule_ids(malformed)


def test_pragma_inside_heredoc_is_not_a_pragma() -> None:
    text = 'FROM ubuntu:22.04\nRUN <<EOF\n# octolint global ignore=OCT102\nEOF\nCMD ["x"]\n'
    assert "OCT102" in rule_ids(text)


def test_unknown_names_make_one_note_per_pragma_line() -> None:
    # A note per name let one line of "a,a,a,..." make 30,000 findings (issue 11).
    text = "FROM ubuntu\n# octolint ignore=OCT9,oct102, nope ," + "a," * 30_000 + "b\nCMD x\n"
    notes = [f for f in lint_text(text).findings if f.rule_id == "OCT001"]
    assert len(notes) == 1 and notes[0].line == 2
    assert "'OCT9', 'nope', 'a', 'b'" in notes[0].message and "'oct102'" not in notes[0].message
    assert "OCT102" not in rule_ids(text)  # the known id still silences


def test_an_empty_pragma_is_a_note() -> None:
    text = 'FROM ubuntu:22.04\n# octolint ignore=\nCMD ["bash"]\n'
    assert rule_ids(text) == ["OCT107", "OCT001", "OCT102"]


def test_a_global_pragma_silences_the_notes_about_other_pragmas() -> None:
    text = ('FROM ubuntu:22.04\n# octolint ignore=NOPE1\nCMD ["bash"]\n'
            "# octolint ignore=\n")  # fmt: skip
    assert rule_ids(text).count("OCT001") == 2
    for pragma in ("# octolint global ignore=OCT001\n", "# octolint global ignore=unknown-rule\n"):
        assert rule_ids(pragma + text) == ["OCT107", "OCT102"]
