"""OCT102 no-cmd: the final stage's CMD, followed through its stages."""

from rulecheck import dockerfile, where

from octolint.knowledge.octopus import parse_octopus_version
from octolint.model import Severity


def test_cmd_in_the_final_stage() -> None:
    assert where(dockerfile('FROM ubuntu:22.04\nCMD ["bash"]\n', "OCT102")) == [("OCT102", 2, 1, 2)]


def test_cmd_inherited_from_an_earlier_stage_points_at_it() -> None:
    found = dockerfile('FROM ubuntu AS base\nCMD ["x"]\nFROM base\n', "OCT102")
    assert where(found) == [("OCT102", 2, 1, 2)]
    assert "inherited from stage 'base'" in found[0].message


def test_no_cmd_passes() -> None:
    assert dockerfile("FROM ubuntu:22.04\nRUN apt-get update\n", "OCT102") == []


def test_cmd_reset_passes() -> None:
    assert dockerfile('FROM ubuntu\nCMD ["x"]\nCMD []\n', "OCT102") == []


def test_an_entrypoint_clears_an_inherited_cmd() -> None:
    # as docker build does (OCT101 reports the ENTRYPOINT itself)
    assert (
        dockerfile('FROM ubuntu AS base\nCMD ["x"]\nFROM base\nENTRYPOINT ["y"]\n', "OCT102") == []
    )


def test_a_note_at_every_octopus_version() -> None:
    for version in ("2020.6", "2021.1", "2021.2", "2023.4"):
        (found,) = dockerfile('FROM ubuntu\nCMD ["node", "x"]\n', "OCT102",
                              octopus=parse_octopus_version(version))  # fmt: skip
        assert found.severity is Severity.NOTE and "never runs in a step" in found.message
    (default,) = dockerfile('FROM ubuntu\nCMD ["node", "x"]\n', "OCT102")
    assert default.severity is Severity.NOTE
