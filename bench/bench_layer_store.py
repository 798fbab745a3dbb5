"""Index one layer blob into a store, the old way or streaming (issue 15).

    python bench/bench_layer_store.py {index|writer} LAYER.tar.gz

``index``: layers.index_layer into memory, then LayerStore.write; ``writer``:
layers.scan_layer straight into a store.StoreWriter. Prints wall and CPU seconds
(all threads', and the caller's) and the process's peak RSS.
"""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import tempfile
import time

from octolint.image import layers
from octolint.image.store import LayerStore, StoreWriter


def main() -> None:
    how, blob = sys.argv[1], sys.argv[2]
    with open(blob, "rb") as stream:
        digest = "sha256:" + hashlib.file_digest(stream, "sha256").hexdigest()
    fd, path = tempfile.mkstemp(suffix=".idx")
    os.close(fd)
    wall, cpu, mine = time.perf_counter(), time.process_time(), time.thread_time()
    try:
        with open(blob, "rb") as stream:
            if how == "index":
                index = layers.index_layer(stream, digest, "")
                LayerStore.write(index, path).close()
            else:
                writer = StoreWriter(path, digest)
                layers.scan_layer(stream, writer, digest, "")
                writer.seal().close()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        mine = time.thread_time() - mine
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(
            f"{how}: {wall:.2f} s wall, {cpu:.2f} s CPU ({mine:.2f} s in the caller's "
            f"thread), peak RSS {peak} MB"
        )
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
