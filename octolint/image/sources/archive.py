"""Images on disk: ``docker save`` tars, OCI image layouts, ``oci-archive`` tars.

**REF syntax.** ``PATH`` or ``PATH:NAME``. When ``PATH:NAME`` as a whole is not an
existing file, the first prefix before a ``:`` that exists is the path and the rest
names one image inside it (as skopeo's ``docker-archive:PATH:REF``). A directory
counts only when it holds ``oci-layout``, ``index.json`` or ``manifest.json``, so a
directory ``ubuntu`` does not capture the reference ``ubuntu:22.04``. ``NAME`` is

- a reference as tagged (``app:1.0``, ``docker.io/library/app:1.0``; short and long
  forms match each other, a missing tag means ``latest``), or just the tag (``1.0``);
- for OCI layouts, the ``org.opencontainers.image.ref.name`` annotation as written
  (``skopeo copy ... oci:DIR:1.0`` stores ``1.0``) or ``io.containerd.image.name``;
- ``@N``: the N-th image (from 0) of the archive, in the order it lists them.

Without a NAME the archive must hold one image (or one multi-platform index, or
unnamed per-platform manifests, from which ``--platform`` chooses).

**Formats**, detected by content, not by file name:

- docker-archive (``docker save``): ``manifest.json`` with ``Config``/``RepoTags``/``Layers``,
  layers as ``<id>/layer.tar`` (Docker before 25) or ``blobs/sha256/<hex>`` (Docker 25+,
  whose archives are also OCI layouts: ``manifest.json`` is preferred). Layers are
  named by diff_id, so they are verified uncompressed (``VERIFY_DIFF_ID``); their
  compression (none, gzip, zstd) is detected from their first bytes;
- OCI image layout: a directory with ``oci-layout``, ``index.json`` and ``blobs/``;
- oci-archive: the same layout inside a tar.

Tars are never extracted: one pass over the headers records where each member's data
starts; each blob is then streamed with ``tarfile.extractfile`` from a fresh file
handle (so several layers can be read at once, from different threads). A gzip-compressed
tar (``docker save | gzip``) works too, but every blob opened re-decompresses the archive
up to it: decompress large ones first.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO, cast

from octolint.image.model import (
    OCI_LAYER_GZIP,
    OCI_LAYER_TAR,
    OCI_LAYER_ZSTD,
    VERIFY_DIFF_ID,
    Descriptor,
    Platform,
    ResolvedImage,
)
from octolint.image.sources.base import (
    MAX_CONFIG_BYTES,
    MAX_INDEX_ENTRIES,
    MAX_MANIFEST_BYTES,
    BadContentError,
    Fetched,
    ImageContext,
    ImageNotFoundError,
    ImageSourceError,
    check_digest_syntax,
    check_single_platform,
    config_diff_ids,
    descriptor_from_json,
    digest_of,
    load_config,
    parse_json,
    parse_json_object,
    platform_from_json,
    resolve_document,
    resolve_index,
    short_digest,
    verify_bytes,
)
from octolint.imageref import parse_image_ref

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_MAX_LINK_HOPS = 8
# Read buffer of a member stream: small reads (a manifest, a config, a layer's first
# bytes) are served from it, and large ones (a layer's inflater, the tar reader) pass
# by it into the reader's own buffer, as io.BufferedReader does past its size.
_BUFFER = 64 << 10
_LAYOUT_MARKERS = ("oci-layout", "index.json", "manifest.json")


class ArchiveError(ImageSourceError):
    """An archive or layout is unreadable: not a tar, truncated, a member missing."""


# --- REF -> path and name ----------------------------------------------------------------


def split_archive_ref(ref: str) -> tuple[Path, str | None] | None:
    """(path, name or None) when REF names an existing file or image directory; else None."""
    if ref and _is_archive_path(Path(ref)):
        return Path(ref), None
    for position, char in enumerate(ref):
        if char == ":" and position > 0 and _is_archive_path(Path(ref[:position])):
            return Path(ref[:position]), ref[position + 1 :] or None
    return None


def _is_archive_path(path: Path) -> bool:
    # Any file, but only a directory that holds an image: a directory that happens to be
    # called like an image ("ubuntu" for "ubuntu:22.04") must not hide the image.
    if path.is_dir():
        return any((path / name).is_file() for name in _LAYOUT_MARKERS)
    return path.exists()


# --- containers: a tar or a directory, read member by member ------------------------------


class _Container:
    """Named members of a tar or a directory: sizes, small reads, streams."""

    display: str

    def has(self, name: str) -> bool:
        raise NotImplementedError

    def size(self, name: str) -> int:
        raise NotImplementedError

    def open(self, name: str) -> AbstractContextManager[BinaryIO]:
        raise NotImplementedError

    def read(self, name: str, limit: int, what: str) -> bytes:
        """A whole (small) member; ArchiveError when missing or larger than ``limit``."""
        if not self.has(name):
            raise ArchiveError(self.display, f"{what} is missing ('{name}' not found)")
        if self.size(name) > limit:
            raise ArchiveError(self.display, f"{what} '{name}' is larger than {limit} bytes")
        with self.open(name) as stream:
            return stream.read(limit + 1)

    def peek(self, name: str, count: int) -> bytes:
        with self.open(name) as stream:
            return stream.read(count)


def _normalise(name: str) -> str | None:
    """A member name as a relative POSIX path ('./a//b/../c' -> 'a/c'); None if it escapes."""
    path = posixpath.normpath(name.lstrip("/"))
    if path == ".." or path.startswith("../"):
        return None
    return "" if path == "." else path


class DirContainer(_Container):
    """An image layout directory. Symlinks in it are followed only while they stay
    inside it: a layout is input like any other, and must not make octolint read
    other files of the host (a blob linked to ~/.docker/config.json...)."""

    def __init__(self, root: Path, display: str):
        self.root = root
        self.display = display
        self._real_root = root.resolve()

    def _path(self, name: str) -> Path | None:
        relative = _normalise(name)
        if not relative:
            return None
        real = (self.root / relative).resolve()
        return real if real.is_relative_to(self._real_root) else None

    def has(self, name: str) -> bool:
        path = self._path(name)
        return path is not None and path.is_file()

    def size(self, name: str) -> int:
        path = self._path(name)
        return path.stat().st_size if path is not None else -1

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        path = self._path(name)
        if path is None or not path.is_file():
            raise ArchiveError(self.display, f"'{name}' not found")
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ArchiveError(self.display, f"cannot read '{name}': {exc.strerror}") from None
        with handle:
            yield handle


class TarContainer(_Container):
    """A tar read in place: headers indexed once, members streamed by offset."""

    def __init__(self, opener: Callable[[], BinaryIO], display: str):
        self._opener = opener
        self.display = display
        self._compressed = False
        self._members: dict[str, tarfile.TarInfo] = {}
        self._index()

    @classmethod
    def from_path(cls, path: Path, display: str) -> TarContainer:
        return cls(lambda: path.open("rb"), display)

    def _open_tar(self, handle: BinaryIO) -> tarfile.TarFile:
        return tarfile.open(fileobj=handle, mode="r:gz" if self._compressed else "r:")

    def _index(self) -> None:
        last = ""  # the member being read when the data ends
        try:
            with self._opener() as handle:
                self._compressed = handle.read(2) == _GZIP_MAGIC
                handle.seek(0)
                with self._open_tar(handle) as tar:
                    for info in tar:  # one pass over the headers; data is skipped by seeking
                        last = info.name
                        name = _normalise(info.name)
                        if name and (info.isfile() or info.issym() or info.islnk()):
                            self._members[name] = info
                    end = tar.offset
                if not self._compressed:
                    self._check_complete(handle, end)
        except OSError as exc:
            raise ArchiveError(self.display, f"cannot read: {exc.strerror or exc}") from None
        except (tarfile.TarError, EOFError) as exc:
            if last and ("unexpected end" in str(exc) or isinstance(exc, EOFError)):
                raise ArchiveError(
                    self.display, f"truncated: the archive ends inside '{last}'"
                ) from None
            raise ArchiveError(self.display, f"not a readable tar archive ({exc})") from None

    def _check_complete(self, handle: BinaryIO, end: int) -> None:
        # tarfile treats a tar cut short at a header boundary as complete; the data of
        # every member and the end-of-archive marker (two zero blocks) must be there.
        size = handle.seek(0, io.SEEK_END)
        for name, info in self._members.items():
            if info.isfile() and info.offset_data + info.size > size:
                raise ArchiveError(self.display, f"truncated: the archive ends inside '{name}'")
        if end + 1024 > size:
            raise ArchiveError(self.display, "truncated: no end-of-archive marker")

    def _resolve(self, name: str) -> tarfile.TarInfo | None:
        """The regular member behind a name, following links inside the archive."""
        key: str | None = _normalise(name)
        for _ in range(_MAX_LINK_HOPS):
            info = self._members.get(key) if key else None
            if info is None or info.isfile():
                return info
            base = str(PurePosixPath(key).parent) if info.issym() and key else ""
            key = _normalise(f"{base}/{info.linkname}" if base else info.linkname)
        return None

    def has(self, name: str) -> bool:
        return self._resolve(name) is not None

    def size(self, name: str) -> int:
        info = self._resolve(name)
        return info.size if info is not None else -1

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        info = self._resolve(name)
        if info is None:
            raise ArchiveError(self.display, f"'{name}' not found in the archive")
        try:
            handle = self._opener()
        except OSError as exc:
            raise ArchiveError(self.display, f"cannot read: {exc.strerror or exc}") from None
        if not self._compressed and info.isreg() and not info.issparse():
            # A plain member of a plain tar is a range of the file: read it in place.
            with handle:
                yield io.BufferedReader(_MemberData(handle, info, self.display, name), _BUFFER)
            return
        with handle, self._open_tar(handle) as tar:
            member = tar.extractfile(info)
            if member is None:  # cannot happen for a regular file; keeps mypy honest
                raise ArchiveError(self.display, f"'{name}' is not a file")
            yield io.BufferedReader(_MemberReader(member, self.display, name), 1024 * 1024)


class _MemberData(io.RawIOBase):
    """A regular member's data, read from the archive by offset: ``readinto`` fills
    the caller's buffer straight from the file (tarfile's member reader copies every
    byte twice more, in pieces; a layer's inflater reads half a megabyte at a time)."""

    def __init__(self, handle: BinaryIO, info: tarfile.TarInfo, display: str, name: str):
        self._handle = cast(io.BufferedReader, handle)  # a file opened "rb"
        self._left = info.size
        self._display = display
        self._name = name
        try:
            handle.seek(info.offset_data)
        except OSError as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, reason: object) -> ArchiveError:
        return ArchiveError(self._display, f"truncated or unreadable member '{self._name}' "
                            f"({reason})")  # fmt: skip

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self._left]
        if not view:
            return 0
        try:
            size = self._handle.readinto(view)
        except OSError as exc:
            raise self._unreadable(exc.strerror or exc) from None
        if not size:  # the file shrank since its headers were read
            raise self._unreadable("unexpected end of data")
        self._left -= size
        return size


