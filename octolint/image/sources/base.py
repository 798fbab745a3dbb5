"""What every image source does, and the parts they share.

A *source* turns what the user named into :class:`ResolvedImage` objects (one per
platform) and hands out each layer blob as a stream. Three kinds exist:

- ``registry``: a registry speaking the distribution (v2) API;
- ``daemon``: a Docker engine (its images are read through ``docker save``);
- ``archive``: ``docker save`` tars, OCI image layout directories, ``oci-archive`` tars.

**Verification.** Manifests fetched by digest and config blobs are always checked
against their digest here, before anything reads them. Layer blobs are streamed
*unverified* (the layer indexer hashes them while it reads them anyway); each layer
``Descriptor`` says what to check with ``verify``:

- ``VERIFY_DIGEST``: sha256 of the bytes ``open_blob`` yields (compressed) must be
  ``digest`` (registries, OCI layouts, oci-archives);
- ``VERIFY_DIFF_ID``: sha256 of the *uncompressed* tar must be ``digest`` (docker-archive
  and Docker engine layers: ``docker save`` names layers by diff_id, not by a blob digest).

``Descriptor.diff_id`` carries the config's ``rootfs.diff_ids`` entry in both cases.

**Platforms.** From an index, ``platform=None`` picks linux/amd64, or the only image
there is; an explicit platform must match (``linux/arm64`` matches ``linux/arm64/v8``);
``all_platforms=True`` returns every image. Attestation manifests (platform
``unknown/unknown``) are never images. What an index can make octolint fetch is
bounded (``MAX_INDEX_DEPTH``, ``MAX_INDEX_DOCUMENTS``, ``MAX_INDEX_ENTRIES``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol, TypeVar

from octolint.errors import InputError
from octolint.image.model import (
    CONFIG_TYPES,
    DEFAULT_PLATFORM,
    DOCKER_INDEX,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    LAYER_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    VERIFY_DIGEST,
    Descriptor,
    Platform,
    ResolvedImage,
)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the limit registries themselves apply to manifests
MAX_CONFIG_BYTES = 32 * 1024 * 1024  # configs are kilobytes; this only bounds memory
UNKNOWN_PLATFORM = Platform("unknown", "unknown")  # BuildKit's attestation manifests
_HASHES = {"sha256": 64, "sha512": 128}


class ImageSource(Protocol):
    """One place images come from, opened for one reference."""

    kind: str  # "registry" | "daemon" | "archive"
    description: str  # for the user: "registry localhost:5000", "archive image.tar", ...

    def resolve(
        self, platform: Platform | None = None, all_platforms: bool = False
    ) -> list[ResolvedImage]:
        """The image(s) of the reference: one, or one per platform with all_platforms."""
        ...

    def open_blob(
        self, image: ResolvedImage, layer: Descriptor
    ) -> AbstractContextManager[BinaryIO]:
        """The layer blob's raw bytes as stored (see the module docstring), streamed."""
        ...

    def close(self) -> None:
        """Release connections and temporary files; the source is unusable afterwards."""
        ...

    def __enter__(self) -> ImageSource: ...

    def __exit__(self, *exc: object) -> None: ...


# --- errors -------------------------------------------------------------------------------


class ImageSourceError(InputError):
    """An image could not be found, fetched or read (exit code 3)."""


class ImageNotFoundError(ImageSourceError):
    """The reference names no image (no such tag, repository, file or local image)."""


class PlatformError(ImageSourceError):
    """The image exists, but not for the requested platform."""

    def __init__(self, where: str, message: str, available: Sequence[Platform] = ()):
        super().__init__(where, message)
        self.available = list(available)


class DigestMismatchError(ImageSourceError):
    """Content does not hash to the digest that names it (corrupt or tampered)."""


class BadContentError(ImageSourceError):
    """A manifest, index or config is not what it should be (JSON, media type, shape)."""


class LayerReadError(ImageSourceError):
    """A layer's content is broken (corrupt, not a tar, a bomb): names the image and layer.

    The indexer's own error (``layers.LayerError`` or ``layers.DigestMismatchError``)
    is its ``__cause__``.
    """


