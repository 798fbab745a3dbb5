"""ImageFS looks paths up layer by layer; the reference applies every layer at once.

Both must answer every query alike for any stack of layers, however odd (a
file then a path under it in one tar, whiteouts and opaque markers next to
new entries, links in every direction), and the lookups must not read more of
a bigger image.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from realroots import SpecItem, index_of
from reference_fs import ReferenceFS

from octolint.image.cache import LayerCache
from octolint.image.fs import ImageFS
from octolint.image.model import DIR, FILE, Entry, LayerIndex
from octolint.image.store import LayerStore

GLIBC = b"\0GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\0"
NAMES = ["a", "b", "etc", "libc.so.6", "os-release"]
COMPONENTS = st.sampled_from(NAMES)
RELATIVE = st.lists(st.sampled_from([*NAMES, "..", "."]), max_size=4).map("/".join)
TARGETS = st.one_of(RELATIVE, RELATIVE.map(lambda t: "/" + t))


@st.composite
def items(draw: st.DrawFn) -> SpecItem:
    name = "/".join(draw(st.lists(COMPONENTS, min_size=1, max_size=3)))
    kind = draw(st.sampled_from(["file", "file", "dir", "symlink", "hardlink", "whiteout",
                                 "opaque", "fifo"]))  # fmt: skip
    if kind in ("symlink", "hardlink"):
        target = (
            draw(TARGETS) if kind == "symlink" else "/".join(draw(st.lists(COMPONENTS, min_size=1)))
        )
        return (name, kind, target)
    content = GLIBC if name.endswith("libc.so.6") else f"{name}:{draw(st.integers(0, 9))}".encode()
    mode = draw(st.sampled_from([0o644, 0o755]))
    return (name, kind, content, mode)


LAYERS = st.lists(st.lists(items(), max_size=10), min_size=1, max_size=4)
QUERIES = st.lists(st.lists(st.sampled_from([*NAMES, "..", "."]), max_size=5).map(
    lambda parts: "/" + "/".join(parts)), max_size=8)  # fmt: skip


def both(layers: list[list[SpecItem]]) -> tuple[ReferenceFS, ImageFS]:
    indexes = [index_of(spec) for spec in layers]
    return ReferenceFS(indexes), ImageFS.from_indexes(indexes)


def same_answers(reference: ReferenceFS, fs: ImageFS, path: str) -> None:
    assert fs.realpath(path) == reference.realpath(path), path
    for follow in (True, False):
        assert fs.lookup(path, follow) == reference.lookup(path, follow), (path, follow)
    assert fs.layer_of(path) == reference.layer_of(path), path
    assert fs.listdir(path) == reference.listdir(path), path
    assert fs.read(path) == reference.read(path), path
    assert fs.fact(path, "glibc") == reference.fact(path, "glibc"), path
    assert fs.is_executable(path) == reference.is_executable(path), path


@settings(max_examples=int(os.environ.get("PARITY_EXAMPLES", "400")), deadline=None)
@given(LAYERS, QUERIES)
@pytest.mark.slow
def test_every_query_answers_as_the_reference_merge(
    layers: list[list[SpecItem]], queries: list[str]
) -> None:
    reference, fs = both(layers)
    assert sorted(fs.walk()) == sorted(reference.paths())
    for path in [*reference.paths(), *queries]:
        same_answers(reference, fs, path)
    for name in NAMES:
        wanted = sorted(p for p in reference.paths() if p.rpartition("/")[2] == name)
        assert fs.named(name) == wanted, name
    for pattern in ("/*", "/*/*", "/a/*/b", "/*/../*"):
        assert fs.glob(pattern) == reference.glob(pattern), pattern


def test_a_file_then_a_path_under_it_in_one_layer_is_a_fresh_directory() -> None:
    # Extracting "a" (a file) then "a/x" makes "a" a new directory: the lower
    # layer's "a/old" is gone; listed the other way round, "a" stays a file.
    lower = [("a/old", "file", b"old")]
    reference, fs = both([lower, [("a", "file", b"f"), ("a/x", "file", b"x")]])
    assert fs.lookup("/a") == reference.lookup("/a") == Entry(DIR, 0o755)
    assert fs.listdir("/a") == reference.listdir("/a") == ["x"]
    reference, fs = both([lower, [("a/x", "file", b"x"), ("a", "file", b"f")]])
    assert fs.lookup("/a") == reference.lookup("/a") == Entry(FILE, 0o644, 1)
    assert fs.listdir("/a") == [] and not fs.exists("/a/x") and not fs.exists("/a/old")


# -- cost ----------------------------------------------------------------------------


def big_layer(files: int, prefix: str) -> LayerIndex:
    entries = {f"/{prefix}/d{i // 100}/f{i}": Entry(FILE, 0o644, i) for i in range(files)}
    return LayerIndex(f"sha256:{prefix * 64}", entries=entries)


def rows_read(fs: ImageFS, monkeypatch: object) -> tuple[int, int]:
    """(queries, rows) the stores answer for a typical set of rule lookups."""
    counts = [0, 0]
    real_query = LayerStore._query

    def counting(self: LayerStore, sql: str, parameters: object) -> list[object]:
        rows = real_query(self, sql, parameters)  # type: ignore[arg-type]
        counts[0] += 1
        counts[1] += len(rows)
        return rows

    monkeypatch.setattr(LayerStore, "_query", counting)  # type: ignore[attr-defined]
    assert fs.is_file("/a/d5/f550") and fs.lookup("/b/d2/f299") is not None
    assert not fs.exists("/a/d7/f700") and not fs.exists("/a/d8/f800")  # whited out, opaque
    assert len(fs.listdir("/b/d2")) == 100 and fs.named("f42") == ["/a/d0/f42", "/b/d0/f42"]
    assert fs.glob("/a/d1/f10?") == [f"/a/d1/f10{i}" for i in range(10)]
    monkeypatch.undo()  # type: ignore[attr-defined]
    return counts[0], counts[1]


@pytest.mark.slow
def test_lookups_read_as_many_rows_in_a_big_image_as_in_a_small_one(
    tmp_path: Path, monkeypatch: object
) -> None:
    read = {}
    for files in (1_000, 300_000):
        cache = LayerCache(tmp_path / str(files))
        lower, upper = big_layer(files, "a"), big_layer(files // 3, "b")
        upper.whiteouts, upper.opaque = {"/a/d7"}, {"/a/d8"}
        for index in (lower, upper):
            cache.store(index).close()
        stores = [cache.get(index.digest) for index in (lower, upper)]
        assert all(stores)
        read[files] = rows_read(ImageFS([s for s in stores if s]), monkeypatch)
    assert read[1_000] == read[300_000]
