"""The reference model of an image's merged filesystem: layers applied eagerly, in order.

This is how octolint first merged layers (a dict of every path), kept as the
oracle for ``octolint.image.fs.ImageFS``, which looks paths up layer by layer
instead: the tests check that both answer every query alike.

Merging follows the OCI image spec (and what Docker's overlay2 and containerd
produce):

- a whiteout in a layer deletes the path, and everything below it, from the
  layers *below*; the same layer's own entries are not affected;
- an opaque directory hides every lower-layer child of that directory;
- a later entry replaces an earlier one; a directory over a directory keeps
  the lower children (the directories merge), a non-directory over a
  directory removes them;
- a path whose parent is missing, or is not a directory in the lower layers,
  gets an implicit directory.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence

from octolint.image.model import DIR, FILE, HARDLINK, SYMLINK, Entry, LayerIndex

MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS: ELOOP beyond this many links in one lookup
_IMPLICIT_DIR = Entry(DIR, 0o755)
_NO_LAYER = -1  # origin of the implicit root
_GLOB_MAGIC = frozenset("*?[")


def _join(directory: str, name: str) -> str:
    return f"/{name}" if directory == "/" else f"{directory}/{name}"


def _split(path: str) -> tuple[str, str]:
    """'/a/b' -> ('/a', 'b'); '/a' -> ('/', 'a')."""
    parent, _, name = path.rpartition("/")
    return parent or "/", name


class ReferenceFS:
    """An image's merged filesystem, built from its layer indexes at once."""

    def __init__(self, layers: Sequence[LayerIndex]):
        self.layers: tuple[LayerIndex, ...] = tuple(layers)
        self._entries: dict[str, Entry] = {"/": _IMPLICIT_DIR}
        self._origin: dict[str, int] = {"/": _NO_LAYER}  # index in self.layers
        self._children: dict[str, set[str]] = {}
        self._implicit: set[str] = set()  # directories no layer listed
        self._finals: dict[int, dict[str, Entry]] = {}
        for position, layer in enumerate(self.layers):
            self._apply(position, layer)

    # -- building -----------------------------------------------------------------
    def _apply(self, position: int, layer: LayerIndex) -> None:
        # Whiteouts and opaque markers concern the lower layers only, so they go
        # first: the layer's own entries of the same names then stay.
        for path in layer.whiteouts:
            self._remove(path)
        for path in layer.opaque:
            self._remove_children(path)
        for path, entry in layer.entries.items():
            self._add(position, path, entry)

    def _add(self, position: int, path: str, entry: Entry) -> None:
        if path == "/":
            if entry.kind == DIR:  # anything else cannot replace the root
                self._entries[path], self._origin[path] = entry, position
            return
        old = self._entries.get(path)
        if old is None:
            self._ensure_parent(position, path)
        elif old.kind == DIR and entry.kind != DIR:
            self._remove_children(path)
        self._entries[path] = entry
        self._origin[path] = position
        self._implicit.discard(path)

    def _ensure_parent(self, position: int, path: str) -> None:
        """Make every ancestor of path a directory, and register path as a child."""
        missing: list[str] = []
        child = path
        while True:
            parent, name = _split(child)
            self._children.setdefault(parent, set()).add(name)
            existing = self._entries.get(parent)
            if existing is not None and existing.kind == DIR:
                break
            missing.append(parent)  # absent, or a non-directory (which has no children)
            child = parent
        for directory in missing:
            if directory not in self._entries:  # a listed non-directory turned directory
                self._implicit.add(directory)  # stays the layer's own entry
            self._entries[directory] = _IMPLICIT_DIR
            self._origin[directory] = position

    def _remove(self, path: str) -> None:
        if path == "/":
            self._remove_children(path)
            return
        if path not in self._entries:
            return
        self._remove_children(path)
        del self._entries[path]
        del self._origin[path]
        parent, name = _split(path)
        siblings = self._children.get(parent)
        if siblings is not None:
            siblings.discard(name)

    def _remove_children(self, directory: str) -> None:
        pending = [directory]
        while pending:
            current = pending.pop()
            for name in self._children.pop(current, ()):
                child = _join(current, name)
                if self._entries.pop(child, None) is not None:
                    del self._origin[child]
                pending.append(child)

    # -- resolution ---------------------------------------------------------------
    def _resolve(self, path: str, follow_last: bool) -> str | None:
        """The canonical path of ``path`` (no symlinks among its directories, nor in
        the last component when ``follow_last``), or None when something is missing,
        not a directory, or a symlink loop."""
        pending = [p for p in reversed(path.split("/")) if p not in ("", ".")]
        resolved: list[str] = []
        links = 0
        while pending:
            name = pending.pop()
            if name == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/" + "/".join([*resolved, name])
            entry = self._entries.get(candidate)
            if entry is None:
                return None
            if entry.kind == SYMLINK and (pending or follow_last):
                links += 1
                target = entry.link or ""
                if links > MAX_SYMLINKS or not target:
                    return None  # ELOOP, or ENOENT for an empty target
                if target.startswith("/"):
                    resolved = []  # absolute targets start at the image's root
                pending.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
                continue
            if pending and entry.kind != DIR:
                return None  # ENOTDIR
            resolved.append(name)
        return "/" + "/".join(resolved)

    def _file(self, path: str) -> tuple[int, str, Entry] | None:
        """(layer position, path in that layer, entry) of the file path names,
        following symlinks and hard links."""
        real = self._resolve(path, follow_last=True)
        if real is None:
            return None
        position, entry = self._origin[real], self._entries[real]
        hops = 0
        while entry.kind == HARDLINK and entry.link and hops < MAX_SYMLINKS:
            hops += 1
            # A hard link shares its target's inode *as that layer wrote it*: what
            # upper layers later do to the target's path does not change it.
            target = entry.link
            in_layer = self._final(position).get(target) if position >= 0 else None
            if in_layer is not None:
                real, entry = target, in_layer
            elif target in self._entries:
                real, entry, position = target, self._entries[target], self._origin[target]
            else:
                return None
        return position, real, entry

    def _final(self, position: int) -> dict[str, Entry]:
        """The entries a layer lists, as extracting it alone leaves them (a hard
        link names a file of its own layer in that state)."""
        if position not in self._finals:
            alone = ReferenceFS([self.layers[position]])
            self._finals[position] = {
                p: e for p, e in alone._entries.items()
                if p not in alone._implicit and alone._origin[p] != _NO_LAYER
            }  # fmt: skip
        return self._finals[position]

    # -- queries ------------------------------------------------------------------
    def realpath(self, path: str) -> str | None:
        """The canonical absolute path, symlinks resolved inside the image; None when
        a component is missing or the symlinks loop (like realpath(3))."""
        return self._resolve(path, follow_last=True)

    def lookup(self, path: str, follow_symlinks: bool = True) -> Entry | None:
        """The entry at path, or None.

        Following (the default) answers like stat(2): symlinks are resolved and a
        hard link is reported as the file it links to. Without following, the
        entry is returned as stored (SYMLINK, HARDLINK...), like lstat(2).
        """
        if not follow_symlinks:
            real = self._resolve(path, follow_last=False)
            return None if real is None else self._entries[real]
        found = self._file(path)
        return None if found is None else found[2]

    def exists(self, path: str) -> bool:
        return self.lookup(path) is not None

    def is_dir(self, path: str) -> bool:
        entry = self.lookup(path)
        return entry is not None and entry.kind == DIR

    def is_file(self, path: str) -> bool:
        entry = self.lookup(path)
        return entry is not None and entry.kind == FILE

    def is_executable(self, path: str) -> bool:
        """A regular file (possibly through symlinks) with any execute bit set."""
        entry = self.lookup(path)
        return entry is not None and entry.kind == FILE and bool(entry.mode & 0o111)

    def read(self, path: str) -> bytes | None:
        """The contents of a file, if its layer kept them (layers.KEPT_FILES); else None."""
        found = self._file(path)
        if found is None or found[0] == _NO_LAYER or found[2].kind != FILE:
            return None
        position, real, _ = found
        return self.layers[position].files.get(real)

    def fact(self, path: str, key: str) -> str | None:
        """A fact (e.g. "glibc" -> "2.36") recorded for the file path resolves to."""
        found = self._file(path)
        if found is None or found[0] == _NO_LAYER:
            return None
        position, real, _ = found
        return self.layers[position].facts.get(real, {}).get(key)

    def layer_of(self, path: str) -> str | None:
        """The digest of the layer that provided the entry at path (its last
        component not followed), or None."""
        real = self._resolve(path, follow_last=False)
        if real is None or self._origin[real] == _NO_LAYER:
            return None
        return self.layers[self._origin[real]].digest

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a directory (following symlinks); [] if not a directory."""
        real = self._resolve(path, follow_last=True)
        if real is None or self._entries[real].kind != DIR:
            return []
        return sorted(self._children.get(real, ()))

    def directories(self) -> Iterator[str]:
        """Every directory path in the image (symlinks to directories excluded)."""
        return (path for path, entry in self._entries.items() if entry.kind == DIR)

    def paths(self) -> Iterator[str]:
        """Every path in the image."""
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell pattern, one component at a time ('*' does not
        cross '/' nor match a leading '.'), following symlinked directories."""
        matches = ["/"]
        for part in (p for p in pattern.split("/") if p not in ("", ".")):
            matches = [m for base in matches for m in self._glob_step(base, part)]
        return sorted(m for m in matches if self.lookup(m, follow_symlinks=False) is not None)

    def _glob_step(self, base: str, part: str) -> list[str]:
        if part == "..":
            return [_split(base)[0]]
        if _GLOB_MAGIC.isdisjoint(part):
            return [_join(base, part)]
        return [
            _join(base, name)
            for name in self.listdir(base)
            if fnmatch.fnmatchcase(name, part) and (part.startswith(".") or name[0] != ".")
        ]
