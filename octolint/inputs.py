"""Reading inputs (Dockerfiles, Compose files, manifests) from disk or stdin, with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

from octolint.errors import DockerfileSyntaxError, InputError

MAX_BYTES = 64 * 1024 * 1024  # far beyond any real Dockerfile; bounds memory
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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
    """Dockerfile bytes as text.

    Raises InputError (exit 3) for what is not text at all, and
    DockerfileSyntaxError for text docker build cannot read (UTF-16).
    """
    if len(data) > MAX_BYTES:
        raise InputError(display, f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not a Dockerfile")
    if data.startswith(_UTF16_BOMS):
        # Windows PowerShell's `>` writes UTF-16, which docker build cannot
        # read: that is a broken Dockerfile (OCT100), not an unreadable input.
        raise DockerfileSyntaxError(
            "file is UTF-16 encoded; docker build reads Dockerfiles as UTF-8: re-save it as UTF-8",
            1,
        )
    if b"\x00" in data[:8192]:
        raise InputError(display, "binary file (contains NUL bytes): not a Dockerfile")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            display,
            f"line {line}, column {column}: invalid UTF-8 (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8",
        ) from None