class _MemberReader(io.RawIOBase):
    """A tar member's stream whose read errors name the archive and the member."""

    def __init__(self, inner: IO[bytes], display: str, name: str):
        self._inner = inner
        self._display = display
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._inner.readinto(buffer)  # type: ignore[attr-defined,no-any-return]
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(
                self._display, f"truncated or unreadable member '{self._name}' ({exc})"
            ) from None


def open_container(path: Path, display: str) -> _Container:
    if path.is_dir():
        return DirContainer(path, display)
    return TarContainer.from_path(path, display)


# --- names: what a NAME selects ----------------------------------------------------------


def _same_reference(wanted: str, candidate: str) -> bool:
    """Docker-normalised equality: 'app' == 'app:latest' == 'docker.io/library/app:latest'."""
    if wanted == candidate:
        return True
    a, b = parse_image_ref(wanted), parse_image_ref(candidate)
    if a is None or b is None or a.digest or b.digest:
        return False
    return (a.registry, a.repository, a.tag or "latest") == (
        b.registry,
        b.repository,
        b.tag or "latest",
    )


def _tag_of(name: str) -> str | None:
    ref = parse_image_ref(name)
    return ref.tag if ref is not None else None


def select_named(items: list[tuple[list[str], Any]], wanted: str, display: str) -> list[Any]:
    """The items whose names match ``wanted``: '@N', a reference, else a bare tag."""
    if wanted.startswith("@") and wanted[1:].isdigit():
        position = int(wanted[1:])
        if position >= len(items):
            raise ImageNotFoundError(
                display, f"no image {wanted}: the archive holds {len(items)} image(s)"
            )
        return [items[position][1]]
    found = [item for names, item in items if any(_same_reference(wanted, n) for n in names)]
    if not found and ":" not in wanted and "/" not in wanted:
        found = [item for names, item in items if any(_tag_of(n) == wanted for n in names)]
    if not found:
        raise ImageNotFoundError(
            display, f"no image named '{wanted}' in the archive; {_listing(items)}"
        )
    return found


