"""A streaming reader of tar headers, for layer blobs: one pass, large buffers, bounded.

``tarfile`` costs about 20 µs a member (a TarInfo of twenty attributes, a checksum
summed byte by byte in Python, a stream buffer re-sliced at every header): two thirds
of a cold scan of a layer of small files. This reader takes headers straight out of
megabyte buffers, checks their checksums with ``zlib.adler32`` (which sums bytes in C)
and yields a :class:`Member` with just what an index needs, in about 2 µs.

It reads what Docker's layers hold: ustar, GNU and PAX headers (long names and link
targets, ``path``/``linkpath``/``size`` records) and sparse files (old GNU, PAX 0.0,
0.1 and 1.0), whose maps are validated but never expanded: a sparse member's logical
size is recorded, its data is skipped. Where ``tarfile`` and Go's ``archive/tar`` (what
Docker extracts layers with) disagree on odd input, this follows Go: a header that is
not a header after the first member is an error, not the end of the archive; global
PAX headers (``g``) apply to nothing (Docker ignores them), but are bounded; of
several extended headers before one member the last PAX or GNU one counts, and a PAX
``path`` wins over a GNU long name.

Everything an input controls is bounded before it is read (``Limits``): the extended
headers of one member together, their number, global PAX keys. Errors are
:class:`TarFormatError` (not a tar, or a malformed header), :class:`TarTruncated` (the
stream ends inside a member) and :class:`TarBoundError` (over a bound); each message
says what is wrong and where.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

BLOCK = 512
_FILL = 1 << 20  # bytes read from the stream at a time

# Type flags (POSIX and GNU).
REGULAR_TYPES = frozenset(b"0\x0007S")  # as ints: what tarfile's isreg() accepts
SYMLINK_TYPE, HARDLINK_TYPE, DIR_TYPE = ord("2"), ord("1"), ord("5")
# Members whose size field says nothing about data following them (Go's isHeaderOnlyType,
# tarfile's SUPPORTED_TYPES minus the regular ones).
_HEADER_ONLY_TYPES = frozenset(b"123456")
_PAX_TYPES = frozenset(b"xX")
_GLOBAL_TYPE = ord("g")
_LONG_NAME, _LONG_LINK, _OLD_SPARSE = ord("L"), ord("K"), ord("S")
_EXTENDED_TYPES = frozenset(b"xXgLK")
_GNU_TYPES = frozenset(b"LKS")  # whose headers use the ustar prefix field for other things
_SPECIAL_TYPES = _EXTENDED_TYPES | {_OLD_SPARSE}

_PAX_RECORD = re.compile(rb"(\d{1,20}) ")
_ENCODING = ("utf-8", "surrogateescape")
_INT64_MAX = (1 << 63) - 1
_SIGNED = struct.Struct("148b8x356b")


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class TarError(Exception):
    """A layer tar that cannot be read; the message says why and where."""


class TarFormatError(TarError):
    """Not a tar, or a malformed header."""


class TarTruncated(TarError):
    """The stream ends inside a member (its header or its data)."""


class TarBoundError(TarError):
    """Over one of the bounds in ``Limits``."""


@dataclass(frozen=True)
class Limits:
    header_bytes: int  # a member's headers together (extended ones and their data)
    extended_headers: int  # extended headers (PAX, GNU long names) before one member
    global_keys: int  # keys of all global PAX headers together


class Member:
    """One archive member, its extended headers applied."""

    __slots__ = ("linkname", "mode", "name", "size", "sparse", "type")

    def __init__(self, name: str, linkname: str, type: int, mode: int, size: int,
                 sparse: bool):  # fmt: skip
        self.name = name  # as stored (not normalised), decoded UTF-8, surrogate escapes
        self.linkname = linkname
        self.type = type  # the type flag as an int (ord("0")...); V7 directories: DIR_TYPE
        self.mode = mode
        self.size = size  # logical size: a sparse file's full size
        self.sparse = sparse

    @property
    def is_regular(self) -> bool:
        return self.type in REGULAR_TYPES


class TarReader:
    """The members of a tar stream, in order, with the data of the current one readable.

    ``members()`` yields each member once its headers are read; until the next one is
    asked for, ``read_data`` returns its data (a regular file's; sparse files have
    none readable); whatever is not read is skipped. ``end`` is the stream offset where
    the members end (the end-of-archive block, or the end of the stream).
    """

    def __init__(self, stream: _Readable, limits: Limits):
        self._stream = stream
        self._limits = limits
        self._buffer = b""
        self._position = 0  # in _buffer
        self._base = 0  # stream offset of _buffer[0]
        self._data_left = 0  # readable data of the current member
        self._skip_after = 0  # bytes after that data before the next header
        self._global_keys: dict[str, int] = {}  # key -> size of its latest value
        self.end = 0

    @property
    def offset(self) -> int:
        return self._base + self._position

    # -- members ----------------------------------------------------------------------
    def members(self) -> Iterator[Member]:
        while True:
            skip = self._data_left + self._skip_after
            if skip:
                self._skip(skip)
                self._data_left = self._skip_after = 0
            member = self._plain_member() or self._next_member()
            if member is None:
                return
            yield member

    def _plain_member(self) -> Member | None:
        """The next member when it is the usual kind (one ustar header, whole in the
        buffer, octal fields): nine in ten members, read here at half the cost of
        ``_next_member``, which reads every kind. None otherwise."""
        position = self._position
        block = self._buffer[position : position + BLOCK]
        if len(block) < BLOCK or block[156] in _SPECIAL_TYPES or not _checksum_ok(block):
            return None
        try:
            size, mode = _octal(block[124:136]), _octal(block[100:108])
        except ValueError:
            return None  # _next_member says what is wrong
        if size < 0:
            return None
        name, kind = _ustar_name(block)
        self._position = position + BLOCK
        if kind not in _HEADER_ONLY_TYPES:
            self._data_left = size
            self._skip_after = -size % BLOCK
        return Member(name, _nts(block[157:257]), kind, mode, size, False)

    def _next_member(self) -> Member | None:
        pax: dict[str, str] = {}
        long_name = long_link = None
        extended = header_bytes = 0
        while True:
            start = self.offset
            block = self._header_block(first=start == 0, between=extended == 0)
            if block is None:
                self.end = start
                return None
            kind = block[156]
            size = _size_field(block, start)
            header_bytes += BLOCK
            if kind not in _EXTENDED_TYPES:
                break
            extended += 1
            if extended > self._limits.extended_headers:
                raise TarBoundError(f"more than {self._limits.extended_headers} extended tar "
                                    "headers before one member")  # fmt: skip
            data = self._extended_data(size, header_bytes)
            header_bytes += _padded(size)
            if kind == _LONG_NAME:
                long_name = _nts(data)
            elif kind == _LONG_LINK:
                long_link = _nts(data)
            elif kind == _GLOBAL_TYPE:
                self._add_global(data, start)
            else:
                pax = _pax_records(data, start)
        return self._member(block, start, size, pax, long_name, long_link, header_bytes)

    def _member(self, block: bytes, start: int, size: int, pax: dict[str, str],
                long_name: str | None, long_link: str | None,
                header_bytes: int) -> Member:  # fmt: skip
        name, kind = _ustar_name(block)
        name = long_name if long_name is not None else name
        linkname = long_link if long_link is not None else _nts(block[157:257])
        member = Member(name, linkname, kind, _number(block[100:108], start), size, False)
        stored = size  # the size of its data in the archive
        if kind == _OLD_SPARSE:
            member.size = _number(block[483:495], start)
            member.sparse = True
            self._old_sparse_extensions(block, header_bytes)
        if pax:
            stored = _apply_pax(member, pax, start, stored)
        if member.size < 0:
            raise TarFormatError(f"negative size in the header at offset {start}")
        self._data_left = stored if member.type not in _HEADER_ONLY_TYPES else 0
        self._skip_after = _padded(self._data_left) - self._data_left
        if member.sparse:
            self._check_sparse_map(pax, start, header_bytes)
            # What is left is the file's data, holes taken out: never read.
            self._skip_after += self._data_left
            self._data_left = 0
        return member

    # -- sparse files: maps are checked (Docker's reader refuses bad ones), not used ------
    def _old_sparse_extensions(self, block: bytes, header_bytes: int) -> None:
        """Read the extension blocks of an old GNU sparse header (each lists 21 more
        extents and says whether another follows), within the header bound."""
        more = block[482]
        while more:
            self._charge(header_bytes, BLOCK)
            header_bytes += BLOCK
            extension = self._exactly(BLOCK, "a sparse extension header")
            more = extension[504]

    def _check_sparse_map(self, pax: dict[str, str], start: int, header_bytes: int) -> None:
        if "GNU.sparse.map" in pax:
            numbers = pax["GNU.sparse.map"].split(",")
            if not all(_is_decimal(n) for n in numbers) or len(numbers) % 2:
                raise TarFormatError(f"malformed sparse map in the header at offset {start}")
        elif _sparse_10(pax) and "GNU.sparse.map" not in pax and "GNU.sparse.size" not in pax:
            self._read_sparse_10_map(start, header_bytes)

    def _read_sparse_10_map(self, start: int, header_bytes: int) -> None:
        """PAX 1.0 sparse files begin their data with the map: a count, then that many
        offset and size pairs, one decimal number a line, in whole blocks."""
        text = b""
        wanted: int | None = None
        numbers = 0
        while wanted is None or numbers < wanted:
            lines = text.split(b"\n")
            complete, text = lines[:-1], lines[-1]
            for line in complete:
                if not _is_decimal_bytes(line):
                    raise TarFormatError(f"malformed sparse map at offset {start}")
                if wanted is None:
                    wanted = 1 + 2 * int(line)
                numbers += 1
                if numbers >= wanted:
                    return
            if len(text) > 20:  # no number is that long: not a map (and no quadratic split)
                raise TarFormatError(f"malformed sparse map at offset {start}")
            if self._data_left < BLOCK:
                raise TarFormatError(f"malformed sparse map at offset {start} (incomplete)")
            self._charge(header_bytes, BLOCK)
            header_bytes += BLOCK
            text += self.read_data(BLOCK)

    # -- global PAX headers: bounded, then ignored as Docker ignores them ---------------
    def _add_global(self, data: bytes, start: int) -> None:
        self._global_keys.update((k, len(k) + len(v)) for k, v in _pax_records(data, start).items())
        size = sum(self._global_keys.values())
        if len(self._global_keys) > self._limits.global_keys or size > self._limits.header_bytes:
            raise TarBoundError(
                f"global PAX headers of {len(self._global_keys)} keys and {size} bytes: refused "
                f"(at most {self._limits.global_keys} keys and "
                f"{self._limits.header_bytes >> 10} KiB)"
            )

    # -- headers --------------------------------------------------------------------------
    def _header_block(self, *, first: bool, between: bool) -> bytes | None:
        """The next header block; None at the end of the archive (a zero block, or the
        end of the stream between members)."""
        position = self._position
        if position + BLOCK <= len(self._buffer):  # nearly always: skip the checks below
            block = self._buffer[position : position + BLOCK]
            if _checksum_ok(block):
                self._position += BLOCK
                return block
        self._fill(BLOCK)
        available = len(self._buffer) - self._position
        start = self.offset
        if available == 0 and between:
            return None
        if available < BLOCK:
            if first:
                raise TarFormatError("not a tar (shorter than one header)")
            raise TarTruncated(f"the layer tar is truncated (it ends inside the header at "
                               f"offset {start})")  # fmt: skip
        position = self._position
        block = self._buffer[position : position + BLOCK]
        self._position += BLOCK
        if not _checksum_ok(block):
            if not block.strip(b"\0"):
                if not between:
                    raise TarFormatError(f"an end-of-archive block at offset {start} follows "
                                         "an extended header")  # fmt: skip
                return None
            raise TarFormatError(f"bad checksum in the header at offset {start}"
                                 + (" (not a tar)" if first else ""))  # fmt: skip
        return block

    def _extended_data(self, size: int, header_bytes: int) -> bytes:
        padded = _padded(size)
        self._charge(header_bytes, padded)
        data = self._exactly(padded, "an extended header")
        return data[:size]

    def _charge(self, used: int, size: int) -> None:
        if used + size > self._limits.header_bytes:
            raise TarBoundError(
                f"the tar headers of one member take {used + size} bytes or more: refused "
                f"(at most {self._limits.header_bytes >> 10} KiB, as in Docker)"
            )

    # -- the stream -------------------------------------------------------------------------
    def read_data(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current member's data (b"" once it is all read)."""
        size = min(size, self._data_left)
        if size <= 0:
            return b""
        data = self._exactly(size, "a member's data")
        self._data_left -= size
        return data

    def _fill(self, size: int) -> None:
        """Make ``size`` bytes available from the position, or all the stream has left."""
        available = len(self._buffer) - self._position
        if available >= size:
            return
        # Only a header or datum that straddles two pieces is copied: a piece read whole
        # becomes the buffer as it is (joining it with nothing would copy it).
        pieces = [self._buffer[self._position :]] if available else []
        self._base += self._position
        self._position = 0
        while available < size:
            piece = self._stream.read(max(_FILL, size - available))
            if not piece:
                break
            pieces.append(piece)
            available += len(piece)
        self._buffer = pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _exactly(self, size: int, what: str) -> bytes:
        self._fill(size)
        position = self._position
        data = self._buffer[position : position + size]
        if len(data) < size:
            raise TarTruncated(f"unexpected end of data in {what} at offset {self.offset}")
        self._position += size
        return data

    def _skip(self, size: int) -> None:
        """Skip ``size`` bytes, reading (so hashing) them a piece at a time; the piece
        where they end stays the buffer, uncopied: the next header is in it."""
        available = len(self._buffer) - self._position
        if size <= available:
            self._position += size
            return
        size -= available
        self._base += len(self._buffer)
        self._buffer, self._position = b"", 0
        while size > 0:
            piece = self._stream.read(_FILL)
            if not piece:
                raise TarTruncated(f"unexpected end of data: the layer tar ends {size} "
                                   f"bytes before the end of a member, at offset {self._base}")
            if len(piece) > size:
                self._buffer, self._position = piece, size
                return
            size -= len(piece)
            self._base += len(piece)


