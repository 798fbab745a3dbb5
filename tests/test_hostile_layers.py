"""Layers and manifests made to exhaust memory or file descriptors (issue 11).

Through the CLI, in the sandbox of tests/test_hostile_images.py (nothing written outside
the cache, no traceback): a PAX header bomb and a layer of long names are refused in one
line naming the image and the layer, within bounded peak memory (the RSS of the octolint
process), and nothing is cached for them; a manifest listing one layer thousands of times
is refused or read once, without running out of file descriptors. In process: each bound
on tar headers and on what an index keeps (layers.py) is a precise LayerError.
"""

from __future__ import annotations

import gzip
import io
import os
import resource
import subprocess
import sys
import tarfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_measured
from imagebuild import Blob, build_image, sha256, tar_layer
from realroots import cache_root
from test_hostile_images import (
    CLI_SECONDS,
    SHELL_LAYER,
    Sandbox,
    archive,
    error_line,
    findings,
    gz,
    image_of,
    make_sandbox,
    plain,
    snapshot,
)

from octolint.image import layers
from octolint.image import model as m

if TYPE_CHECKING:
    from infra import Proxy, Registry

RSS_BOUND = 500 << 20  # the bar for an input under a few megabytes
CACHE_BOUND = 1 << 20  # the shell layer's index: a few kilobytes


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """As in test_hostile_images: a fresh HOME, caches, TMPDIR and no Docker engine."""
    return make_sandbox(tmp_path)




# -- raw tar pieces --------------------------------------------------------------------------


def header(name: bytes, kind: bytes, size: int = 0, *,
           patch: dict[int, bytes] | None = None) -> bytes:  # fmt: skip
    """One 512-byte ustar header, checksummed, with bytes at ``patch`` offsets replaced."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:108], block[108:116], block[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    block[124:136], block[136:148] = b"%011o\0" % size, b"00000000000\0"
    block[156:157], block[257:265] = kind, b"ustar\x0000"
    for offset, data in (patch or {}).items():
        block[offset : offset + len(data)] = data
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(b"%d" % length) + len(body) != length:
        length = len(b"%d" % length) + len(body)
    return b"%d" % length + body


def pax(records: bytes, kind: bytes = b"x") -> bytes:
    return header(b"././@PaxHeader", kind, len(records)) + padded(records)


END = bytes(1024)
MEMBER = header(b"srv/file", b"0")


def index(tar: bytes) -> m.LayerIndex:
    blob = gzip.compress(tar, mtime=0)
    return layers.index_layer(io.BytesIO(blob), sha256(blob), m.OCI_LAYER_GZIP)


def refused(tar: bytes, reason: str) -> None:
    with pytest.raises(layers.LayerError, match=reason):
        index(tar)


# -- the layers, built once and kept between runs --------------------------------------


def kept_blob(name: str, make: Callable[[], bytes]) -> bytes:
    path = cache_root() / "hostile" / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{name}.{os.getpid()}")
        temp.write_bytes(make())
        os.replace(temp, path)
    return path.read_bytes()


def pax_bomb() -> bytes:
    """0.9 MB of gzip: one PAX header of 900 MiB, then a member. Concatenated gzip
    members (one MiB of 'a', compressed once and repeated) make it instant to build."""
    size = 900 << 20
    prefix = b"%d comment=" % size
    whole, part = divmod(size - len(prefix) - 1, 1 << 20)
    tail = b"a" * part + b"\n" + bytes(-size % 512) + MEMBER + END
    return (
        gzip.compress(header(b"././@PaxHeader", b"x", size) + prefix, mtime=0)
        + gzip.compress(b"a" * (1 << 20), 9, mtime=0) * whole
        + gzip.compress(tail, mtime=0)
    )


def named_layer(count: int, length: int, kind: bytes = b"x") -> bytes:
    """``count`` files whose names are ``length`` bytes long (distinct, in one directory),
    as PAX 'path' records (kind x) or GNU long names (kind L), gzipped."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    stem = b"srv/" + b"n" * (length - 14)
    out, batch = [], []
    for number in range(count):
        name = stem + b"%010d" % number
        if kind == b"x":
            batch.append(pax(pax_record(b"path", name)))
        else:
            batch.append(header(b"././@LongLink", b"L", len(name) + 1) + padded(name + b"\0"))
        batch.append(header(b"placeholder", b"0"))
        if len(batch) >= 512:
            out.append(packer.compress(b"".join(batch)))
            batch = []
    out.append(packer.compress(b"".join(batch) + END) + packer.flush())
    return b"".join(out)


