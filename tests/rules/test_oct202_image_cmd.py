"""OCT202 image-cmd: a Cmd other than a bare shell, at its history step."""

import pytest
from imagefixture import REFERENCE, debian, findings, image_target, linux

from octolint.knowledge.octopus import parse_octopus_version
from octolint.model import ImageLocation, Severity

HISTORY = [{"created_by": "ADD rootfs /"}, {"created_by": 'CMD ["node" "server.js"]'}]


def test_a_server_as_cmd() -> None:
    target = image_target(debian(), {**linux(Cmd=["node", "server.js"]), "history": HISTORY})
    found = findings(target, "OCT202")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT202", ImageLocation(REFERENCE, "linux/amd64", history_step=2))
    ]


@pytest.mark.parametrize("cmd", [["/bin/bash"], ["bash"], ["sh"], ["/bin/sh"], [], None])
def test_bare_shell_or_nothing_passes(cmd: object) -> None:
    assert findings(image_target(debian(), linux(Cmd=cmd)), "OCT202") == []


@pytest.mark.parametrize("version", [None, "2020.6", "2021.2", "2023.4"])
def test_a_note_at_every_octopus_version(version: str | None) -> None:
    target = image_target(debian(), linux(Cmd=["node", "server.js"]))
    if version:
        target.octopus = parse_octopus_version(version)
    (found,) = findings(target, "OCT202")
    assert found.severity is Severity.NOTE and "never runs in a step" in found.message