# -- fields -------------------------------------------------------------------------------


def _checksum_ok(block: bytes) -> bool:
    """Whether the header's checksum matches, summing its bytes as unsigned (POSIX) or
    signed (some old tars) chars, with the checksum field as eight spaces. adler32's
    low half is 1 + the sum of the bytes mod 65521: exact for pieces of under 257
    bytes."""
    field = block[148:156]
    unsigned: int = (
        zlib.adler32(block[0:148]) % 65536
        + zlib.adler32(block[156:356]) % 65536
        + zlib.adler32(block[356:512]) % 65536
        - 3
        + 8 * 32
    )
    if field == b"%06o\0 " % unsigned:  # as tarfile, GNU tar and Go write it
        return True
    try:
        stored = _octal(field)
    except ValueError:
        return False
    if stored == unsigned:
        return True
    signed: int = sum(_SIGNED.unpack(block)) + 8 * 32
    return stored == signed


def _octal(field: bytes) -> int:
    """Octal digits up to a NUL, spaces around them allowed (as tarfile reads them)."""
    known = _OCTAL_SEEN.get(field)
    if known is not None:
        return known
    text = field.split(b"\0", 1)[0]
    try:
        value = int(text, 8)
    except ValueError:
        if text.strip():
            raise
        value = 0
    if len(_OCTAL_SEEN) >= _OCTAL_MEMO:
        _OCTAL_SEEN.clear()
    _OCTAL_SEEN[field] = value
    return value


