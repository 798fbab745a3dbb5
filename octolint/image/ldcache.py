"""Parse /etc/ld.so.cache, the dynamic loader's index of libraries, as written by ldconfig.

Three layouts exist (glibc's elf/cache.c and sysdeps/generic/dl-cache.h):

- ``old``: magic "ld.so-1.7.0", a 32-bit library count, 12-byte entries
  (flags, key, value), then the string table; keys and values are offsets from
  the end of the entries.
- ``new``: magic "glibc-ld.so.cache1.1", a 48-byte header (count, string-table
  length, an endianness flag, the offset of an extension directory), 24-byte
  entries (flags, key, value, OS version, hwcap), then strings; offsets are
  from the start of the new header. glibc >= 2.32 writes only this.
- ``compat``: an old-format file whose string table begins with a complete
  new-format cache, 8-byte aligned. The loader uses the new part.

Every read is bounds-checked: any truncated or inconsistent file raises
:class:`LdCacheError` (a ValueError), never IndexError or struct.error, and
parsing time is linear in the input size.
"""

from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass

OLD_MAGIC = b"ld.so-1.7.0"
NEW_MAGIC = b"glibc-ld.so.cache1.1"
_OLD_HEADER = 16  # 11-byte magic, padding to 12, uint32 count
_OLD_ENTRY = 12
_NEW_HEADER = 48
_NEW_ENTRY = 24
_NEW_ALIGN = 8  # the new header is aligned like its 64-bit hwcap fields
_MAX_STRING = 4096  # PATH_MAX: no soname or path is longer
# Real caches decode each string once or twice; this many times the file size is
# far beyond any of them.
_STRING_BUDGET_FACTOR = 16

# Entry flags: the low byte is the library type, the next the ABI it requires.
FLAG_TYPE_MASK = 0x00FF
FLAG_ELF = 0x0001
FLAG_ELF_LIBC6 = 0x0003
FLAG_REQUIRED_MASK = 0xFF00
ABI_NAMES = {
    0x0000: "",
    0x0100: "sparc64",
    0x0200: "ia64",
    0x0300: "x86-64",
    0x0400: "s390x",
    0x0500: "ppc64",
    0x0600: "mips64-n32",
    0x0700: "mips64-n64",
    0x0800: "x32",
    0x0900: "arm-hard-float",
    0x0A00: "aarch64",
    0x0B00: "arm-soft-float",
    0x0C00: "mips32-nan2008",
    0x0D00: "mips64-n32-nan2008",
    0x0E00: "mips64-n64-nan2008",
    0x0F00: "riscv-soft-float",
    0x1000: "riscv-double-float",
    0x1100: "loongarch-soft-float",
    0x1200: "loongarch-double-float",
}
# The flags the loader of each machine accepts (its _dl_cache_check_flags).
_MACHINE_FLAGS = {
    "x86_64": frozenset({0x0303}),
    "x32": frozenset({0x0803}),
    "aarch64": frozenset({0x0A03}),
    "arm": frozenset({0x0903}),
    "i386": frozenset({FLAG_ELF, FLAG_ELF_LIBC6}),
    "ppc64le": frozenset({0x0503}),
    "s390x": frozenset({0x0403}),
    "riscv64": frozenset({0x1003}),
    "loongarch64": frozenset({0x1203}),
}

# Extension directory of the new format: a magic, a count, then sections.
_EXTENSION_MAGIC = 0xEAA42174
_TAG_GENERATOR = 0
_TAG_GLIBC_HWCAPS = 1
# An entry whose hwcap has this bit (and only ISA-level bits besides its low 32
# bits) lives in a glibc-hwcaps subdirectory, whose index is the low 32 bits.
_HWCAP_EXTENSION = 1 << 62
_ISA_LEVEL_MASK = (1 << 10) - 1


class LdCacheError(ValueError):
    """The bytes are not a valid ld.so.cache."""