def _listing(items: list[tuple[list[str], Any]]) -> str:
    names = sorted({n for names, _ in items for n in names})
    if not names:
        return f"it holds {len(items)} unnamed image(s): use @0, @1, ..."
    shown = ", ".join(names[:_LISTED])  # the error stays one readable line
    return f"it holds: {shown}" + (f" and {len(names) - _LISTED} more" if names[_LISTED:] else "")


_LISTED = 20


# --- docker-archive ----------------------------------------------------------------------


def _digest_in_name(name: str) -> str | None:
    """'<hex>.json' or 'blobs/sha256/<hex>' -> 'sha256:<hex>': docker save names by digest."""
    path = PurePosixPath(name)
    hexpart = path.stem if path.suffix == ".json" else path.name
    algorithm = path.parent.name if path.parent.parent.name == "blobs" else "sha256"
    if len(hexpart) == 64 and all(c in "0123456789abcdef" for c in hexpart):
        return f"{algorithm}:{hexpart}"
    return None


def sniff_layer_type(head: bytes) -> str | None:
    """The OCI layer media type for a layer's first bytes; None for bzip2/xz & co."""
    if head.startswith(_GZIP_MAGIC):
        return OCI_LAYER_GZIP
    if head.startswith(_ZSTD_MAGIC):
        return OCI_LAYER_ZSTD
    if head.startswith((b"BZh", b"\xfd7zXZ")):
        return None
    return OCI_LAYER_TAR


