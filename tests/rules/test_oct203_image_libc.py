"""OCT203 image-libc: the loader that would run, and the layer that holds it."""

from imagefixture import (
    MUSL_LOADER,
    REFERENCE,
    Exe,
    Link,
    debian,
    findings,
    image_target,
    layer_digest,  # fmt: skip
    linux,
)

from octolint.model import ImageLocation

MUSL = "/lib/ld-musl-x86_64.so.1"
GLIBC_NAME = "/lib64/ld-linux-x86-64.so.2"


def test_musl_loader() -> None:
    target = image_target([{MUSL: MUSL_LOADER, "/bin/sh": Exe()}], linux())
    found = findings(target, "OCT203")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT203", ImageLocation(REFERENCE, "linux/amd64", MUSL, layer_digest(target, 0)))
    ]


def test_libc6_compat_glibc_name_linked_to_musl_is_musl() -> None:
    target = image_target([{MUSL: MUSL_LOADER}, {GLIBC_NAME: Link(MUSL)}], linux())
    found = findings(target, "OCT203")
    # the link is what the kernel opens: its own layer is where to look
    assert [(f.location.path, f.location.layer) for f in found] == [
        (GLIBC_NAME, layer_digest(target, 1))
    ]
    assert "is musl, not glibc" in found[0].message


def test_no_loader_at_all() -> None:
    found = findings(image_target([{"/bin/sh": Exe()}], linux()), "OCT203")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT203", ImageLocation(REFERENCE, "linux/amd64"))
    ]
    assert "no dynamic loader" in found[0].message


def test_glibc_passes() -> None:
    assert findings(image_target(debian(), linux()), "OCT203") == []
