"""Find shared libraries and the dynamic loader in an image, as the loader would.

glibc's loader looks a soname up in this order (``man ld.so``): the
directories of ``LD_LIBRARY_PATH``, then ``/etc/ld.so.cache``, then the
default directories. Executables' own DT_RPATH/DT_RUNPATH are not known here.
The cache is read from the merged filesystem, so it is the one the last
``ldconfig`` run wrote: a library added later without ``ldconfig`` is found
only in the default directories, exactly as at run time. A cache entry counts
only if its flags fit the machine and its path still resolves to a file; a
file counts only if it is not an ELF object for another machine (layers
record the ELF machine of shared objects as the fact "elf").
"""

from __future__ import annotations

import posixpath
import re
import weakref
from collections.abc import Iterable, Sequence

from octolint.image.fs import ImageFS
from octolint.image.ldcache import LdCache, LdCacheEntry, LdCacheError, parse_ld_cache
from octolint.image.model import FILE

LD_SO_CACHE = "/etc/ld.so.cache"

# Debian/Ubuntu multiarch triplets, by machine (ImageTarget.machine).
TRIPLETS = {
    "x86_64": "x86_64-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "arm": "arm-linux-gnueabihf",
    "i386": "i386-linux-gnu",
    "ppc64le": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
}
_32_BIT = frozenset({"arm", "i386", "x32"})

# glibc loaders: the program interpreter path first (what the kernel opens),
# then other names the same loader goes by.
GLIBC_LOADERS = {
    "x86_64": ("/lib64/ld-linux-x86-64.so.2",),
    "aarch64": ("/lib/ld-linux-aarch64.so.1",),
    "arm": ("/lib/ld-linux-armhf.so.3",),  # hard float: .NET's linux-arm; not armel's
    "i386": ("/lib/ld-linux.so.2",),
    "ppc64le": ("/lib64/ld64.so.2",),
    "s390x": ("/lib/ld64.so.1",),
    "riscv64": ("/lib/ld-linux-riscv64-lp64d.so.1",),
}
MUSL_LOADERS = {
    "x86_64": ("/lib/ld-musl-x86_64.so.1",),
    "aarch64": ("/lib/ld-musl-aarch64.so.1",),
    "arm": ("/lib/ld-musl-armhf.so.1", "/lib/ld-musl-arm.so.1"),
    "i386": ("/lib/ld-musl-i386.so.1",),
    "ppc64le": ("/lib/ld-musl-powerpc64le.so.1",),
    "s390x": ("/lib/ld-musl-s390x.so.1",),
    "riscv64": ("/lib/ld-musl-riscv64.so.1",),
}
_MUSL_NAME = re.compile(r"(?:ld-musl-|libc\.musl-)[^/]*\.so\.1")
_GLIBC_LOADER_NAME = re.compile(r"ld-linux[^/]*\.so\.\d+|ld-2\.\d+\.so|ld64\.so\.\d+")

# The parsed cache of each ImageFS (an ImageFS never changes once built).
_CACHES: weakref.WeakKeyDictionary[ImageFS, LdCache | None] = weakref.WeakKeyDictionary()


def default_dirs(machine: str) -> list[str]:
    """The loader's default directories: multiarch first, then the classic ones."""
    dirs = []
    triplet = TRIPLETS.get(machine)
    if triplet:
        dirs += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
    if machine not in _32_BIT:
        dirs += ["/lib64", "/usr/lib64"]
    return [*dirs, "/lib", "/usr/lib"]


def ld_cache(fs: ImageFS) -> LdCache | None:
    """The image's /etc/ld.so.cache, parsed; None when absent or unreadable
    (the loader then silently does without it too)."""
    if fs not in _CACHES:
        data = fs.read(LD_SO_CACHE)
        try:
            _CACHES[fs] = parse_ld_cache(data) if data else None
        except LdCacheError:
            _CACHES[fs] = None
    return _CACHES[fs]


def find_library(
    fs: ImageFS,
    soname: str,
    *,
    ld_library_path: Sequence[str] = (),
    machine: str = "x86_64",
) -> str | None:
    """The path the dynamic loader would load for ``soname``, or None.

    The path is returned as the loader names it (a cache entry's path or
    ``directory/soname``), not with its symlinks resolved.
    """
    if "/" in soname:  # the loader opens a name with a slash as is
        path = soname if soname.startswith("/") else f"/{soname}"
        return path if _usable(fs, path, machine) else None
    found = _in_dirs(fs, soname, _search_dirs(ld_library_path), machine)
    if found:
        return found
    found = _in_cache(fs, soname, machine)
    if found:
        return found
    return _in_dirs(fs, soname, default_dirs(machine), machine)


