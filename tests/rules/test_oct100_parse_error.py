"""OCT100 parse-error: where BuildKit would stop, with its message."""

from rulecheck import dockerfile, where


def test_unterminated_heredoc_is_reported_at_its_instruction() -> None:
    found = dockerfile("FROM ubuntu:22.04\nRUN <<END\napt-get update\n", "OCT100")
    assert where(found) == [("OCT100", 2, 1, 2)]
    assert "unterminated heredoc 'END'" in found[0].message


def test_missing_argument_names_the_instruction() -> None:
    found = dockerfile("FROM ubuntu:22.04\nWORKDIR\n", "OCT100")
    assert where(found) == [("OCT100", 2, 1, 2)]
    assert "WORKDIR requires exactly one argument" in found[0].message


def test_instruction_before_the_first_from() -> None:
    assert where(dockerfile("RUN true\n", "OCT100")) == [("OCT100", 1, 1, 1)]


def test_unknown_flag_gets_buildkits_suggestion() -> None:
    found = dockerfile("FROM ubuntu\nCOPY --chow=1 a b\n", "OCT100")
    assert where(found) == [("OCT100", 2, 1, 2)]
    assert "did you mean chown?" in found[0].message


def test_a_complete_heredoc_passes() -> None:
    assert dockerfile("FROM ubuntu:22.04\nRUN <<END\napt-get update\nEND\n", "OCT100") == []
