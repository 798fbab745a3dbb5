"""OCT206 image-old-windows: the Windows build in os.version."""

from imagefixture import REFERENCE, findings, image_target

from octolint.model import ImageLocation


def test_server_2016() -> None:
    target = image_target([], {"os": "windows", "os.version": "10.0.14393.6897"})
    found = findings(target, "OCT206")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT206", ImageLocation(REFERENCE, "windows/amd64"))
    ]
    assert "build 14393" in found[0].message


def test_ltsc2019_and_newer_pass() -> None:
    for version in ("10.0.17763.5329", "10.0.20348.2227"):
        assert findings(image_target([], {"os": "windows", "os.version": version}), "OCT206") == []


def test_linux_is_not_checked() -> None:
    assert findings(image_target([], {"os.version": "10.0.14393.1"}), "OCT206") == []
