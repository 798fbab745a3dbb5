"""The merged filesystem of an image, looked up path by path in its layers' stores.

Nothing is merged up front: like overlayfs, a lookup asks the layers from the
top down, so a scan costs the same for an image of a thousand files or of a
million; only the paths the rules ask about are ever read. The result is what
applying the layers in order would give, following the OCI image spec (and
what Docker's overlay2 and containerd produce):

- a whiteout in a layer deletes the path, and everything below it, from the
  layers *below*; the same layer's own entries are not affected;
- an opaque directory hides every lower-layer child of that directory;
- a later entry replaces an earlier one; a directory over a directory keeps
  the lower children (the directories merge), a non-directory over a
  directory removes them;
- a path whose parent is missing, or is not a directory in the lower layers,
  gets an implicit directory (extracting ``lib/x`` into a fresh upper
  directory creates a real ``lib``, which overlayfs shows instead of a lower
  ``lib`` symlink).

How a lookup applies those rules: the layers *visible* at a path are those
from the top down to its *floor*, the highest layer that hides the layers
below it there (a whiteout of the path or of an ancestor, an opaque ancestor,
a non-directory at an ancestor). The topmost visible entry wins, except that an
implicit directory (``store.IMPLICIT``) defers to a directory below it. The
tests check every query against a reference that applies layers eagerly.

Path resolution happens entirely inside the image: absolute symlink targets
start at the image's root, ``..`` stops at the root, loops and chains longer
than Linux's 40 links resolve to nothing. The host's filesystem is never
consulted.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence

from octolint.image.model import DIR, FILE, HARDLINK, SYMLINK, Entry, LayerIndex
from octolint.image.store import IMPLICIT_DIR, LayerStore, Node

MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS: ELOOP beyond this many links in one lookup
NO_LAYER = -1  # origin of the implicit root
_GLOB_MAGIC = frozenset("*?[")

Found = tuple[Entry, int]  # an entry and the position of the layer it comes from


def _join(directory: str, name: str) -> str:
    return f"/{name}" if directory == "/" else f"{directory}/{name}"


def _parent(path: str) -> str:
    return path.rpartition("/")[0] or "/"


class MergedView(ABC):
    """Path resolution and every query rules use, over a model of the merged layers.

    A model answers five questions (the abstract methods); ``ImageFS`` answers
    them layer by layer, and the tests' reference model from a full merge.
    """

    # -- the model ----------------------------------------------------------------
    @abstractmethod
    def _found(self, path: str) -> Found | None:
        """The entry at a canonical path (no symlinks to follow), and its layer."""

    @abstractmethod
    def _names(self, directory: str) -> set[str]:
        """The names in a canonical path that is a directory."""

    @abstractmethod
    def _own_entry(self, position: int, path: str) -> Entry | None:
        """The entry a layer itself gives path (not an implicit directory)."""

    @abstractmethod
    def _kept(self, position: int, path: str) -> bytes | None:
        """The contents a layer kept of path (``layers.KeptFiles``)."""

    @abstractmethod
    def _fact(self, position: int, path: str, key: str) -> str | None:
        """A fact a layer recorded for path."""

    @abstractmethod
    def _digest(self, position: int) -> str:
        """The digest of the layer at position."""

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
            found = self._found("/" + "/".join([*resolved, name]))
            if found is None:
                return None
            entry = found[0]
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

    def _resolved(self, path: str, follow_last: bool) -> tuple[str, Found] | None:
        real = self._resolve(path, follow_last)
        found = None if real is None else self._found(real)
        return None if real is None or found is None else (real, found)

    def _file(self, path: str) -> tuple[int, str, Entry] | None:
        """(layer position, path in that layer, entry) of the file path names,
        following symlinks and hard links."""
        resolved = self._resolved(path, follow_last=True)
        if resolved is None:
            return None
        real, (entry, position) = resolved
        hops = 0
        while entry.kind == HARDLINK and entry.link and hops < MAX_SYMLINKS:
            hops += 1
            # A hard link shares its target's inode *as that layer wrote it*: what
            # upper layers later do to the target's path does not change it.
            target = entry.link
            own = self._own_entry(position, target) if position >= 0 else None
            if own is not None:
                real, entry = target, own
            elif (found := self._found(target)) is not None:
                real, (entry, position) = target, found
            else:
                return None
        return position, real, entry

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
            resolved = self._resolved(path, follow_last=False)
            return None if resolved is None else resolved[1][0]
        file = self._file(path)
        return None if file is None else file[2]

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
        """The contents of a file, if its layer kept them (layers.KeptFiles); else None."""
        found = self._file(path)
        if found is None or found[0] == NO_LAYER or found[2].kind != FILE:
            return None
        return self._kept(found[0], found[1])

    def fact(self, path: str, key: str) -> str | None:
        """A fact (e.g. "glibc" -> "2.36") recorded for the file path resolves to."""
        found = self._file(path)
        if found is None or found[0] == NO_LAYER:
            return None
        return self._fact(found[0], found[1], key)

    def layer_of(self, path: str) -> str | None:
        """The digest of the layer that provided the entry at path (its last
        component not followed), or None."""
        resolved = self._resolved(path, follow_last=False)
        if resolved is None or resolved[1][1] == NO_LAYER:
            return None
        return self._digest(resolved[1][1])

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a directory (following symlinks); [] if not a directory."""
        resolved = self._resolved(path, follow_last=True)
        if resolved is None or resolved[1][0].kind != DIR:
            return []
        return sorted(self._names(resolved[0]))

    def walk(self) -> Iterator[str]:
        """Every path in the image, parents first. Reads every layer's rows: for
        tools and tests, not for rules (whose cost must not grow with the image)."""
        pending = ["/"]
        while pending:
            directory = pending.pop()
            yield directory
            for name in reversed(self.listdir(directory)):
                child = _join(directory, name)
                found = self._found(child)
                if found is not None and found[0].kind == DIR:
                    pending.append(child)
                else:
                    yield child

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell pattern, one component at a time ('*' does not
        cross '/' nor match a leading '.'), following symlinked directories."""
        matches = ["/"]
        for part in (p for p in pattern.split("/") if p not in ("", ".")):
            matches = [m for base in matches for m in self._glob_step(base, part)]
        return sorted(m for m in matches if self.lookup(m, follow_symlinks=False) is not None)

    def _glob_step(self, base: str, part: str) -> list[str]:
        if part == "..":
            return [_parent(base)]
        if _GLOB_MAGIC.isdisjoint(part):
            return [_join(base, part)]
        return [
            _join(base, name)
            for name in self.listdir(base)
            if fnmatch.fnmatchcase(name, part) and (part.startswith(".") or name[0] != ".")
        ]


class ImageFS(MergedView):
    """A read-only view of an image's merged filesystem (bottom layer first)."""

    def __init__(self, layers: Sequence[LayerStore]):
        self.layers: tuple[LayerStore, ...] = tuple(layers)
        self._nodes_memo: dict[str, tuple[Node | None, ...]] = {}
        self._floor_memo: dict[str, int] = {}
        self._found_memo: dict[str, Found | None] = {}

    @classmethod
    def from_indexes(cls, indexes: Iterable[LayerIndex]) -> ImageFS:
        """The filesystem of layers indexed in memory (bottom first), not cached."""
        return cls([LayerStore.build(index) for index in indexes])

    def close(self) -> None:
        for layer in self.layers:
            layer.close()

    def named(self, name: str) -> list[str]:
        """Every path in the image whose last component is ``name`` (like
        ``find / -name NAME``), sorted; symlinks are not followed."""
        candidates = {path for layer in self.layers for path in layer.named(name)}
        return sorted(p for p in candidates if self._found(p) is not None)

    # -- the overlay --------------------------------------------------------------
    def _nodes(self, path: str) -> tuple[Node | None, ...]:
        """What each layer says about path, bottom layer first."""
        nodes = self._nodes_memo.get(path)
        if nodes is None:
            nodes = self._nodes_memo[path] = tuple(layer.node(path) for layer in self.layers)
        return nodes

    def _floor_under(self, path: str) -> int:
        """The lowest layer whose entries strictly under path are visible."""
        floor = self._floor_memo.get(path)
        if floor is None:
            floor = 0 if path == "/" else self._floor_under(_parent(path))
            for position, node in enumerate(self._nodes(path)):
                if node is not None and position > floor and _hides_below(node):
                    floor = position
            self._floor_memo[path] = floor
        return floor

    def _found(self, path: str) -> Found | None:
        if path in self._found_memo:
            return self._found_memo[path]
        found = self._root() if path == "/" else self._topmost(path)
        self._found_memo[path] = found
        return found

    def _root(self) -> Found:
        # Whiteouts and opaque markers of "/" remove its children, never the root.
        for position in range(len(self.layers) - 1, -1, -1):
            node = self._nodes("/")[position]
            if node is not None and node.entry is not None and not node.implicit:
                return node.entry, position
        return IMPLICIT_DIR, NO_LAYER

    def _topmost(self, path: str) -> Found | None:
        nodes = self._nodes(path)
        floor = self._floor_under(_parent(path))
        for position, node in enumerate(nodes):
            if node is not None and node.whiteout and position > floor:
                floor = position  # deleted from the layers below this one
        implicit: Found | None = None
        for position in range(len(nodes) - 1, floor - 1, -1):
            node = nodes[position]
            if node is None or node.entry is None:
                continue
            if node.implicit:
                implicit = (IMPLICIT_DIR, position)  # the lowest of a run of them wins
                continue
            if node.entry.kind == DIR or implicit is None:
                return node.entry, position
            return implicit  # an implicit directory replaced this non-directory
        return implicit

    def _names(self, directory: str) -> set[str]:
        names: set[str] = set()
        deleted: set[str] = set()  # by a whiteout in a layer above
        for position in range(len(self.layers) - 1, self._floor_under(directory) - 1, -1):
            children = self.layers[position].children(directory)
            names.update(n for n, has_entry, _ in children if has_entry and n not in deleted)
            deleted.update(n for n, _, whiteout in children if whiteout)
        return names

    def _own_entry(self, position: int, path: str) -> Entry | None:
        node = self.layers[position].node(path)
        return None if node is None or node.implicit else node.entry

    def _kept(self, position: int, path: str) -> bytes | None:
        return self.layers[position].file(path)

    def _fact(self, position: int, path: str, key: str) -> str | None:
        return self.layers[position].fact(path, key)

    def _digest(self, position: int) -> str:
        return self.layers[position].digest


def _hides_below(node: Node) -> bool:
    """Whether a layer's node hides the lower layers' entries under its path."""
    if node.whiteout or node.opaque:
        return True
    return node.entry is not None and not node.implicit and node.entry.kind != DIR