class DockerArchive:
    """A ``docker save`` archive: manifest.json entries and their configs and layers."""

    def __init__(self, container: _Container):
        self.container = container
        self.display = container.display
        self.entries = self._entries()

    def _entries(self) -> list[dict[str, Any]]:
        data = self.container.read("manifest.json", MAX_MANIFEST_BYTES, "manifest.json")
        value = parse_json(data, "manifest.json", self.display)
        if not isinstance(value, list) or not value:
            raise BadContentError(self.display, "manifest.json lists no image")
        for number, entry in enumerate(value):
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("Config"), str)
                and isinstance(entry.get("Layers"), list)
                and all(isinstance(layer, str) for layer in entry["Layers"])
            ):
                raise BadContentError(
                    self.display, f"manifest.json entry {number} has no Config and Layers"
                )
        return value

    def pick(self, name: str | None) -> dict[str, Any]:
        items = [(list(e.get("RepoTags") or []), e) for e in self.entries]
        if name is not None:
            found = select_named(items, name, self.display)
        else:
            found = [e for _, e in items]
        if len(found) > 1:
            raise ImageNotFoundError(
                self.display,
                f"the archive holds {len(found)} images; name one as PATH:NAME ({_listing(items)})",
            )
        return dict(found[0])

    def image(
        self, entry: dict[str, Any], reference: str, source: str, where: str
    ) -> tuple[ResolvedImage, dict[str, str]]:
        """The image of one manifest.json entry, and its member name for each diff_id."""
        config_name = entry["Config"]
        data = self.container.read(config_name, MAX_CONFIG_BYTES, "the image config")
        named_digest = _digest_in_name(config_name)
        config = load_config(data, named_digest, self.display)
        diff_ids = config_diff_ids(config, self.display)
        layer_names: list[str] = entry["Layers"]
        if len(layer_names) != len(diff_ids):
            raise BadContentError(
                self.display,
                f"manifest.json lists {len(layer_names)} layers but the config "
                f"'{config_name}' has {len(diff_ids)} diff_ids",
            )
        layers, members = [], {}
        for name, diff_id in zip(layer_names, diff_ids):
            layers.append(self._layer(name, diff_id))
            members[diff_id] = name
        image = ResolvedImage(
            reference=reference,
            source=source,
            where=where,
            platform=platform_from_json(config),
            config=config,
            layers=layers,
            config_digest=named_digest or digest_of(data),
        )
        return image, members

    def _layer(self, name: str, diff_id: str) -> Descriptor:
        if not self.container.has(name):
            raise ArchiveError(
                self.display, f"missing layer {short_digest(diff_id)} ('{name}' not found)"
            )
        media_type = sniff_layer_type(self.container.peek(name, 4))
        if media_type is None:
            raise BadContentError(
                self.display, f"layer '{name}' is compressed with bzip2 or xz (not supported)"
            )
        return Descriptor(diff_id, media_type, self.container.size(name), VERIFY_DIFF_ID, diff_id)


