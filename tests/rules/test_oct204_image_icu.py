"""OCT204 image-icu: libicuuc looked up as the loader would, after every layer."""

from imagefixture import REFERENCE, WHITEOUT, debian, findings, image_target, linux

from octolint.model import ImageLocation

NO_ICU = {"/usr/lib/x86_64-linux-gnu/libicuuc.so.72": WHITEOUT}  # a later layer deletes it
OWN_ICU = {**NO_ICU, "/opt/icu/libicuuc.so.74": b"", "/opt/icu/libicui18n.so.74": b""}


def test_icu_deleted_by_a_later_layer() -> None:
    found = findings(image_target(debian(NO_ICU), linux()), "OCT204")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT204", ImageLocation(REFERENCE, "linux/amd64"))
    ]


def test_invariant_globalization_passes() -> None:
    env = ["PATH=/bin", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true"]
    assert findings(image_target(debian(NO_ICU), linux(env)), "OCT204") == []


def test_icu_outside_the_search_path_needs_ld_library_path() -> None:
    assert len(findings(image_target(debian(OWN_ICU), linux()), "OCT204")) == 1
    env = ["PATH=/bin", "LD_LIBRARY_PATH=/opt/icu"]
    assert findings(image_target(debian(OWN_ICU), linux(env)), "OCT204") == []


def test_icu_installed_passes() -> None:
    assert findings(image_target(debian(), linux()), "OCT204") == []
