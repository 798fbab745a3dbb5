"""OCT305 privileged-dind: privileged must match whether Docker-in-Docker is on."""

from pathlib import Path

from rulecheck import COMPOSE_OCTOPUS, deploy, where

from octolint.model import Severity


def test_dind_on_without_privileged_is_an_error_at_the_service(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + '    environment:\n      ACCEPT_EULA: "Y"\n'
    found = deploy(tmp_path, {"compose.yaml": text}, "OCT305")
    assert where(found) == [("OCT305", 2, 3, 2)]
    assert found[0].severity == Severity.ERROR


def test_privileged_with_dind_off_is_a_warning_at_privileged(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + '    privileged: true\n    environment:\n      DISABLE_DIND: "Y"\n'
    found = deploy(tmp_path, {"compose.yaml": text}, "OCT305")
    assert where(found) == [("OCT305", 4, 5, 4)]
    assert found[0].severity == Severity.WARNING


def test_privileged_with_dind_on_passes(tmp_path: Path) -> None:
    assert (
        deploy(tmp_path, {"compose.yaml": COMPOSE_OCTOPUS + "    privileged: true\n"}, "OCT305")
        == []
    )
