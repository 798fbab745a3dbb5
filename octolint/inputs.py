"""Reading inputs (Dockerfiles, Compose files, manifests) from disk or stdin, with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

from octolint.errors import DockerfileSyntaxError, InputError

MAX_BYTES = 64 * 1024 * 1024  # far beyond any real Dockerfile; bounds memory
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def read_bytes(path: Path, display: str) -> bytes:
    """The file's content; InputError (exit 3) when it cannot be read."""
    try:
        if path.is_dir():
            raise InputError(display, "is a directory with no Dockerfile name")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    return data


def read_stdin() -> bytes:
    try:
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError("<stdin>", f"cannot read: {exc.strerror or exc}") from None


def decode(data: bytes, display: str) -> str:
    """Dockerfile bytes as text, read as BuildKit reads them: byte for byte.

    Bytes that are not UTF-8 (a file saved as Latin-1 or Windows-1252) become
    surrogates (``surrogateescape``), which the parser treats as Go treats a
    stray byte; OCT110 notes them. Raises InputError (exit 3) for what is not
    text at all (NUL bytes: a binary file, or UTF-16/32 without a BOM), and
    DockerfileSyntaxError for text docker build cannot read (UTF-16/32 with a BOM).
    """
    if len(data) > MAX_BYTES:
        raise InputError(display, f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not a Dockerfile")
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            # Windows PowerShell's `>` writes UTF-16, which docker build cannot
            # read: that is a broken Dockerfile (OCT100), not an unreadable input.
            raise DockerfileSyntaxError(
                f"file is {name} encoded; docker build reads Dockerfiles as UTF-8: "
                "re-save it as UTF-8",
                1,
            )
    if b"\x00" in data[:8192]:
        raise InputError(display, "binary file (contains NUL bytes): not a Dockerfile")
    return data.decode("utf-8", "surrogateescape")
