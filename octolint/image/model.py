"""The data shared by the image reader's parts: platforms, blobs, layer indexes, images.

The flow is: a *source* (registry, Docker engine, archive) resolves a
reference to a :class:`ResolvedImage` (config and layer descriptors, one
platform); each layer blob is streamed once through ``layers.index_layer``
into a :class:`LayerIndex` (cached on disk by digest); ``fs.ImageFS`` merges
the indexes into the image's filesystem view; rules see an
``octolint.image.target.ImageTarget``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Media types we accept (Docker v2 schema 2 and OCI).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_INDEX = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_INDEX, OCI_INDEX)

# Config blobs: anything else (Helm charts, signatures, SBOMs) is not a container image.
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
CONFIG_TYPES = (DOCKER_CONFIG, OCI_CONFIG)

# Layer blobs (filesystem changesets) by compression.
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_NONDIST_LAYER_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_NONDIST_LAYER_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_NONDIST_LAYER_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
LAYER_TYPES = (
    DOCKER_LAYER_TAR, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD, DOCKER_FOREIGN_LAYER_GZIP,
    OCI_LAYER_TAR, OCI_LAYER_GZIP, OCI_LAYER_ZSTD,
    OCI_NONDIST_LAYER_TAR, OCI_NONDIST_LAYER_GZIP, OCI_NONDIST_LAYER_ZSTD,
)  # fmt: skip

# How a layer blob is verified (Descriptor.verify): what ``digest`` is the hash of.
VERIFY_DIGEST = "digest"  # the blob's bytes as stored (compressed): registries, OCI layouts
VERIFY_DIFF_ID = "diff_id"  # the *uncompressed* tar: docker-archive and Docker engine layers


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None  # Windows: "10.0.17763.5329"

    @classmethod
    def parse(cls, text: str) -> Platform:
        """'linux/amd64', 'linux/arm64/v8', 'windows/amd64'; ValueError otherwise."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"invalid platform '{text}' (expected os/arch[/variant])")
        variant = parts[2].lower() if len(parts) == 3 else None
        return cls(parts[0].lower(), parts[1].lower(), variant)

    def matches(self, wanted: Platform) -> bool:
        """Whether this image's platform is the one ``wanted``, both normalised as
        containerd does (`linux/arm64/v8` is `linux/arm64`, `linux/arm` is v7)."""
        mine, theirs = self.normalised(), wanted.normalised()
        if (mine.os, mine.architecture) != (theirs.os, theirs.architecture):
            return False
        return theirs.variant is None or mine.variant == theirs.variant

    def normalised(self) -> Platform:
        """containerd's platforms.Normalize: architecture aliases (x86_64, aarch64,
        armhf...), arm's default variant v7, arm64's v8 and amd64's v1 dropped."""
        arch = _ARCH_ALIASES.get(self.architecture, self.architecture)
        variant = self.variant or _ALIAS_VARIANTS.get(self.architecture)
        if variant and variant.isdigit():
            variant = f"v{variant}"
        if arch == "arm":
            variant = variant or "v7"
        elif (arch, variant) in (("arm64", "v8"), ("arm64", "v8.0"), ("amd64", "v1")):
            variant = None
        return Platform(self.os, arch, variant, self.os_version)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


DEFAULT_PLATFORM = Platform("linux", "amd64")
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386",
                 "armhf": "arm", "armel": "arm"}  # fmt: skip
