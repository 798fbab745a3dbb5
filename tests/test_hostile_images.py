"""`octolint image` on hostile and broken images: a precise error (exit 3) or a correct
result, within bounds of time and memory, and nothing written outside the cache.

Every case runs the real CLI in a sandbox: a fresh HOME, XDG_CACHE_HOME, TMPDIR,
DOCKER_CONFIG and working directory under the test's tmp_path, no Docker engine.
After the run, the only files created or changed anywhere under tmp_path are in
octolint's cache directory, the archive is byte-for-byte and timestamp unchanged,
and the paths hostile tar members name (absolute, ``..``) do not exist on the host.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import zstandard
from conftest import run_measured
from imagebuild import Blob, Image, canonical_json, make_config, sha256, write_oci_archive
from realroots import SpecItem, cache_root, layer_tar

from octolint.image import layers
from octolint.image import model as m
from octolint.schemas import load_schema

SHELL_LAYER = layer_tar(
    [("bin", "dir", None), ("bin/sh", "file", b"#!fake shell\n", 0o755),
     ("bin/bash", "file", b"#!fake bash\n", 0o755)],
    None,
)  # fmt: skip
REPORT_SCHEMA = load_schema("octolint-report.schema.json")
CLI_SECONDS = 60  # any single hostile case; most take about a second


# -- the sandbox --------------------------------------------------------------------------


@dataclass
class Sandbox:
    root: Path
    env: dict[str, str]

    @property
    def cache(self) -> Path:
        return self.root / "xdg-cache" / "octolint"

    def run(self, *args: str, timeout: float = CLI_SECONDS) -> subprocess.CompletedProcess[str]:
        """Run the CLI; check it wrote nothing outside its cache and printed no traceback."""
        before = snapshot(self.root)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "octolint", *args],
            cwd=self.root / "work",
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert time.monotonic() - started < timeout
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
        self.check_writes(before)
        return proc

    def check_writes(self, before: dict[str, tuple[int, int, int]]) -> None:
        after = snapshot(self.root)
        cache = os.path.relpath(self.cache, self.root)
        changed = {p for p in after.keys() | before.keys() if after.get(p) != before.get(p)}
        outside = {p for p in changed if p != cache and not p.startswith(cache + os.sep)}
        # The cache's parent directory changes when the cache is first created.
        assert outside <= {"xdg-cache"}, f"written outside the cache: {sorted(outside)}"


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """path -> (mode, size, mtime_ns) of everything under root (links not followed)."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            found[os.path.relpath(path, root)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def make_sandbox(tmp_path: Path) -> Sandbox:
    """A fresh HOME, caches, TMPDIR and DOCKER_CONFIG, and no Docker engine."""
    for name in ("home", "xdg-cache", "tmp", "work", "docker-config"):
        (tmp_path / name).mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OCTOLINT_", "DOCKER_", "XDG_")) and key not in ("HOME", "TMPDIR")
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        TMPDIR=str(tmp_path / "tmp"),
        DOCKER_CONFIG=str(tmp_path / "docker-config"),
        DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
        NO_COLOR="1",
    )
    return Sandbox(tmp_path, env)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    yield make_sandbox(tmp_path)


# -- images with hand-made blobs ----------------------------------------------------------


def image_of(
    blobs: list[Blob],
    *,
    diff_ids: list[str] | None = None,
    config_data: bytes | None = None,
    config_type: str = m.OCI_CONFIG,
    patch_config: Callable[[dict[str, Any]], None] | None = None,
    **config_args: Any,
) -> Image:
    """An image whose layer blobs are exactly ``blobs`` (broken ones included)."""
    config_args.setdefault("cmd", ["/bin/sh"])
    config = make_config(**config_args)
    config["rootfs"]["diff_ids"] = diff_ids or [_diff_id(b.data) for b in blobs]
    config["history"] = [{"created_by": "COPY . /"} for _ in blobs]
    if patch_config:
        patch_config(config)
    config_blob = Blob(config_data if config_data is not None else canonical_json(config),
                       config_type)  # fmt: skip
    manifest = {
        "schemaVersion": 2,
        "mediaType": m.OCI_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [b.descriptor() for b in blobs],
    }
    return Image(config, config_blob, blobs, [], Blob(canonical_json(manifest), m.OCI_MANIFEST),
                 m.DEFAULT_PLATFORM)  # fmt: skip


