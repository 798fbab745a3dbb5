"""index_layer: one streaming pass over a layer blob, verified, in bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from realroots import (
    SpecItem,
    debian_index,
    debian_rootfs,
    index_of,
    layer_tar,
    require_tool,
    sha256,
)

from octolint.errors import InputError
from octolint.image import model as m
from octolint.image.layers import (
    CORE_FILES,
    MAX_KEPT_SIZE,
    DigestMismatchError,
    LayerError,
    index_layer,
    normalise_path,
)
from octolint.image.model import DIR, FILE, HARDLINK, OTHER, SYMLINK, Entry

SAMPLE: list[SpecItem] = [
    ("./etc/", "dir", None),
    ("./etc/os-release", "file", b"ID=debian\nVERSION_ID=12\n"),
    ("usr/bin/tool", "file", b"#!/bin/sh\necho hi\n", 0o755),
    ("usr/bin/link", "symlink", "tool"),
    ("usr/bin/abs", "symlink", "/usr/bin/tool"),
    ("usr/bin/hard", "hardlink", "./usr/bin/tool"),
    ("dev/null", "chardev", None),
    ("run/fifo", "fifo", None),
]
SAMPLE_ENTRIES = {
    "/etc": Entry(DIR, 0o755),
    "/etc/os-release": Entry(FILE, 0o644, 24),
    "/usr/bin/tool": Entry(FILE, 0o755, 18),
    "/usr/bin/link": Entry(SYMLINK, 0o777, 0, "tool"),
    "/usr/bin/abs": Entry(SYMLINK, 0o777, 0, "/usr/bin/tool"),
    "/usr/bin/hard": Entry(HARDLINK, 0o644, 0, "/usr/bin/tool"),
    "/dev/null": Entry(OTHER, 0o666),
    "/run/fifo": Entry(OTHER, 0o644),
}


def index_blob(blob: bytes, media_type: str = "", **kwargs: object) -> m.LayerIndex:
    return index_layer(io.BytesIO(blob), sha256(blob), media_type, **kwargs)  # type: ignore[arg-type]


def tar_bytes(spec: list[SpecItem]) -> bytes:
    return layer_tar(spec, None)


# -- formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compression", "media_type"),
    [
        (None, m.OCI_LAYER_TAR),
        ("gzip", m.OCI_LAYER_GZIP),
        ("zstd", m.OCI_LAYER_ZSTD),
        (None, ""),  # docker-archive layers have no media type: sniffed
        ("gzip", ""),
        ("zstd", ""),
        ("gzip", m.DOCKER_LAYER_TAR),  # mislabelled: the bytes decide, as in Docker
        (None, m.DOCKER_LAYER_GZIP),
    ],
)
def test_every_compression_gives_the_same_index(compression: str | None, media_type: str) -> None:
    index = index_blob(layer_tar(SAMPLE, compression), media_type)
    assert index.entries == SAMPLE_ENTRIES
    assert index.files == {"/etc/os-release": b"ID=debian\nVERSION_ID=12\n"}
    assert not index.whiteouts and not index.opaque


def test_concatenated_gzip_members_and_zstd_frames_are_one_stream() -> None:
    tar = tar_bytes(SAMPLE)
    half = len(tar) // 2
    two_members = gzip.compress(tar[:half]) + gzip.compress(tar[half:])
    assert index_blob(two_members).entries == SAMPLE_ENTRIES
    zstd = zstandard.ZstdCompressor()
    two_frames = zstd.compress(tar[:half]) + zstd.compress(tar[half:])
    assert index_blob(two_frames, m.OCI_LAYER_ZSTD).entries == SAMPLE_ENTRIES


@pytest.mark.parametrize(
    "blob",
    [b"", b"\0" * 1024, gzip.compress(b"\0" * 1024), zstandard.ZstdCompressor().compress(b"")],
    ids=["zero-bytes", "empty-tar", "docker-empty-gzip-layer", "empty-zstd"],
)
def test_empty_layers_index_to_nothing(blob: bytes) -> None:
    index = index_blob(blob)
    assert (index.entries, index.whiteouts, index.opaque, index.files) == ({}, set(), set(), {})


def test_zstandard_is_imported_only_for_zstd_layers() -> None:
    blob = gzip.compress(tar_bytes(SAMPLE))
    code = (
        "import io, hashlib, sys\n"
        "from octolint.image.layers import index_layer\n"
        f"blob = {blob!r}\n"
        "index_layer(io.BytesIO(blob), 'sha256:' + hashlib.sha256(blob).hexdigest(), '')\n"
        "print('zstandard' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- verification ------------------------------------------------------------------------


def test_a_wrong_digest_is_rejected_naming_both_digests() -> None:
    blob = gzip.compress(tar_bytes(SAMPLE))
    wrong = sha256(b"something else")
    with pytest.raises(DigestMismatchError) as caught:
        index_layer(io.BytesIO(blob), wrong, m.OCI_LAYER_GZIP)
    assert isinstance(caught.value, InputError)
    assert wrong in str(caught.value) and sha256(blob) in str(caught.value)
    assert (caught.value.expected, caught.value.actual) == (wrong, sha256(blob))


def test_diff_id_verification_hashes_the_uncompressed_tar() -> None:
    tar = tar_bytes(SAMPLE)
    for blob in (gzip.compress(tar), zstandard.ZstdCompressor().compress(tar), tar):
        index = index_layer(io.BytesIO(blob), sha256(tar), "", verify=m.VERIFY_DIFF_ID)
        assert index.entries == SAMPLE_ENTRIES and index.digest == sha256(tar)
    blob = gzip.compress(tar)
    with pytest.raises(DigestMismatchError, match="uncompressed layer"):
        index_layer(io.BytesIO(blob), sha256(blob), "", verify=m.VERIFY_DIFF_ID)
    with pytest.raises(DigestMismatchError):
        index_layer(io.BytesIO(blob), sha256(tar), "", verify=m.VERIFY_DIGEST)


def test_the_descriptor_size_is_enforced() -> None:
    blob = gzip.compress(tar_bytes(SAMPLE))
    assert index_blob(blob, expected_size=len(blob)).entries == SAMPLE_ENTRIES
    for size in (len(blob) - 1, len(blob) + 1, 10):
        with pytest.raises(DigestMismatchError, match="size mismatch"):
            index_blob(blob, expected_size=size)


def test_a_truncated_download_is_a_digest_mismatch_not_a_format_error() -> None:
    blob = gzip.compress(tar_bytes(SAMPLE))
    truncated = blob[: len(blob) // 2]
    with pytest.raises(DigestMismatchError):
        index_layer(io.BytesIO(truncated), sha256(blob), m.OCI_LAYER_GZIP)


@pytest.mark.parametrize(
    "blob",
    [
        b"\x1f\x8b" + b"not really gzip" * 10,
        gzip.compress(tar_bytes(SAMPLE))[:-30],
        b"\x28\xb5\x2f\xfd" + b"\xff" * 64,
        b"this is not a tar file at all" * 40,
        tar_bytes(SAMPLE)[:700],  # cut inside a member's data
        gzip.compress(tar_bytes(SAMPLE)) + b"trailing garbage",
    ],
    ids=["bad-gzip", "cut-gzip", "bad-zstd", "not-tar", "cut-tar", "gzip-garbage"],
)
def test_content_that_is_no_layer_is_an_input_error(blob: bytes) -> None:
    # The digest matches: the content itself is broken.
    with pytest.raises(LayerError) as caught:
        index_blob(blob, m.OCI_LAYER_GZIP)
    assert isinstance(caught.value, InputError)
    assert sha256(blob) in str(caught.value)


@pytest.mark.parametrize("digest", ["sha256:abc", "md5:" + "0" * 32, "SHA256:" + "0" * 64, "x"])
def test_malformed_digests_are_input_errors(digest: str) -> None:
    with pytest.raises(LayerError, match="digest"):
        index_layer(io.BytesIO(b""), digest, "")


def test_sha512_digests_work() -> None:
    blob = tar_bytes(SAMPLE)
    digest = "sha512:" + hashlib.sha512(blob).hexdigest()
    assert index_layer(io.BytesIO(blob), digest, "").digest == digest


def test_unknown_verify_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="verify"):
        index_blob(b"", verify="uncompressed")


# -- entries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("./usr/lib/", "/usr/lib"),
        ("usr//lib/./x", "/usr/lib/x"),
        ("a/../b", "/b"),
        ("../../../../etc/passwd", "/etc/passwd"),
        ("/abs/file", "/abs/file"),
        ("./", "/"),
        ("a/b/../../..", "/"),
    ],
)
def test_normalise_path_stays_inside_the_root(name: str, path: str) -> None:
    assert normalise_path(name) == path


def test_member_names_are_normalised_and_clamped() -> None:
    index = index_of(
        [
            ("./usr/lib/", "dir", None),
            ("usr//lib/./libx.so", "file", b"x"),
            ("a/../b", "file", b"b"),
            ("../../../../etc/passwd", "file", b"root::0:0::/:/bin/sh\n"),
            ("/abs/file", "file", b"abs"),
            ("escape", "hardlink", "../../../etc/passwd"),
        ]
    )
    assert set(index.entries) == {
        "/usr/lib", "/usr/lib/libx.so", "/b", "/etc/passwd", "/abs/file", "/escape",
    }  # fmt: skip
    assert index.entries["/escape"] == Entry(HARDLINK, 0o644, 0, "/etc/passwd")


def test_whiteouts_and_opaque_markers() -> None:
    index = index_of(
        [
            ("usr/lib/libfoo.so.1", "whiteout", None),
            ("tmp", "whiteout", None),
            ("etc/apt", "opaque", None),
            ("etc/apt/sources.list", "file", b"deb x\n"),
            (".wh..wh.plnk", "dir", None),  # AUFS bookkeeping: no whiteout
            ("var/.wh..", "file", b""),  # would name /var itself: ignored
            ("var/.wh.", "file", b""),
        ]
    )
    assert index.whiteouts == {"/usr/lib/libfoo.so.1", "/tmp"}
    assert index.opaque == {"/etc/apt"}
    assert set(index.entries) == {"/etc/apt/sources.list"}


def test_a_repeated_member_replaces_the_earlier_one_and_moves_last() -> None:
    index = index_of([("a", "file", b"one"), ("b", "file", b"b"), ("a", "symlink", "b")])
    assert list(index.entries) == ["/b", "/a"]
    assert index.entries["/a"] == Entry(SYMLINK, 0o777, 0, "b")


# -- kept files -------------------------------------------------------------------------


def test_only_the_listed_small_files_are_kept() -> None:
    exact = [p for p in CORE_FILES if not p.endswith("/*")]
    spec: list[SpecItem] = [(p.lstrip("/"), "file", f"content of {p}".encode()) for p in exact]
    spec += [
        ("etc/ld.so.conf.d/libc.conf", "file", b"/usr/local/lib\n"),
        ("etc/ld.so.conf.d/sub/deep.conf", "file", b"no"),
        ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n"),
        ("usr/lib/os-release.bak", "file", b"no"),
    ]
    index = index_of(spec)
    expected = {p: f"content of {p}".encode() for p in exact}
    expected["/etc/ld.so.conf.d/libc.conf"] = b"/usr/local/lib\n"
    assert index.files == expected


def test_a_kept_file_over_the_limit_is_recorded_but_not_read() -> None:
    at_limit = b"x" * MAX_KEPT_SIZE
    index = index_of(
        [("etc/os-release", "file", at_limit), ("etc/ld.so.cache", "file", at_limit + b"y")],
        "gzip",
    )
    assert index.files == {"/etc/os-release": at_limit}
    assert index.entries["/etc/ld.so.cache"].size == MAX_KEPT_SIZE + 1


def test_an_empty_kept_file_is_kept_empty() -> None:
    assert index_of([("etc/os-release", "file", b"")]).files == {"/etc/os-release": b""}


# -- facts ------------------------------------------------------------------------------


def elf_header(
    machine: int, *, elf_type: int = 3, is_64: bool = True, little: bool = True
) -> bytes:
    order = "little" if little else "big"
    ident = b"\x7fELF" + bytes([2 if is_64 else 1, 1 if little else 2, 1]) + b"\0" * 9
    return ident + elf_type.to_bytes(2, order) + machine.to_bytes(2, order) + b"\0" * 44


BANNER = b"GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n"


@pytest.mark.parametrize(
    ("name", "content", "facts"),
    [
        (
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            elf_header(62) + b"\0" * 100 + BANNER,
            {"glibc": "2.36", "elf": "x86_64"},
        ),
        (
            "lib/libc-2.17.so",
            b"\0GLIBC_2.2.5\0GLIBC_2.17\0GLIBC_2.3.4\0GLIBC_PRIVATE\0",
            {"glibc": "2.17"},
        ),
        ("lib/libc.so.6", b"\0GLIBC_2.9\0GLIBC_2.10\0", {"glibc": "2.10"}),
        ("lib/ld-musl-x86_64.so.1", b"\0musl libc (x86_64)\nVersion %s\n", {"musl": "1"}),
        ("lib/libc.musl-x86_64.so.1", b"musl libc", {"musl": "1"}),
        ("usr/lib/x86_64-linux-musl/libc.so", b"musl libc", {"musl": "1"}),
        (
            "lib64/ld-linux-x86-64.so.2",
            b"ld.so (Debian GLIBC 2.36-9) stable release version 2.36.",
            {"glibc": "2.36"},
        ),
        ("usr/share/doc/libc.so.6.txt", BANNER, {}),  # not a C library's name
        ("usr/lib/libfoo.so.1", elf_header(183), {"elf": "aarch64"}),
        ("usr/lib/libfoo32.so", elf_header(3, is_64=False), {"elf": "i386"}),
        ("usr/lib/libarm.so.3", elf_header(40, is_64=False), {"elf": "arm"}),
        ("usr/lib/libppc.so", elf_header(21), {"elf": "ppc64le"}),
        ("usr/lib/libs390.so", elf_header(22, little=False), {"elf": "s390x"}),
        ("usr/lib/libexec.so", elf_header(62, elf_type=2), {}),  # ET_EXEC: not a library
        ("usr/bin/tool", elf_header(62), {}),  # not named like a shared object
        ("usr/lib/libscript.so", b"/* GNU ld script */", {}),
    ],
)
def test_facts(name: str, content: bytes, facts: dict[str, str]) -> None:
    index = index_of([(name, "file", content)])
    assert index.facts.get(normalise_path(name), {}) == facts


def test_the_glibc_banner_is_found_across_a_chunk_boundary() -> None:
    # The first read is 1 MiB: put the banner across that boundary.
    content = b"\x01" * ((1 << 20) - 30) + BANNER + b"\x01" * 1000
    index = index_of([("lib/x86_64-linux-gnu/libc.so.6", "file", content)], "gzip")
    assert index.facts["/lib/x86_64-linux-gnu/libc.so.6"] == {"glibc": "2.36"}


# -- bounded memory ---------------------------------------------------------------------

BIG = 200 * 1024 * 1024
_ZEROS = bytes(1 << 20)


def big_layer_chunks(name: str, trailer: bytes, compress: bool) -> Iterator[bytes]:
    """A layer tar holding one BIG-byte file (zeros, then ``trailer``), generated on the fly."""
    info = tarfile.TarInfo(name)
    info.size = BIG
    packer = zlib.compressobj(1, zlib.DEFLATED, 31) if compress else None

    def pieces() -> Iterator[bytes]:
        yield info.tobuf(tarfile.PAX_FORMAT)
        for _ in range((BIG - len(trailer)) // len(_ZEROS)):
            yield _ZEROS
        yield bytes((BIG - len(trailer)) % len(_ZEROS)) + trailer
        yield bytes(-BIG % tarfile.BLOCKSIZE) + bytes(2 * tarfile.BLOCKSIZE)

    for piece in pieces():
        yield packer.compress(piece) if packer else piece
    if packer:
        yield packer.flush()


class ChunkStream(io.RawIOBase):
    """A read-only stream over a generator of chunks (nothing is ever stored)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


