"""ld.so.cache parsing: agrees with glibc's own ``ldconfig -p``; garbage is a clean error."""

from __future__ import annotations

import re
import struct
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realroots import debian_rootfs, require_tool

from octolint.image.ldcache import (
    NEW_MAGIC,
    OLD_MAGIC,
    LdCache,
    LdCacheEntry,
    LdCacheError,
    flags_fit,
    parse_ld_cache,
)

_LISTING = re.compile(r"^\t(\S+) \((.*)\) => (.*)$")
# How ldconfig -p names some ABIs (lower-cased).
_LDCONFIG_ABI = {"x86-64": "x86-64", "aarch64": "aarch64", "arm-hard-float": "hard-float",
                 "x32": "x32"}  # fmt: skip


def ldconfig_listing(cache: Path) -> list[tuple[str, str, str]]:
    """(soname, description, path) as glibc's `ldconfig -p -C cache` prints them."""
    out = subprocess.run(
        [require_tool("ldconfig"), "-p", "-C", str(cache)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines = out.splitlines()
    listing = [m.groups() for m in map(_LISTING.match, lines[1:]) if m]
    assert re.match(rf"^{len(listing)} libs found in cache", lines[0]), lines[0]
    return listing  # type: ignore[return-value]


def assert_agrees_with_ldconfig(cache_file: Path, parsed: LdCache) -> None:
    listing = ldconfig_listing(cache_file)
    assert [(e.soname, e.path) for e in parsed.entries] == [(s, p) for s, _, p in listing]
    for entry, (_, description, _) in zip(parsed.entries, listing):
        printed = _LDCONFIG_ABI.get(entry.abi)
        if printed:
            assert printed in description.lower(), (entry, description)
        hwcap = re.search(r'hwcap: "([^"]+)"', description)
        assert entry.hwcaps_subdir == (hwcap.group(1) if hwcap else None)


def build_cache(tmp_path: Path, fmt: str, *dirs: Path) -> Path:
    """An ld.so.cache of these directories (and the host's trusted ones), by the host's
    ldconfig, in format 'old', 'new' or 'compat'; no chroot, so no root needed."""
    ldconfig = require_tool("ldconfig")
    (tmp_path / "empty.conf").write_text("", encoding="utf-8")
    cache = tmp_path / f"ld.so.cache.{fmt}"
    subprocess.run(
        [ldconfig, "-X", "-i", "-c", fmt, "-C", str(cache), "-f", str(tmp_path / "empty.conf"),
         *map(str, dirs)],
        capture_output=True, check=True,
    )  # fmt: skip
    return cache


# -- real caches --------------------------------------------------------------------------


@pytest.mark.infra
def test_the_debian_rootfs_cache_matches_ldconfig() -> None:
    cache_file = debian_rootfs() / "etc" / "ld.so.cache"
    parsed = parse_ld_cache(cache_file.read_bytes())
    assert parsed.format == "new"
    assert parsed.generator is not None and "2.36" in parsed.generator
    assert len(parsed.entries) > 50
    assert parsed.lookup("libc.so.6")
    assert_agrees_with_ldconfig(cache_file, parsed)


@pytest.mark.parametrize("fmt", ["old", "new", "compat"])
@pytest.mark.infra
def test_every_format_ldconfig_writes_matches_its_listing(tmp_path: Path, fmt: str) -> None:
    libdir = next(p for p in (debian_rootfs() / "usr" / "lib").iterdir() if p.name.endswith("-gnu"))
    cache_file = build_cache(tmp_path, fmt, libdir)
    if fmt != "new" and not cache_file.read_bytes().startswith(OLD_MAGIC):
        # ldconfig ignores a -c value it does not know; the hand-made caches
        # below still cover the old layout.
        pytest.skip(f"this host's ldconfig no longer writes the {fmt} format")
    parsed = parse_ld_cache(cache_file.read_bytes())
    assert parsed.format == fmt
    assert any(e.path.startswith(str(libdir)) for e in parsed.entries)
    assert_agrees_with_ldconfig(cache_file, parsed)


@pytest.mark.infra
def test_glibc_hwcaps_subdirectories(tmp_path: Path) -> None:
    libz = next((debian_rootfs() / "usr" / "lib").glob("*-gnu/libz.so.1.*"))
    lib = tmp_path / "lib"
    (lib / "glibc-hwcaps" / "octolint-v9").mkdir(parents=True)
    (lib / "libz.so.1").write_bytes(libz.read_bytes())
    (lib / "glibc-hwcaps" / "octolint-v9" / "libz.so.1").write_bytes(libz.read_bytes())
    cache_file = build_cache(tmp_path, "new", lib)
    parsed = parse_ld_cache(cache_file.read_bytes())
    ours = [e for e in parsed.lookup("libz.so.1") if e.path.startswith(str(lib))]
    assert {e.hwcaps_subdir for e in ours} == {"octolint-v9", None}
    assert_agrees_with_ldconfig(cache_file, parsed)


# -- hand-made caches ----------------------------------------------------------------------


def new_format(
    entries: list[tuple[int, str, str]], order: str = "<", endian: int = 2, hwcap: int = 0
) -> bytes:
    """A new-format cache written from the layout in glibc's dl-cache.h."""
    strings = b""
    records = []
    base = 48 + 24 * len(entries)  # string offsets count from the header
    for flags, key, value in entries:
        key_at = base + len(strings)
        strings += key.encode() + b"\0"
        value_at = base + len(strings)
        strings += value.encode() + b"\0"
        records.append(struct.pack(order + "iIIIQ", flags, key_at, value_at, 0, hwcap))
    header = NEW_MAGIC + struct.pack(order + "IIB3sI12s", len(entries), len(strings), endian,
                                     b"", 0, b"")  # fmt: skip
    return header + b"".join(records) + strings


def old_format(entries: list[tuple[int, str, str]], order: str = "<") -> bytes:
    strings = b""
    records = []
    for flags, key, value in entries:
        key_at = len(strings)
        strings += key.encode() + b"\0"
        records.append(struct.pack(order + "iII", flags, key_at, len(strings)))
        strings += value.encode() + b"\0"
    return OLD_MAGIC + b"\0" + struct.pack(order + "I", len(entries)) + b"".join(records) + strings


SAMPLE = [(0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
          (0x0A03, "libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"),
          (0x0003, "libc.so.6", "/lib/i386-linux-gnu/libc.so.6")]  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [new_format(SAMPLE), new_format(SAMPLE, ">", 3), new_format(SAMPLE, endian=0),
     new_format(SAMPLE, ">", 0), old_format(SAMPLE), old_format(SAMPLE, ">")],
    ids=["new-le", "new-be", "new-unset", "new-be-unset", "old-le", "old-be"],
)  # fmt: skip
def test_both_byte_orders(data: bytes) -> None:
    parsed = parse_ld_cache(data)
    assert [(e.flags, e.soname, e.path) for e in parsed.entries] == SAMPLE
    assert [e.abi for e in parsed.entries] == ["x86-64", "aarch64", ""]


def test_flags_fit_the_machine_as_the_loader_checks_them() -> None:
    x86, arm64, i386 = (LdCacheEntry("l", "/l", f) for f in (0x0303, 0x0A03, 0x0003))
    assert x86.fits("x86_64") and not x86.fits("aarch64") and not x86.fits("i386")
    assert arm64.fits("aarch64") and not arm64.fits("x86_64")
    assert i386.fits("i386") and not i386.fits("x86_64")
    assert flags_fit(0x0903, "arm") and not flags_fit(0x0B03, "arm")
    assert flags_fit(0x0303, "mips64le")  # unknown machine: no opinion


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "magic"),
        (b"\x7fELF" + b"\0" * 100, "magic"),
        (NEW_MAGIC, "truncated"),
        (OLD_MAGIC, "truncated"),
        (new_format(SAMPLE)[:60], "entries"),
        (new_format(SAMPLE, endian=1), "invalid"),
        (new_format(SAMPLE)[:-5], "string"),
        (old_format(SAMPLE)[:-3], "string"),
        (OLD_MAGIC + b"\0" + struct.pack("<I", 0xFFFFFFFF) + b"\0" * 64, "count"),
    ],
)
def test_broken_caches_raise_ldcacheerror(data: bytes, message: str) -> None:
    with pytest.raises(LdCacheError, match=message):
        parse_ld_cache(data)
    assert issubclass(LdCacheError, ValueError)


