"""Library and loader lookup, as the dynamic loader does it, on real Debian layers."""

from __future__ import annotations

import os
import re
import struct

import pytest
from realroots import SpecItem, deb_index, debian_index, debian_rootfs, index_of

from octolint.image.fs import ImageFS
from octolint.image.ldcache import NEW_MAGIC
from octolint.image.libraries import (
    MUSL_LOADERS,
    TRIPLETS,
    default_dirs,
    dynamic_loader,
    find_libraries_matching,
    find_library,
    ld_cache,
)

# The rootfs and packages are built for this machine's architecture.
MACHINE = {"x86_64": "x86_64", "aarch64": "aarch64"}.get(os.uname().machine, "")
pytestmark = pytest.mark.skipif(not MACHINE, reason="Debian test roots need amd64 or arm64")
TRIPLET = TRIPLETS.get(MACHINE, "")
GLIBC_LOADER = {"x86_64": "/lib64/ld-linux-x86-64.so.2", "aarch64": "/lib/ld-linux-aarch64.so.1"}
OTHER_MACHINE = {"x86_64": "aarch64", "aarch64": "x86_64"}
E_MACHINE = {"x86_64": 62, "aarch64": 183}


def debian(*upper: list[SpecItem]) -> ImageFS:
    return ImageFS.from_indexes([debian_index(), *(index_of(spec) for spec in upper)])


def real_bytes(relative: str) -> bytes:
    return (debian_rootfs() / relative).read_bytes()


def elf_library(machine: str) -> bytes:
    """The start of an ELF shared object (ET_DYN) for machine."""
    return (b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 3, E_MACHINE[machine])
            + bytes(44))  # fmt: skip


def ld_so_cache(entries: list[tuple[int, str, str, int]]) -> bytes:
    """A new-format ld.so.cache with (flags, soname, path, hwcap) entries."""
    base = 48 + 24 * len(entries)
    strings, records = b"", b""
    for flags, key, value, hwcap in entries:
        key_at = base + len(strings)
        strings += key.encode() + b"\0"
        records += struct.pack("<iIIIQ", flags, key_at, base + len(strings), 0, hwcap)
        strings += value.encode() + b"\0"
    header = NEW_MAGIC + struct.pack("<IIB3sI12s", len(entries), len(strings), 2, b"", 0, b"")
    return header + records + strings


# -- the Debian rootfs --------------------------------------------------------------------


@pytest.mark.infra
def test_libraries_of_minbase_bookworm() -> None:
    fs = debian()
    libdir = debian_rootfs() / "usr" / "lib" / TRIPLET
    assert find_library(fs, "libc.so.6", machine=MACHINE) == f"/lib/{TRIPLET}/libc.so.6"
    for soname in ("libstdc++.so.6", "libgcc_s.so.1", "libz.so.1"):  # apt needs them
        assert find_library(fs, soname, machine=MACHINE) == f"/lib/{TRIPLET}/{soname}"
    for soname in ("libicuuc.so.72", "libssl.so.3", "libgssapi_krb5.so.2"):
        expected = f"/lib/{TRIPLET}/{soname}" if (libdir / soname).exists() else None
        assert find_library(fs, soname, machine=MACHINE) == expected
    assert find_library(fs, "libc.so.6", machine=OTHER_MACHINE[MACHINE]) is None


@pytest.mark.infra
def test_the_glibc_version_of_the_libc_the_loader_would_use() -> None:
    fs = debian()
    libc = find_library(fs, "libc.so.6", machine=MACHINE)
    assert libc is not None and fs.fact(libc, "glibc") == "2.36"
    assert fs.fact(libc, "elf") == MACHINE


@pytest.mark.infra
def test_the_cache_is_read_from_the_merged_filesystem() -> None:
    cache = ld_cache(debian())
    assert cache is not None and cache.format == "new"
    assert ld_cache(debian([("etc/ld.so.cache", "whiteout", None)])) is None
    assert ld_cache(debian([("etc/ld.so.cache", "file", b"garbage")])) is None
    # Without a (usable) cache, the default directories still have libc.
    fs = debian([("etc/ld.so.cache", "file", b"garbage")])
    assert find_library(fs, "libc.so.6", machine=MACHINE) == f"/lib/{TRIPLET}/libc.so.6"