@pytest.mark.parametrize(
    ("name", "compress", "facts"),
    [
        ("srv/data.bin", False, {}),
        ("usr/lib/x86_64-linux-gnu/libc.so.6", True, {"glibc": "2.36"}),  # scanned throughout
    ],
)
@pytest.mark.slow
def test_memory_stays_bounded_for_a_200_mb_file(
    name: str, compress: bool, facts: dict[str, str]
) -> None:
    hasher = hashlib.sha256()
    for chunk in big_layer_chunks(name, BANNER, compress):
        hasher.update(chunk)
    digest = f"sha256:{hasher.hexdigest()}"
    stream = io.BufferedReader(ChunkStream(big_layer_chunks(name, BANNER, compress)), 1 << 16)
    tracemalloc.start()
    try:
        index = index_layer(stream, digest, "")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    path = normalise_path(name)
    assert index.entries[path] == Entry(FILE, 0o644, BIG)
    assert index.facts.get(path, {}) == facts
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


# -- a real root filesystem ---------------------------------------------------------------


@pytest.mark.infra
def test_the_debian_rootfs_layer_has_every_path_of_the_tree() -> None:
    rootfs = debian_rootfs()
    index = debian_index()
    on_disk = {"/" + os.path.relpath(os.path.join(d, n), rootfs)
               for d, dirs, files in os.walk(rootfs) for n in dirs + files}  # fmt: skip
    assert set(index.entries) == on_disk
    for path, entry in index.entries.items():
        full = Path(str(rootfs) + path)
        if full.is_symlink():
            assert entry == Entry(SYMLINK, 0o777, 0, os.readlink(full)), path
        elif full.is_dir():
            assert entry.kind == DIR, path
        elif full.is_file():
            assert entry.kind in (FILE, HARDLINK), path
            if entry.kind == HARDLINK:
                assert os.path.samefile(full, str(rootfs) + (entry.link or ""))
        else:
            assert entry.kind == OTHER, path  # /dev/null & co.


