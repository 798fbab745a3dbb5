"""OCT210 image-old-glibc: the version in the libc.so.6 the loader would use."""

from imagefixture import REFERENCE, debian, findings, glibc, image_target, layer_digest, linux

from octolint.model import ImageLocation

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


def test_glibc_2_17_replaced_in_a_later_layer() -> None:
    target = image_target(debian({LIBC: glibc("2.17")}), linux())
    found = findings(target, "OCT210")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT210", ImageLocation(REFERENCE, "linux/amd64", LIBC, layer_digest(target, 1)))
    ]
    assert "glibc 2.17" in found[0].message


def test_minimum_and_newer_pass() -> None:
    for version in ("2.23", "2.36"):
        assert findings(image_target(debian({LIBC: glibc(version)}), linux()), "OCT210") == []
