"""What someone planting layer-cache entries would do: edit one with SQL, then give it
a valid CRC again (octolint's stores keep the CRC-32 of the whole file, with bytes
60-63 zeroed, in those bytes: SQLite's user-version field, big-endian)."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path


def reseal(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[60:64] = bytes(4)
    data[60:64] = struct.pack(">I", zlib.crc32(data))
    path.write_bytes(bytes(data))


def alter(path: Path, *statements: str) -> None:
    """Run SQL statements on a cache entry and reseal it."""
    db = sqlite3.connect(path)
    with db:
        for statement in statements:
            db.execute(statement)
    db.close()
    reseal(path)