@pytest.mark.infra
def test_the_debian_rootfs_layer_keeps_configuration_and_finds_glibc() -> None:
    rootfs = debian_rootfs()
    index = debian_index()
    assert index.entries["/etc/os-release"] == Entry(SYMLINK, 0o777, 0, "../usr/lib/os-release")
    assert index.files["/usr/lib/os-release"] == (rootfs / "usr/lib/os-release").read_bytes()
    assert index.files["/etc/ld.so.cache"] == (rootfs / "etc/ld.so.cache").read_bytes()
    assert "/etc/debian_version" not in index.files  # no rule asks for it (READS_FILES)
    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    if os.uname().machine == "x86_64":
        assert index.facts[libc] == {"glibc": "2.36", "elf": "x86_64"}
    assert {f.get("glibc") for f in index.facts.values()} - {None} == {"2.36"}


# -- the test-infrastructure policy ------------------------------------------------------


def test_a_missing_tool_skips_or_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCTOLINT_REQUIRE_INFRA", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_tool("octolint-no-such-tool")
    monkeypatch.setenv("OCTOLINT_REQUIRE_INFRA", "1")
    with pytest.raises(pytest.fail.Exception, match="OCTOLINT_REQUIRE_INFRA"):
        require_tool("octolint-no-such-tool")
    assert require_tool("sh").endswith("/sh")
