"""The in-memory image fixture goes through the real indexer and merged filesystem."""

from imagefixture import WHITEOUT, Exe, Link, debian, image_target, layer_digest


def test_whiteouts_symlinks_and_modes_are_real_layer_semantics() -> None:
    target = image_target([{"/bin/sh": Exe(), "/etc/x": "1"}, {"/etc/x": WHITEOUT,
                           "/usr/bin/sh": Link("/bin/sh")}])  # fmt: skip
    fs = target.fs
    assert fs is not None
    assert not fs.exists("/etc/x")
    assert fs.is_executable("/usr/bin/sh") and fs.layer_of("/usr/bin/sh") == layer_digest(target, 1)
    assert fs.read("/etc/x") is None
    target.close()


def test_os_release_and_declared_files_are_kept_like_a_scan_keeps_them() -> None:
    target = image_target(debian({"/etc/acme.conf": "on\n", "/etc/other": "x"}),
                          reads_files=["/etc/acme.conf"])  # fmt: skip
    assert target.fs is not None
    assert target.distro == "debian"
    assert target.fs.read("/etc/acme.conf") == b"on\n"
    assert target.fs.read("/etc/other") is None  # no rule declared it: only its entry
    target.close()


def test_windows_images_have_no_filesystem() -> None:
    assert image_target([], {"os": "windows", "os.version": "10.0.20348.1"}).fs is None
