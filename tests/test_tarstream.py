"""octolint's own tar header reader (octolint/image/tarstream.py), against tarfile.

Archives written by tarfile in each format (ustar, GNU, PAX; long names and link
targets, every member type, data of any size) must read the same member by member,
data included, whatever sizes the stream is read in. Where the two readers are meant
to differ (Go's archive/tar decides, as Docker extracts layers with it), the
difference is asserted on its own.
"""

from __future__ import annotations

import io
import pathlib
import shutil
import subprocess
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.image import tarstream

LIMITS = tarstream.Limits(header_bytes=1 << 20, extended_headers=8, global_keys=64)

_TYPES = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
          tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE]  # fmt: skip
_NAME_PART = st.text(
    alphabet=st.characters(blacklist_characters="\0/", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
)
_NAME = st.lists(_NAME_PART, min_size=1, max_size=8).map("/".join)


@st.composite
def members(draw: st.DrawFn) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(draw(_NAME))
    info.type = draw(st.sampled_from(_TYPES))
    info.mode = draw(st.integers(0, 0o7777))
    data = b""
    if info.type == tarfile.REGTYPE:
        data = draw(st.binary(max_size=3000))
        info.size = len(data)
    elif info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = draw(_NAME)
    return info, data


class Dribble(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes a read, as a network would."""

    def __init__(self, data: bytes, step: int):
        self._data, self._step, self._at = data, step, 0

    def read(self, size: int = -1, /) -> bytes:
        size = self._step if size < 0 else min(size, self._step)
        piece = self._data[self._at : self._at + size]
        self._at += len(piece)
        return piece


def written(entries: list[tuple[tarfile.TarInfo, bytes]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return out.getvalue()


def by_tarfile(blob: bytes) -> list[tuple[object, ...]]:
    found = []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r|", encoding="utf-8") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isreg() else None
            data = handle.read() if handle is not None else b""
            found.append((member.name, member.linkname, ord(member.type), member.mode,
                          member.size, data))  # fmt: skip
    return found


def by_reader(stream: io.RawIOBase | io.BytesIO) -> list[tuple[object, ...]]:
    reader = tarstream.TarReader(stream, LIMITS)
    found = []
    for member in reader.members():
        data = b""
        if member.is_regular:
            while piece := reader.read_data(700):
                data += piece
        name = member.name.rstrip("/") if member.type == tarstream.DIR_TYPE else member.name
        found.append((name, member.linkname, member.type, member.mode, member.size, data))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(members(), max_size=12),
    fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    step=st.sampled_from([1, 7, 512, 4096, 1 << 20]),
)
def test_reads_what_tarfile_reads(entries: list[tuple[tarfile.TarInfo, bytes]], fmt: int,
                                  step: int) -> None:  # fmt: skip
    try:
        blob = written(entries, fmt)
    except ValueError:  # a name ustar cannot hold: nothing to compare
        return
    assert by_reader(Dribble(blob, step)) == by_tarfile(blob)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(members(), max_size=12),
    fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    step=st.sampled_from([1, 7, 512, 4096, 1 << 20]),
    wanted=st.lists(st.integers(0, 3100), max_size=12),
)
def test_data_left_unread_is_skipped_in_step(
    entries: list[tuple[tarfile.TarInfo, bytes]], fmt: int, step: int, wanted: list[int]
) -> None:
    # The layer walk reads the first bytes of a few members and skips the rest, which
    # the reader does by whole pieces of the stream, keeping what follows: each member
    # must still be found where tarfile finds it, and the archive end at the same offset.
    try:
        blob = written(entries, fmt)
    except ValueError:
        return
    reader = tarstream.TarReader(Dribble(blob, step), LIMITS)
    found = []
    for index, member in enumerate(reader.members()):
        size = wanted[index] if index < len(wanted) else 0
        data = reader.read_data(size) if member.is_regular and size else b""
        found.append((member.name.rstrip("/"), data))
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:", encoding="utf-8") as tar:
        expected = [
            (m.name, blob[m.offset_data : m.offset_data + min(m.size, wanted[i])]
             if m.isreg() and i < len(wanted) else b"")
            for i, m in enumerate(tar.getmembers())
        ]  # fmt: skip
        last = tar.getmembers()[-1] if entries else None
    assert found == expected
    assert reader.end == (last.offset_data + -(-last.size // 512) * 512 if last else 0)


def test_the_end_offset_is_where_the_members_end() -> None:
    blob = written([(tarfile.TarInfo("a"), b"")], tarfile.USTAR_FORMAT)
    reader = tarstream.TarReader(io.BytesIO(blob), LIMITS)
    assert [m.name for m in reader.members()] == ["a"]
    assert reader.end == 512
    bare = tarstream.TarReader(io.BytesIO(blob[:512]), LIMITS)  # no end-of-archive blocks
    assert len(list(bare.members())) == 1 and bare.end == 512


def _file(name: str, data: bytes = b"") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info


def test_signed_checksums_of_old_tars_are_accepted() -> None:
    block = bytearray(written([(_file("caf\xe9"), b"")], tarfile.USTAR_FORMAT)[:512])
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + block[156:]) + 256
    block[148:156] = b"%06o\0 " % signed
    reader = tarstream.TarReader(io.BytesIO(bytes(block) + bytes(1024)), LIMITS)
    assert [m.name for m in reader.members()] == ["caf\xe9"]


def test_a_bad_header_after_the_first_member_is_an_error_as_in_go() -> None:
    # tarfile ends the archive there without a word; Docker refuses the layer.
    blob = written([(_file("a", b"x"), b"x")], tarfile.USTAR_FORMAT)
    garbage = blob[:1024] + b"garbage!" * 64 + bytes(1024)
    with pytest.raises(tarstream.TarFormatError, match="bad checksum in the header at offset 1024"):
        list(tarstream.TarReader(io.BytesIO(garbage), LIMITS).members())


def test_data_cut_short_is_unexpected_end_of_data() -> None:
    blob = written([(_file("a", b"x" * 5000), b"x" * 5000)], tarfile.USTAR_FORMAT)
    reader = tarstream.TarReader(io.BytesIO(blob[:3000]), LIMITS)
    with pytest.raises(tarstream.TarTruncated, match="unexpected end of data"):
        list(reader.members())


def test_a_header_cut_short_is_truncated() -> None:
    blob = written([(_file("a"), b""), (_file("b"), b"")], tarfile.USTAR_FORMAT)
    with pytest.raises(tarstream.TarTruncated, match="ends inside the header at offset 512"):
        list(tarstream.TarReader(io.BytesIO(blob[:700]), LIMITS).members())


def test_global_pax_headers_apply_to_nothing_as_in_docker() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"path": "elsewhere", "comment": "x"}) as tar:  # fmt: skip
        tar.addfile(_file("a"))
    names = [m.name for m in tarstream.TarReader(io.BytesIO(out.getvalue()), LIMITS).members()]
    assert names == ["a"]


def test_a_pax_path_wins_over_a_gnu_long_name_as_in_go() -> None:
    long_name = "l" * 200
    gnu = written([(_file(long_name), b"")], tarfile.GNU_FORMAT)
    pax = written([(_file("p" * 150), b"")], tarfile.PAX_FORMAT)
    # GNU long-name header and data (two blocks, then the member's), then PAX's three.
    mixed = gnu[:1024] + pax[:1024] + pax[1024:1536] + bytes(1024)
    names = [m.name for m in tarstream.TarReader(io.BytesIO(mixed), LIMITS).members()]
    assert names == ["p" * 150]


@pytest.mark.parametrize(
    "records",
    [b"5 a=b\n", b"10 a=b\n", b"x a=b\n", b"7 ab\nc\n", b"0 \n"],
)
def test_malformed_pax_records_are_an_error(records: bytes) -> None:
    good = written([(_file("a"), b"")], tarfile.USTAR_FORMAT)
    header = bytearray(good[:512])
    header[156:157] = b"x"
    header[124:136] = b"%011o\0" % len(records)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    blob = bytes(header) + records + bytes(-len(records) % 512) + good
    with pytest.raises(tarstream.TarFormatError, match="malformed PAX record"):
        list(tarstream.TarReader(io.BytesIO(blob), LIMITS).members())


@pytest.mark.parametrize(
    "options",
    [["--format=gnu"], ["--format=posix", "--sparse-version=0.0"],
     ["--format=posix", "--sparse-version=0.1"], ["--format=posix", "--sparse-version=1.0"]],
)  # fmt: skip
def test_sparse_files_from_gnu_tar_read_as_tarfile_reads_them(
    options: list[str], tmp_path: pathlib.Path
) -> None:
    tool = shutil.which("tar")
    if tool is None:
        pytest.fail("GNU tar is needed (Debian package tar)")
    sparse = tmp_path / "tree" / "sparse"
    sparse.parent.mkdir()
    with open(sparse, "wb") as handle:  # data, a 1 MiB hole, data, a hole to 64 MiB
        handle.write(b"head" * 1000)
        handle.seek(1 << 20)
        handle.write(b"tail" * 1000)
        handle.truncate(64 << 20)
    (tmp_path / "tree" / "plain").write_bytes(b"after the sparse file")
    blob = subprocess.run([tool, "-c", "--sparse", *options, "-C", str(tmp_path / "tree"),
                           "sparse", "plain"], capture_output=True, check=True).stdout  # fmt: skip
    members = list(tarstream.TarReader(io.BytesIO(blob), LIMITS).members())
    assert [(m.name, m.size, m.sparse) for m in members] == [
        ("sparse", 64 << 20, True), ("plain", 21, False)]  # fmt: skip
    theirs = by_tarfile_sizes(blob)
    assert [(m.name, m.size) for m in members] == theirs


def by_tarfile_sizes(blob: bytes) -> list[tuple[str, int]]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r|") as tar:
        return [(member.name, member.size) for member in tar]


def test_a_size_beyond_int64_is_an_error_as_in_go() -> None:
    # GNU base-256: 0x80, then 11 bytes; 2**64 cannot be a size (SQLite stores int64).
    header = bytearray(written([(_file("a"), b"")], tarfile.GNU_FORMAT)[:512])
    header[124:136] = b"\x80" + (1 << 64).to_bytes(11, "big")
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    with pytest.raises(tarstream.TarFormatError, match="number out of range"):
        list(tarstream.TarReader(io.BytesIO(bytes(header) + bytes(1024)), LIMITS).members())
