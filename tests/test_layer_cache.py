"""The on-disk layer-index cache: round trips, misses, corruption, concurrency, garbage."""

from __future__ import annotations

import io
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from forge import alter, reseal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realroots import debian_index, layer_tar, sha256

from octolint.image import layers
from octolint.image import store as store_module
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
from octolint.image.store import CorruptStoreError, LayerStore, Node

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


def answers(store: LayerStore, index: LayerIndex) -> dict[str, Any]:
    """What the store says about every path, file and fact the index holds."""
    paths = {*index.entries, *index.whiteouts, *index.opaque}
    return {
        "nodes": {p: store.node(p) for p in paths},
        "files": {p: store.file(p) for p in index.files},
        "facts": {p: {k: store.fact(p, k) for k in f} for p, f in index.facts.items()},
    }


def expected(index: LayerIndex) -> dict[str, Any]:
    """The same, from the index itself (no path of these indexes needs canonicalising)."""
    paths = {*index.entries, *index.whiteouts, *index.opaque}
    return {
        "nodes": {
            p: Node(index.entries.get(p), False, p in index.whiteouts, p in index.opaque)
            for p in paths
        },
        "files": dict(index.files),
        "facts": index.facts,
    }


def same(store: LayerStore | None, index: LayerIndex) -> bool:
    return (
        store is not None
        and store.digest == index.digest
        and answers(store, index) == expected(index)
    )


@pytest.fixture
def cache(tmp_path: Path) -> LayerCache:
    return LayerCache(tmp_path / "cache")


def entry_file(cache: LayerCache, digest: str = DIGEST) -> Path:
    (found,) = cache.directory.glob(f"*{digest.split(':')[1]}*")
    return found


def entry_name(digest: str) -> str:
    return f"sha256-{digest.split(':')[1]}-v{layers.ANALYSER_VERSION}-f2.idx"


# -- basics --------------------------------------------------------------------------------


def test_round_trip(cache: LayerCache) -> None:
    assert cache.get(DIGEST) is None
    assert same(cache.store(sample_index()), sample_index())
    assert same(cache.get(DIGEST), sample_index())
    assert cache.get(DIGEST).node("/usr/bin") == Node(Entry(DIR, 0o755), implicit=True)
    assert cache.get(DIGEST).children("/") == [
        ("bin", True, False),
        ("dev", True, False),
        ("etc", True, False),
        ("odd", True, False),
        ("tmp", False, True),
        ("usr", True, False),
    ]  # fmt: skip (an opaque marker alone implies no directory: /var is not there)
    assert cache.get(DIGEST).named("null") == ["/dev/null"]
    assert cache.get("sha256:" + "cd" * 32) is None
    assert entry_file(cache).name == entry_name(DIGEST)


@pytest.mark.infra
def test_a_real_layer_round_trips(cache: LayerCache) -> None:
    index = debian_index()
    assert same(cache.store(index), index)
    assert same(cache.get(index.digest), index)
    count, size, where = cache.info()
    assert (count, where) == (1, str(cache.directory))
    assert 0 < size < 4_000_000  # a 200 MB rootfs (9,000 entries) indexes to about 1.3 MB