def _diff_id(blob: bytes) -> str:
    try:
        if blob.startswith(b"\x1f\x8b"):
            return sha256(gzip.decompress(blob))
        if blob.startswith(b"\x28\xb5\x2f\xfd"):
            return sha256(zstandard.ZstdDecompressor().decompressobj().decompress(blob))
    except Exception:  # a broken blob: any well-formed diff_id will do
        pass
    return sha256(blob)


def gz(data: bytes) -> Blob:
    return Blob(gzip.compress(data, mtime=0), m.OCI_LAYER_GZIP)


def zst(data: bytes) -> Blob:
    return Blob(zstandard.ZstdCompressor().compress(data), m.OCI_LAYER_ZSTD)


def plain(data: bytes) -> Blob:
    return Blob(data, m.OCI_LAYER_TAR)


def archive(tmp_path: Path, image: Image) -> Path:
    return write_oci_archive(tmp_path / "work" / "image.tar", [("test", image)])


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def scan(
    sandbox: Sandbox, image: Image, *extra: str, timeout: float = CLI_SECONDS
) -> tuple[subprocess.CompletedProcess[str], Path]:
    path = archive(sandbox.root, image)
    before = fingerprint(path)
    proc = sandbox.run("image", str(path), *extra, timeout=timeout)
    assert fingerprint(path) == before, "the archive was modified"
    return proc, path


def findings(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, REPORT_SCHEMA)
    return list(report["findings"])


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("octolint: error: "), proc.stderr
    return lines[0]


# -- broken compression and broken tars: exit 3 naming the image and the layer -------------

TAR = layer_tar([("etc", "dir", None), ("etc/os-release", "file", b"ID=debian\n" * 2000)], None)


def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


