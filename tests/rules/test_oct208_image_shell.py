"""OCT208 image-shell: no /bin/sh (error), no bash on PATH (warning)."""

from imagefixture import REFERENCE, Exe, Link, debian, findings, image_target, linux

from octolint.model import ImageLocation, Severity

IMAGE = ImageLocation(REFERENCE, "linux/amd64")


def test_no_shell_at_all() -> None:
    found = findings(image_target([{"/usr/bin/true": Exe()}], linux()), "OCT208")
    assert [(f.rule_id, f.severity, f.location) for f in found] == [
        ("OCT208", Severity.ERROR, IMAGE),
        ("OCT208", Severity.WARNING, IMAGE),
    ]


def test_sh_without_bash_is_a_warning() -> None:
    found = findings(image_target([{"/bin/sh": Exe()}], linux()), "OCT208")
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "(/usr/local/bin:/usr/bin:/bin)" in found[0].message


def test_bash_off_path_is_not_found() -> None:
    layers = [{"/bin/sh": Exe(), "/opt/bash/bash": Exe()}]
    assert len(findings(image_target(layers, linux()), "OCT208")) == 1


def test_shells_through_symlinks_pass() -> None:
    layers = [{"/usr/bin/dash": Exe(), "/bin/sh": Link("/usr/bin/dash"), "/usr/bin/bash": Exe()}]
    assert findings(image_target(layers, linux()), "OCT208") == []
    assert findings(image_target(debian(), linux()), "OCT208") == []