def test_the_analyser_version_is_part_of_the_key(
    cache: LayerCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.store(sample_index())
    monkeypatch.setattr(layers, "ANALYSER_VERSION", layers.ANALYSER_VERSION + 1)
    assert cache.get(DIGEST) is None
    cache.store(sample_index())
    assert same(cache.get(DIGEST), sample_index())
    assert cache.info()[0] == 1  # the entry of the old version was dropped


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    LayerCache(tmp_path).store(sample_index())
    off = LayerCache(tmp_path, enabled=False)
    assert off.get(DIGEST) is None
    assert same(off.store(sample_index("sha256:" + "cd" * 32)), sample_index("sha256:" + "cd" * 32))
    assert LayerCache(tmp_path).get("sha256:" + "cd" * 32) is None


@pytest.mark.parametrize(
    "digest", ["sha256:../../../../tmp/x", "sha256:ABCDEF", "../x", "sha256:" + "a" * 63, ""]
)
def test_digests_that_cannot_be_file_names_are_never_stored(tmp_path: Path, digest: str) -> None:
    cache = LayerCache(tmp_path / "cache")
    assert same(cache.store(sample_index(digest)), sample_index(digest))  # in memory
    assert cache.get(digest) is None
    assert list(tmp_path.rglob("*")) == []


def test_info_and_clear(cache: LayerCache) -> None:
    assert cache.info() == (0, 0, str(cache.directory))
    for n in range(3):
        cache.store(sample_index(f"sha256:{n:064x}"))
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
    assert same(cache.store(sample_index()), sample_index())
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
    assert opened == [1] and first.file("/etc/os-release") == b"ID=cached\n"

    def must_not_open() -> BinaryIO:
        raise AssertionError("the blob was opened although the index is cached")

    assert cache.index(descriptor, must_not_open).file("/etc/os-release") == b"ID=cached\n"
    # Another process (a fresh LayerCache on the same directory) hits too.
    again = LayerCache(cache.root).index(descriptor, must_not_open)
    assert again.file("/etc/os-release") == b"ID=cached\n"


def test_a_failed_index_is_not_cached(cache: LayerCache) -> None:
    blob = layer_tar([("a", "file", b"a")], "gzip")
    descriptor = Descriptor(sha256(b"other"), OCI_LAYER_GZIP)
    with pytest.raises(layers.DigestMismatchError):
        cache.index(descriptor, lambda: io.BytesIO(blob))
    assert cache.info()[0] == 0
    assert os.listdir(cache.directory) == []  # nor any half-written temporary file


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory private temporary files go to, for this test."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def test_without_a_cache_a_layer_goes_to_a_private_file_deleted_once_open(
    tmp_path: Path, private_tmp: Path
) -> None:
    blob = layer_tar([(f"d{n}/f", "file", b"x") for n in range(50)], "gzip")
    descriptor = Descriptor(sha256(blob), OCI_LAYER_GZIP, len(blob))
    store = LayerCache(tmp_path / "cache", enabled=False).index(
        descriptor, lambda: io.BytesIO(blob)
    )
    assert os.listdir(private_tmp) == [] and not (tmp_path / "cache").exists()
    assert store.node("/d49/f") == Node(Entry(FILE, 0o644, 1)) and store.members == 50
    assert len(store.children("/")) == 50  # read from the deleted file, still open
    store.close()
    with pytest.raises(layers.DigestMismatchError):
        LayerCache(enabled=False).index(Descriptor(sha256(b""), OCI_LAYER_GZIP),
                                        lambda: io.BytesIO(blob))  # fmt: skip
    assert os.listdir(private_tmp) == []


_NO_FILE_OVER_64K = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, resource.RLIM_INFINITY))
"""


def on_a_full_disk(script: str, *args: str,
                   env: dict[str, str] | None = None) -> tuple[str, str]:  # fmt: skip
    """(The first line ``script`` prints, its stderr), run from the repository root
    where no file can grow past 64 KiB."""
    done = subprocess.run(
        [sys.executable, "-c", _NO_FILE_OVER_64K + script, *args],
        capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1], check=True,
    )  # fmt: skip
    return done.stdout.split("\n")[0], done.stderr


_FULL_DISK = """
import io, os, sys
sys.path.insert(0, "tests")
from realroots import layer_tar, sha256
from octolint.image import layers
from octolint.image.cache import LayerCache
from octolint.image.model import OCI_LAYER_GZIP, Descriptor

blob = layer_tar([(f"d{n}/f{m}", "file", b"x") for n in range(100) for m in range(50)], "gzip")
descriptor = Descriptor(sha256(blob), OCI_LAYER_GZIP, len(blob))
opened = []
def open_blob():
    opened.append(1)
    return io.BytesIO(blob)
budget = layers.ImageBudget()
store = LayerCache(sys.argv[1]).index(descriptor, open_blob, budget)
print(len(opened), budget.members, store.members, store.node("/d99/f49") is not None,
      sorted(os.listdir(os.path.join(sys.argv[1], "layers"))), os.listdir(sys.argv[2]))
"""


def test_a_full_disk_reads_the_layer_again_and_charges_it_once(tmp_path: Path) -> None:
    # No file can grow past 64 KiB, and this layer's store needs more: the cache's file
    # fails, then a private one (the blob is read each time, the image charged once),
    # and the index is finally held in memory.
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    first, stderr = on_a_full_disk(_FULL_DISK, str(tmp_path / "cache"), str(tmp_path / "tmp"),
                                   env=env)  # fmt: skip
    assert first == "3 5000 5000 True [] []", stderr


_FULL_DISK_STORE = """
import os, sys
from octolint.image.cache import LayerCache
from octolint.image.model import FILE, Entry, LayerIndex

entries = {f"/d{n}/f{m}": Entry(FILE, 0o644, 1) for n in range(100) for m in range(50)}
index = LayerIndex(digest="sha256:" + "ab" * 32, entries=entries)
store = LayerCache(sys.argv[1]).store(index)
print(store.node("/d99/f49") is not None, sorted(os.listdir(os.path.join(sys.argv[1], "layers"))))
"""


def test_an_index_that_cannot_be_written_is_held_in_memory(tmp_path: Path) -> None:
    # LayerCache.store on a full disk: the store is whole (in memory), and the
    # temporary file it started is gone.
    first, stderr = on_a_full_disk(_FULL_DISK_STORE, str(tmp_path / "cache"))
    assert first == "True []", stderr


# -- checking entries once -------------------------------------------------------------


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The digests whose entries had their bytes checked, in order."""
    seen: list[str] = []
    real = store_module._check_bytes

    def counting(handle: BinaryIO, digest: str) -> None:
        seen.append(digest)
        real(handle, digest)

    monkeypatch.setattr(store_module, "_check_bytes", counting)
    return seen


