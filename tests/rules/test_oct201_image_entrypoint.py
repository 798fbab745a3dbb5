"""OCT201 image-entrypoint: at the image, the history step that set the Entrypoint."""

from imagefixture import REFERENCE, debian, findings, image_target, linux

from octolint.knowledge.octopus import parse_octopus_version
from octolint.model import ImageLocation, Severity

HISTORY = [
    {"created_by": "/bin/sh -c #(nop) ADD file:0123 in /"},
    {"created_by": '/bin/sh -c #(nop)  ENTRYPOINT ["docker-entrypoint.sh"]'},
]


def test_entrypoint_cites_its_history_step() -> None:
    target = image_target(
        debian(), {**linux(Entrypoint=["docker-entrypoint.sh"]), "history": HISTORY}
    )
    found = findings(target, "OCT201")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT201", ImageLocation(REFERENCE, "linux/amd64", history_step=2))
    ]
    assert "`docker-entrypoint.sh`" in found[0].message


def test_a_string_entrypoint_counts_too() -> None:
    assert len(findings(image_target(debian(), linux(Entrypoint="/start.sh")), "OCT201")) == 1


def test_no_or_empty_entrypoint_passes() -> None:
    assert findings(image_target(debian(), linux(Entrypoint=None)), "OCT201") == []
    assert findings(image_target(debian(), linux(Entrypoint=[])), "OCT201") == []


def test_an_entrypoint_of_one_empty_string_is_none() -> None:
    assert findings(image_target(debian(), linux(Entrypoint=[""])), "OCT201") == []
    assert len(findings(image_target(debian(), linux(Entrypoint=["", "x"])), "OCT201")) == 1


def test_a_warning_for_a_supported_octopus_and_an_error_before_2021_2() -> None:
    for version, severity in [(None, Severity.WARNING), ("2020.6", Severity.ERROR),
                              ("2021.1", Severity.ERROR), ("2021.2", Severity.WARNING),
                              ("2023.4", Severity.WARNING)]:  # fmt: skip
        target = image_target(debian(), linux(Entrypoint=["/entrypoint.sh"]))
        if version:
            target.octopus = parse_octopus_version(version)
        (found,) = findings(target, "OCT201")
        assert found.severity is severity, version
        assert "2021.2" in found.message and "OctopusDeploy/Issues#6788" in found.message