@contextmanager
def naming_the_layer(
    image: ResolvedImage, layer: Descriptor, blob: AbstractContextManager[BinaryIO]
) -> Iterator[BinaryIO]:
    """``blob``, with the indexer's errors about its content re-raised naming the image,
    where it was read from and which layer (the indexer only knows the digest)."""
    from octolint.image import layers  # the indexer imports nothing of the sources

    with blob as stream:
        try:
            yield stream
        except (layers.LayerError, layers.DigestMismatchError) as exc:
            number = next((n for n, d in enumerate(image.layers, 1) if d is layer), 0)
            which = f"layer {number} of {len(image.layers)}" if number else "layer"
            reason = str(exc).removeprefix(f"{exc.path}: ")
            raise LayerReadError(
                f"image {image.reference} ({image.where})",
                f"reading {which} ({short_digest(layer.digest)}): {reason}",
            ) from exc


# --- digests ------------------------------------------------------------------------------


def check_digest_syntax(digest: str, where: str) -> str:
    """'sha256:<64 hex>' (or sha512) -> itself; BadContentError otherwise."""
    algorithm, _, hexpart = digest.partition(":")
    length = _HASHES.get(algorithm)
    if length is None or len(hexpart) != length or not _is_lower_hex(hexpart):
        raise BadContentError(where, f"invalid digest '{digest[:80]}'")
    return digest


def _is_lower_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verify_bytes(data: bytes, digest: str, what: str, where: str) -> None:
    """DigestMismatchError unless ``data`` hashes to ``digest`` (what: 'config sha256:…')."""
    algorithm = check_digest_syntax(digest, where).split(":", 1)[0]
    actual = digest_of(data, algorithm)
    if actual != digest:
        raise DigestMismatchError(
            where, f"{what}: content does not match its digest (got {short_digest(actual)})"
        )


def short_digest(digest: str) -> str:
    """'sha256:0123…' shortened for messages: 'sha256:0123456789ab'."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}" if hexpart else digest[:19]


# --- JSON documents -----------------------------------------------------------------------


def parse_json(data: bytes, what: str, where: str) -> Any:
    """JSON from bytes; BadContentError naming ``what`` and the position otherwise."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadContentError(where, f"{what} is not valid JSON ({_json_reason(exc)})") from None


def parse_json_object(data: bytes, what: str, where: str) -> dict[str, Any]:
    """A JSON object from bytes; BadContentError naming ``what`` otherwise."""
    value = parse_json(data, what, where)
    if not isinstance(value, dict):
        raise BadContentError(where, f"{what} is not a JSON object")
    return value


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "not UTF-8 text"


def descriptor_from_json(value: object, what: str, where: str) -> Descriptor:
    """A Descriptor from a manifest's {mediaType, digest, size}; BadContentError if malformed."""
    if not isinstance(value, dict):
        raise BadContentError(where, f"{what} is not a descriptor object")
    digest, media_type, size = value.get("digest"), value.get("mediaType", ""), value.get("size")
    if not isinstance(digest, str) or not isinstance(media_type, str):
        raise BadContentError(where, f"{what} has no valid digest or mediaType")
    check_digest_syntax(digest, where)
    return Descriptor(digest, media_type, size if isinstance(size, int) else -1)


def platform_from_json(value: object) -> Platform:
    """An index entry's 'platform' object; unknown/unknown when absent or malformed."""
    if not isinstance(value, dict):
        return UNKNOWN_PLATFORM
    os_name, arch = value.get("os"), value.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
        return UNKNOWN_PLATFORM
    variant, os_version = value.get("variant"), value.get("os.version")
    return Platform(
        os_name.lower(),
        arch.lower(),
        variant.lower() if isinstance(variant, str) and variant else None,
        os_version if isinstance(os_version, str) and os_version else None,
    )