def settle(path: Path) -> None:
    """Make a file look last modified an hour ago."""
    old = path.stat().st_mtime - 3600
    os.utime(path, (old, old))


def test_an_entry_that_passed_is_not_checked_again_until_it_changes(
    cache: LayerCache, checks: list[str]
) -> None:
    cache.store(sample_index())
    path = entry_file(cache)
    settle(path)
    checks.clear()
    assert same(cache.get(DIGEST), sample_index())
    try:
        os.getxattr(path, "user.octolint.checked")
    except OSError as exc:  # octolint then checks every time: nothing to test here
        pytest.skip(f"this filesystem keeps no user extended attributes ({exc})")
    assert same(cache.get(DIGEST), sample_index()) and same(cache.get(DIGEST), sample_index())
    assert checks == [DIGEST]  # once, however often it is opened
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x40
    path.write_bytes(bytes(data))  # an edit: a new modification time
    assert cache.get(DIGEST) is None and not path.exists()
    assert checks == [DIGEST, DIGEST]


def test_a_recently_modified_entry_is_checked_at_every_open(
    cache: LayerCache, checks: list[str]
) -> None:
    # Timestamps are coarse: an edit right after a check could keep the same time.
    cache.store(sample_index())
    checks.clear()
    for _ in range(3):
        assert same(cache.get(DIGEST), sample_index())
    assert checks == [DIGEST] * 3