@pytest.mark.infra
def test_icu_appears_with_its_package_and_disappears_with_a_whiteout() -> None:
    icu = deb_index(("libicu72",))
    with_icu = ImageFS.from_indexes([debian_index(), icu])
    path = f"/lib/{TRIPLET}/libicuuc.so.72"  # not in the cache: found in a default dir
    assert find_library(with_icu, "libicuuc.so.72", machine=MACHINE) == path
    assert with_icu.fact(path, "elf") == MACHINE
    assert with_icu.layer_of(f"/usr/lib/{TRIPLET}/libicuuc.so.72") == icu.digest
    pattern = r"libicuuc\.so\.\d+"
    assert find_libraries_matching(with_icu, pattern, machine=MACHINE) == {"libicuuc.so.72": path}
    assert find_libraries_matching(debian(), pattern, machine=MACHINE) == {}

    removed = ImageFS.from_indexes(
        [debian_index(), icu, index_of([(f"usr/lib/{TRIPLET}/libicuuc.so.72", "whiteout", None)])]
    )
    assert find_library(removed, "libicuuc.so.72", machine=MACHINE) is None
    assert find_libraries_matching(removed, re.compile(pattern), machine=MACHINE) == {}
    assert removed.exists(f"/usr/lib/{TRIPLET}/libicuuc.so.72.1")  # only the soname link went


@pytest.mark.infra
def test_ld_library_path_comes_first_and_wrong_machines_are_skipped() -> None:
    libz = real_bytes(f"usr/lib/{TRIPLET}/libz.so.1")
    fs = debian(
        [("opt/app/lib/libz.so.1", "file", libz),
         ("opt/foreign/libz.so.1", "file", elf_library(OTHER_MACHINE[MACHINE])),
         ("opt/dir/libz.so.1", "dir", None)],
    )  # fmt: skip
    cached = f"/lib/{TRIPLET}/libz.so.1"
    assert find_library(fs, "libz.so.1", machine=MACHINE) == cached
    found = find_library(fs, "libz.so.1", ld_library_path=["/opt/app/lib"], machine=MACHINE)
    assert found == "/opt/app/lib/libz.so.1"
    dirs = ["/opt/foreign:/opt/dir", "", "/opt/app/lib"]
    assert find_library(fs, "libz.so.1", ld_library_path=dirs, machine=MACHINE) == found
    assert (
        find_library(fs, "libz.so.1", ld_library_path=["/opt/foreign"], machine=MACHINE) == cached
    )
    assert find_library(fs, "/opt/app/lib/libz.so.1", machine=MACHINE) == "/opt/app/lib/libz.so.1"
    assert find_library(fs, "/opt/foreign/libz.so.1", machine=MACHINE) is None


@pytest.mark.infra
def test_stale_cache_entries_are_skipped() -> None:
    # The cache still lists libz.so.1, but its file is gone: so is the library.
    target = os.readlink(debian_rootfs() / "usr" / "lib" / TRIPLET / "libz.so.1")
    fs = debian([(f"usr/lib/{TRIPLET}/{target}", "whiteout", None)])
    cache = ld_cache(fs)
    assert cache is not None and cache.lookup("libz.so.1")
    assert find_library(fs, "libz.so.1", machine=MACHINE) is None


def test_cache_entries_must_fit_the_machine_and_baseline_beats_hwcaps() -> None:
    flags = {"x86_64": 0x0303, "aarch64": 0x0A03}
    ours, theirs = flags[MACHINE], flags[OTHER_MACHINE[MACHINE]]
    fs = ImageFS.from_indexes([index_of([
        ("etc/ld.so.cache", "file", ld_so_cache([
            (theirs, "libother.so.1", "/opt/other/libother.so.1", 0),
            (ours, "libfast.so.1", "/opt/hw/libfast.so.1", (1 << 62) | 0),
            (ours, "libfast.so.1", "/opt/base/libfast.so.1", 0),
        ])),
        ("opt/other/libother.so.1", "file", b"x"),
        ("opt/hw/libfast.so.1", "file", b"x"),
        ("opt/base/libfast.so.1", "file", b"x"),
    ])])  # fmt: skip
    assert find_library(fs, "libother.so.1", machine=MACHINE) is None
    assert find_library(fs, "libother.so.1", machine=OTHER_MACHINE[MACHINE]) == (
        "/opt/other/libother.so.1"
    )
    assert find_library(fs, "libfast.so.1", machine=MACHINE) == "/opt/base/libfast.so.1"
    assert find_libraries_matching(fs, r"lib.*\.so\.1", machine=MACHINE) == {
        "libfast.so.1": "/opt/base/libfast.so.1"
    }


