"""An on-disk cache of layer indexes, so a layer shared by many images is read once.

Entries live in ``<cache dir>/layers/``, where the cache dir is
``$OCTOLINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/octolint``, else
``~/.cache/octolint``. One file per layer digest, analyser version
(``layers.ANALYSER_VERSION``), store format (``store.FORMAT``) and set of kept
files beyond the core ones (``layers.KeptFiles.key``: a rule that asks for a new
file with READS_FILES gets a fresh index), so a new analysis never reads an old
index.

Each entry is a ``store.LayerStore``: a SQLite file queried path by path, so a
warm scan reads only the rows it needs, whatever the layer's size. Loading one
never runs code and checks the file's CRC, so a truncated or edited entry is
detected and deleted; rows are validated as they are read (see ``store``).
A layer read afresh streams straight into its entry (``store.StoreWriter``),
written to a temporary name in the same directory and renamed into place once
whole and verified, so concurrent readers and writers only ever see whole
entries, and a scan stopped at any instant (Ctrl-C, see ``octolint.interrupt``,
which also deletes the temporary file being written) or a layer found invalid
leaves whole entries only. Without a usable cache (``--no-cache``, an untrusted
or unwritable directory) the store goes to a private temporary file in
``TMPDIR``, deleted as soon as it is open, so memory stays bounded either way.

A cache problem (read-only home, full disk, a garbage file) never fails a
run: the layer is just indexed again.

An index decides a verdict, so only entries nobody else could have written are
read (``octolint.cachedir``): the cache directory and ``layers`` must be owned
by the current user and writable by no one else, or the cache is not used (one
warning on stderr); each entry is opened without following symlinks and must
pass the same test. ``clear`` deletes only regular files named like entries.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Callable

from octolint.cachedir import cache_root, status_problem, usable_directory
from octolint.image import layers
from octolint.image.model import Descriptor, LayerIndex
from octolint.image.store import FORMAT, CorruptStoreError, LayerStore, StoreWriteError, StoreWriter
from octolint.interrupt import forget_temporary, new_temporary

_DIGEST = re.compile(
    r"^(?:(sha256):([0-9a-f]{64})|(sha384):([0-9a-f]{96})|(sha512):([0-9a-f]{128}))$"
)
_SUFFIX = ".idx"
_TEMP_PREFIX = ".tmp-"
# What octolint's own files in ``layers`` are called (entries; mkstemp's temporaries):
# nothing else there is ever counted or deleted.
_ENTRY_NAME = re.compile(
    r"^(?:sha256-[0-9a-f]{64}|sha384-[0-9a-f]{96}|sha512-[0-9a-f]{128})-v[0-9]+-f[0-9]+\.idx$"
)
_TEMP_NAME = re.compile(r"^\.tmp-[a-z0-9_]{1,32}\.idx$")

default_cache_dir = cache_root


def _written(index: LayerIndex, temp: str) -> LayerStore | None:
    """The index written into the file ``temp``; None if that fails (a full disk)."""
    try:
        return LayerStore.write(index, temp)
    except (OSError, sqlite3.Error, CorruptStoreError):
        return None


class LayerCache:
    """Layer indexes on disk. ``enabled=False`` (``--no-cache``) never reads or writes."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, enabled: bool = True,
                 kept: layers.KeptFiles = layers.DEFAULT_KEPT):  # fmt: skip
        self.root = Path(directory) if directory is not None else default_cache_dir()
        self.directory = self.root / "layers"
        self.enabled = enabled
        self._trusted = False  # once both directories passed (only we can change them)
        self.kept = kept  # the files whose contents indexes keep

    # -- public -------------------------------------------------------------------
    def get(self, digest: str) -> LayerStore | None:
        """The cached index of a layer, or None (a miss, or an entry found invalid
        and deleted)."""
        path = self._path(digest)
        if not self.enabled or path is None or not self._ready(create=False):
            return None
        try:
            return LayerStore.open(path, digest)
        except OSError:  # also a symlink or another user's file: a miss, replaced by store
            return None
        except (CorruptStoreError, sqlite3.Error):
            _unlink(path)
            return None

    def store(self, index: LayerIndex) -> LayerStore:
        """The index as a store: written to the cache when possible, else in memory."""
        path = self._path(index.digest)
        if self.enabled and path is not None and self._ready(create=True):
            stored = self._into_file(self.directory, path, lambda temp: _written(index, temp))
            if stored is not None:
                return stored
        return LayerStore.build(index)

    def index(
        self,
        descriptor: Descriptor,
        open_blob: Callable[[], AbstractContextManager[BinaryIO]],
        image: layers.ImageBudget | None = None,
    ) -> LayerStore:
        """The layer's store from the cache, or by streaming the blob (then cached).

        ``open_blob`` (a stream, or a context manager giving one, such as
        ``lambda: source.open_blob(image, layer)``) is only called on a miss, and
        what it returns is closed here. ``image`` bounds what the layers of one image
        keep together (``layers.scan_layer``).

        The blob streams straight into a ``store.StoreWriter`` (memory does not grow
        with the layer's files): into a temporary file in the cache, renamed into
        place once whole and verified; without a usable cache, into a private
        temporary file, deleted once open (the store reads it until closed). Only if
        writing fails (a full disk) is the blob read again, and as a last resort the
        index held in memory.
        """
        cached = self.get(descriptor.digest)
        if cached is not None:
            return cached
        path = self._path(descriptor.digest)

        def write(temp: str) -> LayerStore | None:
            return self._write(descriptor, open_blob, image, temp)

        if self.enabled and path is not None and self._ready(create=True):
            stored = self._into_file(self.directory, path, write)
            if stored is not None:
                return stored
        stored = self._into_file(None, None, write)
        if stored is not None:
            return stored
        with open_blob() as stream:
            fresh = layers.index_layer(
                stream, descriptor.digest, descriptor.media_type,
                expected_size=descriptor.size, verify=descriptor.verify, image=image,
                kept=self.kept,
            )  # fmt: skip
        return LayerStore.build(fresh)

    def _into_file(
        self, directory: Path | None, path: Path | None, make: Callable[[str], LayerStore | None]
    ) -> LayerStore | None:
        """``make(temp)``'s store, written into a new file in ``directory`` (None:
        TMPDIR), then renamed to ``path`` (None: a private file, deleted once open).
        None if there is no file to write or ``make`` returns None (the file cannot
        be written). Whatever else goes wrong (the layer is invalid, Ctrl-C)
        propagates, and the temporary file never outlives the call."""
        try:  # empty: SQLite takes it for an empty database. Deleted on Ctrl-C.
            where = directory if directory is not None else tempfile.gettempdir()
            temp = new_temporary(where, _TEMP_PREFIX, _SUFFIX)
        except OSError:
            return None
        try:
            stored = make(temp)
            if stored is None or path is None:
                _unlink(Path(temp))  # (an open store keeps reading its file)
                return stored
            try:
                os.replace(temp, path)  # the open store keeps reading the same file
            except OSError:
                _unlink(Path(temp))
                return stored  # still a whole store, though not cached
        except BaseException:
            _unlink(Path(temp))
            raise
        finally:
            forget_temporary(temp)  # renamed or deleted by now
        self._drop_other_versions(path)
        return stored

    def _write(
        self,
        descriptor: Descriptor,
        open_blob: Callable[[], AbstractContextManager[BinaryIO]],
        image: layers.ImageBudget | None,
        temp: str,
    ) -> LayerStore | None:
        charges = _Charges(image) if image is not None else None
        writer = None
        try:
            writer = StoreWriter(temp, descriptor.digest)
            with open_blob() as stream:
                layers.scan_layer(
                    stream, writer, descriptor.digest, descriptor.media_type,
                    expected_size=descriptor.size, verify=descriptor.verify, image=charges,
                    kept=self.kept,
                )  # fmt: skip
            return writer.seal()
        except (StoreWriteError, CorruptStoreError, sqlite3.Error):
            if writer is not None:
                writer.abort()
            if charges is not None:
                charges.refund()  # the blob is read again, and charged again
            return None
        except BaseException:
            if writer is not None:
                writer.abort()
            raise

    def discard(self, error: CorruptStoreError) -> None:
        """Delete the entry an error was found in, unless it has been replaced since
        (by a scan that found it corrupt first, and read the layer again)."""
        path = self._path(error.digest)
        if path is None or error.file_id is None:
            return
        try:
            status = path.lstat()
        except OSError:
            return
        if (status.st_dev, status.st_ino) == error.file_id:
            _unlink(path)

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
        """Delete every entry (and leftover temporary file); the number deleted.
        Only octolint's own files go (see ``_files``; unlink never follows a link)."""
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
        version = f"v{layers.ANALYSER_VERSION}-f{FORMAT}"
        if self.kept.key:
            version += f"-k{self.kept.key}"
        return self.directory / f"{algorithm}-{hexdigest}-{version}{_SUFFIX}"

    def _ready(self, *, create: bool) -> bool:
        """Whether the cache's directories exist (made when ``create``) and can be
        trusted; if they cannot, a warning (once) and the cache is not used."""
        if not self._trusted:
            self._trusted = usable_directory(
                self.root, top=True, create=create
            ) and usable_directory(self.directory, top=False, create=create)
        return self._trusted

    def _files(self, include_temporary: bool = False) -> list[Path]:
        """octolint's own files in ``layers``: regular files it could have written,
        named like its entries (and temporaries); nothing when untrusted."""
        if not self._ready(create=False):
            return []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        found = []
        for name in names:
            if _ENTRY_NAME.match(name) or (include_temporary and _TEMP_NAME.match(name)):
                try:
                    status = os.lstat(self.directory / name)
                except OSError:
                    continue
                if status_problem(status, "file") is None:
                    found.append(self.directory / name)
        return found

    def _drop_other_versions(self, path: Path) -> None:
        stem = path.name.rsplit("-v", 1)[0]
        for item in self._files():
            if item != path and item.name.rsplit("-v", 1)[0] == stem:
                _unlink(item)


class _Charges(layers.ImageBudget):
    """What one layer charges its image's budget, so that a failed attempt can be
    taken back before the blob is read again."""

    def __init__(self, image: layers.ImageBudget):
        super().__init__()
        self._image = image

    def add(self, kept_bytes: int, members: int) -> None:
        self.kept_bytes += kept_bytes
        self.members += members
        self._image.add(kept_bytes, members)

    def refund(self) -> None:
        with contextlib.suppress(layers.BoundExceeded):  # over anyway: another layer says so
            self._image.add(-self.kept_bytes, -self.members)


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1
