"""Write a synthetic layer's store: seconds and the process's peak RSS (issue 15).

    python bench/bench_store.py {index|writer} ENTRIES

``index``: the events into a LayerIndex, then LayerStore.write (the old way);
``writer``: the events straight into a store.StoreWriter. node_modules-like
paths, directories listed before their contents, as docker build writes them.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator

from octolint.image.model import DIR, FILE, IndexSink, LayerIndex
from octolint.image.store import LayerStore

DIGEST = "sha256:" + "ab" * 32


def events(count: int) -> Iterator[tuple[str, str, int, int, None]]:
    """``count`` entries: packages of 5 directories holding 4 files each (about 1 in 5
    entries is a directory, as in a real node_modules)."""
    yield "/app", DIR, 0o755, 0, None
    yield "/app/node_modules", DIR, 0o755, 0, None
    made, package = 2, 0
    while made < count:
        root = f"/app/node_modules/package-{package}"
        for sub in ("", "/lib", "/lib/util", "/dist", "/test"):
            yield root + sub, DIR, 0o755, 0, None
            made += 1
            for file in range(4):
                yield f"{root}{sub}/file-{file}.js", FILE, 0o644, 1000 + file, None
                made += 1
        package += 1


def feed(sink: IndexSink, count: int) -> None:
    for n, event in enumerate(events(count)):
        if n >= count:
            break
        sink.add_entry(*event)
    sink.finish(0, count)


def main() -> None:
    how, count = sys.argv[1], int(sys.argv[2])
    fd, path = tempfile.mkstemp(suffix=".idx")
    os.close(fd)
    try:
        start, wall, mine = time.process_time(), time.perf_counter(), time.thread_time()
        if how == "index":
            index = LayerIndex(DIGEST)
            feed(index, count)
            built = time.process_time()
            LayerStore.write(index, path).close()
        else:
            from octolint.image.store import StoreWriter

            writer = StoreWriter(path, DIGEST)
            feed(writer, count)
            built = time.process_time()
            writer.seal().close()
        done, wall, mine = (
            time.process_time(),
            time.perf_counter() - wall,
            time.thread_time() - mine,
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        size = os.path.getsize(path) >> 20
        print(
            f"{how} {count}: events {built - start:.2f} s, store {done - built:.2f} s, "
            f"total {done - start:.2f} s CPU ({mine:.2f} s in the caller's thread), "
            f"{wall:.2f} s wall, peak RSS {peak} MB, file {size} MB"
        )
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