def test_default_dirs() -> None:
    assert default_dirs("x86_64") == [
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
        "/lib", "/usr/lib",
    ]  # fmt: skip
    assert default_dirs("arm") == ["/lib/arm-linux-gnueabihf", "/usr/lib/arm-linux-gnueabihf",
                                   "/lib", "/usr/lib"]  # fmt: skip


# -- the dynamic loader -----------------------------------------------------------------------


@pytest.mark.infra
def test_debian_has_a_glibc_loader() -> None:
    assert dynamic_loader(debian(), MACHINE) == (GLIBC_LOADER[MACHINE], "glibc")


@pytest.mark.infra
def test_a_musl_rootfs_has_a_musl_loader() -> None:
    fs = ImageFS.from_indexes([deb_index(("musl",))])
    musl = MUSL_LOADERS[MACHINE][0]
    assert dynamic_loader(fs, MACHINE) == (musl, "musl")
    assert fs.fact(musl, "musl") == "1"


@pytest.mark.infra
def test_the_libc6_compat_trap_is_musl() -> None:
    # Alpine's libc6-compat: glibc's loader names, pointing at musl's loader.
    musl = MUSL_LOADERS[MACHINE][0]
    libc_musl = musl.replace("ld-musl-", "libc.musl-")
    compat: list[SpecItem] = [
        (libc_musl.lstrip("/"), "symlink", os.path.basename(musl)),
        (GLIBC_LOADER[MACHINE].lstrip("/"), "symlink", libc_musl),
    ]
    fs = ImageFS.from_indexes([deb_index(("musl",)), index_of(compat)])
    assert dynamic_loader(fs, MACHINE) == (GLIBC_LOADER[MACHINE], "musl")


@pytest.mark.infra
def test_musl_installed_next_to_glibc_leaves_the_glibc_loader() -> None:
    # dpkg on merged-/usr Debian writes musl's files through the /lib symlink.
    libc = elf_library(MACHINE) + b"\0musl libc (x)\0"
    musl = MUSL_LOADERS[MACHINE][0]
    fs = debian(
        [(f"usr{musl}", "symlink", f"{TRIPLET.replace('gnu', 'musl')}/libc.so"),
         (f"usr/lib/{TRIPLET.replace('gnu', 'musl')}/libc.so", "file", libc)],
    )  # fmt: skip
    assert fs.fact(musl, "musl") == "1"
    assert dynamic_loader(fs, MACHINE) == (GLIBC_LOADER[MACHINE], "glibc")


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ([], None),
        ([("etc/os-release", "file", b"ID=scratch\n")], None),
        # no content facts: the name decides, when it is a known loader's
        ([("lib64/ld-linux-x86-64.so.2", "file", b"?")], ("/lib64/ld-linux-x86-64.so.2", "glibc")),
        ([("lib/ld-musl-x86_64.so.1", "file", b"?")], ("/lib/ld-musl-x86_64.so.1", "musl")),
        ([("lib64/ld-linux-x86-64.so.2", "symlink", "/opt/loader"), ("opt/loader", "file", b"?")],
         ("/lib64/ld-linux-x86-64.so.2", "unknown")),
        ([("lib64/ld-linux-x86-64.so.2", "symlink", "/nowhere")], None),
        # only where ld.so.conf would look: the kernel opens /lib64/... and nothing runs
        ([("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "file", b"?")], None),
    ],
)  # fmt: skip
def test_loader_corner_cases(layer: list[SpecItem], expected: tuple[str, str] | None) -> None:
    assert dynamic_loader(ImageFS.from_indexes([index_of(layer)]), "x86_64") == expected


def test_a_whited_out_interpreter_path_leaves_no_loader() -> None:
    # the loader's file is still in /usr/lib/<triplet>, but the kernel opens /lib64/...
    loader = [("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "file", b"?"),
              ("lib64/ld-linux-x86-64.so.2", "symlink",
               "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")]  # fmt: skip
    assert dynamic_loader(ImageFS.from_indexes([index_of(loader)]), "x86_64") is not None
    gone = index_of([("lib64/.wh.ld-linux-x86-64.so.2", "file", b"")])
    assert dynamic_loader(ImageFS.from_indexes([index_of(loader), gone]), "x86_64") is None