_ALIAS_VARIANTS = {"armhf": "v7", "armel": "v6"}


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a manifest says about a blob."""

    digest: str  # "sha256:<hex>"
    media_type: str
    size: int = -1  # -1 when unknown (docker-archive layers)
    # Layers only. ``verify`` says what ``digest`` is the hash of: VERIFY_DIGEST, the
    # bytes as streamed by ``ImageSource.open_blob``; VERIFY_DIFF_ID, the uncompressed
    # tar (docker-archive and Docker engine layers, where ``digest == diff_id``).
    verify: str = VERIFY_DIGEST
    diff_id: str | None = None  # config.rootfs.diff_ids entry of this layer, when known

    @property
    def short(self) -> str:
        """'sha256:0123456789ab' -> '0123456789ab' (the form users see in docker)."""
        return self.digest.split(":", 1)[-1][:12]


@dataclass
class ResolvedImage:
    """One image for one platform, as a source resolved it."""

    reference: str  # what the user asked for, normalised for display
    source: str  # "registry", "daemon" or "archive"
    where: str  # e.g. "registry localhost:5000", "archive image.tar"
    platform: Platform
    config: dict[str, Any]  # the image config JSON (verified against its digest)
    layers: list[Descriptor]
    manifest_digest: str | None = None
    config_digest: str | None = None  # the image ID ("sha256:..."): digest of the config JSON

    @property
    def reads_layers(self) -> bool:
        """Whether octolint reads this image's layers: Linux images only. The Windows
        rules need only the config, and Windows base layers are large and often
        foreign (their URLs point outside the registry): never downloaded, never
        followed, need not even be present."""
        return self.platform.os == "linux"


# Entry kinds in a layer index.
FILE, DIR, SYMLINK, HARDLINK, OTHER = "f", "d", "l", "h", "o"


@dataclass(frozen=True)
class Entry:
    kind: str  # one of FILE, DIR, SYMLINK, HARDLINK, OTHER
    mode: int = 0o644
    size: int = 0
    link: str | None = None  # symlink target as stored, or hard-link target path


class IndexSink(Protocol):
    """Where ``layers.scan_layer`` records a layer, event by event in tar order.

    Paths are absolute and normalised. A later ``add_entry`` of the same path replaces
    the earlier one, as extracting the tar would. ``LayerIndex`` keeps everything in
    memory; ``store.StoreWriter`` writes it to a layer store as it comes, so memory
    does not grow with the number of files.
    """

    def add_entry(self, path: str, kind: str, mode: int, size: int, link: str | None) -> None: ...

    def add_whiteout(self, path: str) -> None: ...

    def add_opaque(self, directory: str) -> None: ...

    def add_file(self, path: str, data: bytes) -> None: ...

    def add_facts(self, path: str, facts: dict[str, str]) -> None: ...

    def finish(self, kept_bytes: int, members: int) -> None:
        """The layer is whole (and valid): what it costs, for the per-image bounds."""


@dataclass
class LayerIndex:
    """What one layer contributes, independent of the image it is in (so it can be cached).

    Paths are absolute and normalised ("/usr/lib/x86_64-linux-gnu/libicuuc.so.72").
    """

    digest: str
    entries: dict[str, Entry] = field(default_factory=dict)
    whiteouts: set[str] = field(default_factory=set)  # paths this layer deletes
    opaque: set[str] = field(default_factory=set)  # directories this layer makes opaque
    files: dict[str, bytes] = field(default_factory=dict)  # contents of small files rules read
    facts: dict[str, dict[str, str]] = field(default_factory=dict)  # per-path facts (glibc version)
    # What the layer costs, for the per-image bounds (layers.MAX_INDEX_BYTES, MAX_ENTRIES):
    # bytes of paths, link targets, implied directories and kept files; members listed.
    kept_bytes: int = 0
    members: int = 0

    # -- IndexSink ---------------------------------------------------------------------
    def add_entry(self, path: str, kind: str, mode: int, size: int, link: str | None) -> None:
        # The last one wins, and goes last so that, on merging, it comes after (and so
        # replaces) anything below the earlier one.
        self.entries.pop(path, None)
        self.entries[path] = Entry(kind, mode, size, link)

    def add_whiteout(self, path: str) -> None:
        self.whiteouts.add(path)

    def add_opaque(self, directory: str) -> None:
        self.opaque.add(directory)

    def add_file(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def add_facts(self, path: str, facts: dict[str, str]) -> None:
        self.facts[path] = facts

    def finish(self, kept_bytes: int, members: int) -> None:
        self.kept_bytes, self.members = kept_bytes, members
