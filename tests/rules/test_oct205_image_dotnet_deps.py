"""OCT205 image-dotnet-deps: missing libraries (error), Kerberos (a note)."""

from imagefixture import REFERENCE, WHITEOUT, Exe, debian, findings, image_target, linux

from octolint.model import ImageLocation, Severity

LIB = "/usr/lib/x86_64-linux-gnu/"


def test_missing_zlib_names_the_debian_package() -> None:
    found = findings(image_target(debian({LIB + "libz.so.1": WHITEOUT}), linux()), "OCT205")
    assert [(f.rule_id, f.severity, f.location) for f in found] == [
        ("OCT205", Severity.ERROR, ImageLocation(REFERENCE, "linux/amd64"))
    ]
    assert "libz.so.1" in found[0].message and "on debian: install zlib1g" in found[0].message


def test_missing_kerberos_is_a_note() -> None:
    target = image_target(debian({LIB + "libgssapi_krb5.so.2": WHITEOUT}), linux())
    assert [f.severity for f in findings(target, "OCT205")] == [Severity.NOTE]


def test_no_loader_is_left_to_oct203() -> None:
    assert findings(image_target([{"/bin/sh": Exe()}], linux()), "OCT205") == []


def test_everything_present_passes() -> None:
    assert findings(image_target(debian(), linux()), "OCT205") == []