def document_kind(doc: dict[str, Any], served_as: str, what: str, where: str) -> str:
    """'index' or 'manifest': from the media type, else from the document's shape.

    OCI documents may omit ``mediaType`` (then the served type or the shape decides);
    schema 1 manifests and artifacts are refused.
    """
    declared = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else ""
    served = "" if served_as in _GENERIC_TYPES else served_as
    if declared and served and declared != served:
        raise BadContentError(
            where, f"{what} says mediaType '{declared}' but was served as '{served}'"
        )
    media_type = declared or served
    if media_type in INDEX_TYPES:
        return "index"
    if media_type in MANIFEST_TYPES:
        return "manifest"
    if doc.get("schemaVersion") == 1 or "prettyjws" in media_type:
        raise BadContentError(where, f"{what} is a Docker schema 1 manifest (not supported)")
    if media_type:
        raise BadContentError(
            where, f"{what} has media type '{media_type}', which is not an image manifest or index"
        )
    if isinstance(doc.get("manifests"), list):
        return "index"
    if isinstance(doc.get("layers"), list) and isinstance(doc.get("config"), dict):
        return "manifest"
    raise BadContentError(where, f"{what} is neither an image manifest nor an image index")


_GENERIC_TYPES = frozenset({"", "application/json", "text/plain", "application/octet-stream"})


# --- platform selection -------------------------------------------------------------------

T = TypeVar("T")


def select_platforms(
    candidates: Sequence[tuple[Platform, T]],
    wanted: Platform | None,
    all_platforms: bool,
    where: str,
) -> list[tuple[Platform, T]]:
    """Pick from an index's entries (see the module docstring); PlatformError if none fits."""
    images = [(p, item) for p, item in candidates if p != UNKNOWN_PLATFORM]
    available = [p for p, _ in images]
    if not images:
        raise PlatformError(where, "the image index lists no image for any platform")
    if all_platforms:
        return images
    if wanted is None:
        matches = [c for c in images if c[0].matches(DEFAULT_PLATFORM)]
        if not matches and len(images) == 1:
            return images
        if not matches:
            raise PlatformError(
                where,
                f"no image for the default platform {DEFAULT_PLATFORM}; choose one with "
                f"--platform: {format_platforms(available)}",
                available,
            )
        return [_best_variant(matches)]
    matches = [c for c in images if c[0].matches(wanted)]
    if not matches:
        raise PlatformError(
            where,
            f"no image for platform {wanted}; available: {format_platforms(available)}",
            available,
        )
    return [_best_variant(matches)]


def _best_variant(matches: list[tuple[Platform, T]]) -> tuple[Platform, T]:
    # Several entries match only when no variant was asked for (linux/arm: v6 and v7).
    # Prefer an entry without a variant, else the newest one, as Docker does on such hosts.
    plain = [m for m in matches if m[0].variant is None]
    if plain:
        return plain[0]
    return max(matches, key=lambda m: m[0].variant or "")


def format_platforms(platforms: Sequence[Platform]) -> str:
    names = sorted({str(p) for p in platforms})
    return ", ".join(names) if names else "none"


def check_single_platform(platform: Platform, wanted: Platform | None, where: str) -> None:
    """For a single-platform image: an explicit --platform must match it."""
    if wanted is not None and not platform.matches(wanted):
        raise PlatformError(
            where,
            f"the image is for {platform}, not {wanted} (available: {platform})",
            [platform],
        )


# --- manifests, configs and the tree below an index ---------------------------------------


@dataclass
class Fetched:
    """A manifest or index as read: its bytes, the media type it was served as, its digest."""

    data: bytes
    media_type: str
    digest: str


@dataclass
class ImageContext:
    """How to fetch what a manifest references, and how to describe the result."""

    reference: str  # normalised reference for display
    source: str  # "registry" | "archive"
    where: str  # names the source in errors: "image.tar", "registry localhost:5000, ..."
    fetch_manifest: Callable[[Descriptor], Fetched]  # verified against the descriptor
    fetch_config: Callable[[Descriptor], bytes]  # raw bytes; verified here
    description: str = ""  # ResolvedImage.where when it differs from ``where`` (error prefix)