# -- damage ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["flip", "flip-last", "truncate", "empty", "append"])
def test_a_damaged_entry_is_detected_deleted_and_rebuilt(cache: LayerCache, damage: str) -> None:
    blob = layer_tar([("etc/os-release", "file", b"12.5\n")], None)
    descriptor = Descriptor(sha256(blob), "")
    cache.index(descriptor, lambda: io.BytesIO(blob))
    path = entry_file(cache, descriptor.digest)
    data = bytearray(path.read_bytes())
    if damage.startswith("flip"):
        data[-10 if damage == "flip-last" else len(data) // 2] ^= 0x40
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

    assert cache.index(descriptor, reopen).file("/etc/os-release") == b"12.5\n"
    assert reads == [1]
    assert cache.get(descriptor.digest).file("/etc/os-release") == b"12.5\n"


def planted(cache: LayerCache, *statements: str) -> Path:
    """A genuine entry for DIGEST, altered with SQL and resealed."""
    cache.store(sample_index())
    path = entry_file(cache)
    alter(path, *statements)
    return path


@pytest.mark.parametrize(
    "statements",
    [
        ["UPDATE meta SET value='sha256:" + "cd" * 32 + "' WHERE key='digest'"],
        ["UPDATE meta SET value=1 WHERE key='format'"],
        ["CREATE VIEW v AS SELECT 1"],
        ["CREATE TRIGGER t AFTER INSERT ON file BEGIN DELETE FROM node; END"],
        ["DROP INDEX node_name"],
        ["DROP TABLE fact", "CREATE TABLE fact(path, key, value)"],
    ],
)
def test_planted_entries_of_another_shape_are_refused(
    cache: LayerCache, statements: list[str]
) -> None:
    path = planted(cache)
    assert same(cache.get(DIGEST), sample_index())  # resealing alone changes nothing
    path = planted(cache, *statements)
    assert cache.get(DIGEST) is None
    assert not path.exists()


@pytest.mark.parametrize(
    "statement, query",
    [
        ("UPDATE node SET kind='x' WHERE name=x'6e756c6c'", ("node", "/dev/null")),
        ("UPDATE node SET mode=4096 WHERE name=x'6e756c6c'", ("node", "/dev/null")),
        ("UPDATE node SET mode=-1 WHERE name=x'6e756c6c'", ("node", "/dev/null")),
        ("UPDATE node SET mode='rw' WHERE name=x'6e756c6c'", ("node", "/dev/null")),
        ("UPDATE node SET size=-5 WHERE name=x'6e756c6c'", ("node", "/dev/null")),
        ("UPDATE node SET size=1.5 WHERE name=x'6e756c6c'", ("node", "/dev/null")),
        ("UPDATE node SET link=7 WHERE name=x'62696e'", ("node", "/bin")),
        ("UPDATE node SET whiteout=2 WHERE name=x'746d70'", ("node", "/tmp")),
        ("UPDATE node SET opaque='yes' WHERE name=x'6361636865'", ("node", "/var/cache")),
        ("UPDATE node SET name='null' WHERE name=x'6e756c6c'", ("children", "/dev")),
        ("UPDATE node SET parent='/dev' WHERE name=x'6e756c6c'", ("named", "null")),
        (
            "UPDATE file SET data='text' WHERE path=x'2f6574632f6f732d72656c65617365'",
            ("file", "/etc/os-release"),
        ),
        ("UPDATE fact SET value=x'ff' WHERE key='glibc'", ("fact", "/lib/libc.so.6")),
    ],
)
def test_planted_rows_with_a_valid_checksum_are_refused_when_read(
    cache: LayerCache, statement: str, query: tuple[str, str]
) -> None:
    planted(cache, statement)
    store = cache.get(DIGEST)
    assert store is not None  # rows are only checked as they are read
    method, argument = query
    with pytest.raises(CorruptStoreError, match=DIGEST):
        if method == "fact":
            store.fact(argument, "glibc")
        else:
            getattr(store, method)(argument)
    assert store.node("/etc") == Node(Entry(DIR, 0o755))  # the rest still answers


def test_an_oversized_entry_is_refused_without_reading_it(cache: LayerCache) -> None:
    cache.store(sample_index())
    path = entry_file(cache)
    with open(path, "r+b") as handle:
        handle.truncate(5 << 30)  # sparse: nothing is written
    assert cache.get(DIGEST) is None and not path.exists()


@settings(
    max_examples=int(os.environ.get("GARBAGE_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.binary(max_size=300), st.integers(0, 6 * 4096), st.booleans())
def test_garbage_entries_are_misses_never_errors(
    tmp_path: Path, garbage: bytes, offset: int, sealed: bool
) -> None:
    cache = LayerCache(tmp_path / "c")
    path = planted(cache) if sealed else cache.directory / entry_name(DIGEST)
    cache.directory.mkdir(parents=True, exist_ok=True)
    data = bytearray(path.read_bytes() if sealed else b"")
    data[offset : offset + len(garbage)] = garbage
    path.write_bytes(bytes(data))
    if sealed:
        reseal(path)
    found = cache.get(DIGEST)
    if found is None:
        assert not path.exists()
        return
    try:  # a store that opens may still hold rows the forger changed
        answers(found, sample_index())
        found.children("/")
    except CorruptStoreError:
        pass


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
                cache.store(sample_index(digest)).close()
            found = cache.get(digest)
            if not same(found, sample_index(digest)):
                problems.append(f"{digest}: {found!r}")
    return problems


@pytest.mark.slow
def test_concurrent_writers_and_readers_never_see_half_an_entry(tmp_path: Path) -> None:
    digests = [f"sha256:{n:064x}" for n in range(4)]
    context = multiprocessing.get_context("fork")
    with context.Pool(6) as pool:
        results = [pool.apply_async(_hammer, (str(tmp_path), digests, 60)) for _ in range(6)]
        problems = [p for r in results for p in r.get(timeout=300)]
    assert problems == []
    cache = LayerCache(tmp_path)
    assert all(same(cache.get(d), sample_index(d)) for d in digests)
    assert sorted(os.listdir(cache.directory)) == sorted(entry_name(d) for d in digests)
    # no temporary file left behind


def test_the_files_rules_read_are_part_of_the_cache_key(tmp_path: Path) -> None:
    """An index cached before a rule asked for a file (READS_FILES) lacks its contents:
    a cache wanting that file must not take it, and its own entry keeps the file."""
    blob = layer_tar([("etc/acme.conf", "file", b"acme\n"),
                      ("etc/os-release", "file", b"ID=debian\n")], None)  # fmt: skip
    descriptor = Descriptor(sha256(blob), "")
    plain = LayerCache(tmp_path)
    assert plain.index(descriptor, lambda: io.BytesIO(blob)).file("/etc/acme.conf") is None
    wanting = LayerCache(tmp_path, kept=layers.kept_files([("/etc/acme.conf",)]))
    assert wanting.get(descriptor.digest) is None
    reads: list[int] = []

    def blob_stream() -> BinaryIO:
        reads.append(1)
        return io.BytesIO(blob)

    assert wanting.index(descriptor, blob_stream).file("/etc/acme.conf") == b"acme\n"
    assert wanting.get(descriptor.digest) is not None and reads == [1]
    # the same set of files is the same key, whatever order the rules gave them in
    again = LayerCache(tmp_path, kept=layers.kept_files([("/etc/os-release", "/etc/acme.conf")]))
    assert again.get(descriptor.digest) is not None
