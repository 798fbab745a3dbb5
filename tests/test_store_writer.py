"""store.StoreWriter writes, as a layer streams, the rows LayerStore.write writes.

The reference is the in-memory way: the events into a LayerIndex, then
``LayerStore.write``. Paths come from a tiny alphabet, so that one path is
listed twice, a file gets a path under it, a directory is replaced by a file,
whiteouts and opaque markers land on entries, and so on.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolint.image import store as store_module
from octolint.image.model import DIR, FILE, HARDLINK, OTHER, SYMLINK, Entry, IndexSink, LayerIndex
from octolint.image.store import LayerStore, StoreWriter, _Canonical

DIGEST = "sha256:" + "ab" * 32
Event = tuple[Any, ...]

# Every path of up to 3 components from 2 names (one not UTF-8), as likely deep as not.
ALL_PATHS = ["/"] + [
    f"{parent.rstrip('/')}/{name}"
    for parent in ("/", "/a", "/b\udcff", "/a/a", "/a/b\udcff", "/b\udcff/a", "/b\udcff/b\udcff")
    for name in ("a", "b\udcff")
]
PATHS = st.sampled_from(ALL_PATHS)
KINDS = st.sampled_from([FILE, FILE, FILE, DIR, DIR, DIR, SYMLINK, HARDLINK, OTHER])
ENTRIES = st.tuples(st.just("entry"), PATHS, KINDS, st.sampled_from([0o644, 0o755]),
                    st.integers(0, 3), st.sampled_from([None, "x", "/a/b"]))  # fmt: skip
OTHERS = st.one_of(
    st.tuples(st.just("whiteout"), st.sampled_from(ALL_PATHS[1:])),
    st.tuples(st.just("opaque"), PATHS),
    st.tuples(st.just("file"), PATHS, st.binary(max_size=3)),
    st.tuples(st.just("facts"), PATHS, st.dictionaries(
        st.sampled_from(["glibc", "elf"]), st.sampled_from(["2.36", "x86_64"]))),
)  # fmt: skip
# Mostly entries (one_of would draw each kind of event alike).
EVENTS = st.lists(st.integers(0, 9).flatmap(lambda n: ENTRIES if n < 8 else OTHERS),
                  min_size=3, max_size=30)  # fmt: skip


def feed(sink: IndexSink, events: Sequence[Event]) -> None:
    for kind, path, *rest in events:
        if kind == "entry":
            entry_kind, mode, size, link = rest
            link = link if entry_kind in (SYMLINK, HARDLINK) else None
            sink.add_entry(path, entry_kind, mode, size, link)
        elif kind == "whiteout":
            sink.add_whiteout(path)
        elif kind == "opaque":
            sink.add_opaque(path)
        elif kind == "file":
            sink.add_file(path, rest[0])
        elif rest[0]:  # scan_layer never reports no facts
            sink.add_facts(path, rest[0])
    sink.finish(len(events) * 7, len(events))


def rows(path: Path) -> dict[str, list[Any]]:
    db = sqlite3.connect(path)
    try:
        tables = [
            name for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type='table'")
        ]
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in sorted(tables)}
    finally:
        db.close()


def written(events: Sequence[Event], path: Path, batch: int = 8192) -> dict[str, list[Any]]:
    """The rows a StoreWriter writes, sending rows to SQLite ``batch`` at a time (small
    batches make it look rows up in SQLite, not among those it holds)."""
    default, store_module._BATCH = store_module._BATCH, batch
    try:
        writer = StoreWriter(path, DIGEST)
        feed(writer, events)
        writer.seal().close()
    finally:
        store_module._BATCH = default
    return rows(path)


def in_extraction_order(events: Sequence[Event]) -> LayerIndex:
    """A LayerIndex whose entries are what extracting the events in order leaves.

    LayerIndex itself applies each path's *last* entry in the order of last mention:
    the same thing unless a path is listed twice with something in between that
    depends on it (``a/x``, ``a`` a file, ``a`` a directory: extraction leaves an
    empty ``a``, LayerIndex keeps ``a/x``). StoreWriter, streaming, can only follow
    the tar's order; this reference does the same with the in-memory rules.
    """
    index = LayerIndex(DIGEST)
    feed(index, [e for e in events if e[0] != "entry"])
    layer = _Canonical(set())
    for _, path, kind, mode, size, link in (e for e in events if e[0] == "entry"):
        layer.add(path, Entry(kind, mode, size, link if kind in (SYMLINK, HARDLINK) else None))
    index.entries, index.opaque = layer.own, index.opaque | layer.opaque
    index.kept_bytes, index.members = len(events) * 7, len(events)
    return index


@settings(max_examples=int(os.environ.get("STORE_EXAMPLES", "1000")), deadline=None)
@given(EVENTS, st.sampled_from([1, 2, 3, 8192]))
def test_the_writer_writes_the_rows_the_index_would(
    tmp_path_factory: Any, events: list[Event], batch: int
) -> None:
    where = tmp_path_factory.mktemp("w")
    reference = in_extraction_order(events)
    LayerStore.write(reference, where / "reference.idx").close()
    assert written(events, where / "written.idx", batch) == rows(where / "reference.idx")
    paths = [e[1] for e in events if e[0] == "entry"]
    if len(paths) == len(set(paths)):  # no path listed twice: LayerIndex agrees
        index = LayerIndex(DIGEST)
        feed(index, events)
        LayerStore.write(index, where / "index.idx").close()
        assert rows(where / "index.idx") == rows(where / "reference.idx")


@pytest.mark.parametrize(
    "events",
    [
        # a file, then a path under it: a fresh opaque directory
        [("entry", "/a", FILE, 0o644, 1, None), ("entry", "/a/x", FILE, 0o644, 1, None)],
        # a directory's contents, then a file in its place: the contents go
        [("entry", "/a/b/c", FILE, 0o644, 1, None), ("entry", "/a", FILE, 0o644, 1, None)],
        # ... then under it again: the file is a directory again, opaque
        [("entry", "/a/b/c", FILE, 0o644, 1, None), ("entry", "/a", SYMLINK, 0o777, 0, "x"),
         ("entry", "/a/d", DIR, 0o755, 0, None), ("whiteout", "/a/b")],
        # a directory dropped with its parent is no directory when a path goes under it
        [("entry", "/a/b", DIR, 0o755, 0, None), ("entry", "/a", FILE, 0o644, 1, None),
         ("entry", "/a/b/c", FILE, 0o644, 1, None)],
    ],
)  # fmt: skip
def test_canonical_cases(tmp_path: Path, events: list[Event]) -> None:
    index = LayerIndex(DIGEST)
    feed(index, events)
    LayerStore.write(index, tmp_path / "index.idx").close()
    assert written(events, tmp_path / "written.idx") == rows(tmp_path / "index.idx")