# An index may list indexes (buildx never nests; a few hand-made images use two levels).
# What a reference can make octolint fetch is bounded, so a hostile registry or archive
# cannot turn a few kilobytes of JSON into unbounded work: nesting depth, the documents
# fetched in all (each distinct digest once: a reference reached twice is not read
# again, so a fan-out of shared indexes costs one fetch per distinct document), and the
# entries of one index. The walk is iterative: no depth can exhaust Python's stack.
MAX_INDEX_DEPTH = 8  # indexes within indexes below the reference's own document
MAX_INDEX_DOCUMENTS = 256  # manifests and indexes fetched for one reference
MAX_INDEX_ENTRIES = 4096  # entries of one index (a real multi-platform index has tens)


def resolve_document(
    top: Fetched,
    ctx: ImageContext,
    platform: Platform | None,
    all_platforms: bool,
) -> list[ResolvedImage]:
    """Resolve a manifest or index (and what it references) into images."""
    doc = parse_json_object(top.data, "manifest", ctx.where)
    if document_kind(doc, top.media_type, "manifest", ctx.where) == "manifest":
        image = image_from_manifest(doc, top.digest, ctx, None)
        check_single_platform(image.platform, platform, ctx.where)
        return [image]
    entries = index_entries(doc, ctx.where, f"the image index of {ctx.reference}")
    return resolve_index(entries, ctx, platform, all_platforms, seen={top.digest})


def resolve_index(
    entries: Sequence[tuple[Platform, Descriptor]],
    ctx: ImageContext,
    platform: Platform | None,
    all_platforms: bool,
    *,
    seen: set[str] | None = None,
) -> list[ResolvedImage]:
    """Resolve the entries of an index chosen by platform (see select_platforms), and
    those of the indexes below it, depth first in the indexes' order, within the bounds
    above (BadContentError naming the reference beyond them). ``seen``: digests already
    read (the index itself); each manifest gives one image, however often it is listed."""
    seen = set() if seen is None else seen
    images = []
    chosen = select_platforms(entries, platform, all_platforms, ctx.where)
    pending = [(p, d, 1) for p, d in reversed(chosen)]  # a stack: popped in index order
    while pending:
        entry_platform, descriptor, depth = pending.pop()
        if descriptor.digest in seen:
            continue
        if len(seen) >= MAX_INDEX_DOCUMENTS:
            raise _too_much(ctx, f"references more than {MAX_INDEX_DOCUMENTS} manifests and "
                                 "indexes in all")  # fmt: skip
        seen.add(descriptor.digest)
        child = ctx.fetch_manifest(descriptor)
        child_doc = parse_json_object(child.data, "manifest", ctx.where)
        what = f"manifest {short_digest(descriptor.digest)}"
        if document_kind(child_doc, descriptor.media_type, what, ctx.where) == "manifest":
            images.append(image_from_manifest(child_doc, child.digest, ctx, entry_platform))
            continue
        if depth >= MAX_INDEX_DEPTH:
            raise _too_much(ctx, f"nests image indexes more than {MAX_INDEX_DEPTH} levels deep")
        what = f"image index {short_digest(child.digest)} of {ctx.reference}"
        nested = index_entries(child_doc, ctx.where, what)
        chosen = select_platforms(nested, platform, all_platforms, ctx.where)
        pending += [(p, d, depth + 1) for p, d in reversed(chosen)]
    return images


def _too_much(ctx: ImageContext, problem: str) -> BadContentError:
    return BadContentError(ctx.where, f"image {ctx.reference} {problem}; not read further")


def index_entries(
    doc: dict[str, Any], where: str, what: str = "image index"
) -> list[tuple[Platform, Descriptor]]:
    """(platform, descriptor) for each manifest an index lists (MAX_INDEX_ENTRIES at most)."""
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise BadContentError(where, f"{what} has no 'manifests' list")
    if len(manifests) > MAX_INDEX_ENTRIES:
        raise BadContentError(
            where, f"{what} lists {len(manifests)} manifests, more than the "
                   f"{MAX_INDEX_ENTRIES} octolint reads in one index"
        )  # fmt: skip
    entries = []
    for number, item in enumerate(manifests, 1):
        descriptor = descriptor_from_json(item, f"index entry {number}", where)
        platform = platform_from_json(item.get("platform"))
        if descriptor.media_type and descriptor.media_type not in (*MANIFEST_TYPES, *INDEX_TYPES):
            platform = UNKNOWN_PLATFORM  # an artifact (signature, SBOM): never an image
        entries.append((platform, descriptor))
    return entries


