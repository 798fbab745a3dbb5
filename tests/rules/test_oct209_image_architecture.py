"""OCT209 image-architecture: the config's architecture, in the location's platform."""

import pytest
from imagefixture import REFERENCE, debian, findings, image_target, linux

from octolint.model import ImageLocation


def test_s390x() -> None:
    found = findings(image_target(debian(), {**linux(), "architecture": "s390x"}), "OCT209")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT209", ImageLocation(REFERENCE, "linux/s390x"))
    ]


@pytest.mark.parametrize("arch", ["amd64", "arm64", "arm"])
def test_supported(arch: str) -> None:
    assert findings(image_target(debian(), {**linux(), "architecture": arch}), "OCT209") == []