# Modes and sizes repeat from member to member: parsed once each (a dict lookup is a
# tenth of int()), in a bounded memo.
_OCTAL_SEEN: dict[bytes, int] = {}
_OCTAL_MEMO = 4096


def _number(field: bytes, start: int) -> int:
    """A numeric field: octal text, or GNU's base-256 (first byte 0x80 or 0xff)."""
    if field[0] in (0o200, 0o377):
        value = int.from_bytes(field[1:], "big")
        value = value - (256 ** (len(field) - 1)) if field[0] == 0o377 else value
        if abs(value) > _INT64_MAX:  # as Go's archive/tar: sizes and modes are int64
            raise TarFormatError(f"number out of range in the header at offset {start}")
        return value
    try:
        return _octal(field)
    except ValueError:
        raise TarFormatError(f"invalid number {field!r} in the header at offset {start}") from None


def _size_field(block: bytes, start: int) -> int:
    size = _number(block[124:136], start)
    if size < 0:
        raise TarFormatError(f"negative size in the header at offset {start}")
    return size


def _ustar_name(block: bytes) -> tuple[str, int]:
    """The name in a header's ustar fields (name, and prefix unless GNU uses that field
    for other things), and its type flag."""
    kind = block[156]
    name = _nts(block[0:100])
    if block[345] and kind not in _GNU_TYPES:  # a ustar name in two parts
        name = f"{_nts(block[345:500])}/{name}"
    if kind == 0 and name.endswith("/"):
        kind = DIR_TYPE  # an old V7 directory: a regular file with a trailing slash
    return name, kind