def image_from_manifest(
    doc: dict[str, Any],
    manifest_digest: str,
    ctx: ImageContext,
    index_platform: Platform | None = None,
) -> ResolvedImage:
    """Fetch and verify the config a manifest names; pair its layers with the diff_ids."""
    what = f"manifest {short_digest(manifest_digest)}"
    config_desc = descriptor_from_json(doc.get("config"), f"{what}: config", ctx.where)
    if config_desc.media_type not in CONFIG_TYPES:
        raise BadContentError(
            ctx.where,
            f"{what}: config has media type '{config_desc.media_type}': "
            "this is not a container image (an artifact such as a Helm chart or signature?)",
        )
    layers_json = doc.get("layers")
    if not isinstance(layers_json, list):
        raise BadContentError(ctx.where, f"{what} has no 'layers' list")
    layers = [
        descriptor_from_json(item, f"{what}: layer {n}", ctx.where)
        for n, item in enumerate(layers_json, 1)
    ]
    config = load_config(ctx.fetch_config(config_desc), config_desc.digest, ctx.where)
    diff_ids = config_diff_ids(config, ctx.where)
    layers = pair_layers(layers, diff_ids, what, ctx.where)
    platform = platform_from_json(config)  # os, architecture, variant, os.version
    if index_platform is not None and platform == UNKNOWN_PLATFORM:
        platform = index_platform
    return ResolvedImage(
        reference=ctx.reference,
        source=ctx.source,
        where=ctx.description or ctx.where,
        platform=_with_index_details(platform, index_platform),
        config=config,
        layers=layers,
        manifest_digest=manifest_digest,
        config_digest=config_desc.digest,
    )


def _with_index_details(platform: Platform, index_platform: Platform | None) -> Platform:
    # The config is authoritative for os/arch, but configs often omit the variant and
    # Windows build that the index states: keep those from the index.
    if index_platform is None or not platform.matches(
        Platform(index_platform.os, index_platform.architecture)
    ):
        return platform
    return Platform(
        platform.os,
        platform.architecture,
        platform.variant or index_platform.variant,
        platform.os_version or index_platform.os_version,
    )


def load_config(data: bytes, digest: str | None, where: str) -> dict[str, Any]:
    """The image config JSON, verified against ``digest`` when there is one."""
    what = f"config {short_digest(digest)}" if digest else "config"
    if digest is not None:
        verify_bytes(data, digest, what, where)
    config = parse_json_object(data, what, where)
    if not isinstance(config.get("rootfs"), dict):
        raise BadContentError(where, f"{what} has no 'rootfs': not an image config")
    return config


def config_diff_ids(config: dict[str, Any], where: str) -> list[str]:
    diff_ids = config["rootfs"].get("diff_ids", [])
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise BadContentError(where, "config: rootfs.diff_ids is not a list of digests")
    return [check_digest_syntax(d, where) for d in diff_ids]


def pair_layers(
    layers: list[Descriptor], diff_ids: list[str], what: str, where: str
) -> list[Descriptor]:
    """Layers with their diff_ids; BadContentError when counts or media types disagree."""
    if len(layers) != len(diff_ids):
        raise BadContentError(
            where,
            f"{what} lists {len(layers)} layers but its config has {len(diff_ids)} diff_ids",
        )
    paired = []
    for number, (layer, diff_id) in enumerate(zip(layers, diff_ids), 1):
        if layer.media_type not in LAYER_TYPES:
            raise BadContentError(
                where,
                f"{what}: layer {number} has media type '{layer.media_type}', "
                "which is not a filesystem layer",
            )
        paired.append(
            Descriptor(layer.digest, layer.media_type, layer.size, VERIFY_DIGEST, diff_id)
        )
    return paired


def manifest_accept_types() -> str:
    """The Accept header value for manifests: every manifest and index type we read."""
    return ", ".join((OCI_INDEX, DOCKER_INDEX, OCI_MANIFEST, DOCKER_MANIFEST))