@dataclass(frozen=True)
class LdCacheEntry:
    soname: str  # the key the loader looks up: "libc.so.6"
    path: str  # "/lib/x86_64-linux-gnu/libc.so.6"
    flags: int
    hwcap: int = 0
    hwcaps_subdir: str | None = None  # "x86-64-v3" for a glibc-hwcaps entry

    @property
    def abi(self) -> str:
        """The ABI the entry requires, as a name ("x86-64", "aarch64"; "" for none)."""
        required = self.flags & FLAG_REQUIRED_MASK
        return ABI_NAMES.get(required, f"{required:#06x}")

    def fits(self, machine: str) -> bool:
        return flags_fit(self.flags, machine)


@dataclass(frozen=True)
class LdCache:
    format: str  # "old", "new" or "compat"
    entries: tuple[LdCacheEntry, ...]
    generator: str | None = None  # "ldconfig (GNU libc) 2.36", new format only

    def lookup(self, soname: str) -> list[LdCacheEntry]:
        """The entries for one soname, in file order (the loader's preference)."""
        return [e for e in self.entries if e.soname == soname]


def flags_fit(flags: int, machine: str) -> bool:
    """Whether the loader for machine ("x86_64", "aarch64", "arm", "i386"...)
    would use an entry with these flags. Unknown machines accept everything."""
    accepted = _MACHINE_FLAGS.get(machine)
    return accepted is None or flags in accepted


def parse_ld_cache(data: bytes) -> LdCache:
    """Parse an ld.so.cache in any of its three layouts."""
    if data.startswith(NEW_MAGIC):
        return _parse_new(data, 0, "new")
    if data.startswith(OLD_MAGIC):
        return _parse_old(data)
    raise LdCacheError("not an ld.so.cache (unknown magic)")


# -- layouts -------------------------------------------------------------------------


def _parse_old(data: bytes) -> LdCache:
    if len(data) < _OLD_HEADER:
        raise LdCacheError("truncated header")
    order = _byte_order(data, 12, _OLD_HEADER, _OLD_ENTRY)
    (count,) = struct.unpack_from(order + "I", data, 12)
    strings_at = _OLD_HEADER + count * _OLD_ENTRY
    new_at = _align(strings_at, _NEW_ALIGN)
    if data[new_at : new_at + len(NEW_MAGIC)] == NEW_MAGIC:
        # compat: the loader reads only the new-format part, so do we.
        return _parse_new(data, new_at, "compat")
    table = _Strings(data, strings_at)
    entries = []
    for number in range(count):
        at = _OLD_HEADER + number * _OLD_ENTRY
        flags, key, value = struct.unpack_from(order + "iII", data, at)
        entries.append(LdCacheEntry(table.get(key), table.get(value), flags))
    return LdCache("old", tuple(entries))


def _parse_new(data: bytes, start: int, layout: str) -> LdCache:
    if len(data) < start + _NEW_HEADER:
        raise LdCacheError("truncated header")
    order = _new_byte_order(data, start)
    count, _strings_length, _flags, _pad, extension_at = struct.unpack_from(
        order + "IIB3sI", data, start + 20
    )
    first = start + _NEW_HEADER
    if count > (len(data) - first) // _NEW_ENTRY:
        raise LdCacheError(f"{count} entries do not fit in {len(data)} bytes")
    generator, hwcaps = _extensions(data, order, extension_at)
    table = _Strings(data, start)
    entries = []
    for number in range(count):
        flags, key, value, _osversion, hwcap = struct.unpack_from(
            order + "iIIIQ", data, first + number * _NEW_ENTRY
        )
        subdir = _hwcaps_subdir(hwcap, hwcaps)
        entries.append(LdCacheEntry(table.get(key), table.get(value), flags, hwcap, subdir))
    return LdCache(layout, tuple(entries), generator)