def find_libraries_matching(
    fs: ImageFS,
    pattern: str | re.Pattern[str],
    *,
    ld_library_path: Sequence[str] = (),
    machine: str = "x86_64",
) -> dict[str, str]:
    """soname -> path for every soname matching the regular expression (whole
    name) that the loader would find: "any libicuuc.so.N" questions."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    names: set[str] = set()
    cache = ld_cache(fs)
    if cache is not None:
        names.update(e.soname for e in cache.entries if regex.fullmatch(e.soname))
    for directory in [*_search_dirs(ld_library_path), *default_dirs(machine)]:
        names.update(n for n in fs.listdir(directory) if regex.fullmatch(n))
    found = {}
    for name in sorted(names):
        path = find_library(fs, name, ld_library_path=ld_library_path, machine=machine)
        if path:
            found[name] = path
    return found


def dynamic_loader(fs: ImageFS, machine: str = "x86_64") -> tuple[str, str] | None:
    """(path, kind) of the image's dynamic loader for machine, or None if it has none.

    kind is "glibc", "musl" or "unknown", decided by what the path finally
    resolves to, not by its name: Alpine's libc6-compat makes
    ld-linux-x86-64.so.2 a symlink to musl's loader, which is "musl".
    """
    for path in _loader_candidates(machine):
        entry = fs.lookup(path)
        if entry is not None and entry.kind == FILE:
            return path, _loader_kind(fs, path)
    return None


# -- helpers -------------------------------------------------------------------------


def _search_dirs(ld_library_path: Iterable[str]) -> list[str]:
    dirs = []
    for item in ld_library_path:
        for directory in re.split(r"[:;]", item):  # ld.so accepts both separators
            if directory:  # an empty entry means the working directory: unknown here
                dirs.append(directory if directory.startswith("/") else f"/{directory}")
    return dirs


def _usable(fs: ImageFS, path: str, machine: str) -> bool:
    entry = fs.lookup(path)
    if entry is None or entry.kind != FILE:
        return False
    elf = fs.fact(path, "elf")
    return elf is None or elf == machine


def _in_dirs(fs: ImageFS, soname: str, dirs: Iterable[str], machine: str) -> str | None:
    for directory in dirs:
        path = posixpath.join(directory, soname)
        if _usable(fs, path, machine):
            return path
    return None


def _in_cache(fs: ImageFS, soname: str, machine: str) -> str | None:
    cache = ld_cache(fs)
    if cache is None:
        return None
    candidates = [e for e in cache.lookup(soname) if e.fits(machine)]
    # glibc-hwcaps entries are used only on CPUs that support them: prefer the
    # baseline entry, which every CPU can use.
    candidates.sort(key=_is_hwcaps_entry)
    for entry in candidates:
        if _usable(fs, entry.path, machine):
            return entry.path
    return None


def _is_hwcaps_entry(entry: LdCacheEntry) -> bool:
    return entry.hwcaps_subdir is not None or entry.hwcap != 0


def _loader_candidates(machine: str) -> list[str]:
    """The program interpreter paths binaries for ``machine`` name: the kernel opens
    that path and no other, so a loader elsewhere (only in /usr/lib/<triplet>, its
    /lib64 link whited out) starts nothing."""
    return [*GLIBC_LOADERS.get(machine, ()), *MUSL_LOADERS.get(machine, ())]


def _loader_kind(fs: ImageFS, path: str) -> str:
    if fs.fact(path, "musl"):
        return "musl"
    if fs.fact(path, "glibc"):
        return "glibc"
    # No content facts (a loader the layer scan did not recognise by name):
    # judge by the names of the link and of the file it resolves to.
    real = fs.realpath(path) or path
    names = {posixpath.basename(path), posixpath.basename(real)}
    if any(_MUSL_NAME.fullmatch(n) for n in names):
        return "musl"
    if _GLIBC_LOADER_NAME.fullmatch(posixpath.basename(real)):
        return "glibc"
    return "unknown"
