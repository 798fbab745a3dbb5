"""OCT202 image-cmd: a Cmd other than a bare shell, at its history step."""

import pytest
from imagefixture import REFERENCE, debian, findings, image_target, linux

from octolint.model import ImageLocation

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
