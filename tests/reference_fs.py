"""The reference model of an image's merged filesystem: layers applied eagerly, in order.

This is how octolint first merged layers (a dict of every path), kept as the
oracle for ``octolint.image.fs.ImageFS``, which looks paths up layer by layer
instead: the tests check that both answer every query alike. Both resolve
paths with the same ``MergedView`` code; what this model gives independently is
the merged entries, their layers and the directories' names.

The rules it applies, layer by layer onto a dict of every path, are those
listed in ``octolint/image/fs.py``'s docstring (the OCI image spec's, as
Docker's overlay2 and containerd apply them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from octolint.image.fs import NO_LAYER as _NO_LAYER
from octolint.image.fs import Found, MergedView
from octolint.image.model import DIR, Entry, LayerIndex

_IMPLICIT_DIR = Entry(DIR, 0o755)


def _join(directory: str, name: str) -> str:
    return f"/{name}" if directory == "/" else f"{directory}/{name}"


def _split(path: str) -> tuple[str, str]:
    """'/a/b' -> ('/a', 'b'); '/a' -> ('/', 'a')."""
    parent, _, name = path.rpartition("/")
    return parent or "/", name


class ReferenceFS(MergedView):
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

    # -- the model ----------------------------------------------------------------
    def _found(self, path: str) -> Found | None:
        entry = self._entries.get(path)
        return None if entry is None else (entry, self._origin[path])

    def _names(self, directory: str) -> set[str]:
        return self._children.get(directory, set())

    def _own_entry(self, position: int, path: str) -> Entry | None:
        return self._final(position).get(path)

    def _kept(self, position: int, path: str) -> bytes | None:
        return self.layers[position].files.get(path)

    def _fact(self, position: int, path: str, key: str) -> str | None:
        return self.layers[position].facts.get(path, {}).get(key)

    def _digest(self, position: int) -> str:
        return self.layers[position].digest

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

    def paths(self) -> Iterator[str]:
        """Every path in the image."""
        return iter(self._entries)
