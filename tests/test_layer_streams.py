"""The streams under index_layer: the gzip backend (python-isal, or the standard library's
gzip where isal has no wheel), the hashing _Tap and the thread that inflates ahead.

Whatever reads gzip, a layer must come out the same: the same index, or the same kind of
error (LayerError "invalid gzip data", a digest or size mismatch, a bomb refused). Every
blob here is indexed twice, once per backend, and the outcomes compared.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import random
import subprocess
import sys
import tarfile
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realroots import SpecItem, layer_tar, sha256

from octolint.errors import InputError
from octolint.image import layers
from octolint.image import model as m
from octolint.image.layers import DigestMismatchError, LayerError, index_layer

# Big enough for several 1 MiB reads, several gzip members and the inflating thread to
# run ahead; small enough to build in milliseconds.
_NOISE = random.Random(15)
SPEC: list[SpecItem] = [
    ("etc/", "dir", None),
    ("etc/os-release", "file", b"ID=debian\nVERSION_ID=12\n"),
    *[(f"usr/share/doc/f{i:03d}", "file", bytes([i % 251]) * (i * 997)) for i in range(120)],
    # incompressible: the blob is over a megabyte, several reads of the source
    *[(f"usr/lib/l{i:03d}.so", "file", _NOISE.randbytes(100_000)) for i in range(12)],
]  # fmt: skip
TAR = layer_tar(SPEC, None)
SMALL_TAR = layer_tar([*SPEC[:6], ("usr/lib/x.so", "file", _NOISE.randbytes(20_000))], None)


def members(data: bytes, pieces: int, level: int = 6) -> list[bytes]:
    """``data`` as ``pieces`` gzip members, as pigz -i or a registry concatenating."""
    step = -(-len(data) // pieces)
    return [gzip.compress(data[i : i + step], level, mtime=0) for i in range(0, len(data), step)]


STDLIB = (gzip.GzipFile, (gzip.BadGzipFile, EOFError, zlib.error))


@pytest.fixture
def backends() -> Iterator[Any]:
    """A function that indexes a blob with each gzip backend and returns both outcomes."""
    isal = layers._gzip_backend()
    assert isal[0] is not gzip.GzipFile, "isal is installed here: compare it with the stdlib"

    def outcomes(blob: bytes, digest: str | None = None, **kwargs: Any) -> list[object]:
        results = []
        for backend in (isal, STDLIB):
            original = layers._gzip_backend
            layers._gzip_backend = lambda backend=backend: backend  # type: ignore[misc]
            try:
                results.append(outcome(blob, digest, **kwargs))
            finally:
                layers._gzip_backend = original  # type: ignore[method-assign]
        return results

    yield outcomes
    assert not inflating_threads(), "an inflating thread outlived its layer"


def outcome(blob: bytes, digest: str | None = None, **kwargs: Any) -> object:
    """The index's entries, or the error's class and the part of its message that does
    not depend on the decompressor (which names its own complaint after the colon)."""
    try:
        index = index_layer(io.BytesIO(blob), digest or sha256(blob), "", **kwargs)
    except DigestMismatchError as exc:
        return ("mismatch", "size" if "size mismatch" in str(exc) else "digest")
    except LayerError as exc:
        assert isinstance(exc, InputError)
        text = str(exc)
        for kind in ("invalid gzip data", "decompression bomb", "not a valid layer tar",
                     "truncated"):  # fmt: skip
            if kind in text:
                return ("layer", kind)
        raise
    return sorted(index.entries.items())


def inflating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "octolint-inflate"]


def test_the_isal_backend_is_used_where_installed() -> None:
    from isal import igzip

    assert layers._gzip_backend()[0] is igzip.IGzipFile


@pytest.mark.parametrize("pieces", [1, 2, 7])
def test_concatenated_members_give_the_layer(backends: Any, pieces: int) -> None:
    blob = b"".join(members(TAR, pieces))
    isal, stdlib = backends(blob)
    assert isal == stdlib and isal == outcome(gzip.compress(TAR))
    assert dict(isal)["/etc/os-release"] == m.Entry(m.FILE, 0o644, 24)
    # diff_id verification hashes the same tar through the thread
    assert backends(blob, sha256(TAR), verify=m.VERIFY_DIFF_ID) == [isal, isal]


def test_empty_members_and_zero_padding_between_and_after_are_skipped(backends: Any) -> None:
    parts = members(TAR, 3)
    blob = gzip.compress(b"") + parts[0] + b"\0" * 9 + parts[1] + gzip.compress(b"") + parts[2]
    for padded in (blob, blob + b"\0" * 3000):
        isal, stdlib = backends(padded)
        assert isal == stdlib == outcome(gzip.compress(TAR))


def pigz_cases() -> dict[str, bytes]:
    parts = members(TAR, 3)
    whole = b"".join(parts)
    cases: dict[str, bytes] = {}
    start = 0
    for number, part in enumerate(parts):
        end = start + len(part)
        cases[f"cut-in-header-of-member-{number}"] = whole[: start + 5]
        cases[f"cut-in-data-of-member-{number}"] = whole[: start + len(part) // 2]
        cases[f"cut-in-trailer-of-member-{number}"] = whole[: end - 3]
        crc = bytearray(whole)
        crc[end - 8] ^= 0x01
        cases[f"bad-crc-of-member-{number}"] = bytes(crc)
        length = bytearray(whole)
        length[end - 2] ^= 0x01
        cases[f"bad-length-of-member-{number}"] = bytes(length)
        deflate = bytearray(whole)
        deflate[start + 40] ^= 0xFF
        cases[f"corrupt-deflate-in-member-{number}"] = bytes(deflate)
        start = end
    cases["trailing-garbage"] = whole + b"trailing garbage"
    cases["trailing-magic-byte"] = whole + b"\x1f"
    cases["trailing-zeros-then-garbage"] = whole + b"\0\0\0garbage"
    cases["unknown-method"] = whole[:2] + b"\x07" + whole[3:]
    return cases


@pytest.mark.parametrize(("name", "blob"), pigz_cases().items(), ids=list(pigz_cases()))
def test_broken_multi_member_blobs_fail_alike(backends: Any, name: str, blob: bytes) -> None:
    isal, stdlib = backends(blob)
    assert isal == stdlib
    assert isal == ("layer", "invalid gzip data")


@pytest.mark.parametrize(("name", "blob"), pigz_cases().items(), ids=list(pigz_cases()))
def test_a_broken_download_of_a_good_blob_is_a_mismatch(backends: Any, name: str,
                                                        blob: bytes) -> None:  # fmt: skip
    # The descriptor names the good blob: what arrived is a corrupt download.
    good = b"".join(members(TAR, 3))
    assert backends(blob, sha256(good)) == [("mismatch", "digest")] * 2


def test_the_size_bound_stops_the_inflating_thread(backends: Any) -> None:
    blob = b"".join(members(TAR, 3))
    for size in (len(blob) // 3, len(blob) - 1, len(blob) + 1):
        assert backends(blob, expected_size=size) == [("mismatch", "size")] * 2


def test_a_gzip_bomb_is_refused_by_the_expansion_bound(
    backends: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deflate cannot exceed 1032:1, under the real bound: a lower one shows that the
    # bound holds for gzip too, and stops reading soon after it is passed.
    monkeypatch.setattr(layers, "MAX_EXPANSION", 10)
    monkeypatch.setattr(layers, "EXPANSION_ALLOWANCE", 1 << 20)
    bomb = gzip.compress(b"\0" * (64 << 20), 9) * 64  # 4 GiB of zeros in 4 MB
    assert backends(bomb) == [("layer", "decompression bomb")] * 2
    with pytest.raises(LayerError) as caught:
        index_layer(io.BytesIO(bomb), sha256(bomb), "")
    read = int(str(caught.value).split("(after ")[1].split()[0])
    # Stopped after a few megabytes of output: the bound, plus what the inflater reads
    # and inflates ahead (its input buffer, its blocks), not the 4 GiB.
    assert read < len(bomb) // 2


class Failing(io.RawIOBase):
    """A download that breaks off after ``good`` bytes, once: then it seems to end (so
    an error lost on the way would show as a short blob, a digest mismatch)."""

    def __init__(self, data: bytes, good: int):
        self._data = io.BytesIO(data[:good])
        self._failed = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = self._data.readinto(buffer)
        if not size and not self._failed:
            self._failed = True
            raise OSError("connection reset by peer")
        return size


@pytest.mark.parametrize("good", [10, 100_000, 600_000])
def test_a_source_error_in_the_inflating_thread_reaches_the_caller(good: int) -> None:
    blob = b"".join(members(TAR, 3))
    assert len(blob) > 600_000
    with pytest.raises(OSError, match="connection reset"):
        index_layer(io.BufferedReader(Failing(blob, good)), sha256(blob), "")
    assert not inflating_threads()


def test_a_tar_error_while_the_thread_inflates_ahead_stops_it() -> None:
    # The first header is broken: the tar reader gives up after 512 bytes while the
    # inflater is still reading megabytes behind it.
    tar = b"\xff" * 512 + TAR * 8
    blob = gzip.compress(tar, 1)
    with pytest.raises(LayerError, match="not a valid layer tar"):
        index_layer(io.BytesIO(blob), sha256(blob), "")
    assert not inflating_threads()


def test_without_isal_the_standard_library_reads_layers() -> None:
    blob = b"".join(members(TAR, 3))
    code = (
        "import io, hashlib, sys, gzip\n"
        "sys.modules['isal'] = None  # as on a platform isal has no wheel for\n"
        "from octolint.image import layers\n"
        "assert layers._gzip_backend()[0] is gzip.GzipFile\n"
        "blob = sys.stdin.buffer.read()\n"
        "index = layers.index_layer(io.BytesIO(blob), "
        "'sha256:' + hashlib.sha256(blob).hexdigest(), '')\n"
        "print(len(index.entries), 'isal' in sys.modules and sys.modules['isal'] is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                         check=True)  # fmt: skip
    assert out.stdout.decode().split() == [str(len(dict(outcome(blob)))), "False"]


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.integers(1, 5),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=3),
    tail=st.sampled_from([b"", b"\0", b"\0" * 700, b"\x1f\x8b", b"junk"]),
)
def test_any_damage_gives_the_same_outcome_with_either_backend(
    pieces: int, cut: int | None, flips: list[tuple[int, int]], tail: bytes
) -> None:
    blob = bytearray(b"".join(members(SMALL_TAR, pieces)))
    for at, mask in flips:
        blob[at % len(blob)] ^= mask
    damaged = bytes(blob[: cut % (len(blob) + 1)] if cut is not None else blob) + tail
    results = []
    for backend in (layers._gzip_backend(), STDLIB):
        original = layers._gzip_backend
        layers._gzip_backend = lambda backend=backend: backend  # type: ignore[misc]
        try:
            results.append(outcome(damaged))
        finally:
            layers._gzip_backend = original  # type: ignore[method-assign]
    assert results[0] == results[1]


class Chunky(io.RawIOBase):
    """A source that returns short reads of the given sizes, in turn."""

    def __init__(self, data: bytes, sizes: list[int]):
        self._data = io.BytesIO(data)
        self._sizes = sizes or [1]
        self._turn = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = self._sizes[self._turn % len(self._sizes)]
        self._turn += 1
        return self._data.readinto(memoryview(buffer)[:size])


@given(
    data=st.binary(max_size=5000),
    sizes=st.lists(st.integers(1, 3000), max_size=5),
    calls=st.lists(
        st.tuples(st.sampled_from(["peek", "read", "readinto"]), st.integers(0, 2500)),
        max_size=30,
    ),
    raw=st.booleans(),
)
def test_a_tap_hands_out_counts_and_hashes_every_byte_once(
    data: bytes, sizes: list[int], calls: list[tuple[str, int]], raw: bool
) -> None:
    source: Any = Chunky(data, sizes) if raw else io.BytesIO(data)
    tap = layers._Tap(source, hashlib.sha256())
    given_out = bytearray()
    for call, size in calls:
        if call == "peek":
            ahead = tap.peek(size)
            assert data[len(given_out) :].startswith(ahead)
            assert len(ahead) == min(size, len(data) - len(given_out))
        elif call == "read":
            given_out += tap.read(size)
        else:
            buffer = bytearray(size)
            got = tap.readinto(buffer)
            given_out += buffer[:got]
        assert data.startswith(given_out)
    tap.drain()
    assert tap.count == len(data)
    assert tap.hexdigest() == hashlib.sha256(data).hexdigest()


@given(data=st.binary(max_size=3 << 20), reads=st.lists(st.integers(1, 3 << 20), min_size=1))
@settings(max_examples=30)
def test_the_inflating_thread_hands_out_the_stream_whole_and_in_order(
    data: bytes, reads: list[int]
) -> None:
    prefetched = layers._Prefetched(io.BytesIO(data))
    try:
        out = bytearray()
        turn = 0
        while piece := prefetched.read(reads[turn % len(reads)]):
            assert len(piece) <= reads[turn % len(reads)]
            out += piece
            turn += 1
        assert out == data and prefetched.read(10) == b""
    finally:
        prefetched.close()
    assert not inflating_threads()


# -- sources: how a blob reaches the tap ----------------------------------------------------


def archive_of(tmp_path: Any, files: dict[str, bytes]) -> Any:
    path = tmp_path / "archive.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


ARCHIVED = {
    "manifest.json": b'{"small": true}',
    "blobs/sha256/big": _NOISE.randbytes(3_000_001),
    "empty": b"",
    "blobs/sha256/layer": b"".join(members(TAR, 2)),
}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 1 << 21), min_size=1, max_size=6).filter(
    lambda sizes: sum(sizes) >= 4096 * len(sizes)),  # some large reads: the loop stays short
    into=st.booleans())
def test_an_archive_member_is_read_in_place_whole(tmp_path: Any, sizes: list[int],
                                                  into: bool) -> None:  # fmt: skip
    from octolint.image.sources.archive import TarContainer

    path = tmp_path / "archive.tar"
    if not path.exists():
        archive_of(tmp_path, ARCHIVED)
    container = TarContainer.from_path(path, "archive.tar")
    for name, data in ARCHIVED.items():
        with container.open(name) as stream:
            out = bytearray()
            for turn in itertools.count():
                size = sizes[turn % len(sizes)]
                if into:
                    buffer = bytearray(size)
                    got = stream.readinto(buffer)  # type: ignore[attr-defined]
                    piece = bytes(buffer[:got])
                else:
                    piece = stream.read(size)
                if not piece:
                    break
                out += piece
            assert out == data
        assert container.read(name, 1 << 22, name) == data


def test_a_layer_is_indexed_from_an_archive_as_from_its_bytes(tmp_path: Any) -> None:
    from octolint.image.sources.archive import TarContainer

    container = TarContainer.from_path(archive_of(tmp_path, ARCHIVED), "archive.tar")
    blob = ARCHIVED["blobs/sha256/layer"]
    with container.open("blobs/sha256/layer") as stream:
        index = index_layer(stream, sha256(blob), "", expected_size=len(blob))
    assert sorted(index.entries.items()) == outcome(blob)


def test_an_archive_cut_after_it_was_read_is_an_archive_error(tmp_path: Any) -> None:
    from octolint.image.sources.archive import ArchiveError, TarContainer

    path = archive_of(tmp_path, ARCHIVED)
    container = TarContainer.from_path(path, "archive.tar")
    data = path.read_bytes()
    path.write_bytes(data[: data.index(ARCHIVED["blobs/sha256/big"][:64]) + 1_000_000])
    with pytest.raises(ArchiveError) as caught, container.open("blobs/sha256/big") as stream:
        while stream.read(1 << 20):
            pass
    assert str(caught.value) == (
        "archive.tar: truncated or unreadable member 'blobs/sha256/big' "
        "(unexpected end of data)"
    )
