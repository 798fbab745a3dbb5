"""Where octolint keeps its caches, and whether what is there can be trusted.

The caches decide verdicts: a layer index says which files an image holds, and
the rule memo says what each rule is. A cache that someone else can write is
therefore an attack on every run that reads it: another user of a shared,
world-writable directory could plant the index of a healthy layer under the
digest of a broken one. So, as ssh does with ``~/.ssh`` and pip with its cache,
a cache directory is used only when

- it and every directory octolint made in it are directories (not symbolic
  links: the top one may be a link only if the current user made it), owned by
  the current user (or root) and writable by no one else (no group or other
  write bit);
- the directory holding it lets no one else rename it away (not writable by
  others, unless sticky, like ``/tmp``);
- and each file read from it passes the same owner and mode test, opened with
  ``O_NOFOLLOW`` (a planted symlink is never followed).

Otherwise octolint says so once on stderr and runs without that cache (a
foreign file in a trusted directory is only skipped, and replaced when written
again). Checks are a few ``lstat`` calls, cheap enough for the Dockerfile path.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

CACHE_ENV = "OCTOLINT_CACHE_DIR"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # absent on Windows, where links need privileges
_warned: set[str] = set()


class UntrustedCacheError(OSError):
    """A cache file or directory another user could have written (see the module)."""


def cache_root() -> Path:
    """``$OCTOLINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/octolint``, else ``~/.cache/octolint``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "octolint"


_POSIX = hasattr(os, "getuid")  # Windows has neither owners nor mode bits to compare


def _trusted_owner(uid: int) -> bool:
    return not _POSIX or uid in (os.getuid(), 0)


def status_problem(status: os.stat_result, kind: str) -> str | None:
    """Why a file or directory with this status (an lstat/fstat) is not to be trusted."""
    if stat.S_ISLNK(status.st_mode):
        return "is a symbolic link"
    wanted = stat.S_ISDIR if kind == "directory" else stat.S_ISREG
    if not wanted(status.st_mode):
        return f"is not a {kind}"
    if not _trusted_owner(status.st_uid):
        return f"is owned by another user (uid {status.st_uid})"
    if _POSIX and status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "is writable by other users"
    return None


def directory_problem(path: Path, *, top: bool) -> str | None:
    """Why the directory ``path`` is not to be trusted, or None (see the module).

    ``top``: the cache directory itself, which the user chose (it may be a link the
    user made, and its parent is checked); else a directory octolint made in it.
    """
    try:
        status = os.lstat(path)
        if top:
            parent = os.stat(os.path.dirname(os.path.abspath(path)))
            if _POSIX and parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX:
                return "is in a directory anyone can write to (and that is not sticky)"
            if stat.S_ISLNK(status.st_mode) and _trusted_owner(status.st_uid):
                status = os.stat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return status_problem(status, "directory")


def usable_directory(path: Path, *, top: bool, create: bool) -> bool:
    """Whether the cache may use ``path`` (made, mode 0700, when missing and ``create``);
    if not because it is untrusted, a warning on stderr (once per directory)."""
    if create and not os.path.lexists(path):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError:
            return False  # a read-only home only costs speed: nothing to warn about
    elif not os.path.lexists(path):
        return False
    problem = directory_problem(path, top=top)
    if problem is not None:
        warn_once(path, problem)
    return problem is None


def open_trusted(path: str | os.PathLike[str], flags: int = os.O_RDONLY) -> int:
    """A descriptor of the regular file ``path``, never through a symlink;
    UntrustedCacheError (warned about once) if another user could have written it."""
    fd = os.open(path, flags | NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        problem = status_problem(os.fstat(fd), "file")
    except OSError:
        os.close(fd)
        raise
    if problem is not None:
        os.close(fd)
        warn_once(Path(path), problem)
        raise UntrustedCacheError(f"{path} {problem}")
    return fd


def warn_once(path: Path, problem: str) -> None:
    key = os.fspath(path)
    if key in _warned:
        return
    _warned.add(key)
    print(
        f"octolint: warning: not using the cache at {key}: it {problem}"
        " (the cache must belong to you and be writable only by you)",
        file=sys.stderr,
    )
