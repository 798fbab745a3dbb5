"""OCT290 probe-mismatch: --probe's answers against the layers, at the file to look at."""

from imagefixture import REFERENCE, debian, findings, image_target, layer_digest, linux

from octolint.image.probe import ProbeResult
from octolint.model import ImageLocation

ICU = "/usr/lib/x86_64-linux-gnu/libicuuc.so.72"


def probed(loadable: dict[str, bool]) -> ProbeResult:
    """What --probe reports: the loader tried these sonames (True: it loaded them)."""
    return ProbeResult({"ID": "debian"}, loadable, loader_checked=True)


def test_icu_present_but_not_loadable_points_at_the_library_and_its_layer() -> None:
    target = image_target(debian(), linux(), probe=probed({"libicuuc.so.72": False}))
    found = findings(target, "OCT290")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT290", ImageLocation(REFERENCE, "linux/amd64", ICU, layer_digest(target, 0)))
    ]
    assert found[0].message.startswith("ICU: in the running image the dynamic loader loads none")


def test_other_distribution_when_run_is_reported_at_the_image() -> None:
    probe = ProbeResult({"ID": "ubuntu"}, {}, loader_checked=False)
    found = findings(image_target(debian(), linux(), probe=probe), "OCT290")
    assert [f.location for f in found] == [ImageLocation(REFERENCE, "linux/amd64")]


def test_agreement_or_no_probe_passes() -> None:
    assert (
        findings(image_target(debian(), linux(), probe=probed({"libicuuc.so.72": True})), "OCT290")
        == []
    )
    assert findings(image_target(debian(), linux()), "OCT290") == []