# --- OCI image layout --------------------------------------------------------------------


def blob_path(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


class OciLayout:
    """An OCI image layout (a directory, or a tar of one): index.json and blobs/."""

    def __init__(self, container: _Container):
        self.container = container
        self.display = container.display
        if container.has("oci-layout"):
            layout = parse_json_object(
                container.read("oci-layout", 4096, "oci-layout"), "oci-layout", self.display
            )
            if "imageLayoutVersion" not in layout:
                raise BadContentError(self.display, "oci-layout has no imageLayoutVersion")
        index = container.read("index.json", MAX_MANIFEST_BYTES, "index.json")
        self.index = parse_json_object(index, "index.json", self.display)
        manifests = self.index.get("manifests")
        if not isinstance(manifests, list) or not manifests:
            raise BadContentError(self.display, "index.json lists no image")
        if len(manifests) > MAX_INDEX_ENTRIES:  # the same bound as any image index
            raise BadContentError(
                self.display, f"index.json lists {len(manifests)} manifests, more than the "
                              f"{MAX_INDEX_ENTRIES} octolint reads in one index"
            )  # fmt: skip
        self.entries: list[dict[str, Any]] = [m if isinstance(m, dict) else {} for m in manifests]

    def fetch(self, descriptor: Descriptor, limit: int, what: str) -> bytes:
        path = blob_path(check_digest_syntax(descriptor.digest, self.display))
        if not self.container.has(path):
            raise ArchiveError(
                self.display, f"missing blob {short_digest(descriptor.digest)} ({what})"
            )
        return self.container.read(path, limit, what)

    def fetch_manifest(self, descriptor: Descriptor) -> Fetched:
        what = f"manifest {short_digest(descriptor.digest)}"
        data = self.fetch(descriptor, MAX_MANIFEST_BYTES, what)
        verify_bytes(data, descriptor.digest, what, self.display)
        return Fetched(data, descriptor.media_type, descriptor.digest)

    def fetch_config(self, descriptor: Descriptor) -> bytes:
        return self.fetch(descriptor, MAX_CONFIG_BYTES, f"config {short_digest(descriptor.digest)}")

    def resolve(
        self, ctx: ImageContext, name: str | None, platform: Platform | None, all_platforms: bool
    ) -> list[ResolvedImage]:
        items = [(_entry_names(e), e) for e in self.entries]
        found = select_named(items, name, self.display) if name else [e for _, e in items]
        descriptors = [
            descriptor_from_json(e, f"index.json entry {n}", self.display)
            for n, e in enumerate(found, 1)
        ]
        if len(found) == 1:
            top = self.fetch_manifest(descriptors[0])
            return resolve_document(top, ctx, platform, all_platforms)
        chosen = {id(e) for e in found}  # by identity: comparing entries is quadratic
        if len({tuple(names) for names, e in items if id(e) in chosen}) > 1 or not all(
            isinstance(e.get("platform"), dict) for e in found
        ):
            raise ImageNotFoundError(
                self.display,
                f"the layout holds {len(found)} images; name one as PATH:NAME ({_listing(items)})",
            )
        # Unnamed (or same-named) per-platform manifests: index.json is the platform index.
        entries = [(platform_from_json(e.get("platform")), d) for e, d in zip(found, descriptors)]
        return resolve_index(entries, ctx, platform, all_platforms)


def _entry_names(entry: dict[str, Any]) -> list[str]:
    annotations = entry.get("annotations")
    if not isinstance(annotations, dict):
        return []
    return [v for k in (REF_NAME, CONTAINERD_NAME) if isinstance(v := annotations.get(k), str)]


# --- the source --------------------------------------------------------------------------


class ArchiveSource:
    """An ImageSource over a docker-archive, an OCI layout or an oci-archive."""

    kind = "archive"

    def __init__(self, path: Path, name: str | None = None, display: str | None = None):
        self.path = path
        self.name = name
        self.display = display or str(path)
        self.description = f"archive {self.display}"
        self._container: _Container | None = None
        self._docker_members: dict[str, str] = {}  # diff_id -> member (docker-archive)
        self.format = ""  # "docker-archive" | "oci-layout" | "oci-archive", once resolved

    @classmethod
    def from_ref(cls, ref: str) -> ArchiveSource:
        split = split_archive_ref(ref)
        if split is None:
            raise ImageNotFoundError(ref, "no such file or directory")
        path, name = split
        return cls(path, name, display=str(path))

    def _open(self) -> _Container:
        if self._container is None:
            self._container = open_container(self.path, self.display)
        return self._container

    def _reference(self) -> str:
        return f"{self.display}:{self.name}" if self.name else self.display

    def resolve(
        self, platform: Platform | None = None, all_platforms: bool = False
    ) -> list[ResolvedImage]:
        container = self._open()
        if container.has("manifest.json"):
            self.format = "docker-archive"
            return [self._resolve_docker(container, platform)]
        if container.has("index.json"):
            self.format = "oci-layout" if isinstance(container, DirContainer) else "oci-archive"
            layout = OciLayout(container)
            ctx = ImageContext(
                reference=self._reference(),
                source=self.kind,
                where=self.display,
                description=self.description,
                fetch_manifest=layout.fetch_manifest,
                fetch_config=layout.fetch_config,
            )
            images = layout.resolve(ctx, self.name, platform, all_platforms)
            for image in images:  # a missing layer is an error now, not halfway through
                for layer in image.layers if image.reads_layers else ():
                    self._check_blob(layer)
            return images
        what = "directory" if isinstance(container, DirContainer) else "archive"
        raise ArchiveError(
            self.display,
            f"no manifest.json (docker save) or index.json (OCI image layout) in the {what}",
        )

    def _check_blob(self, layer: Descriptor) -> None:
        if not self._open().has(blob_path(layer.digest)):
            raise ArchiveError(self.display, f"missing blob {short_digest(layer.digest)} (layer)")

    def _resolve_docker(self, container: _Container, platform: Platform | None) -> ResolvedImage:
        archive = DockerArchive(container)
        entry = archive.pick(self.name)
        image, members = archive.image(entry, self._reference(), self.kind, self.description)
        check_single_platform(image.platform, platform, self.display)
        self._docker_members.update(members)
        return image

    def open_blob(
        self, image: ResolvedImage, layer: Descriptor
    ) -> AbstractContextManager[BinaryIO]:
        container = self._open()
        member = self._docker_members.get(layer.digest) or blob_path(layer.digest)
        return container.open(member)

    def close(self) -> None:
        self._container = None

    def __enter__(self) -> ArchiveSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