def test_hostile_string_offsets_fail_fast() -> None:
    # 80,000 entries whose strings overlap: decoding each would mean 100s of MB
    # of text (and, with one long string, 80 GB of copying) from a 1 MB file.
    count = 80_000
    records = b"".join(struct.pack("<iII", 0x303, i, i + 1) for i in range(count))
    header = OLD_MAGIC + b"\0" + struct.pack("<I", count) + records
    for strings in (b"A" * 1_000_000 + b"\0", (b"A" * 3000 + b"\0") * 300):
        start = time.perf_counter()
        with pytest.raises(LdCacheError, match=r"longer than|add up"):
            parse_ld_cache(header + strings)
        assert time.perf_counter() - start < 5  # expected: about 0.25 s on a loaded VM


# -- properties -------------------------------------------------------------------------------


def _parses_or_fails_cleanly(data: bytes) -> None:
    try:
        parsed = parse_ld_cache(data)
    except LdCacheError:
        return
    assert parsed.format in ("old", "new", "compat")
    assert all(isinstance(e.soname, str) and isinstance(e.path, str) for e in parsed.entries)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.sampled_from([NEW_MAGIC, OLD_MAGIC + b"\0"]).flatmap(
            lambda magic: st.binary(max_size=400).map(lambda tail: magic + tail)
        ),
    )
)
def test_arbitrary_bytes_never_raise_anything_else(data: bytes) -> None:  # fmt: skip
    _parses_or_fails_cleanly(data)


@pytest.fixture(scope="module")
def real_caches(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    tmp = tmp_path_factory.mktemp("caches")
    libdir = next(p for p in (debian_rootfs() / "usr" / "lib").iterdir() if p.name.endswith("-gnu"))
    return [build_cache(tmp, fmt, libdir).read_bytes() for fmt in ("old", "new", "compat")]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.integers(0, 2),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8),
)
@pytest.mark.infra
def test_mutated_real_caches_never_raise_anything_else(
    real_caches: list[bytes], which: int, cut: float, flips: list[tuple[float, int]]
) -> None:  # fmt: skip
    data = bytearray(real_caches[which])
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    _parses_or_fails_cleanly(bytes(data[: max(1, int(cut * len(data)))]))
    _parses_or_fails_cleanly(bytes(data))