def _byte_order(data: bytes, count_at: int, first: int, size: int) -> str:
    """'<' or '>': the one under which the entry count fits the file (little first)."""
    for order in ("<", ">"):
        (count,) = struct.unpack_from(order + "I", data, count_at)
        if count <= (len(data) - first) // size:
            return order
    raise LdCacheError("the entry count does not fit the file")


def _new_byte_order(data: bytes, start: int) -> str:
    endian = data[start + 28] & 3
    if endian == 1:
        raise LdCacheError("the cache says it is invalid (endianness flag 1)")
    if endian == 2:
        return "<"
    if endian == 3:
        return ">"
    # Written before glibc 2.33 recorded endianness: guess from the count.
    return _byte_order(data, start + 20, start + _NEW_HEADER, _NEW_ENTRY)


def _extensions(data: bytes, order: str, offset: int) -> tuple[str | None, list[str | None]]:
    """(generator, glibc-hwcaps subdirectory names) from the extension directory.

    A damaged extension directory is ignored, as the loader ignores it (it then
    just does not use glibc-hwcaps subdirectories).
    """
    if offset == 0 or offset % 4 or offset + 8 > len(data):
        return None, []
    magic, count = struct.unpack_from(order + "II", data, offset)
    if magic != _EXTENSION_MAGIC or count > (len(data) - offset - 8) // 16:
        return None, []
    generator: str | None = None
    hwcaps: list[str | None] = []
    table = _Strings(data, 0)  # hwcaps names are offsets from the start of the file
    for number in range(count):
        tag, _flags, at, size = struct.unpack_from(order + "IIII", data, offset + 8 + number * 16)
        if at + size > len(data):
            return None, []
        if tag == _TAG_GENERATOR:
            generator = data[at : at + size].rstrip(b"\x00").decode("utf-8", "replace")
        elif tag == _TAG_GLIBC_HWCAPS and size and at % 4 == 0 and size % 4 == 0:
            indexes = struct.unpack_from(f"{order}{size // 4}I", data, at)
            hwcaps = [table.find(i) for i in indexes]
    return generator, hwcaps


def _hwcaps_subdir(hwcap: int, names: list[str | None]) -> str | None:
    if ((hwcap >> 32) & ~_ISA_LEVEL_MASK) != (_HWCAP_EXTENSION >> 32):
        return None
    index = hwcap & 0xFFFFFFFF
    return names[index] if index < len(names) else None


def _align(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


class _Strings:
    """NUL-terminated strings at offsets from ``base``.

    The NUL positions are indexed once, so finding a terminator is a binary
    search. Strings longer than PATH_MAX, or more decoded text than a real cache
    could hold (entries pointing into each other's strings), are errors: time
    and memory stay linear in the input, whatever it claims.
    """

    def __init__(self, data: bytes, base: int):
        self._data = data
        self._base = base
        self._nuls: list[int] | None = None
        self._budget = _STRING_BUDGET_FACTOR * len(data) + _MAX_STRING

    def find(self, offset: int) -> str | None:
        start = self._base + offset
        if not 0 <= start < len(self._data):
            return None
        if self._nuls is None:
            self._nuls = [m.start() for m in re.finditer(b"\x00", self._data)]
        i = bisect.bisect_left(self._nuls, start)
        if i == len(self._nuls):
            return None
        end = self._nuls[i]
        if end - start > _MAX_STRING:
            raise LdCacheError(f"string at offset {offset} is longer than {_MAX_STRING} bytes")
        self._budget -= end - start
        if self._budget < 0:
            raise LdCacheError("the entries' strings add up to far more than the file holds")
        # Paths are bytes; decode as tar member names are, so they compare equal.
        return self._data[start:end].decode("utf-8", "surrogateescape")

    def get(self, offset: int) -> str:
        found = self.find(offset)
        if found is None:
            raise LdCacheError(f"string offset {offset} is outside the file or unterminated")
        return found