BROKEN_LAYERS: dict[str, tuple[Blob, str]] = {
    "truncated-gzip": (Blob(gz(TAR).data[: len(gz(TAR).data) // 2], m.OCI_LAYER_GZIP),
                       "invalid gzip data"),
    "corrupt-gzip": (Blob(_flip_middle(gz(TAR).data), m.OCI_LAYER_GZIP), "invalid gzip data"),
    "truncated-zstd": (Blob(zst(TAR).data[:-20], m.OCI_LAYER_ZSTD), "invalid zstd data"),
    # Without a frame checksum, damaged zstd may decode to damaged tar headers.
    "corrupt-zstd": (Blob(_flip_middle(zst(TAR).data), m.OCI_LAYER_ZSTD),
                     "(invalid zstd data|not a valid layer tar)"),
    "garbage": (Blob(b"\x00garbage" * 300, m.OCI_LAYER_TAR), "not a valid layer tar"),
    "truncated-tar": (plain(TAR[:1500]), "unexpected end of data"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN_LAYERS))
def test_broken_layers_are_a_precise_error(sandbox: Sandbox, case: str) -> None:
    blob, reason = BROKEN_LAYERS[case]
    proc, path = scan(sandbox, image_of([plain(SHELL_LAYER), blob]))
    line = error_line(proc)
    assert f"image {path} (archive {path})" in line
    assert f"reading layer 2 of 2 ({blob.digest[:19]})" in line
    assert re.search(reason, line)
    cached = [p.name for p in sandbox.cache.glob("layers/*")]
    assert not [name for name in cached if blob.digest.split(":")[1] in name]


def zstd_bomb(gib: int) -> bytes:
    """A layer of one file of ``gib`` GiB of zeros: ~32 KiB of zstd per GiB."""
    info = tarfile.TarInfo("srv/zeros")
    info.size = gib << 30
    compressor = zstandard.ZstdCompressor(level=3)
    first = compressor.compress(info.tobuf(tarfile.PAX_FORMAT) + bytes(1 << 30))
    return first + compressor.compress(bytes(1 << 30)) * (gib - 1)


@pytest.mark.slow
def test_a_zstd_decompression_bomb_is_refused_quickly(sandbox: Sandbox) -> None:
    bomb = Blob(zstd_bomb(64), m.OCI_LAYER_ZSTD)  # 2 MiB that would expand to 64 GiB
    assert len(bomb.data) < 4 << 20
    # Expected: about 10 s on a loaded 2-core VM (MAX_EXPANSION x 2 MiB is decompressed
    # before the refusal); 10x that. All 64 GiB would take several minutes.
    bound = 100
    started = time.monotonic()
    proc, _ = scan(sandbox, image_of([plain(SHELL_LAYER), bomb], diff_ids=[sha256(SHELL_LAYER),
                                     "sha256:" + "0" * 64]), timeout=bound)  # fmt: skip
    assert time.monotonic() - started < bound
    line = error_line(proc)
    assert "reading layer 2 of 2" in line and "decompression bomb" in line
    assert f"{layers.MAX_EXPANSION} times its compressed size" in line


@pytest.mark.slow
def test_a_gzip_bomb_is_bounded_by_deflate_itself(sandbox: Sandbox) -> None:
    # Deflate cannot exceed 1032:1, so a gzip "bomb" costs time in proportion to its
    # size and gives the correct result: here 256 KiB of gzip holding a 256 MiB file.
    info = tarfile.TarInfo("srv/zeros")
    info.size = 256 << 20
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = packer.compress(info.tobuf(tarfile.PAX_FORMAT) + bytes(info.size) + bytes(1024))
    data += packer.flush()
    assert len(data) * 1000 < info.size
    started = time.monotonic()
    proc, _ = scan(sandbox, image_of([plain(SHELL_LAYER), Blob(data, m.OCI_LAYER_GZIP)]),
                   "--format", "json")  # fmt: skip
    assert time.monotonic() - started < CLI_SECONDS  # expected: about 6 s on a loaded VM
    assert not [f for f in findings(proc) if "has no /bin/sh" in f["message"]]


def test_the_entry_limit_is_a_precise_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The limit itself (2 million) is far too slow to reach in a test: lower it.
    monkeypatch.setattr(layers, "MAX_ENTRIES", 100)
    blob = gzip.compress(layer_tar([(f"f{n}", "file", b"") for n in range(101)], None))
    import io

    with pytest.raises(layers.LayerError, match="more than 100 entries"):
        layers.index_layer(io.BytesIO(blob), sha256(blob), m.OCI_LAYER_GZIP)
    fine = gzip.compress(layer_tar([(f"f{n}", "file", b"") for n in range(100)], None))
    assert len(layers.index_layer(io.BytesIO(fine), sha256(fine), "").entries) == 100


# -- hostile but valid layers: a correct result, nothing escapes --------------------------


def escaping_layer(marker: str) -> bytes:
    spec: list[SpecItem] = [
        (f"/tmp/{marker}-absolute", "file", b"absolute\n"),
        (f"../../../../../../tmp/{marker}-dotdot", "file", b"dotdot\n"),
        (f"a/../../../tmp/{marker}-middle", "file", b"middle\n"),
        ("escape-link", "symlink", f"../../../../tmp/{marker}-absolute"),
        ("escape-abs", "symlink", "/etc/shadow"),
        ("escape-hard", "hardlink", f"../../../tmp/{marker}-dotdot"),
        ("bin/escape-sh", "symlink", "../../../../../bin/sh"),
    ]
    return layer_tar(spec, None)


def test_absolute_and_dotdot_members_stay_inside_the_image(sandbox: Sandbox) -> None:
    marker = f"octolint-escape-{uuid.uuid4().hex}"
    image = image_of([plain(SHELL_LAYER), gz(escaping_layer(marker))],
                     entrypoint=["/escape-link"], cmd=None)  # fmt: skip
    proc, _ = scan(sandbox, image, "--format", "json")
    found = findings(proc)
    for suffix in ("absolute", "dotdot", "middle"):
        assert not Path(f"/tmp/{marker}-{suffix}").exists()
    assert not any(Path(sandbox.root).rglob(f"{marker}*"))
    # /escape-link -> /tmp/<marker>-absolute *in the image*: a regular file without an
    # execute bit there, which OCT201 (entrypoint) reports; it never looked at the host.
    assert any(f["rule_id"] == "OCT201" for f in found)


SPECIAL_LAYER = layer_tar(
    [("dev", "dir", None), ("dev/null", "chardev", None), ("run/pipe", "fifo", None),
     ("usr/lib/libgone.so.1", "hardlink", "usr/lib/never-there.so.1"),
     ("usr/bin/loop-a", "symlink", "loop-b"), ("usr/bin/loop-b", "symlink", "loop-a"),
     ("usr/bin/self", "symlink", "self"), ("usr/bin/real-sh", "file", b"#!sh", 0o755)]
    + [(f"usr/bin/chain{n}", "symlink", f"chain{n + 1}") for n in range(60)]
    + [("usr/bin/chain60", "symlink", "/usr/bin/real-sh")],
    None,
)  # fmt: skip


@pytest.mark.parametrize(
    ("sh", "runs"),
    [("/usr/bin/loop-a", False), ("/usr/bin/self", False), ("/usr/bin/chain0", False),
     ("/usr/bin/chain22", True), ("/usr/bin/chain21", False),
     ("/usr/lib/libgone.so.1", False), ("/dev/null", False), ("/run/pipe", False),
     ("/usr/bin/real-sh", True)],
    ids=["loop", "self-loop", "chain-of-62", "chain-of-40", "chain-of-41",
         "hard-link-to-nothing", "device", "fifo", "plain"],
)  # fmt: skip
def test_devices_dangling_hard_links_and_symlink_loops(
    sandbox: Sandbox, sh: str, runs: bool
) -> None:
    # Links followed from /bin/sh: itself, then chainN .. chain60. Linux gives up (ELOOP)
    # beyond 40, so does octolint: chain22 makes 40, chain21 41.
    kind = "hardlink" if sh == "/usr/lib/libgone.so.1" else "symlink"
    target = sh.lstrip("/") if kind == "hardlink" else sh
    bin_sh = layer_tar([("bin", "dir", None), ("bin/sh", kind, target)], None)
    image = image_of([plain(SPECIAL_LAYER), plain(bin_sh)])
    proc, _ = scan(sandbox, image, "--format", "json")
    no_shell = [f for f in findings(proc) if "has no /bin/sh" in f["message"]]
    assert bool(no_shell) != runs


def test_a_layer_that_whiteouts_the_root_empties_the_lower_layers(sandbox: Sandbox) -> None:
    wipe = layer_tar([(".wh..wh..opq", "file", b""), ("./.wh..", "file", b""),
                      ("/.wh.", "file", b""), ("kept", "file", b"x")], None)  # fmt: skip
    proc, _ = scan(sandbox, image_of([plain(SHELL_LAYER), plain(wipe)]), "--format", "json")
    # The lower layer's shell is gone: /bin/sh is missing.
    assert [f for f in findings(proc) if "has no /bin/sh" in f["message"]]
    proc, _ = scan(sandbox, image_of([plain(SHELL_LAYER)]), "--format", "json")
    assert not [f for f in findings(proc) if "has no /bin/sh" in f["message"]]


# -- manifests and configs that are not what they claim ------------------------------------

GOOD = plain(SHELL_LAYER)


def _with_manifest(image: Image, edit: Callable[[dict[str, Any]], None]) -> Image:
    document = json.loads(image.manifest.data)
    edit(document)
    image.manifest = Blob(canonical_json(document), m.OCI_MANIFEST)
    return image


def _raw_manifest(image: Image, data: bytes) -> Image:
    image.manifest = Blob(data, m.OCI_MANIFEST)
    return image


HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"


def _manifest_type(image: Image) -> Image:
    return _with_manifest(image, lambda d: d.update(mediaType="application/x-evil"))


def _layer_digest(image: Image) -> Image:
    return _with_manifest(image, lambda d: d["layers"][0].update(digest="sha256:../../x"))


BAD_DOCUMENTS: dict[str, tuple[Callable[[], Image], str]] = {
    "manifest-not-json": (
        lambda: _raw_manifest(image_of([GOOD]), b"<html>not json</html>"),
        "manifest is not valid JSON",
    ),
    "manifest-not-object": (
        lambda: _raw_manifest(image_of([GOOD]), b"[1, 2, 3]"),
        "manifest is not a JSON object",
    ),
    "config-not-json": (
        lambda: image_of([GOOD], config_data=b"\xff\xfe binary"),
        "is not valid JSON",
    ),
    "config-without-rootfs": (lambda: image_of([GOOD], config_data=b"{}"), "has no 'rootfs'"),
    "config-media-type": (
        lambda: image_of([GOOD], config_type=HELM_CONFIG),
        "not a container image",
    ),
    "layer-media-type": (
        lambda: image_of([Blob(SHELL_LAYER, "text/html")]),
        "layer 1 has media type 'text/html'",
    ),
    "manifest-media-type": (
        lambda: _manifest_type(image_of([GOOD])),
        "mediaType 'application/x-evil'",
    ),
    "diff-id-count": (
        lambda: image_of([GOOD], diff_ids=[sha256(SHELL_LAYER)] * 2),
        "lists 1 layers but its config has 2 diff_ids",
    ),
    "bad-diff-id": (
        lambda: image_of([GOOD], diff_ids=["sha256:../../etc/passwd"]),
        "invalid digest",
    ),
    "layer-digest-syntax": (lambda: _layer_digest(image_of([GOOD])), "invalid digest"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCUMENTS))
def test_documents_that_are_not_what_they_claim(sandbox: Sandbox, case: str) -> None:
    build, reason = BAD_DOCUMENTS[case]
    proc, path = scan(sandbox, build())
    line = error_line(proc)
    assert str(path) in line and reason in line


def test_a_config_digest_mismatch_is_refused(sandbox: Sandbox) -> None:
    image = image_of([GOOD])
    real = image.config
    document = json.loads(image.manifest.data)
    forged = Blob(real.data.replace(b'"Cmd":["/bin/sh"]', b'"Cmd":["/bin/bash"]'), real.media_type)
    assert forged.data != real.data
    # The manifest names the real config; the archive holds other bytes under that name.
    image.config = forged
    image = _raw_manifest(image, canonical_json(document))
    path = archive(sandbox.root, image)
    with tarfile.open(path) as tar:
        names = tar.getnames()
    rewritten = {}
    with tarfile.open(path) as tar:
        for name in names:
            member = tar.getmember(name)
            if member.isfile():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                if name.endswith(forged.digest.split(":")[1]):
                    name = "blobs/sha256/" + real.digest.split(":")[1]
                rewritten[name] = data
    from imagebuild import write_tar

    path.unlink()
    write_tar(path, rewritten)
    proc = sandbox.run("image", str(path))
    line = error_line(proc)
    assert f"config {real.digest[:19]}: content does not match its digest" in line


def test_a_layer_digest_mismatch_is_refused_and_not_cached(sandbox: Sandbox) -> None:
    other = gz(SHELL_LAYER + b"")
    image = image_of([GOOD])
    # The manifest's layer digest names a blob whose bytes are something else.
    image.layers = [Blob(other.data, m.OCI_LAYER_GZIP)]
    document = json.loads(image.manifest.data)
    document["layers"][0]["digest"] = GOOD.digest
    document["layers"][0]["size"] = len(other.data)
    image = _raw_manifest(image, canonical_json(document))
    files = {}
    path = archive(sandbox.root, image)
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                name = member.name.replace(other.digest.split(":")[1], GOOD.digest.split(":")[1])
                files[name] = data
    from imagebuild import write_tar

    path.unlink()
    write_tar(path, files)
    proc = sandbox.run("image", str(path))
    line = error_line(proc)
    assert "reading layer 1 of 1" in line and "digest mismatch" in line
    assert not list(sandbox.cache.glob("layers/*"))


# -- a million entries: time and peak memory ------------------------------------------------

MILLION = 1_000_000
MILLION_SECONDS = 300  # measured: ~30 s (SECURITY.md); 10x that, so load cannot fail it
MILLION_RSS = 768 << 20  # measured: ~450 MiB; see SECURITY.md


def _ustar_header(name: bytes, kind: bytes) -> bytes:
    header = bytearray(512)
    header[: len(name)] = name
    header[100:108], header[108:116], header[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    header[124:136], header[136:148] = b"00000000000\0", b"00000000000\0"
    header[156:157], header[257:265] = kind, b"ustar\x0000"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def million_entry_layer() -> Path:
    """A gzip layer of 1000 directories of 1000 empty files (7 MB), kept between runs."""
    path = cache_root() / "hostile" / "million-entries.tar.gz"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    with temp.open("wb") as out:
        for directory in range(MILLION // 1000):
            out.write(packer.compress(_ustar_header(b"d%04d/" % directory, b"5")))
            for number in range(1000):
                name = b"d%04d/f%04d" % (directory, number)
                out.write(packer.compress(_ustar_header(name, b"0")))
        out.write(packer.compress(bytes(1024)) + packer.flush())
    os.replace(temp, path)
    return path


@pytest.mark.slow
def test_a_million_entries_in_bounded_time_and_memory(sandbox: Sandbox) -> None:
    blob = Blob(million_entry_layer().read_bytes(), m.OCI_LAYER_GZIP)
    path = archive(sandbox.root, image_of([plain(SHELL_LAYER), blob]))
    started = time.monotonic()
    proc, peak = run_measured(
        [sys.executable, "-m", "octolint", "image", str(path), "--format", "json"],
        cwd=sandbox.root / "work", env=sandbox.env, timeout=MILLION_SECONDS,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode in (0, 1), proc.stderr.splitlines()
    assert elapsed < MILLION_SECONDS
    assert peak < MILLION_RSS, f"peak RSS {peak // 2**20} MiB"
    report = json.loads(proc.stdout)
    assert len(report["files"]) == 1 and "internal error" not in proc.stderr


# -- the archive or layout itself tries to reach out --------------------------------------


def test_a_layout_whose_blobs_link_outside_it_is_refused(sandbox: Sandbox) -> None:
    from imagebuild import write_oci_layout

    image = image_of([GOOD])
    layout = write_oci_layout(sandbox.root / "work" / "layout", [("x", image)])
    # The config blob becomes a link to a file outside the layout, with the right
    # content even: the digest would match, so only the link itself can be refused.
    outside = sandbox.root / "home" / "config.json"
    outside.write_bytes(image.config.data)
    blob = layout / "blobs" / "sha256" / image.config.digest.split(":")[1]
    blob.unlink()
    blob.symlink_to(outside)
    line = error_line(sandbox.run("image", str(layout)))
    assert f"missing blob {image.config.digest[:19]}" in line
    # A link that stays inside the layout is fine.
    inside = layout / "moved-config"
    inside.write_bytes(image.config.data)
    blob.unlink()
    blob.symlink_to("../../moved-config")
    assert sandbox.run("image", str(layout), "-f", "json").returncode in (0, 1)


def test_archive_members_with_absolute_dotdot_and_linked_names_are_not_followed(
    sandbox: Sandbox,
) -> None:
    from imagebuild import _layout_files, write_tar

    image = image_of([GOOD])
    files = _layout_files([("x", image)])
    config_member = "blobs/sha256/" + image.config.digest.split(":")[1]
    secret = sandbox.root / "home" / "outside.json"
    secret.write_bytes(files.pop(config_member))  # right content, outside the archive
    hostile = {f"../../{sandbox.root.name}/home/outside.json": b"x", "/abs/evil": b"x"}
    path = sandbox.root / "work" / "image.tar"
    write_tar(path, {**hostile, **files}, symlinks={config_member: str(secret)})
    before = fingerprint(path)
    line = error_line(sandbox.run("image", str(path)))
    assert fingerprint(path) == before
    assert "config" in line and image.config.digest[:19] in line
    assert not (sandbox.root / "abs").exists()
