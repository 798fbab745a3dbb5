"""The on-disk layer-index cache: round trips, misses, corruption, concurrency, garbage."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realroots import debian_index, layer_tar, sha256

from octolint.image import layers
from octolint.image.cache import LayerCache, default_cache_dir
from octolint.image.model import (
    DIR,
    FILE,
    HARDLINK,
    OCI_LAYER_GZIP,
    OTHER,
    SYMLINK,
    Descriptor,
    Entry,
    LayerIndex,
)

DIGEST = "sha256:" + "ab" * 32


def sample_index(digest: str = DIGEST) -> LayerIndex:
    return LayerIndex(
        digest=digest,
        entries={
            "/etc": Entry(DIR, 0o755),
            "/etc/os-release": Entry(FILE, 0o644, 12),
            "/bin": Entry(SYMLINK, 0o777, 0, "usr/bin"),
            "/usr/bin/x": Entry(HARDLINK, 0o755, 0, "/usr/bin/y"),
            "/dev/null": Entry(OTHER, 0o666),
            "/odd/na\udcffme \u00e9\n": Entry(FILE, 0o4755, 2**40),  # undecodable tar names
        },
        whiteouts={"/usr/lib/gone", "/tmp"},
        opaque={"/var/cache"},
        files={"/etc/os-release": b"ID=debian\n\x00\xff", "/etc/ld.so.cache": b""},
        facts={"/lib/libc.so.6": {"glibc": "2.36", "elf": "x86_64"}},
    )


@pytest.fixture
def cache(tmp_path: Path) -> LayerCache:
    return LayerCache(tmp_path / "cache")


def entry_file(cache: LayerCache, digest: str = DIGEST) -> Path:
    (found,) = cache.directory.glob(f"*{digest.split(':')[1]}*")
    return found


# -- basics --------------------------------------------------------------------------------


def test_round_trip(cache: LayerCache) -> None:
    assert cache.get(DIGEST) is None
    assert cache.put(sample_index())
    assert cache.get(DIGEST) == sample_index()
    assert cache.get("sha256:" + "cd" * 32) is None
    assert entry_file(cache).name == f"sha256-{'ab' * 32}-v{layers.ANALYSER_VERSION}.idx"


def test_a_real_layer_round_trips(cache: LayerCache) -> None:
    index = debian_index()
    assert cache.put(index)
    assert cache.get(index.digest) == index
    count, size, where = cache.info()
    assert (count, where) == (1, str(cache.directory))
    assert 0 < size < 2_000_000  # compact: a 200 MB rootfs indexes to well under 2 MB


def test_the_analyser_version_is_part_of_the_key(
    cache: LayerCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.put(sample_index())
    monkeypatch.setattr(layers, "ANALYSER_VERSION", layers.ANALYSER_VERSION + 1)
    assert cache.get(DIGEST) is None
    cache.put(sample_index())
    assert cache.get(DIGEST) == sample_index()
    assert cache.info()[0] == 1  # the entry of the old version was dropped


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    LayerCache(tmp_path).put(sample_index())
    off = LayerCache(tmp_path, enabled=False)
    assert off.get(DIGEST) is None
    assert not off.put(sample_index("sha256:" + "cd" * 32))
    assert LayerCache(tmp_path).get("sha256:" + "cd" * 32) is None


@pytest.mark.parametrize(
    "digest", ["sha256:../../../../tmp/x", "sha256:ABCDEF", "../x", "sha256:" + "a" * 63, ""]
)
def test_digests_that_cannot_be_file_names_are_never_stored(tmp_path: Path, digest: str) -> None:
    cache = LayerCache(tmp_path / "cache")
    assert not cache.put(sample_index(digest))
    assert cache.get(digest) is None
    assert list(tmp_path.rglob("*")) == []


def test_info_and_clear(cache: LayerCache) -> None:
    assert cache.info() == (0, 0, str(cache.directory))
    for n in range(3):
        cache.put(sample_index(f"sha256:{n:064x}"))
    (cache.directory / ".tmp-leftover.idx").write_bytes(b"half written")
    (cache.directory / "README").write_text("not ours", encoding="utf-8")
    count, size, _ = cache.info()
    assert count == 3 and size == sum(p.stat().st_size for p in cache.directory.glob("sha*"))
    assert cache.clear() == 4
    assert cache.info()[:2] == (0, 0)
    assert [p.name for p in cache.directory.iterdir()] == ["README"]


def test_the_cache_directory_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OCTOLINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "octolint"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "octolint"
    monkeypatch.setenv("OCTOLINT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    assert LayerCache().directory == tmp_path / "mine" / "layers"


def test_an_unwritable_cache_is_just_a_miss(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be", encoding="utf-8")
    cache = LayerCache(blocker)
    assert not cache.put(sample_index())
    assert cache.get(DIGEST) is None
    assert cache.info()[:2] == (0, 0) and cache.clear() == 0


# -- indexing through the cache ---------------------------------------------------------


def test_the_second_index_of_a_layer_reads_nothing(cache: LayerCache) -> None:
    blob = layer_tar([("etc/os-release", "file", b"ID=cached\n")], "gzip")
    descriptor = Descriptor(sha256(blob), OCI_LAYER_GZIP, len(blob))
    opened: list[int] = []

    def open_blob() -> BinaryIO:
        opened.append(1)
        return io.BytesIO(blob)

    first = cache.index(descriptor, open_blob)
    assert opened == [1] and first.files == {"/etc/os-release": b"ID=cached\n"}

    def must_not_open() -> BinaryIO:
        raise AssertionError("the blob was opened although the index is cached")

    assert cache.index(descriptor, must_not_open) == first
    # Another process (a fresh LayerCache on the same directory) hits too.
    assert LayerCache(cache.root).index(descriptor, must_not_open) == first


def test_a_failed_index_is_not_cached(cache: LayerCache) -> None:
    blob = layer_tar([("a", "file", b"a")], "gzip")
    descriptor = Descriptor(sha256(b"other"), OCI_LAYER_GZIP)
    with pytest.raises(layers.DigestMismatchError):
        cache.index(descriptor, lambda: io.BytesIO(blob))
    assert cache.info()[0] == 0


# -- damage ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "append"])
def test_a_damaged_entry_is_detected_deleted_and_rebuilt(cache: LayerCache, damage: str) -> None:
    blob = layer_tar([("etc/debian_version", "file", b"12.5\n")], None)
    descriptor = Descriptor(sha256(blob), "")
    good = cache.index(descriptor, lambda: io.BytesIO(blob))
    path = entry_file(cache, descriptor.digest)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        del data[len(data) // 2 :]
    elif damage == "empty":
        data.clear()
    else:
        data += b"\0"
    path.write_bytes(bytes(data))
    assert cache.get(descriptor.digest) is None
    assert not path.exists()
    reads: list[int] = []

    def reopen() -> BinaryIO:
        reads.append(1)
        return io.BytesIO(blob)

    assert cache.index(descriptor, reopen) == good and reads == [1]
    assert cache.get(descriptor.digest) == good


def seal(payload: bytes) -> bytes:
    """A cache file around payload with a valid checksum, as a forger would write it."""
    return b"OCTLIDX1" + hashlib.sha256(payload).digest() + payload


def valid_payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "format": 1, "analyser": layers.ANALYSER_VERSION, "digest": DIGEST,
        "entries": [["/a", "f", 420, 1, None]], "whiteouts": [], "opaque": [],
        "files": {}, "facts": {},
    }  # fmt: skip
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    "changes",
    [
        {"digest": "sha256:" + "cd" * 32},
        {"analyser": -1},
        {"format": 2},
        {"entries": [["relative/path", "f", 420, 1, None]]},
        {"entries": [["/a", "x", 420, 1, None]]},
        {"entries": [["/a", "f", True, 1, None]]},
        {"entries": [["/a", "f", 420, -1, None]]},
        {"entries": [["/a", "f", 0o17777, 1, None]]},
        {"entries": [["/a", "l", 511, 0, 7]]},
        {"entries": [["/a", "f", 420]]},
        {"entries": {"/a": "f"}},
        {"whiteouts": "/etc"},
        {"files": {"/etc/os-release": "not base64!"}},
        {"files": {"/etc/os-release": 12}},
        {"facts": {"/lib/libc.so.6": {"glibc": 2.36}}},
        {"facts": {"/lib/libc.so.6": ["glibc"]}},
    ],
)
def test_planted_entries_with_a_valid_checksum_are_validated(
    cache: LayerCache, changes: dict[str, object]
) -> None:
    cache.directory.mkdir(parents=True)
    path = cache.directory / f"sha256-{'ab' * 32}-v{layers.ANALYSER_VERSION}.idx"
    path.write_bytes(seal(zlib.compress(json.dumps(valid_payload()).encode())))
    assert cache.get(DIGEST) == LayerIndex(DIGEST, entries={"/a": Entry(FILE, 0o644, 1)})
    path.write_bytes(seal(zlib.compress(json.dumps(valid_payload(**changes)).encode())))
    assert cache.get(DIGEST) is None
    assert not path.exists()


def test_a_compression_bomb_is_refused(cache: LayerCache) -> None:
    cache.directory.mkdir(parents=True)
    path = cache.directory / f"sha256-{'ab' * 32}-v{layers.ANALYSER_VERSION}.idx"
    bomb = zlib.compressobj(9)
    payload = bomb.compress(b'{"format": 1, "x": "') + b"".join(
        bomb.compress(b" " * (1 << 20)) for _ in range(300)
    ) + bomb.compress(b'"}') + bomb.flush()  # fmt: skip
    path.write_bytes(seal(payload))
    assert cache.get(DIGEST) is None and not path.exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=200).map(seal),
        st.binary(max_size=200).map(lambda b: seal(zlib.compress(b))),
        JSON.map(lambda v: seal(zlib.compress(json.dumps(v).encode()))),
        st.dictionaries(st.sampled_from(sorted(valid_payload())), JSON).map(
            lambda changes: seal(zlib.compress(json.dumps(valid_payload(**changes)).encode()))
        ),
    )
)
def test_garbage_entries_are_misses_never_errors(tmp_path: Path, garbage: bytes) -> None:
    cache = LayerCache(tmp_path / "c")
    cache.directory.mkdir(parents=True, exist_ok=True)
    path = cache.directory / f"sha256-{'ab' * 32}-v{layers.ANALYSER_VERSION}.idx"
    path.write_bytes(garbage)
    found = cache.get(DIGEST)
    if found is None:
        assert not path.exists()
    else:  # the rare payload that is a valid index after all
        assert found.digest == DIGEST and all(p.startswith("/") for p in found.entries)


# -- concurrency ---------------------------------------------------------------------------


def _hammer(root: str, digests: list[str], rounds: int) -> list[str]:
    """Write and read entries in a loop; report every read that is not the right index.

    Each process writes an entry before it first reads it, and whole entries are
    only ever replaced by whole entries, so even a miss means a reader saw a torn
    write (which the checksum would turn into a deletion).
    """
    cache = LayerCache(root)
    problems = []
    for n in range(rounds):
        for digest in digests:
            if n % 2 == 0:
                cache.put(sample_index(digest))
            found = cache.get(digest)
            if found != sample_index(digest):
                problems.append(f"{digest}: {found!r}")
    return problems


def test_concurrent_writers_and_readers_never_see_half_an_entry(tmp_path: Path) -> None:
    digests = [f"sha256:{n:064x}" for n in range(4)]
    context = multiprocessing.get_context("fork")
    with context.Pool(6) as pool:
        results = [pool.apply_async(_hammer, (str(tmp_path), digests, 60)) for _ in range(6)]
        problems = [p for r in results for p in r.get(timeout=300)]
    assert problems == []
    cache = LayerCache(tmp_path)
    assert all(cache.get(d) == sample_index(d) for d in digests)
    assert sorted(os.listdir(cache.directory)) == sorted(
        f"sha256-{d.split(':')[1]}-v{layers.ANALYSER_VERSION}.idx" for d in digests
    )  # no temporary file left behind
