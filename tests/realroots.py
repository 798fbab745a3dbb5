"""Real root filesystems and layers for the image tests, built from Debian packages.

- ``debian_rootfs()``: ``debootstrap --variant=minbase bookworm`` (about 80 s the
  first time, then cached);
- ``deb_files(["libicu72"])``: the files of Debian bookworm packages
  (``apt-get download`` + ``dpkg-deb -x``), whatever the host's distribution:
  apt runs with a private configuration and state pointed at bookworm;
- ``layer_tar(dir_or_spec, compression)``: an OCI layer tar from a directory or
  from a small spec (including whiteouts and opaque markers);
  ``cached_layer(...)`` keeps a big one on disk between runs.

Everything is cached under ``$OCTOLINT_TEST_CACHE`` (default
``~/.cache/octolint-tests``), built in a temporary directory and renamed into
place under a file lock, so parallel pytest workers neither race nor see a
half-built tree.

A missing tool (or root, or the network) skips the tests that need it, with the
reason; when ``OCTOLINT_REQUIRE_INFRA=1`` (CI) they fail instead. That policy is
:func:`missing_infra`, reached through :func:`require_tool` and the builders.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NoReturn, Union, cast, overload

import pytest

from octolint.image.layers import index_layer
from octolint.image.model import LayerIndex

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
REQUIRE_INFRA_ENV = "OCTOLINT_REQUIRE_INFRA"
_SBIN_DIRS = os.pathsep.join(["/usr/local/sbin", "/usr/sbin", "/sbin"])
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")

# A spec item: (member name, kind, content or link target[, mode]). Kinds: "file",
# "dir", "symlink", "hardlink", "fifo", "chardev", "whiteout" (of the name), "opaque"
# (the name is the directory). Names are written verbatim ("./a", "../x" included).
SpecItem = Union[
    tuple[str, str, Union[bytes, str, None]], tuple[str, str, Union[bytes, str, None], int]
]
Source = Union[Path, Sequence[SpecItem]]


# -- the infrastructure policy -------------------------------------------------------


def missing_infra(reason: str) -> NoReturn:
    """Skip the calling test for ``reason``, or fail it when CI requires the infrastructure."""
    if os.environ.get(REQUIRE_INFRA_ENV) == "1":
        pytest.fail(f"test infrastructure missing ({REQUIRE_INFRA_ENV}=1): {reason}", pytrace=False)
    pytest.skip(reason)


# Whether the running test is marked `infra` (set by conftest.py before each test; true
# outside pytest, e.g. in bench/).
INFRA_MARKED = True


def needs_infra(what: str) -> None:
    """Fail a test that builds real infrastructure without the `infra` mark.

    `pytest -m "not infra"` must stay fast and offline; an unmarked test that reaches
    debootstrap, apt or npm would quietly make it neither.
    """
    if not INFRA_MARKED:
        pytest.fail(f"{what} needs real infrastructure: mark the test @pytest.mark.infra",
                    pytrace=False)  # fmt: skip


def require_tool(name: str) -> str:
    """The path of an executable (sbin directories included), or skip/fail the test."""
    found = shutil.which(name) or shutil.which(name, path=_SBIN_DIRS)
    if not found:
        missing_infra(f"'{name}' is not installed")
    return found


def cache_root() -> Path:
    root = Path(os.environ.get("OCTOLINT_TEST_CACHE") or Path.home() / ".cache" / "octolint-tests")
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive lock shared by every process using the same cache."""
    with open(cache_root() / f"{name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: Sequence[str], what: str, *, cwd: Path | None = None, timeout: int = 1800) -> str:
    try:
        proc = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        missing_infra(f"{what} timed out after {timeout} s")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        missing_infra(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _as_root() -> list[str]:
    """The prefix that runs a command as root: nothing, or password-less sudo."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True).returncode == 0:
        return [sudo, "-n"]
    missing_infra("debootstrap needs root (or password-less sudo)")


def _discard(work: Path, root: Sequence[str] = ()) -> None:
    """Delete a build directory without ever crossing into a mounted filesystem
    (a failed debootstrap can leave /proc or /sys mounted inside it)."""
    subprocess.run([*root, "rm", "-rf", "--one-file-system", str(work)], capture_output=True)


# -- Debian root filesystems -----------------------------------------------------------


def debian_rootfs() -> Path:
    """A ``debootstrap --variant=minbase bookworm`` root filesystem (downloaded .debs removed)."""
    needs_infra("debian_rootfs (debootstrap)")
    target = cache_root() / f"debian-{SUITE}-minbase"
    if target.is_dir():
        return target
    debootstrap = require_tool("debootstrap")
    if not KEYRING.is_file():
        missing_infra(f"{KEYRING} is missing (install debian-archive-keyring)")
    root = _as_root()
    with _locked(target.name):
        if target.is_dir():  # another worker built it while we waited
            return target
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache_root()))
        try:
            rootfs = work / "rootfs"
            _run([*root, debootstrap, "--variant=minbase", f"--keyring={KEYRING}", SUITE,
                  str(rootfs), MIRROR], "debootstrap")  # fmt: skip
            archives = rootfs / "var" / "cache" / "apt" / "archives"
            _run([*root, "find", str(archives), "-name", "*.deb", "-delete"], "cleaning .debs")
            if root:  # let the unprivileged test user read everything
                _run([*root, "chown", "-R", f"{os.getuid()}:{os.getgid()}", str(rootfs)], "chown")
            os.rename(rootfs, target)
        finally:
            _discard(work, root)
    return target


def deb_files(packages: Sequence[str]) -> Path:
    """A directory holding the files of these bookworm packages (no dependencies)."""
    needs_infra("deb_files (apt-get download)")
    names = sorted(set(packages))
    if not names or not all(_PACKAGE_NAME.match(n) for n in names):
        raise ValueError(f"invalid package names: {packages!r}")
    target = cache_root() / "debs" / "+".join(names)
    if target.is_dir():
        return target
    apt_get, apt_cache = require_tool("apt-get"), require_tool("apt-cache")
    dpkg_deb = require_tool("dpkg-deb")
    if not KEYRING.is_file():
        missing_infra(f"{KEYRING} is missing (install debian-archive-keyring)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked("apt"):
        if target.is_dir():
            return target
        options = _private_apt()
        updated = False
        for name in names:
            if not _has_candidate(apt_cache, options, name) and not updated:
                _run([apt_get, *options, "update"], "apt-get update")
                updated = True
            if not _has_candidate(apt_cache, options, name):
                missing_infra(f"package {name} is not in Debian {SUITE}")
        work = Path(tempfile.mkdtemp(prefix=".debs-", dir=target.parent))
        try:
            downloads = work / "downloads"
            downloads.mkdir()
            _run([apt_get, *options, "download", *names], "apt-get download", cwd=downloads)
            extracted = work / "root"
            for deb in sorted(downloads.glob("*.deb")):
                _run([dpkg_deb, "-x", str(deb), str(extracted)], f"dpkg-deb -x {deb.name}")
            os.rename(extracted, target)
        finally:
            _discard(work)
    return target


def _private_apt() -> list[str]:
    """apt options for a private bookworm configuration and state under the test cache:
    no root needed, and the host's own sources and installed packages do not matter."""
    base = cache_root() / f"apt-{SUITE}"
    for sub in ("lists/partial", "archives/partial", "cache", "sources.list.d", "preferences.d"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "sources.list").write_text(
        f"deb [signed-by={KEYRING}] {MIRROR} {SUITE} main\n", encoding="utf-8"
    )
    (base / "status").touch()
    options = {
        "Dir::Etc::SourceList": base / "sources.list",
        "Dir::Etc::SourceParts": base / "sources.list.d",
        "Dir::Etc::Preferences": base / "preferences",
        "Dir::Etc::PreferencesParts": base / "preferences.d",
        "Dir::State::Lists": base / "lists",
        "Dir::State::status": base / "status",
        "Dir::Cache": base / "cache",
        "Dir::Cache::Archives": base / "archives",
        "Acquire::Languages": "none",
        "Debug::NoLocking": "1",  # _locked("apt") serialises us already
    }
    if os.geteuid() == 0:  # apt would hand downloads to user _apt, who cannot write here
        options["APT::Sandbox::User"] = "root"
    return [f"-o{key}={value}" for key, value in options.items()]


def _has_candidate(apt_cache: str, options: Sequence[str], name: str) -> bool:
    proc = subprocess.run([apt_cache, *options, "policy", name], capture_output=True, text=True)
    return re.search(r"Candidate: (?!\(none\))\S+", proc.stdout) is not None


# -- layers ---------------------------------------------------------------------------


@overload
def layer_tar(source: Source, compression: str | None = ..., dest: None = ...) -> bytes: ...
@overload
def layer_tar(source: Source, compression: str | None = ..., *, dest: Path) -> Path: ...
def layer_tar(
    source: Source, compression: str | None = "gzip", dest: Path | None = None
) -> bytes | Path:
    """An OCI layer tar ("gzip", "zstd" or None for plain) of a directory (numeric
    owners, symlinks and hard links kept) or of a spec (see SpecItem).

    Returns the bytes, or writes ``dest`` and returns it.
    """
    if compression not in ("gzip", "zstd", None):
        raise ValueError(f"unknown compression {compression!r}")
    if dest is not None:
        with open(dest, "wb") as out:
            _write_layer(out, source, compression)
        return dest
    buffer = io.BytesIO()
    _write_layer(buffer, source, compression)
    return buffer.getvalue()


def cached_layer(name: str, source: Path, compression: str | None = "gzip") -> Path:
    """layer_tar(source) kept on disk between runs (for big trees such as the rootfs)."""
    stamp = source.stat()
    suffix = {"gzip": ".tar.gz", "zstd": ".tar.zst", None: ".tar"}[compression]
    target = cache_root() / "layers" / f"{name}-{stamp.st_ino}-{stamp.st_mtime_ns}{suffix}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked("layers"):
        if not target.is_file():
            temp = target.with_name(f".{target.name}.{os.getpid()}.part")
            layer_tar(source, compression, dest=temp)
            os.replace(temp, target)
    return target


def _write_layer(out: BinaryIO, source: Source, compression: str | None) -> None:
    with (
        _compressed(out, compression) as stream,
        tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        if isinstance(source, Path):
            _add_tree(tar, source)
        else:
            for item in source:
                _add_spec(tar, item)


@contextlib.contextmanager
def _compressed(out: BinaryIO, compression: str | None) -> Iterator[BinaryIO]:
    if compression == "gzip":
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped:
            yield cast(BinaryIO, zipped)
    elif compression == "zstd":
        import zstandard

        with zstandard.ZstdCompressor(level=3).stream_writer(out, closefd=False) as zstd:
            yield zstd
    else:
        yield out


def _add_tree(tar: tarfile.TarFile, root: Path) -> None:
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()  # os.walk descends in this order
        for name in sorted(dirnames + filenames):
            full = os.path.join(directory, name)
            info = tar.gettarinfo(full, arcname=os.path.relpath(full, root))
            if info is None:  # sockets cannot be archived
                continue
            info.uname = info.gname = ""  # numeric owners only
            if info.isreg():
                with open(full, "rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)


def _add_spec(tar: tarfile.TarFile, item: SpecItem) -> None:
    name, kind, payload = item[0], item[1], item[2]
    mode = item[3] if len(item) == 4 else None
    if kind == "whiteout":
        parent, _, base = name.rstrip("/").rpartition("/")
        name, kind, payload = f"{parent}/.wh.{base}" if parent else f".wh.{base}", "file", b""
    elif kind == "opaque":
        name, kind, payload = f"{name.rstrip('/')}/.wh..wh..opq", "file", b""
    info = tarfile.TarInfo(name)
    data: bytes | None = None
    if kind == "file":
        data = payload.encode() if isinstance(payload, str) else (payload or b"")
        info.size, info.mode = len(data), 0o644
    elif kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif kind in ("symlink", "hardlink"):
        info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
        info.linkname, info.mode = str(payload), 0o777 if kind == "symlink" else 0o644
    elif kind == "fifo":
        info.type, info.mode = tarfile.FIFOTYPE, 0o644
    elif kind == "chardev":
        info.type, info.mode, info.devmajor, info.devminor = tarfile.CHRTYPE, 0o666, 1, 3
    else:
        raise ValueError(f"unknown spec kind {kind!r}")
    if mode is not None:
        info.mode = mode
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


# -- indexes ---------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def index_of(source: Source, compression: str | None = None) -> LayerIndex:
    """The LayerIndex of layer_tar(source), its digest computed here."""
    blob = layer_tar(source, compression)
    return index_layer(io.BytesIO(blob), sha256(blob), "")


def index_file(path: Path) -> LayerIndex:
    """The LayerIndex of a layer blob on disk (digest computed in a first pass)."""
    digest = hashlib.sha256()
    with open(path, "rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            digest.update(chunk)
    with open(path, "rb") as blob:
        return index_layer(blob, f"sha256:{digest.hexdigest()}", "")


@functools.cache
def debian_layer() -> Path:
    """The minbase bookworm rootfs as one gzip layer blob on disk."""
    return cached_layer(f"debian-{SUITE}-minbase", debian_rootfs())


@functools.cache
def debian_index() -> LayerIndex:
    """The LayerIndex of debian_layer(), computed once per test process."""
    return index_file(debian_layer())


@functools.cache
def deb_index(packages: tuple[str, ...]) -> LayerIndex:
    """The LayerIndex of a layer holding these packages' files."""
    return index_of(deb_files(packages), "gzip")
