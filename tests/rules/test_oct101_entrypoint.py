"""OCT101 no-entrypoint: the final stage's ENTRYPOINT, followed through its stages."""

from rulecheck import dockerfile, where

from octolint.knowledge.octopus import parse_octopus_version
from octolint.model import Severity


def test_entrypoint_in_the_final_stage() -> None:
    text = 'FROM ubuntu:22.04\nENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]\n'
    assert where(dockerfile(text, "OCT101")) == [("OCT101", 2, 1, 2)]


def test_a_continued_entrypoint_spans_its_lines() -> None:
    text = 'FROM ubuntu\nENTRYPOINT ["a", \\\n  "b"]\n'
    assert where(dockerfile(text, "OCT101")) == [("OCT101", 2, 1, 3)]


def test_entrypoint_inherited_from_an_earlier_stage_points_at_that_stage() -> None:
    found = dockerfile('FROM ubuntu AS base\nENTRYPOINT ["x"]\nFROM base\nRUN true\n', "OCT101")
    assert where(found) == [("OCT101", 2, 1, 2)]
    assert "inherited from stage 'base'" in found[0].message


def test_reset_with_an_empty_entrypoint_passes() -> None:
    assert dockerfile("FROM nginx:1.27\nENTRYPOINT []\n", "OCT101") == []
    assert dockerfile('FROM ubuntu\nENTRYPOINT ["x"]\nENTRYPOINT []\n', "OCT101") == []


def test_onbuild_entrypoint_does_not_apply() -> None:
    assert dockerfile('FROM ubuntu\nONBUILD ENTRYPOINT ["x"]\n', "OCT101") == []


def test_a_stage_the_final_one_is_not_built_from_is_ignored() -> None:
    assert dockerfile('FROM ubuntu AS a\nENTRYPOINT ["x"]\nFROM ubuntu\n', "OCT101") == []


def test_a_warning_for_a_supported_octopus_and_an_error_before_2021_2() -> None:
    text = 'FROM ubuntu:22.04\nENTRYPOINT ["/entrypoint.sh"]\n'
    (default,) = dockerfile(text, "OCT101")
    assert default.severity is Severity.WARNING and "does not happen in steps" in default.message
    cases = [("2020.6", Severity.ERROR), ("2021.1", Severity.ERROR),
             ("2021.2", Severity.WARNING), ("2023.4", Severity.WARNING)]  # fmt: skip
    for version, severity in cases:
        (found,) = dockerfile(text, "OCT101", octopus=parse_octopus_version(version))
        assert found.severity is severity, version
        assert "OctopusDeploy/Issues#6788" in found.message


def test_an_entrypoint_of_one_empty_string_is_a_reset() -> None:
    assert dockerfile('FROM ubuntu\nENTRYPOINT ["x"]\nENTRYPOINT [""]\n', "OCT101") == []
    assert where(dockerfile('FROM ubuntu\nENTRYPOINT ["", "x"]\n', "OCT101")) == [
        ("OCT101", 2, 1, 2)
    ]
