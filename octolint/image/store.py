"""One layer's index as a small SQLite database, queried path by path.

A warm scan must not cost more for a bigger image, so the image's filesystem
is never rebuilt in memory: ``fs.ImageFS`` asks each layer's store only for
the few paths the rules look at (an indexed lookup each), and a store opens
without reading its rows.

Schema (``_SCHEMA``): one ``node`` row per path the layer mentions, keyed by
(parent, name): its entry (``kind`` NULL when the layer only deletes it),
whether the layer whites it out or makes it opaque; ``kind`` ``"i"`` marks an
*implicit* directory, a parent the tar never listed (``lib`` for ``lib/x``),
whose merged entry depends on the layers below. ``file`` holds the contents of
the few small files rules read (``layers.KeptFiles``), ``fact`` the facts
found in binaries (glibc version, ELF machine). Paths are stored as bytes
(UTF-8 with surrogate escapes): tar names need not be UTF-8.

Rows are *canonical*: the layer's own order no longer matters. A tar may list
``a`` as a file and then ``a/x``, which on extraction turns ``a`` into a fresh
directory that hides what lower layers had under it; the store records that
as an explicit directory that is also opaque. Lookups then only need the rows
of the path and its ancestors (see ``fs``).

A layer read afresh is written as it streams by :class:`StoreWriter`, to the
same rows, with memory that grows with the layer's directories only; a path
the tar lists twice is applied in tar order, as extraction does.
``LayerStore.build`` and ``LayerStore.write`` store a ``LayerIndex`` held in
memory (tests, small layers).

Files written by ``LayerCache`` are checked before use: the SQLite header's
user-version field (bytes 60-63, which SQLite leaves to applications) holds the
CRC-32 of the whole file with those bytes zeroed, so a truncated, extended or
edited file is refused at C speed without reading any row (and without even
that once the file has passed: see ``_remember``), and the schema must be
exactly ours (no views or triggers can run). A file can still have been
*planted* with a valid CRC, so every row is validated when it is read; a bad
one raises :class:`CorruptStoreError`, and the scan rebuilds that layer.
Before any of that, a file is only opened at all if no one but its owner (the
current user) could have written it, and never through a symlink (``cachedir``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import queue
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from octolint.cachedir import open_trusted
from octolint.image.model import DIR, FILE, HARDLINK, OTHER, SYMLINK, Entry, LayerIndex

IMPLICIT = "i"  # kind of a directory the layer implies but never listed
IMPLICIT_DIR = Entry(DIR, 0o755)  # what such a directory is when nothing below has one
FORMAT = 2
_KINDS = frozenset({FILE, DIR, SYMLINK, HARDLINK, OTHER, IMPLICIT})
_CRC_OFFSET = 60  # SQLite header: "user version", free for applications
_APPLICATION_ID = b"OCTL"  # SQLite header bytes 68-71: says whose file this is
_HEADER = 100
_CHUNK = 1 << 20  # read size when checking a file's CRC
_MAX_FILE_SIZE = 4 << 30  # far above any real layer's store (2M entries: ~220 MB)
_ENCODING = ("utf-8", "surrogateescape")

_SCHEMA = (
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "CREATE TABLE node(parent BLOB, name BLOB, kind TEXT, mode INTEGER, size INTEGER,"
    " link BLOB, whiteout INTEGER, opaque INTEGER, PRIMARY KEY(parent, name)) WITHOUT ROWID",
    "CREATE TABLE file(path BLOB PRIMARY KEY, data BLOB) WITHOUT ROWID",
    "CREATE TABLE fact(path BLOB, key TEXT, value TEXT, PRIMARY KEY(path, key)) WITHOUT ROWID",
    "CREATE INDEX node_name ON node(name)",  # last: built after the rows, which is faster
)


class CorruptStoreError(Exception):
    """A stored layer index that is not what octolint wrote (damaged or planted)."""

    def __init__(self, digest: str, reason: str, file_id: tuple[int, int] | None = None):
        super().__init__(f"layer index of {digest}: {reason}")
        self.digest = digest
        self.file_id = file_id  # (st_dev, st_ino) of the file, when it came from one


@dataclass(frozen=True)
class Node:
    """What one layer says about one path."""

    entry: Entry | None  # None: the layer only deletes the path (or hides below it)
    implicit: bool = False  # a parent directory the tar never listed
    whiteout: bool = False  # the layer deletes the path from the layers below
    opaque: bool = False  # the layer hides the layers below under this directory


def split(path: str) -> tuple[bytes, bytes]:
    """The (parent, name) key of an absolute normalised path; the root is (b"", b"")."""
    if path == "/":
        return b"", b""
    parent, _, name = path.rpartition("/")
    return (parent or "/").encode(*_ENCODING), name.encode(*_ENCODING)


def _encoded(text: str | None) -> bytes | None:
    return None if text is None else text.encode(*_ENCODING)


def _text(value: bytes) -> str:
    return value.decode(*_ENCODING)


def _lenient_text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class LayerStore:
    """The queryable index of one layer (see the module docstring)."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        digest: str,
        file_id: tuple[int, int] | None = None,
    ):
        self.digest = digest
        self.file_id = file_id  # the file it was opened from, so a damaged one is
        self._db = connection  # deleted only if nobody has replaced it since
        # What the layer costs (LayerIndex.kept_bytes, .members), for per-image bounds.
        self.kept_bytes = 0
        self.members = 0

    # -- making -----------------------------------------------------------------------
    @classmethod
    def build(cls, index: LayerIndex) -> LayerStore:
        """A store of ``index`` in memory (nothing written)."""
        db = sqlite3.connect(":memory:", check_same_thread=False)
        _fill(db, index)
        store = cls(db, index.digest)
        store.kept_bytes, store.members = index.kept_bytes, index.members
        return store

    @classmethod
    def write(cls, index: LayerIndex, path: str | os.PathLike[str]) -> LayerStore:
        """Write a store of ``index`` to ``path`` (an empty or new file), sealed with its
        CRC, and open it (its CRC, just computed from the file, is not read again)."""
        db = sqlite3.connect(os.fspath(path))
        try:
            db.execute("PRAGMA journal_mode=OFF")  # written once, then renamed into place
            db.execute("PRAGMA synchronous=OFF")
            _fill(db, index)
        finally:
            db.close()
        status = _seal(Path(path))
        return cls._connect(path, index.digest, (status.st_dev, status.st_ino))

    @classmethod
    def open(cls, path: str | os.PathLike[str], digest: str) -> LayerStore:
        """The store in a file ``write`` wrote; CorruptStoreError if it is not one,
        OSError if it cannot be read."""
        return cls._connect(path, digest, _check_crc(Path(path), digest))

    @classmethod
    def _connect(
        cls, path: str | os.PathLike[str], digest: str, file_id: tuple[int, int]
    ) -> LayerStore:
        uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro&immutable=1"
        try:
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise CorruptStoreError(digest, str(exc)) from exc
        db.text_factory = _lenient_text  # a forged TEXT value must not raise on reading
        store = cls(db, digest, file_id)
        try:
            db.execute("PRAGMA trusted_schema=OFF")
            db.execute("PRAGMA cell_size_check=ON")
            store._check_schema()
        except (sqlite3.Error, CorruptStoreError):
            db.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    # -- queries ----------------------------------------------------------------------
    def node(self, path: str) -> Node | None:
        rows = self._query(
            "SELECT kind, mode, size, link, whiteout, opaque FROM node WHERE parent=? AND name=?",
            split(path),
        )
        return self._node(rows[0]) if rows else None

    def children(self, directory: str) -> list[tuple[str, bool, bool]]:
        """(name, has an entry, is whited out) for each row directly under directory."""
        parent = directory.encode(*_ENCODING)
        rows = self._query(
            "SELECT name, kind, whiteout FROM node WHERE parent=? AND name<>x''", (parent,)
        )
        found = []
        for name, kind, whiteout in rows:
            if type(name) is not bytes or (kind not in _KINDS and kind is not None):
                raise self._corrupt("bad child row")
            found.append((_text(name), kind is not None, self._flag(whiteout)))
        return found

    def named(self, name: str) -> list[str]:
        """Paths of the entries (implicit directories included) with this last component."""
        encoded = name.encode(*_ENCODING)
        rows = self._query("SELECT parent FROM node WHERE name=? AND kind IS NOT NULL", (encoded,))
        paths = []
        for (parent,) in rows:
            if type(parent) is not bytes or not parent.startswith(b"/"):
                raise self._corrupt("bad parent")
            paths.append(_text(parent.rstrip(b"/") + b"/" + encoded))
        return paths

    def file(self, path: str) -> bytes | None:
        rows = self._query("SELECT data FROM file WHERE path=?", (path.encode(*_ENCODING),))
        if not rows:
            return None
        if type(rows[0][0]) is not bytes:
            raise self._corrupt("bad file data")
        return rows[0][0]

    def fact(self, path: str, key: str) -> str | None:
        rows = self._query(
            "SELECT value FROM fact WHERE path=? AND key=?", (path.encode(*_ENCODING), key)
        )
        if not rows:
            return None
        if type(rows[0][0]) is not str:
            raise self._corrupt("bad fact")
        return rows[0][0]

    # -- helpers ----------------------------------------------------------------------
    def _query(self, sql: str, parameters: Iterable[Any]) -> list[Any]:
        try:
            return self._db.execute(sql, tuple(parameters)).fetchall()
        except (sqlite3.Error, ValueError, OverflowError) as exc:  # malformed pages show
            raise self._corrupt(str(exc)) from exc  # up as they are read

    def _node(self, row: tuple[Any, ...]) -> Node:
        kind, mode, size, link, whiteout, opaque = row
        flags = (self._flag(whiteout), self._flag(opaque))
        if kind is None:
            return Node(None, False, *flags)
        valid = (
            kind in _KINDS
            and type(mode) is int and 0 <= mode <= 0o7777
            and type(size) is int and size >= 0
            and (link is None or type(link) is bytes)
        )  # fmt: skip
        if not valid:
            raise self._corrupt("bad entry row")
        if kind == IMPLICIT:
            return Node(IMPLICIT_DIR, True, *flags)
        return Node(Entry(kind, mode, size, None if link is None else _text(link)), False, *flags)

    def _corrupt(self, reason: str) -> CorruptStoreError:
        return CorruptStoreError(self.digest, reason, self.file_id)

    def _flag(self, value: Any) -> bool:
        if value not in (0, 1) or type(value) is not int:
            raise self._corrupt("bad flag")
        return bool(value)

    def _check_schema(self) -> None:
        rows = self._query("SELECT sql FROM sqlite_schema ORDER BY rowid", ())
        if [sql for (sql,) in rows if sql is not None] != list(_SCHEMA):
            raise self._corrupt("not octolint's schema")
        meta = dict(self._query("SELECT key, value FROM meta", ()))
        wanted = {"format": FORMAT, "digest": self.digest}
        if {k: meta.get(k) for k in wanted} != wanted:
            raise self._corrupt("another format or layer")
        kept_bytes, members = meta.get("kept_bytes"), meta.get("members")
        if not (type(kept_bytes) is int and kept_bytes >= 0
                and type(members) is int and members >= 0):  # fmt: skip
            raise self._corrupt("bad layer size")
        self.kept_bytes, self.members = kept_bytes, members