def measured(sandbox: Sandbox, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Sandbox.run, through a wrapper that reports the CLI's peak RSS (bytes)."""
    before = snapshot(sandbox.root)
    started = time.monotonic()
    proc, peak = run_measured(
        [sys.executable, "-m", "octolint", *args],
        cwd=sandbox.root / "work", env=sandbox.env, timeout=CLI_SECONDS,
    )  # fmt: skip
    assert time.monotonic() - started < CLI_SECONDS
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    sandbox.check_writes(before)
    return proc, peak


def cache_size(sandbox: Sandbox) -> int:
    return sum(p.stat().st_size for p in sandbox.cache.rglob("*") if p.is_file())


def refused_through_the_cli(sandbox: Sandbox, blob: bytes, reason: str) -> None:
    layer = Blob(blob, m.OCI_LAYER_GZIP)
    path = archive(sandbox.root, image_of([plain(SHELL_LAYER), layer],
                                          diff_ids=[sha256(SHELL_LAYER), sha256(b"")]))  # fmt: skip
    proc, peak = measured(sandbox, "image", str(path))
    line = error_line(proc)
    assert f"image {path} (archive {path}): reading layer 2 of 2 ({layer.digest[:19]})" in line
    assert reason in line, line
    assert peak < RSS_BOUND, f"peak RSS {peak >> 20} MiB"
    assert cache_size(sandbox) < CACHE_BOUND


# -- the cases, through the CLI ---------------------------------------------------------


def test_a_pax_header_bomb_is_refused_before_it_is_read(sandbox: Sandbox) -> None:
    blob = pax_bomb()
    assert len(blob) < 1 << 20
    refused_through_the_cli(sandbox, blob, "the tar headers of one member take 943718")


def test_long_names_are_refused_before_they_are_stored(sandbox: Sandbox) -> None:
    # 60,000 files with 16 KiB names in 1.9 MB: 1 GB of names (3.2 GB of memory before).
    blob = kept_blob("long-names.tar.gz", lambda: named_layer(60_000, 16 << 10))
    assert len(blob) < 2 << 20
    refused_through_the_cli(sandbox, blob, "a member's name is 16384 bytes long")


@pytest.mark.slow
def test_names_within_path_max_are_bounded_per_layer(sandbox: Sandbox) -> None:
    # 36,000 names of 4000 bytes (GNU long names): 144 MB of names in 0.7 MB of gzip.
    blob = kept_blob("path-max-names.tar.gz", lambda: named_layer(36_000, 4000, b"L"))
    refused_through_the_cli(sandbox, blob, f"keeps more than {layers.MAX_INDEX_BYTES >> 20} MiB")


def test_thousands_of_references_to_one_layer_are_refused(sandbox: Sandbox) -> None:
    path = archive(sandbox.root, image_of([gz(SHELL_LAYER)] * 24_000))
    line = error_line(sandbox.run("image", str(path)))
    assert f"image {path} (archive {path}): lists 24000 layers: refused (at most 1000" in line


def _few_descriptors() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))


def test_a_layer_listed_a_thousand_times_opens_once(sandbox: Sandbox) -> None:
    # Each reference used to open its own cached store: with 128 descriptors, EMFILE.
    path = archive(sandbox.root, image_of([gz(SHELL_LAYER)] * 1000))
    for _ in ("cold", "warm"):
        proc = subprocess.run(
            [sys.executable, "-m", "octolint", "image", str(path), "--format", "json"],
            cwd=sandbox.root / "work", env=sandbox.env, capture_output=True, text=True,
            timeout=CLI_SECONDS, preexec_fn=_few_descriptors,
        )  # fmt: skip
        assert not [f for f in findings(proc) if "/bin/sh" in f["message"]], proc.stdout
    assert len(list(sandbox.cache.glob("layers/*.idx"))) == 1


def test_a_layer_listed_16_times_is_downloaded_once(
    plain_registry: Registry, fault_proxy: Proxy, tmp_path: Path
) -> None:
    layer = tar_layer({"bin/sh": b"#!fake shell\n"}, dirs=["bin"])
    image = build_image([layer] * 16, cmd=["/bin/sh"])
    plain_registry.push("hostile/repeated", "1", image)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCTOLINT_", "DOCKER_"))}
    env.update(DOCKER_CONFIG=str(tmp_path), DOCKER_HOST=f"unix://{tmp_path}/none.sock",
               NO_PROXY="127.0.0.1,localhost", NO_COLOR="1")  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "octolint", "image", "--source", "registry", "--no-cache",
         fault_proxy.ref("hostile/repeated", "1"), "--format", "json"],
        env=env, capture_output=True, text=True, timeout=CLI_SECONDS,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    digest = image.layers[0].digest
    assert [s for s in fault_proxy.seen if s.startswith("GET") and digest in s] != []
    assert len([s for s in fault_proxy.seen if s.startswith("GET") and digest in s]) == 1


