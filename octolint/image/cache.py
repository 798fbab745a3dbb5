"""An on-disk cache of layer indexes, so a layer shared by many images is read once.

Entries live in ``<cache dir>/layers/``, where the cache dir is
``$OCTOLINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/octolint``, else
``~/.cache/octolint``. One file per layer digest and analyser version
(``layers.ANALYSER_VERSION``), so a new analysis never reads an old index.

File format: an 8-byte magic, the SHA-256 of the payload (32 bytes), then the
payload: zlib-compressed JSON. JSON, not pickle or marshal, because a cache
file may have been planted by someone else: loading it must never run code or
crash the interpreter, and its structure is validated field by field. The
checksum catches truncated or edited files, which are deleted and treated as
a miss. Files are written to a temporary name in the same directory and
renamed into place, so concurrent readers and writers only ever see whole
entries.

A cache problem (read-only home, full disk, a garbage file) never fails a
run: the layer is just indexed again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from itertools import islice, repeat
from pathlib import Path
from typing import Any, BinaryIO, Callable

from octolint.image import layers
from octolint.image.model import DIR, FILE, HARDLINK, OTHER, SYMLINK, Descriptor, Entry, LayerIndex

CACHE_ENV = "OCTOLINT_CACHE_DIR"
_MAGIC = b"OCTLIDX1"
_CHECKSUM_SIZE = 32
_FORMAT = 1  # of the JSON payload
_MAX_PAYLOAD = 256 << 20  # decompressed; far above any real layer's index
_DIGEST = re.compile(
    r"^(?:(sha256):([0-9a-f]{64})|(sha384):([0-9a-f]{96})|(sha512):([0-9a-f]{128}))$"
)
_SUFFIX = ".idx"
_TEMP_PREFIX = ".tmp-"
_KINDS = frozenset({FILE, DIR, SYMLINK, HARDLINK, OTHER})
_COMPACT = (",", ":")  # JSON separators
_DECODE_BATCH = 10_000  # entries checked at a time (bounds the temporary columns)


class _Invalid(Exception):
    """Internal: a cache file that is not a valid entry."""


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "octolint"


class LayerCache:
    """Layer indexes on disk. ``enabled=False`` (``--no-cache``) never reads or writes."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, enabled: bool = True):
        self.root = Path(directory) if directory is not None else default_cache_dir()
        self.directory = self.root / "layers"
        self.enabled = enabled

    # -- public -------------------------------------------------------------------
    def get(self, digest: str) -> LayerIndex | None:
        """The cached index of a layer, or None (a miss, or an entry found invalid
        and deleted)."""
        path = self._path(digest)
        if not self.enabled or path is None:
            return None
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            return _decode(_unseal(blob), digest)
        except _Invalid:
            _unlink(path)
            return None

    def put(self, index: LayerIndex) -> bool:
        """Store an index; False when it could not be (disabled, odd digest, I/O error)."""
        path = self._path(index.digest)
        if not self.enabled or path is None:
            return False
        blob = _seal(index)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_SUFFIX, dir=self.directory)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(temp, path)
        except OSError:
            _unlink(Path(temp))
            return False
        self._drop_other_versions(path)
        return True

    def index(
        self, descriptor: Descriptor, open_blob: Callable[[], AbstractContextManager[BinaryIO]]
    ) -> LayerIndex:
        """The layer's index from the cache, or by streaming the blob (then cached).

        ``open_blob`` (a stream, or a context manager giving one, such as
        ``lambda: source.open_blob(image, layer)``) is only called on a miss, and
        what it returns is closed here.
        """
        cached = self.get(descriptor.digest)
        if cached is not None:
            return cached
        with open_blob() as stream:
            fresh = layers.index_layer(
                stream, descriptor.digest, descriptor.media_type,
                expected_size=descriptor.size, verify=descriptor.verify,
            )  # fmt: skip
        self.put(fresh)
        return fresh

    def info(self) -> tuple[int, int, str]:
        """(number of entries, their total size in bytes, the directory)."""
        count = size = 0
        for item in self._files():
            try:
                size += item.stat().st_size
            except OSError:
                continue
            count += 1
        return count, size, str(self.directory)

    def clear(self) -> int:
        """Delete every entry (and leftover temporary file); the number deleted."""
        removed = 0
        for item in self._files(include_temporary=True):
            removed += _unlink(item)
        return removed

    # -- files --------------------------------------------------------------------
    def _path(self, digest: str) -> Path | None:
        """The entry's file, or None for a digest that cannot be a file name safely."""
        match = _DIGEST.match(digest)
        if not match:
            return None
        algorithm, hexdigest = (group for group in match.groups() if group)
        return self.directory / f"{algorithm}-{hexdigest}-v{layers.ANALYSER_VERSION}{_SUFFIX}"

    def _files(self, include_temporary: bool = False) -> list[Path]:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        return [
            self.directory / name
            for name in names
            if name.endswith(_SUFFIX) and (include_temporary or not name.startswith(_TEMP_PREFIX))
        ]

    def _drop_other_versions(self, path: Path) -> None:
        stem = path.name.rsplit("-v", 1)[0]
        for item in self._files():
            if item != path and item.name.rsplit("-v", 1)[0] == stem:
                _unlink(item)


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1


