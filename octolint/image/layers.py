"""Index one layer blob in a single streaming pass, without extracting anything.

A layer blob is read exactly once: its bytes are hashed as they stream (so the
digest is verified without a second read), decompressed on the fly (gzip,
zstd or none) and walked as a tar stream. What the image rules need is
recorded in a :class:`~octolint.image.model.LayerIndex`: every entry's
metadata, the OCI whiteouts, the contents of a few small configuration files
(:data:`CORE_FILES`, and what the active rules ask for in ``READS_FILES``) and
*facts* found by scanning a few binaries (the glibc version of ``libc.so.6``,
musl, the ELF machine of shared objects).

Memory stays bounded whatever the layer size: member data is read in chunks
of :data:`CHUNK` bytes, only the kept files (at most
:data:`MAX_KEPT_SIZE` bytes each) are held in memory, and data nobody reads is
skipped by the tar reader in chunks too. Nothing is ever written to disk and
no member path is ever used against the host's filesystem.

Hostile layers are bounded too (see SECURITY.md): a layer may not expand to more
than :data:`MAX_EXPANSION` times its compressed size plus :data:`EXPANSION_ALLOWANCE`
(a decompression bomb is refused after reading about that much, so the time spent is
proportional to the blob's size), and may not list more than :data:`MAX_ENTRIES`
members (each costs a few hundred bytes of memory in the index), nor keep more than
:data:`MAX_INDEX_BYTES` of paths, link targets, implied directories and small files.
Tar headers are bounded before they are read (``tarstream``): a member's extended headers (PAX,
GNU long names, sparse maps) may not exceed :data:`MAX_HEADER_BYTES` together, as in
Docker, and a path or link target may not exceed :data:`MAX_PATH_BYTES`, as in Linux.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import queue
import re
import threading
import zlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Literal, Protocol, cast

from octolint.errors import InputError
from octolint.image import tarstream
from octolint.image.model import (
    DIR,
    FILE,
    HARDLINK,
    OTHER,
    SYMLINK,
    VERIFY_DIFF_ID,
    VERIFY_DIGEST,
    Entry,
    IndexSink,
    LayerIndex,
)

if TYPE_CHECKING:
    from hashlib import _Hash

# Bump whenever LayerIndex's content or the analysis changes (a new fact...):
# cached indexes of an older version are then ignored. Which files are kept is
# not the analyser's version: it is part of the cache key (KeptFiles.key).
ANALYSER_VERSION = 2

# Absolute paths whose contents are kept in LayerIndex.files whatever the rules:
# what ImageTarget itself reads (os-release, the library search path). A
# trailing "/*" keeps every file directly inside that directory. Rules add
# theirs with READS_FILES.
CORE_FILES = (
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d/*",
)
MAX_KEPT_SIZE = 1 << 20  # a kept file larger than this is recorded but not read
CHUNK = 1 << 20  # read size for blobs and member data
# Blocks of tar a layer's reading thread may hold ready, and their size: larger ones
# only cost memory (up to four layers are read at a time; 1 MiB blocks: +20 MB).
_PREFETCH_BLOCKS = 2
_PREFETCH_BLOCK = 256 << 10
# Decompression bombs: no layer may expand to more than this many times its
# compressed size (+ the allowance). Deflate cannot exceed 1032:1, so no gzip
# layer is ever refused; zstd can reach 30000:1 and more, which this bounds.
MAX_EXPANSION = 1100
EXPANSION_ALLOWANCE = 1 << 30
# About 600 bytes of memory each (index, merged filesystem, cache entry): real
# images have a few hundred thousand entries, a hostile layer could list tens of
# millions in a few megabytes of gzip.
MAX_ENTRIES = 2_000_000
# What an index keeps, in bytes: every path and link target, every directory a path
# implies (a layer listing only 'a/b/c/f' still puts 'a', 'a/b' and 'a/b/c' in the
# store), whiteouts and kept files. Paths cost memory in proportion (index, merged
# view, store): a few megabytes of gzip could otherwise name gigabytes. A layer of a
# million entries of 100-byte paths keeps about 110 MB.
MAX_INDEX_BYTES = 128 << 20
# The same for all the layers of one image together (cached ones included, so that a
# scan gives the same answer warm or cold): the layers of a scan with --no-cache are
# all held in memory at once, and up to four are indexed at a time. A layer at the
# bound was measured at 460 MB peak with --no-cache, 190 MB with the cache; a real
# image of a million files keeps about 100 MB. Entries: an image may list a tree
# twice (a `chmod -R` copies every file up into a new layer).
MAX_IMAGE_INDEX_BYTES = MAX_INDEX_BYTES
MAX_IMAGE_ENTRIES = 2 * MAX_ENTRIES
# A member's extended headers (PAX 'x'/'g', GNU long name/link 'L'/'K', GNU sparse
# maps) are read whole into memory before the member. Go's archive/tar, and so
# Docker, refuses such a header over 1 MiB (maxSpecialFileSize); this refuses the
# headers of one member over 1 MiB together, before reading them. Real ones hold a
# long name, a few xattrs (64 KiB each at most in Linux): kilobytes.
MAX_HEADER_BYTES = 1 << 20
# Extended headers before one member: GNU tar writes two (long name and link), Go
# one (PAX) and a global one may come first; a long chain is only work.
MAX_EXTENDED_HEADERS = 8
# Global PAX headers accumulate (Docker ignores them, so does octolint, but they
# are read): real tars carry one or two keys.
MAX_GLOBAL_KEYS = 64
# A member's name or link target, in bytes: Linux's PATH_MAX. Docker cannot extract
# a longer one either (ENAMETOOLONG).
MAX_PATH_BYTES = 4096



class KeptFiles:
    """The files whose contents a layer index keeps: exact paths and ``/dir/*``."""

    def __init__(self, patterns: Iterable[str] = ()):
        self.patterns = tuple(sorted({*CORE_FILES, *patterns}))
        self.exact = frozenset(p for p in self.patterns if not p.endswith("/*"))
        self.dirs = frozenset(p[:-2] for p in self.patterns if p.endswith("/*"))
        # What the cache key adds: the core set alone keeps the key it always had.
        extra = sorted(set(self.patterns) - set(CORE_FILES))
        self.key = hashlib.sha256("\0".join(extra).encode()).hexdigest()[:12] if extra else ""

    def keeps(self, path: str, parent: str | None = None) -> bool:
        """Whether ``path``'s contents are kept (``parent``: its directory, if known)."""
        if parent is None:
            parent = path.rpartition("/")[0]
        return path in self.exact or (parent or "/") in self.dirs


def kept_files(per_rule: Iterable[Iterable[str]]) -> KeptFiles:
    """What to keep for these rules' READS_FILES (plus CORE_FILES)."""
    return KeptFiles(path for paths in per_rule for path in paths)


DEFAULT_KEPT = KeptFiles()

# C libraries and dynamic loaders, by basename: their bytes are scanned for the
# glibc version or the musl signature. Besides libc.so.6 & co., the loaders
# (ld-linux-*.so.*, ld-2.NN.so) are scanned so that a loader's kind is known
# from its content, and "libc.so", which is musl's real file on Debian
# (/lib/ld-musl-x86_64.so.1 -> x86_64-linux-musl/libc.so); glibc's libc.so
# is a short linker script, so scanning it costs nothing.
_LIBC_NAME = re.compile(
    r"libc\.so(?:\.6)?|libc-2\.\d+\.so|libc\.musl-[^/]+\.so\.1|ld-musl-[^/]+\.so\.1"
    r"|ld-linux[^/]*\.so\.\d+|ld-2\.\d+\.so|ld64\.so\.\d+"
)
# "GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36." in
# libc.so.6, "ld.so (...) stable release version 2.36." in the loader.
# Version numbers are bounded in length: a fact is kept for every file of that name,
# and Python refuses to parse integers of over 4300 digits.
_GLIBC_BANNER = re.compile(
    rb"(?:GNU C Library|ld\.so) [^\n\x00]{0,200}?release version "
    rb"(\d{1,6}\.\d{1,6}(?:\.\d{1,6})?)(?!\d)"
)
# Symbol version names (GLIBC_2.34) are NUL-terminated strings in .dynstr.
_GLIBC_SYMVER = re.compile(rb"\x00GLIBC_(2\.\d{1,6}(?:\.\d{1,6})?)(?=\x00)")
_MUSL_SIGNATURE = b"musl libc"  # in musl's "musl libc (x86_64)\nVersion %s" banner
_SCAN_OVERLAP = 256  # longer than any match above, so no match is lost between chunks

# Shared objects get an "elf" fact (their machine) so library lookups can skip
# a file built for another architecture, as the dynamic loader does.
_SHARED_OBJECT_NAME = re.compile(r"\.so(?:\.|$)")
_ELF_MAGIC = b"\x7fELF"
_ELF_HEADER = 64  # bytes: what _elf_facts reads (20) fits in any ELF file's header
_ET_DYN = 3

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DIGEST = re.compile(r"^(sha256|sha384|sha512):([0-9a-f]+)$")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


class LayerError(InputError):
    """A layer blob cannot be analysed: bad compression, not a tar, bad digest syntax."""

    def __init__(self, digest: str, message: str):
        super().__init__(f"layer {digest}", message)
        self.digest = digest


class DigestMismatchError(InputError):
    """A layer blob's bytes are not what its descriptor says (corrupt or substituted).

    ``expected`` is the descriptor's digest; ``actual`` what the content hashes to
    (or, for a size mismatch, how long it is).
    """

    def __init__(self, expected: str, actual: str, *, what: str = "blob",
                 message: str | None = None):  # fmt: skip
        super().__init__(
            f"layer {expected}",
            message
            or f"digest mismatch: expected {expected}, but the {what} hashes to {actual} "
            "(a corrupt download or content that is not what the image describes)",
        )
        self.expected = expected
        self.actual = actual

    @classmethod
    def size(cls, expected: str, wanted: int, actual: str) -> DigestMismatchError:
        return cls(expected, actual, message=f"size mismatch: the descriptor of {expected} "
                   f"says {wanted} bytes, the blob has {actual}")  # fmt: skip


class _SizeExceeded(Exception):
    """Internal: the blob is longer than its descriptor's size."""


class _Expanded(Exception):
    """Internal: the uncompressed stream outgrew MAX_EXPANSION (a decompression bomb)."""


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def normalise_path(name: str) -> str:
    """A tar member name as an absolute, normalised path inside the image.

    './usr/lib/' -> '/usr/lib'; 'a/../b' -> '/b'. '..' never climbs above the
    root: '../../etc/passwd' is '/etc/passwd' of the *image*.
    """
    # Most names are already normal: checked at C speed, for a 4096-byte name can
    # have 2048 components.
    core = name.strip("/")
    wrapped = f"/{core}/"
    if "//" not in wrapped and "/./" not in wrapped and "/../" not in wrapped:
        return wrapped[:-1]
    parts: list[str] = []
    for part in core.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def index_layer(
    stream: BinaryIO,
    digest: str,
    media_type: str,
    *,
    expected_size: int = -1,
    verify: str = VERIFY_DIGEST,
    image: ImageBudget | None = None,
    kept: KeptFiles = DEFAULT_KEPT,
) -> LayerIndex:
    """Stream one layer blob once and index it in memory (see ``scan_layer``)."""
    index = LayerIndex(digest=digest)
    scan_layer(stream, index, digest, media_type, expected_size=expected_size, verify=verify,
               image=image, kept=kept)  # fmt: skip
    return index


def scan_layer(
    stream: BinaryIO,
    sink: IndexSink,
    digest: str,
    media_type: str,
    *,
    expected_size: int = -1,
    verify: str = VERIFY_DIGEST,
    image: ImageBudget | None = None,
    kept: KeptFiles = DEFAULT_KEPT,
) -> None:
    """Stream one layer blob once and record it in ``sink``, which is told to
    ``finish`` only once the whole blob has been read and verified.

    ``digest`` is checked against the blob's bytes as read (``verify=VERIFY_DIGEST``,
    registries and OCI layouts) or against the uncompressed tar
    (``verify=VERIFY_DIFF_ID``, for docker-archive and Docker engine layers, which
    only know the diff_id). ``expected_size`` (-1: unknown) is the blob's size in
    bytes; a longer blob is rejected as soon as the excess is read. ``image``, shared
    by the layers of one image, bounds what they keep together.

    The compression (gzip, zstd or none) is recognised by its magic bytes, as
    Docker does; ``media_type`` may be "" (docker-archive layers have none).

    The contents of the files ``kept`` names are kept in the index.

    Raises DigestMismatchError when the content does not match, LayerError when
    the blob is not a (compressed) tar. Both are InputErrors. The caller closes
    ``stream``.
    """
    if verify not in (VERIFY_DIGEST, VERIFY_DIFF_ID):
        raise ValueError(f"verify must be {VERIFY_DIGEST!r} or {VERIFY_DIFF_ID!r}, not {verify!r}")
    algorithm = _digest_algorithm(digest)
    raw = _Tap(stream, hashlib.new(algorithm) if verify == VERIFY_DIGEST else None,
               limit=expected_size)  # fmt: skip
    try:
        cost = _index_raw(raw, sink, digest, media_type, algorithm, verify, image, kept)
    except _SizeExceeded:
        raise DigestMismatchError.size(digest, expected_size, "more") from None
    except _Expanded:
        raise LayerError(
            digest,
            f"decompresses to more than {MAX_EXPANSION} times its compressed size "
            f"(after {raw.count} compressed bytes): refused as a decompression bomb",
        ) from None
    except LayerError:
        # A truncated or damaged download is better reported as such than as
        # "not a tar": finish hashing what is left and compare, when possible.
        _raise_if_mismatched(raw, digest, expected_size)
        raise
    _check_size(raw, digest, expected_size)
    sink.finish(*cost)


def _index_raw(raw: _Tap, sink: IndexSink, digest: str, media_type: str, algorithm: str,
               verify: str, image: ImageBudget | None, kept: KeptFiles) -> tuple[int, int]:
    """Walk and verify the blob; what the layer costs (kept bytes, members)."""
    compression = _compression(raw.peek(len(_ZSTD_MAGIC)))
    diff_id = hashlib.new(algorithm) if verify == VERIFY_DIFF_ID else None
    with _uncompressed(raw, compression, digest, diff_id) as content:
        cost = (0, 0)
        # Docker's empty layer is 1024 zero bytes (possibly gzipped): the tar reader
        # would call that "end of file header" before the first member.
        # (A tar cut inside a member, header or data, is an error of the tar reader: Go's
        # archive/tar, and so Docker, refuses it too.)
        if content.peek(tarstream.BLOCK).strip(b"\x00"):
            cost = _walk_tar(content, sink, digest, media_type, image, kept)
        content.drain()  # the rest of the tar (its end blocks) counts for the diff_id
    raw.drain()  # and whatever follows the compressed stream counts for the digest
    actual = f"{algorithm}:{diff_id.hexdigest() if diff_id is not None else raw.hexdigest()}"
    if actual != digest:
        what = "uncompressed layer" if verify == VERIFY_DIFF_ID else "blob"
        raise DigestMismatchError(digest, actual, what=what)
    return cost


def _digest_algorithm(digest: str) -> str:
    match = _DIGEST.match(digest)
    if not match or len(match.group(2)) != _DIGEST_HEX_LENGTH[match.group(1)]:
        raise LayerError(digest, "malformed or unsupported digest (expected sha256:<64 hex>)")
    return match.group(1)


def _check_size(raw: _Tap, digest: str, expected_size: int) -> None:
    if expected_size >= 0 and raw.count != expected_size:
        raise DigestMismatchError.size(digest, expected_size, str(raw.count))


def _raise_if_mismatched(raw: _Tap, digest: str, expected_size: int) -> None:
    if not raw.hashing:
        return  # verifying the diff_id: the uncompressed stream is broken, nothing to compare
    try:
        raw.drain()
    except _SizeExceeded:
        raise DigestMismatchError.size(digest, expected_size, "more") from None
    actual = f"{digest.split(':', 1)[0]}:{raw.hexdigest()}"
    if actual != digest:
        raise DigestMismatchError(digest, actual) from None
    _check_size(raw, digest, expected_size)


# -- streams -------------------------------------------------------------------------


class _Tap:
    """A read-only stream over ``source`` that hashes and counts every byte passing
    through it, and can peek ahead without consuming.

    ``readinto`` fills the caller's buffer straight from the source's own
    ``readinto`` (a file, a download) and hashes it there: the gzip decompressor
    reads the compressed stream that way, so its bytes are never copied in Python.
    """

    def __init__(self, source: _Readable, hasher: _Hash | None, *, limit: int = -1,
                 compressed: _Tap | None = None):  # fmt: skip
        self._source = source
        self._readinto: Callable[[memoryview], int | None] | None = getattr(
            source, "readinto", None
        )
        self._hasher = hasher
        self._limit = limit
        self._compressed = compressed  # the tap this one decompresses: bounds expansion
        self._pending = b""  # peeked bytes not yet returned by read()
        self.count = 0

    @property
    def hashing(self) -> bool:
        return self._hasher is not None

    def hexdigest(self) -> str:
        return self._hasher.hexdigest() if self._hasher is not None else ""

    def _passed(self, data: bytes | memoryview) -> None:
        """Count, bound and hash bytes just read from the source."""
        self.count += len(data)
        if 0 <= self._limit < self.count:
            raise _SizeExceeded
        if self._compressed is not None and self.count > (
            EXPANSION_ALLOWANCE + MAX_EXPANSION * self._compressed.count
        ):
            raise _Expanded
        if self._hasher is not None:
            self._hasher.update(data)  # releases the GIL for large pieces

    def _pull(self, size: int) -> bytes:
        data = self._source.read(size)
        if data:
            self._passed(data)
        return data

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current position (fewer only at the end)."""
        while len(self._pending) < size:
            data = self._pull(size - len(self._pending))
            if not data:
                break
            self._pending += data
        return self._pending[:size]

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK  # callers loop until b"": never read everything at once
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return self._pull(size)

    def readinto(self, buffer: Any) -> int:
        """Fill up to ``len(buffer)`` bytes of ``buffer``; 0 only at the end."""
        view = memoryview(buffer).cast("B")
        if self._pending or self._readinto is None:
            data = self.read(len(view))
            view[: len(data)] = data
            return len(data)
        size = self._readinto(view) or 0
        if size:
            self._passed(view[:size])
        return size

    def drain(self) -> None:
        """Read (and hash) the rest of the stream, one chunk at a time, into one buffer."""
        buffer = bytearray(CHUNK)
        while self.readinto(buffer):
            pass


class _Guarded:
    """Turns a decompressor's own exceptions into LayerError."""

    def __init__(self, source: _Readable, errors: tuple[type[BaseException], ...],
                 describe: Callable[[BaseException], LayerError]):  # fmt: skip
        self._source = source
        self._errors = errors
        self._describe = describe

    def read(self, size: int = -1) -> bytes:
        try:
            return self._source.read(size)
        except self._errors as exc:
            raise self._describe(exc) from exc


class _Prefetched:
    """Reads ``source`` in a thread of its own, up to ``_PREFETCH_BLOCKS`` blocks ahead.

    The blob's reading, hashing and inflating run there (all release the GIL), on the
    machine's second core, while the caller walks the tar in Python. An
    exception there (bad data, a size bound, a broken download) is raised here, once
    the blocks read before it are used up. ``close()`` stops the thread and waits for
    it: until then the source is the thread's alone.
    """

    _END = b""

    def __init__(self, source: _Readable):
        self._source = source
        self._blocks: queue.Queue[bytes] = queue.Queue(_PREFETCH_BLOCKS)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._block = memoryview(b"")
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="octolint-inflate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                block = self._source.read(_PREFETCH_BLOCK)
                self._blocks.put(block)
                if not block:
                    return
        except BaseException as exc:  # handed over to the reader, whatever it is
            self._error = exc
            self._blocks.put(self._END)

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (a short read is not the end: only b"" is)."""
        if size is None or size < 0:
            size = CHUNK
        if not self._block:
            if self._finished:
                return b""
            block = self._blocks.get()
            if not block:
                self._finished = True
                if self._error is not None:
                    raise self._error
                return b""
            if size >= len(block):
                return block  # whole, not copied: the usual case
            self._block = memoryview(block)
        data = bytes(self._block[:size])
        self._block = self._block[size:]
        return data

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # frees the thread if blocked on put()
                self._blocks.get(timeout=0.05)
        self._thread.join()


def _compression(head: bytes) -> str:
    """'gzip', 'zstd' or 'tar', from the blob's first bytes.

    The magic bytes decide, not the media type: Docker and containerd sniff
    too, so a mislabelled layer (some registries and tools produce them) works
    for them and must work here. A tar has no magic at offset 0, so anything
    else is taken for a plain tar; the media type then only shapes the error
    message of a blob that is no tar at all.
    """
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return "tar"


@contextlib.contextmanager
def _uncompressed(raw: _Tap, compression: str, digest: str,
                  diff_id: _Hash | None) -> Iterator[_Tap]:  # fmt: skip
    """The layer tar in ``raw``, for the walk, hashed into ``diff_id`` if given.

    It is read ahead in a thread of its own (``_Prefetched``), which also hashes it
    when it is not compressed; inflated, it is hashed in the walk: so each side gets
    about half the work. On leaving, ``raw`` is the caller's again.
    """
    if compression == "tar":
        prefetched = _Prefetched(_Tap(raw, diff_id))
        content = _Tap(prefetched, None)
    else:
        prefetched = _Prefetched(_decompressor(raw, compression, digest))
        content = _Tap(prefetched, diff_id, compressed=raw)
    try:
        yield content
    finally:
        prefetched.close()


def _decompressor(raw: _Tap, compression: str, digest: str) -> _Readable:
    """A reader of the uncompressed stream in ``raw``, whose errors are LayerErrors."""

    def describe(exc: BaseException) -> LayerError:
        return LayerError(digest, f"invalid {compression} data: {exc}")

    if compression == "gzip":
        # Concatenated members are one stream, as pigz and some registries produce.
        opener, errors = _gzip_backend()
        return _Guarded(opener(fileobj=cast(BinaryIO, raw), mode="rb"), errors, describe)
    if compression == "zstd":
        import zstandard  # lazily: only zstd layers need it

        return _Guarded(_ZstdReader(raw), (zstandard.ZstdError,), describe)
    raise ValueError(f"not a compression: {compression!r}")


def _gzip_backend() -> tuple[Callable[..., _Readable], tuple[type[BaseException], ...]]:
    """The GzipFile to read layers with, and the exceptions that mean bad data.

    python-isal's (Intel's ISA-L inflate: 2.5 times zlib's speed on layers, and its
    reader runs in C without the GIL) where it is installed, which setup.cfg does on
    the platforms it has wheels for; the standard library's elsewhere. Both read
    concatenated members, skip zero bytes after a member and refuse anything else
    there, a truncated member, a bad CRC or length: only their messages differ.
    """
    try:
        from isal import igzip, isal_zlib  # lazily: only gzip layers need it
    except ImportError:
        return gzip.GzipFile, (gzip.BadGzipFile, EOFError, zlib.error)
    isal_error = cast("type[BaseException]", isal_zlib.error)  # its stub says "Exception"
    return igzip.IGzipFile, (gzip.BadGzipFile, EOFError, zlib.error, isal_error)


# Compressed bytes fed to the zstd decompressor per call. A zstd byte expands at most
# about 32768 times (an RLE block), so one call yields at most ~32 MiB, whatever the
# input; measured as fast as zstandard's stream_reader.
_ZSTD_SLICE = 1024


class _ZstdReader:
    """Concatenated zstd frames, decompressed in bounded steps.

    Unlike zstandard's ``stream_reader``, which returns a short read when the input
    ends inside a frame, a truncated stream is an error here, as it is for Docker.
    """

    def __init__(self, source: _Readable):
        import zstandard

        self._error = zstandard.ZstdError
        self._new_frame = zstandard.ZstdDecompressor().decompressobj
        self._frame = self._new_frame()
        self._source = source
        self._input = memoryview(b"")
        self._offset = 0
        self._in_frame = False  # some of the current frame's bytes were fed
        self._output = b""  # the last piece's output, handed out from self._given on
        self._given = 0
        self._finished = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (a short read is not the end: only b"" is)."""
        if size is None or size < 0:
            size = CHUNK
        while self._given >= len(self._output) and not self._finished:
            self._step()
        data = self._output[self._given : self._given + size]
        self._given += len(data)
        return data

    def _step(self) -> None:
        if self._offset >= len(self._input):
            self._input, self._offset = memoryview(self._source.read(CHUNK)), 0
            if not self._input:
                self._finished = True
                if self._in_frame:
                    raise self._error("the stream ends inside a frame (truncated)")
                return
        piece = self._input[self._offset : self._offset + _ZSTD_SLICE]
        self._offset += len(piece)
        self._in_frame = True
        self._output, self._given = self._frame.decompress(piece), 0
        if self._frame.eof:
            # What the frame left unused is the tail of this piece, still in _input:
            # step back to where the next frame starts (copying the rest of the chunk
            # at every frame end would be quadratic in the number of small frames).
            self._offset -= len(self._frame.unused_data)
            self._frame, self._in_frame = self._new_frame(), False


# -- the tar walk --------------------------------------------------------------------


def _walk_tar(content: _Tap, sink: IndexSink, digest: str, media_type: str,
              image: ImageBudget | None, kept: KeptFiles) -> tuple[int, int]:  # fmt: skip
    """Record every member; return what the layer costs (kept bytes, members)."""
    budget = _Budget(image)
    reader = tarstream.TarReader(content, _TAR_LIMITS)
    try:
        for count, member in enumerate(reader.members(), 1):
            if count > MAX_ENTRIES:
                raise LayerError(digest, f"lists more than {MAX_ENTRIES} entries: refused "
                                 "(a layer this large would exhaust memory)")  # fmt: skip
            _record(reader, member, sink, budget, kept)
        budget.flush()
        return budget.used, budget.members
    except (BoundExceeded, tarstream.TarBoundError) as exc:
        raise LayerError(digest, str(exc)) from None
    except tarstream.TarError as exc:
        kind = f" ({media_type})" if media_type else ""
        raise LayerError(digest, f"not a valid layer tar{kind}: {exc}") from None


_TAR_LIMITS = tarstream.Limits(header_bytes=MAX_HEADER_BYTES,
                               extended_headers=MAX_EXTENDED_HEADERS,
                               global_keys=MAX_GLOBAL_KEYS)  # fmt: skip


class BoundExceeded(Exception):
    """A layer (or an image's layers together) over one of the bounds above; the
    message says which."""


class ImageBudget:
    """What the layers of one image keep together (MAX_IMAGE_INDEX_BYTES and
    MAX_IMAGE_ENTRIES); shared by the threads indexing them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kept_bytes = 0
        self.members = 0

    def add(self, kept_bytes: int, members: int) -> None:
        with self._lock:
            self.kept_bytes += kept_bytes
            self.members += members
            over_bytes = self.kept_bytes > MAX_IMAGE_INDEX_BYTES
            over_members = self.members > MAX_IMAGE_ENTRIES
        if over_bytes:
            raise BoundExceeded(
                f"the image's layers together keep more than {MAX_IMAGE_INDEX_BYTES >> 20} "
                "MiB of paths, link targets and small files: refused (an image this large "
                "would exhaust memory)"
            )
        if over_members:
            raise BoundExceeded(
                f"the image's layers together list more than {MAX_IMAGE_ENTRIES} entries: "
                "refused (an image this large would exhaust memory)"
            )


# A layer's charges reach its image's budget in batches: a lock per entry would cost
# more than the entry.
_FLUSH_BYTES = 1 << 20
_FLUSH_MEMBERS = 4096


class _Budget:
    """What one layer's index keeps, in bytes (see MAX_INDEX_BYTES), and its members."""

    def __init__(self, image: ImageBudget | None):
        self._image = image
        self.used = 0
        self.members = 0
        self._flushed = (0, 0)  # (used, members) already added to the image's budget
        # Checked only when either passes these marks: this runs for every entry.
        self._check_bytes = min(_FLUSH_BYTES, MAX_INDEX_BYTES)
        self._check_members = _FLUSH_MEMBERS
        self._directories: set[str] = set()  # those already paid for

    def entry(self, path: str, parent: str, link: str | None) -> None:
        """Pay for one member: its path (in ``parent``), its link target, and each
        directory the path implies that nothing paid for yet (a deep path implies as
        many directories, each nearly as long)."""
        self.members += 1
        size = len(path) + (len(link) if link else 0)
        while parent and parent not in self._directories:
            self._directories.add(parent)
            size += len(parent)
            parent = parent.rpartition("/")[0]
        self.used += size
        if self.used > self._check_bytes or self.members >= self._check_members:
            self._check()

    def charge(self, size: int) -> None:
        self.used += size
        self._check()

    def _check(self) -> None:
        if self.used > MAX_INDEX_BYTES:
            raise BoundExceeded(
                f"keeps more than {MAX_INDEX_BYTES >> 20} MiB of paths, link targets and "
                "small files: refused (a layer this large would exhaust memory)"
            )
        flushed_bytes, flushed_members = self._flushed
        if self._image is not None and (
            self.used - flushed_bytes >= _FLUSH_BYTES
            or self.members - flushed_members >= _FLUSH_MEMBERS
        ):
            self.flush()
        self._check_bytes = min(self.used + _FLUSH_BYTES, MAX_INDEX_BYTES)
        self._check_members = self.members + _FLUSH_MEMBERS

    def flush(self) -> None:
        if self._image is not None:
            flushed_bytes, flushed_members = self._flushed
            self._flushed = (self.used, self.members)
            self._image.add(self.used - flushed_bytes, self.members - flushed_members)


def _record(reader: tarstream.TarReader, member: tarstream.Member, sink: IndexSink,
            budget: _Budget, kept: KeptFiles) -> None:  # fmt: skip
    name, link = member.name, member.linkname
    if len(name) > _SHORT or len(link) > _SHORT:
        _check_length(name, "name")
        _check_length(link, "link target")
    path = normalise_path(name)
    parent, _, base = path.rpartition("/")
    if base.startswith(WHITEOUT_PREFIX):
        budget.entry(path, parent, None)
        _record_whiteout(parent or "/", base, sink)
        return
    kind = member.type
    mode = member.mode & 0o7777
    if kind in tarstream.REGULAR_TYPES:
        budget.entry(path, parent, None)
        sink.add_entry(path, FILE, mode, member.size, None)
        # (a sparse member's holes are made up, not read: never scanned nor kept)
        if not member.sparse and (
            (member.size and ".so" in base) or path in kept.exact or (parent or "/") in kept.dirs
        ):
            _read_member(reader, member, path, base, sink, budget, kept)
        return
    entry = _entry_of(kind, mode, link)
    budget.entry(path, parent, entry.link)
    sink.add_entry(path, entry.kind, mode, 0, entry.link)


_SHORT = MAX_PATH_BYTES // 4  # characters: no UTF-8 character takes more than 4 bytes


def _check_length(text: str, what: str) -> None:
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_PATH_BYTES:
        raise BoundExceeded(
            f"a member's {what} is {size} bytes long: refused (at most {MAX_PATH_BYTES}, "
            "Linux's PATH_MAX)"
        )


def _record_whiteout(parent: str, name: str, sink: IndexSink) -> None:
    if name == OPAQUE_MARKER:
        sink.add_opaque(parent)
        return
    hidden = name[len(WHITEOUT_PREFIX) :]
    # '.wh..wh.plnk' & co. are AUFS bookkeeping, and '.wh.', '.wh..', '.wh...'
    # would name the directory itself or its parent: none deletes anything.
    if hidden in ("", ".", "..") or hidden.startswith(WHITEOUT_PREFIX):
        return
    sink.add_whiteout(f"{parent.rstrip('/')}/{hidden}")


def _entry_of(kind: int, mode: int, link: str) -> Entry:
    """The entry of a member that is not a regular file."""
    if kind == tarstream.DIR_TYPE:
        return Entry(DIR, mode)
    if kind == tarstream.SYMLINK_TYPE:
        return Entry(SYMLINK, mode, 0, link)
    if kind == tarstream.HARDLINK_TYPE:
        # A hard link names another member of the same archive, from its root.
        return Entry(HARDLINK, mode, 0, normalise_path(link))
    return Entry(OTHER, mode)  # devices, FIFOs, unknown types: counted, never read


def _read_member(reader: tarstream.TarReader, member: tarstream.Member, path: str,
                 name: str, sink: IndexSink, budget: _Budget, kept: KeptFiles) -> None:  # fmt: skip
    """Read what the index needs of one regular file; the reader skips the rest."""
    keep = member.size <= MAX_KEPT_SIZE and kept.keeps(path)
    scanner = _LibcScanner() if _LIBC_NAME.fullmatch(name) else None
    probe_elf = bool(_SHARED_OBJECT_NAME.search(name)) or scanner is not None
    if not (keep or scanner or probe_elf) or member.size == 0:
        if keep:
            sink.add_file(path, b"")
        return
    # The ELF header alone, when that is all that is needed: a library's first
    # megabyte would only be copied to be dropped (a quarter of a /usr/lib layer).
    chunk = reader.read_data(CHUNK if keep or scanner is not None else _ELF_HEADER)
    facts = _elf_facts(chunk) if probe_elf else {}
    if keep:
        budget.charge(len(chunk))  # any number of files in /etc/ld.so.conf.d
        sink.add_file(path, chunk)  # MAX_KEPT_SIZE <= CHUNK: the whole file
    while scanner is not None and chunk:
        scanner.feed(chunk)
        chunk = reader.read_data(CHUNK)
    if scanner is not None:
        facts.update(scanner.facts())
    if facts:
        sink.add_facts(path, facts)


# -- facts ---------------------------------------------------------------------------

# e_machine -> name, as the image's architecture is called in ImageTarget.machine.
_ELF_MACHINES = {
    3: "i386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390", 40: "arm",
    62: "x86_64", 183: "aarch64", 243: "riscv", 258: "loongarch64",
}  # fmt: skip


def _elf_facts(head: bytes) -> dict[str, str]:
    """{"elf": machine} for an ELF shared object (ET_DYN), else {}."""
    if len(head) < 20 or not head.startswith(_ELF_MAGIC):
        return {}
    is_64, little = head[4] == 2, head[5] == 1
    byteorder: Literal["little", "big"] = "little" if little else "big"
    if int.from_bytes(head[16:18], byteorder) != _ET_DYN:
        return {}
    number = int.from_bytes(head[18:20], byteorder)
    machine = _ELF_MACHINES.get(number, f"em{number}")
    if machine == "x86_64" and not is_64:
        machine = "x32"
    elif machine in ("ppc64", "mips", "riscv", "s390"):
        machine = _sized_machine(machine, is_64, little)
    return {"elf": machine}


def _sized_machine(family: str, is_64: bool, little: bool) -> str:
    if family == "ppc64":
        return "ppc64le" if little else "ppc64"
    if family == "s390":
        return "s390x" if is_64 else "s390"
    if family == "riscv":
        return "riscv64" if is_64 else "riscv32"
    return ("mips64" if is_64 else "mips") + ("le" if little else "")


class _LibcScanner:
    """Finds the glibc version or the musl signature in a stream of chunks.

    Each chunk is searched together with the tail of the previous one, so a
    string split across two chunks is still found, in bounded memory.
    """

    def __init__(self) -> None:
        self._tail = b""
        self._banner: str | None = None
        self._highest: tuple[int, ...] = ()
        self._musl = False

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        if self._banner is None:
            match = _GLIBC_BANNER.search(window)
            if match:
                self._banner = match.group(1).decode("ascii")
        for match in _GLIBC_SYMVER.finditer(window):
            version = tuple(int(p) for p in match.group(1).split(b"."))
            self._highest = max(self._highest, version)
        self._musl = self._musl or _MUSL_SIGNATURE in window
        self._tail = window[-_SCAN_OVERLAP:]

    def facts(self) -> dict[str, str]:
        if self._banner:
            return {"glibc": self._banner}
        if self._highest:
            return {"glibc": ".".join(str(p) for p in self._highest)}
        if self._musl:
            return {"musl": "1"}  # musl's ABI version: the ".1" of its soname
        return {}