# -- each bound on tar headers, in process --------------------------------------------------------


def test_a_gnu_long_name_over_the_header_bound_is_not_read() -> None:
    name = b"n" * (2 << 20)
    refused(header(b"././@LongLink", b"L", len(name)) + padded(name) + MEMBER + END,
            "the tar headers of one member take 2097")  # fmt: skip


def test_headers_of_one_member_are_bounded_together() -> None:
    # Each under the bound, together over it: a PAX header then a GNU long link.
    half = b"l" * (600 << 10)
    tar = pax(pax_record(b"comment", half)) + header(b"././@LongLink", b"K", len(half))
    refused(tar + padded(half) + MEMBER + END, "the tar headers of one member take")


@pytest.mark.parametrize("count", [layers.MAX_EXTENDED_HEADERS + 1, 5000])
def test_a_chain_of_extended_headers_is_refused(count: int) -> None:
    # tarfile recurses once per header: 5000 would be a RecursionError (a traceback).
    refused(pax(pax_record(b"comment", b"x")) * count + MEMBER + END,
            f"more than {layers.MAX_EXTENDED_HEADERS} extended tar headers")  # fmt: skip


def test_global_pax_headers_are_bounded() -> None:
    records = b"".join(pax_record(b"key%d" % n, b"v") for n in range(layers.MAX_GLOBAL_KEYS + 1))
    refused(pax(records, b"g") + MEMBER + END, "global PAX headers of 65 keys")
    fine = pax(pax_record(b"comment", b"commit 0123abc"), b"g") + MEMBER + END
    assert "/srv/file" in index(fine).entries


def test_an_old_gnu_sparse_map_is_bounded() -> None:
    # Each extension block adds 21 extents and says whether another one follows.
    extension = bytearray(512)
    extension[0:24] = b"%011o\0%011o\0" % (512, 512)
    extension[504] = 1
    sparse = header(b"srv/sparse", b"S", 0, patch={482: b"\x01", 483: b"%011o\0" % 4096})
    refused(sparse + bytes(extension) * 4000 + END, "the tar headers of one member take")


@pytest.mark.parametrize("map_text", [b"12abc\n", b"2\n0\n", b"x" * 512])
def test_a_malformed_gnu_sparse_map_is_a_precise_error(map_text: bytes) -> None:
    # tarfile lets ValueError and IndexError out of sparse maps.
    records = b"".join(pax_record(k, v) for k, v in [(b"GNU.sparse.major", b"1"),
                       (b"GNU.sparse.minor", b"0"), (b"GNU.sparse.name", b"srv/f")])  # fmt: skip
    tar = pax(records) + header(b"srv/f", b"0", len(map_text)) + padded(map_text) + END
    refused(tar, "not a valid layer tar")


def test_a_sparse_file_is_never_scanned() -> None:
    # Its holes are made up by tarfile, not read: scanning this 'libc.so.6' (its banner,
    # then 8 GiB of holes) took 90 s, for 1.5 KB of tar.
    banner = b"GNU C Library (x) stable release version 2.36.\n"
    records = b"".join(pax_record(k, v) for k, v in [(b"GNU.sparse.major", b"1"),
                       (b"GNU.sparse.minor", b"0"), (b"GNU.sparse.name", b"lib/libc.so.6"),
                       (b"GNU.sparse.realsize", b"%d" % (8 << 30))])  # fmt: skip
    data = padded(b"1\n0\n%d\n" % len(banner)) + padded(banner)
    tar = pax(records) + header(b"lib/libc.so.6", b"0", len(data)) + data + END
    started = time.monotonic()
    found = index(tar)
    assert time.monotonic() - started < 10  # expected: milliseconds (it took 90 s)
    assert found.entries["/lib/libc.so.6"].size == 8 << 30 and not found.facts


# -- what an index keeps -------------------------------------------------------------------------


