"""OCT304 unpinned-server-image: no tag, latest, or an empty tag after interpolation."""

from pathlib import Path

import pytest
from rulecheck import deploy, where

SERVICE = "services:\n  octopus:\n    image: {}\n"


@pytest.mark.parametrize(
    "image", ["octopusdeploy/octopusdeploy", "octopusdeploy/octopusdeploy:latest"]
)
def test_unpinned(tmp_path: Path, image: str) -> None:
    found = deploy(tmp_path, {"compose.yaml": SERVICE.format(image)}, "OCT304")
    assert where(found) == [("OCT304", 3, 5, 3)]


def test_tag_left_empty_by_env(tmp_path: Path) -> None:
    files = {"compose.yaml": SERVICE.format("octopusdeploy/octopusdeploy:${TAG}"), ".env": "TAG=\n"}
    found = deploy(tmp_path, files, "OCT304")
    assert where(found) == [("OCT304", 3, 5, 3)]
    assert "from TAG at" in found[0].message


@pytest.mark.parametrize("image", ["octopusdeploy/octopusdeploy:2024.1.12345",
                                   "octopusdeploy/octopusdeploy@sha256:" + "a" * 64])  # fmt: skip
def test_a_version_or_a_digest_pins(tmp_path: Path, image: str) -> None:
    assert deploy(tmp_path, {"compose.yaml": SERVICE.format(image)}, "OCT304") == []