def _padded(size: int) -> int:
    return (size + BLOCK - 1) & ~(BLOCK - 1)


def _nts(field: bytes) -> str:
    """A NUL-terminated string field, decoded."""
    return field.split(b"\0", 1)[0].decode(*_ENCODING) if field[0] else ""


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_decimal_bytes(text: bytes) -> bool:
    return text.isdigit() and len(text) <= 20


def _sparse_10(pax: dict[str, str]) -> bool:
    return pax.get("GNU.sparse.major") == "1" and pax.get("GNU.sparse.minor") == "0"


def _apply_pax(member: Member, pax: dict[str, str], start: int, stored: int) -> int:
    """Apply PAX records to ``member``; the size of its data in the archive."""
    if "path" in pax:
        member.name = pax["path"]
    if "GNU.sparse.name" in pax:
        member.name = pax["GNU.sparse.name"]
    if "linkpath" in pax:
        member.linkname = pax["linkpath"]
    if "size" in pax:
        stored = _pax_number(pax["size"], "size", start)
        if member.type != _OLD_SPARSE:
            member.size = stored
    if "GNU.sparse.map" in pax or "GNU.sparse.size" in pax or _sparse_10(pax):
        member.sparse = True
        real = pax.get("GNU.sparse.realsize", pax.get("GNU.sparse.size"))
        if real is not None:
            member.size = _pax_number(real, "GNU.sparse size", start)
    return stored


def _pax_number(text: str, key: str, start: int) -> int:
    if not _is_decimal(text) or len(text) > 19 or int(text) > _INT64_MAX:
        raise TarFormatError(f"invalid PAX {key} {text[:40]!r} in the header at offset {start}")
    return int(text)


def _pax_records(data: bytes, start: int) -> dict[str, str]:
    """PAX records, ``"%d %s=%s\\n" % (length, key, value)`` each; a malformed one is an
    error (as in Go), not the end of the records."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        if data[position] == 0:  # NUL padding after the last record
            if data[position:].strip(b"\0"):
                break
            return records
        match = _PAX_RECORD.match(data, position)
        length = int(match.group(1)) if match else 0
        end = position + length
        record = data[match.end() : end - 1] if match else b""
        if (not match or end <= match.end() or end > len(data) or data[end - 1] != 10
                or b"=" not in record):  # fmt: skip
            break
        key, _, value = record.partition(b"=")
        records[key.decode(*_ENCODING)] = value.decode(*_ENCODING)
        position = end
    else:
        return records
    raise TarFormatError(f"malformed PAX record in the header at offset {start}")