def test_a_path_or_link_target_over_path_max_is_refused() -> None:
    long_path = b"srv/" + b"n" * 4093
    refused(pax(pax_record(b"path", long_path)) + MEMBER + END, "name is 4097 bytes long")
    link = pax(pax_record(b"linkpath", b"/" + b"t" * 4096)) + header(b"srv/l", b"2")
    refused(link + END, "link target is 4097 bytes long")
    fine = pax(pax_record(b"path", long_path[:-1])) + MEMBER + END
    assert "/" + long_path[:-1].decode() in index(fine).entries


def test_directories_a_deep_path_implies_are_paid_for(monkeypatch: pytest.MonkeyPatch) -> None:
    # Twenty paths of 4000 bytes are 80 KB, but each implies 2000 directories of
    # 2000 bytes on average, all different: 80 MB in the index and its store.
    monkeypatch.setattr(layers, "MAX_INDEX_BYTES", 8 << 20)
    deep = [pax(pax_record(b"path", b"t%02d/" % n + b"d/" * 1990 + b"f")) + MEMBER
            for n in range(20)]  # fmt: skip
    refused(b"".join(deep) + END, "keeps more than 8 MiB")
    shared = [pax(pax_record(b"path", b"d/" * 1990 + b"f%02d" % n)) + MEMBER for n in range(20)]
    assert len(index(b"".join(shared) + END).entries) == 20


def test_kept_files_count_towards_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "MAX_INDEX_BYTES", 8 << 20)
    content = b"# " + b"x" * (256 << 10)
    files = {f"etc/ld.so.conf.d/{n}.conf": content for n in range(40)}  # 10 MiB kept
    refused(tar_layer(files, dirs=["etc", "etc/ld.so.conf.d"]), "keeps more than 8 MiB")


def test_the_layers_of_one_image_share_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "MAX_IMAGE_INDEX_BYTES", 3 << 20)
    budget = layers.ImageBudget()
    for number in range(2):
        names = {f"srv/{number}/{'n' * 2000}{n:05}": b"" for n in range(1000)}  # 2 MB
        blob = tar_layer(names)
        if number == 0:
            layers.index_layer(io.BytesIO(blob), sha256(blob), "", image=budget)
            continue
        with pytest.raises(layers.LayerError, match="the image's layers together keep more"):
            layers.index_layer(io.BytesIO(blob), sha256(blob), "", image=budget)


def test_a_glibc_banner_with_a_huge_version_is_harmless() -> None:
    banner = b"GNU C Library (x) stable release version " + b"9" * 100_000 + b".1."
    tar = tar_layer({"lib/libc.so.6": b"\x00GLIBC_2." + b"7" * 10_000 + b"\x00" + banner})
    assert index(tar).facts.get("/lib/libc.so.6", {}).get("glibc", "") in ("", "2.7")


def test_real_tar_writers_pass() -> None:
    # GNU long names and PAX headers as tarfile writes them, for names up to PATH_MAX.
    buffer = io.BytesIO()
    for form in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=form) as tar:
            info = tarfile.TarInfo("srv/" + "n" * 4000)
            tar.addfile(info)
            link = tarfile.TarInfo("srv/l")
            link.type, link.linkname = tarfile.SYMTYPE, "/" + "t" * 4000
            link.pax_headers = {"SCHILY.xattr.user.big": "v" * (60 << 10)}
            tar.addfile(link)
        found = index(buffer.getvalue())
        assert found.entries["/srv/l"].link == "/" + "t" * 4000
        assert "/srv/" + "n" * 4000 in found.entries


def test_cached_layers_count_towards_the_image_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An image over its bound is refused whether its layers are cached or not.
    from octolint.api import make_engine
    from octolint.image.scan import ScanOptions, scan_images

    monkeypatch.setenv("OCTOLINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(layers, "MAX_IMAGE_INDEX_BYTES", 3 << 20)
    first, second = (tar_layer({f"srv/{n}/{'n' * 2000}{i:05}": b"" for i in range(1000)})
                     for n in range(2))  # fmt: skip
    (tmp_path / "work").mkdir()
    small = archive(tmp_path, image_of([plain(SHELL_LAYER), plain(first)]))
    engine = make_engine([str(tmp_path)])
    scan_images([str(small)], engine, ScanOptions(source="archive"))  # caches `first`
    big = archive(tmp_path, image_of([plain(SHELL_LAYER), plain(first), plain(second)]))
    for use_cache in (False, True):
        result = scan_images([str(big)], engine, ScanOptions(source="archive", use_cache=use_cache))
        (failure,) = result.report.errors  # reported, not raised: other images go on
        assert failure.input == str(big)
        assert "the image's layers together keep more than 3" in failure.message