# -- serialisation -------------------------------------------------------------------


def _seal(index: LayerIndex) -> bytes:
    """The file's bytes. The JSON is compressed as it is produced, a batch of entries at
    a time: a layer of a million entries would otherwise need its index in memory
    three times over (the index, the JSON lists, the JSON text)."""
    packer = zlib.compressobj(6)
    pieces = []
    for text in _json_pieces(index):
        pieces.append(packer.compress(text.encode("ascii")))
    pieces.append(packer.flush())
    data = b"".join(pieces)
    return _MAGIC + hashlib.sha256(data).digest() + data


def _json_pieces(index: LayerIndex) -> Iterator[str]:
    """The JSON text of an index's payload, in pieces (see _decode for its fields)."""
    yield (f'{{"format":{_FORMAT},"analyser":{layers.ANALYSER_VERSION},'
           f'"digest":{json.dumps(index.digest)},"entries":[')  # fmt: skip
    items = iter(index.entries.items())
    separator = ""
    while chunk := list(islice(items, _DECODE_BATCH)):
        rows = [[path, e.kind, e.mode, e.size, e.link] for path, e in chunk]
        yield separator + json.dumps(rows, separators=_COMPACT)[1:-1]
        separator = ","
    rest = {
        "whiteouts": sorted(index.whiteouts),
        "opaque": sorted(index.opaque),
        "files": {p: base64.b64encode(data).decode("ascii") for p, data in index.files.items()},
        "facts": index.facts,
    }
    yield "]," + json.dumps(rest, separators=_COMPACT)[1:]


def _unseal(blob: bytes) -> Any:
    header = len(_MAGIC) + _CHECKSUM_SIZE
    if len(blob) < header or not blob.startswith(_MAGIC):
        raise _Invalid("not a layer index")
    data = blob[header:]
    if hashlib.sha256(data).digest() != blob[len(_MAGIC) : header]:
        raise _Invalid("checksum mismatch (truncated or edited)")
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(data, _MAX_PAYLOAD)
        if inflater.unconsumed_tail or not inflater.eof:
            raise _Invalid("payload too large or incomplete")
        return json.loads(text.decode("ascii"))
    except (zlib.error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Invalid(str(exc)) from exc


def _decode(payload: Any, digest: str) -> LayerIndex:
    """A LayerIndex from a payload, every field checked: a planted or stale file
    must not produce a malformed index."""
    if not isinstance(payload, dict):
        raise _Invalid("not an object")
    if payload.get("format") != _FORMAT or payload.get("analyser") != layers.ANALYSER_VERSION:
        raise _Invalid("other format or analyser version")
    if payload.get("digest") != digest:
        raise _Invalid("entry of another layer")
    index = LayerIndex(digest=digest, entries=_entries(_list(payload.get("entries"))))
    index.whiteouts = {_path(p) for p in _list(payload.get("whiteouts"))}
    index.opaque = {_path(p) for p in _list(payload.get("opaque"))}
    for path, text in _dict(payload.get("files")).items():
        index.files[_path(path)] = _base64(text)
    for path, facts in _dict(payload.get("facts")).items():
        values = _dict(facts)
        if not all(isinstance(v, str) for v in values.values()):
            raise _Invalid("fact values must be strings")
        index.facts[_path(path)] = values
    return index


def _entries(rows: list[Any]) -> dict[str, Entry]:
    """The [path, kind, mode, size, link] rows as entries, every field checked.

    Performance: the checks run column by column, a batch of rows at a time, with
    map() and set() doing the looping in C, and rows with the same fields share one
    Entry (most directories, many links): a warm scan decodes every entry of every
    layer, so this is most of its time after start-up. ``type(x) is int`` on
    purpose: JSON's true and false must not pass for numbers.
    """
    entries: dict[str, Entry] = {}
    shared: dict[tuple[Any, ...], Entry] = {}
    for start in range(0, len(rows), _DECODE_BATCH):
        batch = rows[start : start + _DECODE_BATCH]
        if set(map(type, batch)) != {list} or set(map(len, batch)) != {5}:
            raise _Invalid("entry must be [path, kind, mode, size, link]")
        paths, kinds, modes, sizes, links = zip(*batch)
        if set(map(type, paths)) != {str} or not all(map(str.startswith, paths, repeat("/"))):
            raise _Invalid("paths must be absolute strings")
        if set(map(type, kinds)) != {str} or not _KINDS.issuperset(kinds):
            raise _Invalid("bad entry kind")
        if set(map(type, modes)) != {int} or not 0 <= min(modes) <= max(modes) <= 0o7777:
            raise _Invalid("bad entry mode")
        if set(map(type, sizes)) != {int} or min(sizes) < 0:
            raise _Invalid("bad entry size")
        if not {str, type(None)}.issuperset(map(type, links)):
            raise _Invalid("bad entry link")
        fields = list(zip(kinds, modes, sizes, links))
        for new in set(fields).difference(shared):
            shared[new] = Entry(*new)
        entries.update(zip(paths, map(shared.__getitem__, fields)))
    return entries


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise _Invalid("paths must be absolute strings")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid("expected a list")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid("expected an object")
    return value


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _Invalid("file contents must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Invalid("bad base64") from exc