# -- building ----------------------------------------------------------------------------


def _fill(db: sqlite3.Connection, index: LayerIndex) -> None:
    *tables, name_index = _SCHEMA
    for statement in tables:
        db.execute(statement)
    meta = [("format", FORMAT), ("digest", index.digest), ("kept_bytes", index.kept_bytes),
            ("members", index.members)]  # fmt: skip
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
    db.executemany("INSERT INTO node VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _node_rows(index))
    db.executemany(
        "INSERT INTO file VALUES (?, ?)",
        ((p.encode(*_ENCODING), data) for p, data in index.files.items()),
    )
    facts = ((p, k, v) for p, found in index.facts.items() for k, v in found.items())
    db.executemany(
        "INSERT INTO fact VALUES (?, ?, ?)", ((p.encode(*_ENCODING), k, v) for p, k, v in facts)
    )
    db.execute(name_index)
    db.commit()


def _node_rows(index: LayerIndex) -> Iterator[tuple[Any, ...]]:
    own, opaque = canonical_entries(index)
    implicit = _implicit_parents(own)

    def flags(path: str) -> tuple[int, int]:
        return int(path in index.whiteouts), int(path in opaque)

    for path, entry in own.items():
        link = None if entry.link is None else entry.link.encode(*_ENCODING)
        yield (*split(path), entry.kind, entry.mode, entry.size, link, *flags(path))
    for path in implicit:
        yield (*split(path), IMPLICIT, IMPLICIT_DIR.mode, 0, None, *flags(path))
    for path in (index.whiteouts | opaque).difference(own, implicit):
        yield (*split(path), None, None, None, None, *flags(path))


def canonical_entries(index: LayerIndex) -> tuple[dict[str, Entry], set[str]]:
    """The layer's entries and opaque directories as extracting the tar in order leaves
    them, whatever lies below: a later non-directory removes what the layer put under
    it; an entry under a non-directory the layer put there turns that into a fresh
    directory (mode 755) that hides the lower layers' content (so: opaque)."""
    layer = _Canonical(index.opaque)
    for path, entry in index.entries.items():
        layer.add(path, entry)
    return layer.own, layer.opaque


class _Canonical:
    """A layer's entries, applied in order onto nothing (see canonical_entries).

    Real layers never put anything under a non-directory of their own, so the map of
    each directory's children that removing a subtree needs is only built the first
    time it is needed (about 50 bytes per entry: 50 MB for a million).
    """

    def __init__(self, opaque: set[str]):
        self.own: dict[str, Entry] = {}
        self.opaque = set(opaque)
        self.parents: set[str] = set()  # every path the layer puts something under
        self.children: dict[str, set[str]] | None = None

    def add(self, path: str, entry: Entry) -> None:
        if path == "/":
            if entry.kind == DIR:  # nothing else can replace the root
                self.own[path] = entry
            return
        if entry.kind != DIR and path in self.parents:
            self._drop_below(path)
        self._claim_parents(path)
        self.own[path] = entry

    def _claim_parents(self, path: str) -> None:
        child = path
        while child != "/":
            parent = child.rpartition("/")[0] or "/"
            claimed = parent in self.parents
            self.parents.add(parent)
            if self.children is not None:
                self.children.setdefault(parent, set()).add(child)
            existing = self.own.get(parent)
            if existing is not None:
                if existing.kind != DIR:  # the layer's own file here becomes a directory
                    self.own[parent] = IMPLICIT_DIR
                    self.opaque.add(parent)
                return
            if claimed:
                # Its ancestors were claimed with it (dropping a subtree unclaims all
                # of it): climbing again would cost every entry its whole depth, and a
                # path of 4096 bytes can be 2048 directories deep.
                return
            child = parent

    def _drop_below(self, path: str) -> None:
        if self.children is None:
            self.children = {}
            for known in (*self.own, *self.parents):
                if known != "/":
                    self.children.setdefault(known.rpartition("/")[0] or "/", set()).add(known)
        pending = [path]
        while pending:
            current = pending.pop()
            self.parents.discard(current)
            for child in self.children.pop(current, ()):
                self.own.pop(child, None)
                pending.append(child)


def _implicit_parents(own: dict[str, Entry]) -> list[str]:
    implicit: set[str] = set()
    for path in own:
        parent = path.rpartition("/")[0] or "/"
        while parent != "/" and parent not in own and parent not in implicit:
            implicit.add(parent)
            parent = parent.rpartition("/")[0] or "/"
    return sorted(implicit)


# -- writing as the layer streams ---------------------------------------------------------

_BATCH = 8192  # node rows held before they go to SQLite in one executemany
_SCAN = 64  # rows held that a subtree being dropped may be looked for among
_QUEUE = 4  # batches (about 2 MB each) waiting for the writing thread
_CACHE_KIB = 8192  # SQLite's page cache while writing: RSS must not grow with the layer
_PRAGMAS = (
    "journal_mode=OFF", "synchronous=OFF",  # written once, then renamed into place
    f"cache_size=-{_CACHE_KIB}", f"temp.cache_size=-{_CACHE_KIB}", "temp_store=FILE",
)  # fmt: skip
_TEMPORARY = (  # whiteouts; files made directories in SQLite (see _claim_parents)
    "CREATE TEMP TABLE gone(parent BLOB, name BLOB, PRIMARY KEY(parent, name)) WITHOUT ROWID",
    "CREATE TEMP TABLE made(parent BLOB, name BLOB, PRIMARY KEY(parent, name)) WITHOUT ROWID",
)
_INSERT_NODE = "INSERT OR REPLACE INTO node VALUES (?, ?, ?, ?, ?, ?, 0, 0)"  # flags: finish
# The same for a batch of rows in one JSON array: SQLite reads it without the GIL, where
# executemany would take the GIL back to bind each row, and so wait for the thread
# reading the layer at every row (2-3x slower for both on two cores).
_INSERT_NODES_JSON = (
    "INSERT OR REPLACE INTO node SELECT CAST(value->>0 AS BLOB), CAST(value->>1 AS BLOB),"
    " value->>2, value->>3, value->>4, CAST(value->>5 AS BLOB), 0, 0 FROM json_each(?)"
)
_INSERT_GONE = "INSERT OR IGNORE INTO temp.gone VALUES (?, ?)"
_UPSERT_FLAG = (
    "INSERT INTO node VALUES (?, ?, NULL, NULL, NULL, NULL, ?, ?) ON CONFLICT(parent, name)"
    " DO UPDATE SET whiteout=max(whiteout, excluded.whiteout), opaque=max(opaque, excluded.opaque)"
)
_Job = Union[Callable[[], object], threading.Event]  # a statement to run, or a barrier


class StoreWriteError(Exception):
    """Writing a store failed (disk full, an I/O error): the file is no use."""


def _insert_nodes(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert node rows of (parent, name, kind, mode, size, link) with text paths, as
    the UTF-8 (surrogates escaped) blobs the store holds."""
    try:
        db.execute(_INSERT_NODES_JSON, (json.dumps(rows, ensure_ascii=False),))
    except UnicodeEncodeError:  # a name that is not UTF-8: JSON cannot carry its bytes
        db.executemany(_INSERT_NODE, [
            (parent.encode(*_ENCODING), name.encode(*_ENCODING), kind, mode, size,
             _encoded(link)) for parent, name, kind, mode, size, link in rows
        ])  # fmt: skip


class StoreWriter:
    """A ``model.IndexSink`` writing a layer's store as the layer streams.

    It makes the rows ``LayerStore.write`` makes of the same events (``_Canonical``'s
    rules, applied in tar order), but memory grows with the layer's *directories*
    only: entries go to SQLite in batches, whiteouts to a temporary table, and the
    rare canonicalisations are SQL (a later non-directory deletes the rows under it
    by a range of ``parent``; an entry under the layer's own non-directory rewrites
    that row). What stays in memory: the directories the layer lists or implies,
    its opaque ones, and (only once a subtree is dropped) a map of their children.

    SQLite steps without the GIL, so a thread of the writer's own runs the
    statements, in order, while the caller reads the layer (on another core);
    at most ``_QUEUE`` batches wait for it, and the caller never waits for an
    answer (whether a directory first met as a parent is a file the layer listed
    is left to an UPDATE of that row, if there is one), except in ``finish``.

    ``finish`` (the layer is whole and verified) completes the file; ``seal`` then
    closes it, seals it with its CRC and opens it as a ``LayerStore``; ``abort``
    closes an unfinished one (the caller deletes the file). Any SQLite or OS error
    is raised as :class:`StoreWriteError`.
    """

    def __init__(self, path: str | os.PathLike[str], digest: str):
        self.path = os.fspath(path)
        self.digest = digest
        self._kept = (0, 0)
        self._finished = False
        self._pending: dict[str, tuple[Any, ...]] = {}  # path -> node row, not yet written
        self._gone: list[tuple[bytes, bytes]] = []  # whiteouts not yet written
        # Every path the layer puts something under, and the number of batches sent
        # to SQLite before it was: if none since, no row under it is there yet.
        self._parents: dict[str, int] = {}
        self._sent = 0
        self._dirs: set[str] = set()  # the layer's own directories (rows of kind DIR)
        self._opaque: set[str] = set()  # explicit (.wh..wh..opq) or made by canonicalising
        self._children: dict[str, set[str]] | None = None  # of _parents and _dirs, lazily
        self._deferred: list[Callable[[], object]] = []  # jobs sent with the next one
        self._deferred_rows = 0
        with self._writing():
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            try:
                for pragma in _PRAGMAS:
                    self._db.execute(f"PRAGMA {pragma}")
                for statement in (*_SCHEMA[:-1], *_TEMPORARY):
                    self._db.execute(statement)
            except BaseException:
                self._db.close()
                raise
        self._jobs: queue.Queue[_Job | None] = queue.Queue(_QUEUE)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._work, name="octolint-store", daemon=True)
        self._thread.start()

    # -- IndexSink ---------------------------------------------------------------------
    def add_entry(self, path: str, kind: str, mode: int, size: int, link: str | None) -> None:
        parent, _, name = path.rpartition("/")
        if not parent:
            if not name:  # the root, which nothing else can replace
                if kind == DIR:
                    self._dirs.add(path)
                    self._pending[path] = ("", "", kind, mode, size, link)
                return
            parent = "/"
        if kind == DIR:
            self._dirs.add(path)
        else:
            if path in self._parents:
                self._drop_below(path)
            self._dirs.discard(path)
        if self._children is not None or parent not in self._parents:
            self._claim_parents(path, parent, kind == DIR)
        self._pending[path] = (parent, name, kind, mode, size, link)  # encoded in _insert_nodes
        if len(self._pending) >= _BATCH:
            self._flush()

    def add_whiteout(self, path: str) -> None:
        self._gone.append(split(path))
        if len(self._gone) >= _BATCH:
            self._flush()

    def add_opaque(self, directory: str) -> None:
        self._opaque.add(directory)

    def add_file(self, path: str, data: bytes) -> None:
        row = (path.encode(*_ENCODING), data)
        self._submit(lambda: self._db.execute("INSERT OR REPLACE INTO file VALUES (?, ?)", row))

    def add_facts(self, path: str, facts: dict[str, str]) -> None:
        key = path.encode(*_ENCODING)
        rows = [(key, k, v) for k, v in facts.items()]

        def write() -> None:  # the later facts of a path replace the earlier ones
            self._db.execute("DELETE FROM fact WHERE path=?", (key,))
            self._db.executemany("INSERT INTO fact VALUES (?, ?, ?)", rows)

        self._submit(write)

    def finish(self, kept_bytes: int, members: int) -> None:
        self._flush()
        implicit = sorted(split(d) for d in self._parents if d not in self._dirs and d != "/")
        opaque = sorted(split(d) for d in self._opaque)
        meta = [("format", FORMAT), ("digest", self.digest), ("kept_bytes", kept_bytes),
                ("members", members)]  # fmt: skip

        def write() -> None:
            db = self._db
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
            db.executemany(
                "INSERT OR IGNORE INTO node VALUES (?, ?, ?, 493, 0, NULL, 0, 0)",  # (made)
                [(*key, IMPLICIT) for key in implicit],
            )
            db.execute(
                "INSERT INTO node SELECT parent, name, NULL, NULL, NULL, NULL, 1, 0"
                " FROM temp.gone WHERE true ON CONFLICT(parent, name) DO UPDATE SET whiteout=1"
            )
            db.executemany(_UPSERT_FLAG, [(*key, 0, 1) for key in opaque])
            db.execute(
                "INSERT INTO node SELECT parent, name, NULL, NULL, NULL, NULL, 0, 1"
                " FROM temp.made WHERE true ON CONFLICT(parent, name) DO UPDATE SET opaque=1"
            )
            db.execute(_SCHEMA[-1])  # the name index, built after the rows
            db.commit()

        self._submit(write)
        self._stop()
        self._kept = (kept_bytes, members)
        self._finished = True

    # -- the file ----------------------------------------------------------------------
    def seal(self) -> LayerStore:
        """Close the finished file, seal it with its CRC and open it (not checked again)."""
        if not self._finished:
            raise ValueError("StoreWriter.seal before finish")
        with self._writing():
            self._db.close()
            status = _seal(Path(self.path))
        store = LayerStore._connect(self.path, self.digest, (status.st_dev, status.st_ino))
        store.kept_bytes, store.members = self._kept
        return store

    def abort(self) -> None:
        """Stop writing and close the file, finished or not; what it holds is no use."""
        if self._thread.is_alive():
            self._error = self._error or StoreWriteError("aborted")  # skip what is queued
            self._jobs.put(None)
            self._thread.join()
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    # -- canonicalising ----------------------------------------------------------------
    def _claim_parents(self, path: str, parent: str, is_dir: bool) -> None:
        """As ``_Canonical._claim_parents``; whether a parent is the layer's own
        non-directory is asked of SQLite, once per directory first claimed."""
        children, parents, dirs, sent = self._children, self._parents, self._dirs, self._sent
        child = path
        while True:
            claimed = parent in parents
            parents.setdefault(parent, sent)
            if children is not None and (is_dir or child is not path):
                children.setdefault(parent, set()).add(child)
            if parent in dirs or claimed:
                return  # (a claimed parent is never the layer's own non-directory)
            if parent == "/":
                return
            if parent in self._pending:  # the layer's own file here becomes a directory
                self._make_directory(parent)
                return
            # Perhaps one sent to SQLite: if so, its ancestors are claimed already, and
            # climbing on stops at once. (Asking would wait for the writing thread.)
            self._defer(functools.partial(self._make_directory_if_listed, split(parent)), 1)
            child, parent = parent, parent.rpartition("/")[0] or "/"

    def _make_directory_if_listed(self, key: tuple[bytes, bytes]) -> None:
        """(In the writing thread) as ``_make_directory``, if the row is there; opaque
        once finished. (Rows are only the layer's own entries until then.)"""
        self._db.execute(
            "INSERT OR IGNORE INTO temp.made SELECT parent, name FROM node"
            " WHERE parent=? AND name=?",
            key,
        )
        self._db.execute(
            "UPDATE node SET kind=?, mode=?, size=0, link=NULL WHERE parent=? AND name=?",
            (DIR, IMPLICIT_DIR.mode, *key),
        )

    def _make_directory(self, path: str) -> None:
        parent, _, name = path.rpartition("/")
        self._pending[path] = (parent or "/", name, DIR, IMPLICIT_DIR.mode, 0, None)
        self._dirs.add(path)
        self._opaque.add(path)
        if self._children is not None:
            self._children.setdefault(path.rpartition("/")[0] or "/", set()).add(path)

    def _drop_below(self, path: str) -> None:
        """The layer's rows under ``path`` (about to be a non-directory) go."""
        if self._parents[path] == self._sent and len(self._pending) <= _SCAN:
            # All of them are among the few rows held (a layer may do this at every
            # other entry): none to delete in SQLite.
            below = path + "/"
            for held in [held for held in self._pending if held.startswith(below)]:
                del self._pending[held]
        else:
            key = path.encode(*_ENCODING)
            rows, self._pending = list(self._pending.values()), {}
            self._sent += 1

            def delete() -> None:  # one job
                _insert_nodes(self._db, rows)
                self._db.execute("DELETE FROM node WHERE parent=?", (key,))
                # Every parent below: those starting with "path/" ("0" follows "/").
                self._db.execute(
                    "DELETE FROM node WHERE parent>=? AND parent<?", (key + b"/", key + b"0")
                )

            self._defer(delete, len(rows) + 1)
        if self._children is None:
            self._children = {}
            for known in (*self._parents, *self._dirs):
                if known != "/":
                    self._children.setdefault(known.rpartition("/")[0] or "/", set()).add(known)
        pending = [path]
        while pending:
            current = pending.pop()
            self._parents.pop(current, None)
            self._dirs.discard(current)
            pending.extend(self._children.pop(current, ()))

    def _flush(self) -> None:
        if self._pending:
            rows = list(self._pending.values())
            self._pending = {}
            self._sent += 1
            self._submit(lambda: _insert_nodes(self._db, rows))
        if self._gone:
            gone, self._gone = self._gone, []
            self._submit(lambda: self._db.executemany(_INSERT_GONE, gone))

    # -- the writing thread --------------------------------------------------------------
    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if isinstance(job, threading.Event):
                job.set()  # all before it is done
            elif self._error is None:
                try:
                    job()
                except Exception as exc:  # told to the caller at its next call
                    self._error = exc

    def _submit(self, job: _Job) -> None:
        self._raise_error()
        self._send_deferred()
        self._jobs.put(job)

    def _defer(self, job: Callable[[], object], rows: int) -> None:
        """Run ``job`` with the next one submitted: a layer may drop a subtree at every
        other entry, and a job for the writing thread costs some 10 µs."""
        self._deferred.append(job)
        self._deferred_rows += rows
        if self._deferred_rows >= _BATCH:
            self._raise_error()
            self._send_deferred()

    def _send_deferred(self) -> None:
        if self._deferred:
            jobs, self._deferred, self._deferred_rows = self._deferred, [], 0

            def run() -> None:
                for job in jobs:
                    job()

            self._jobs.put(run)

    def _sync(self) -> None:
        """Wait until every statement submitted so far has run."""
        done = threading.Event()
        self._submit(done)
        done.wait()
        self._raise_error()

    def _stop(self) -> None:
        self._sync()
        self._jobs.put(None)
        self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise StoreWriteError(f"writing the layer index {self.path}: {self._error}")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise StoreWriteError(f"writing the layer index {self.path}: {exc}") from exc


# -- the file's CRC ----------------------------------------------------------------------


def _file_crc(handle: io.BufferedIOBase) -> tuple[bytes, int]:
    """(the first _HEADER bytes, the CRC-32 of the file with bytes 60-63 zeroed). Read
    in chunks, not mapped: mapped pages would count as this process's memory."""
    handle.seek(0)
    header = handle.read(_HEADER)
    crc = zlib.crc32(header[:_CRC_OFFSET] + bytes(4) + header[_CRC_OFFSET + 4 :])
    chunk = bytearray(_CHUNK)
    with memoryview(chunk) as view:
        while size := handle.readinto(chunk):
            crc = zlib.crc32(view[:size], crc)
    return header, crc


def _seal(path: Path) -> os.stat_result:
    """Write the application id and the file's CRC into the SQLite header; the file's
    status."""
    with os.fdopen(open_trusted(path, os.O_RDWR), "r+b") as handle:
        handle.seek(68)
        handle.write(_APPLICATION_ID)
        handle.flush()
        _, crc = _file_crc(handle)
        handle.seek(_CRC_OFFSET)
        handle.write(struct.pack(">I", crc))
        return os.fstat(handle.fileno())


def _check_crc(path: Path, digest: str) -> tuple[int, int]:
    """The file's (st_dev, st_ino), once its CRC is checked, or found checked before.
    Never through a symlink, and only a file of the current user that no one else can
    write (cachedir.UntrustedCacheError, an OSError, otherwise): SQLite then opens the
    same path, in a directory only its owner can change."""
    with os.fdopen(open_trusted(path), "rb") as handle:
        status = os.fstat(handle.fileno())
        if not _HEADER <= status.st_size <= _MAX_FILE_SIZE:
            raise CorruptStoreError(digest, f"size {status.st_size}")
        stamp = _stamp(status)
        if _remembered(handle.fileno()) != stamp:
            _check_bytes(handle, digest)
            if time.time_ns() - status.st_mtime_ns > _SETTLED_NS:
                _remember(handle.fileno(), stamp)
    return status.st_dev, status.st_ino


def _check_bytes(handle: io.BufferedIOBase, digest: str) -> None:
    header, crc = _file_crc(handle)
    if header[68:72] != _APPLICATION_ID:
        raise CorruptStoreError(digest, "not a layer index")
    if crc != struct.unpack(">I", header[_CRC_OFFSET : _CRC_OFFSET + 4])[0]:
        raise CorruptStoreError(digest, "checksum mismatch (truncated or edited)")


# Checking the CRC is the one cost of opening a store that grows with its size
# (about 30 ms per million entries). Once a file has passed, that is remembered in
# an extended attribute, with the file's inode, size and modification time: any
# edit, truncation or replacement changes one of them, and the next open checks
# the bytes again. Timestamps are coarse (a few ms), so a pass is remembered only
# for a file last modified a while ago; an edit in the same tick as the check
# cannot then keep its time. Without xattr support every open checks the bytes.
_VERIFIED_XATTR = "user.octolint.checked"
_SETTLED_NS = 2_000_000_000


def _stamp(status: os.stat_result) -> bytes:
    return f"{FORMAT}:{status.st_ino}:{status.st_size}:{status.st_mtime_ns}".encode()


def _remembered(fd: int) -> bytes | None:
    try:
        return os.getxattr(fd, _VERIFIED_XATTR)
    except (OSError, AttributeError):  # no such attribute, no xattr support, not Linux
        return None


def _remember(fd: int, stamp: bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setxattr(fd, _VERIFIED_XATTR, stamp)
