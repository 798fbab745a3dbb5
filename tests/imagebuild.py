"""Test images, written by hand: layers, configs, manifests and indexes, in every format.

- ``tar_layer({...})`` makes a tiny layer tar; ``build_image`` wraps layers and a
  config into an image (OCI or Docker media types, gzip/zstd/uncompressed layers);
  ``build_index`` makes a multi-platform index (optionally with a BuildKit-style
  attestation manifest for platform ``unknown/unknown``).
- ``write_oci_layout``, ``write_oci_archive`` and ``write_docker_archive`` put them on
  disk as skopeo, buildx and ``docker save`` (before and since Docker 25) do;
  docker-archives are loadable by ``docker load``.
- ``push`` uploads to a registry with the plain v2 API (monolithic blob PUTs).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import requests
import zstandard

from octolint.image import model as m

Target = Union["Image", "Index"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# --- layers -----------------------------------------------------------------------------


def tar_layer(
    files: Mapping[str, bytes | str],
    *,
    symlinks: Mapping[str, str] | None = None,
    dirs: Iterable[str] = (),
) -> bytes:
    """An uncompressed layer tar with these files (path -> content), dirs and symlinks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in dirs:
            info = tarfile.TarInfo(path.strip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode = len(data), 0o755 if "/bin/" in path else 0o644
            tar.addfile(info, io.BytesIO(data))
        for path, target in (symlinks or {}).items():
            info = tarfile.TarInfo(path.strip("/"))
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    assert compression == "none", compression
    return data


_LAYER_TYPES = {
    ("oci", "none"): m.OCI_LAYER_TAR,
    ("oci", "gzip"): m.OCI_LAYER_GZIP,
    ("oci", "zstd"): m.OCI_LAYER_ZSTD,
    ("docker", "none"): m.DOCKER_LAYER_TAR,
    ("docker", "gzip"): m.DOCKER_LAYER_GZIP,
    ("docker", "zstd"): m.OCI_LAYER_ZSTD,  # what Docker itself uses for zstd
}


# --- blobs, images, indexes -------------------------------------------------------------


@dataclass
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass
class Image:
    config_dict: dict[str, Any]
    config: Blob
    layers: list[Blob]  # as stored (compressed)
    layer_tars: list[bytes]  # uncompressed
    manifest: Blob
    platform: m.Platform

    @property
    def diff_ids(self) -> list[str]:
        return [sha256(t) for t in self.layer_tars]

    def blobs(self) -> list[Blob]:
        return [*self.layers, self.config]


@dataclass
class Index:
    manifest: Blob
    images: list[Image]
    extra_manifests: list[Blob] = field(default_factory=list)  # attestations
    extra_blobs: list[Blob] = field(default_factory=list)


def make_config(
    platform: m.Platform = m.DEFAULT_PLATFORM,
    *,
    layer_tars: Sequence[bytes] = (),
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",),
    cmd: Sequence[str] | None = ("/bin/sh",),
    entrypoint: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An image config as BuildKit writes one (history: one entry per layer)."""
    config: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": list(env),
            "Cmd": list(cmd) if cmd else None,
            "Entrypoint": list(entrypoint) if entrypoint else None,
            "Labels": dict(labels or {}),
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in layer_tars]},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": f"COPY layer{n} /"}
            for n in range(len(layer_tars))
        ],
    }
    if platform.variant:
        config["variant"] = platform.variant
    if platform.os_version:
        config["os.version"] = platform.os_version
    return config


def build_image(
    layer_tars: Sequence[bytes],
    *,
    platform: m.Platform = m.DEFAULT_PLATFORM,
    compression: str = "gzip",
    media: str = "oci",
    config: dict[str, Any] | None = None,
    **config_args: Any,
) -> Image:
    """An image of these (uncompressed) layer tars; ``media`` 'oci' or 'docker'."""
    config = config or make_config(platform, layer_tars=layer_tars, **config_args)
    config_type = m.OCI_CONFIG if media == "oci" else m.DOCKER_CONFIG
    config_blob = Blob(canonical_json(config), config_type)
    layers = [Blob(compress(t, compression), _LAYER_TYPES[media, compression]) for t in layer_tars]
    manifest = {
        "schemaVersion": 2,
        "mediaType": m.OCI_MANIFEST if media == "oci" else m.DOCKER_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    return Image(
        config_dict=config,
        config=config_blob,
        layers=layers,
        layer_tars=list(layer_tars),
        manifest=Blob(canonical_json(manifest), manifest["mediaType"]),
        platform=platform,
    )


def _platform_json(platform: m.Platform) -> dict[str, str]:
    value = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        value["variant"] = platform.variant
    if platform.os_version:
        value["os.version"] = platform.os_version
    return value


def build_index(images: Sequence[Image], *, media: str = "oci", attestation: bool = False) -> Index:
    """A multi-platform index; with ``attestation``, a BuildKit attestation manifest too."""
    entries = [img.manifest.descriptor(platform=_platform_json(img.platform)) for img in images]
    extra_manifests, extra_blobs = [], []
    if attestation:
        statement = Blob(
            b'{"_type":"https://in-toto.io/Statement/v0.1"}', "application/vnd.in-toto+json"
        )
        config = Blob(b"{}", m.OCI_CONFIG)
        attest = {
            "schemaVersion": 2,
            "mediaType": m.OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": [statement.descriptor()],
        }
        attest_blob = Blob(canonical_json(attest), m.OCI_MANIFEST)
        entries.append(
            attest_blob.descriptor(
                platform={"architecture": "unknown", "os": "unknown"},
                annotations={
                    "vnd.docker.reference.type": "attestation-manifest",
                    "vnd.docker.reference.digest": images[0].manifest.digest,
                },
            )
        )
        extra_manifests.append(attest_blob)
        extra_blobs.extend([statement, config])
    index_type = m.OCI_INDEX if media == "oci" else m.DOCKER_INDEX
    document = {"schemaVersion": 2, "mediaType": index_type, "manifests": entries}
    return Index(
        Blob(canonical_json(document), index_type), list(images), extra_manifests, extra_blobs
    )


def all_blobs(target: Target) -> list[Blob]:
    """Every blob and manifest a target needs, children before parents."""
    if isinstance(target, Image):
        return [*target.blobs(), target.manifest]
    found = [b for img in target.images for b in all_blobs(img)]
    return [*found, *target.extra_blobs, *target.extra_manifests, target.manifest]


# --- on disk ----------------------------------------------------------------------------


def _layout_files(items: Sequence[tuple[str | None, Target]]) -> dict[str, bytes]:
    """The files of an OCI image layout holding these (name, image or index) items."""
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    entries = []
    for name, target in items:
        for blob in all_blobs(target):
            files["blobs/sha256/" + blob.digest.split(":")[1]] = blob.data
        annotations = {"org.opencontainers.image.ref.name": name} if name else {}
        entries.append(target.manifest.descriptor(**({"annotations": annotations} if name else {})))
    index = {"schemaVersion": 2, "mediaType": m.OCI_INDEX, "manifests": entries}
    files["index.json"] = canonical_json(index)
    return files


def write_oci_layout(root: Path, items: Sequence[tuple[str | None, Target]]) -> Path:
    for name, data in _layout_files(items).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_tar(
    path: Path, files: Mapping[str, bytes], *, symlinks: Mapping[str, str] | None = None
) -> Path:
    """A tar of these members (in this order), as docker save and skopeo write them."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        directories: set[str] = set()
        for name, data in files.items():
            parent = name.rsplit("/", 1)[0] if "/" in name else ""
            if parent and parent not in directories:
                for i, _ in enumerate(parent.split("/")):
                    prefix = "/".join(parent.split("/")[: i + 1])
                    if prefix not in directories:
                        info = tarfile.TarInfo(prefix)
                        info.type, info.mode = tarfile.DIRTYPE, 0o755
                        tar.addfile(info)
                        directories.add(prefix)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def write_oci_archive(path: Path, items: Sequence[tuple[str | None, Target]]) -> Path:
    return write_tar(path, _layout_files(items))


def docker_archive_files(
    images: Sequence[tuple[Image, Sequence[str]]],
    *,
    layout: str = "legacy",
    compress_layers: str = "none",
) -> tuple[dict[str, bytes], dict[str, str]]:
    """(files, symlinks) of a docker save archive: ``legacy`` (<id>/layer.tar, Docker
    before 25; repeated layers become symlinks, as Docker writes them) or ``oci``
    (blobs/sha256, plus index.json and oci-layout, as Docker 25+ writes them)."""
    files: dict[str, bytes] = {}
    symlinks: dict[str, str] = {}
    manifest = []
    oci_entries = []
    first_copies: dict[str, str] = {}  # layer digest -> first member holding it
    for image, tags in images:
        config_hex = image.config.digest.split(":")[1]
        layer_names = []
        parent = ""
        for tar_bytes in image.layer_tars:
            data = compress(tar_bytes, compress_layers)
            if layout == "legacy":
                # Docker's v1 layer IDs chain the parent, so a repeated layer gets a new
                # directory whose layer.tar is a symlink to the first copy.
                v1_id = sha256(f"{parent} {sha256(tar_bytes)}".encode()).split(":")[1]
                parent, name = v1_id, f"{v1_id}/layer.tar"
                files[f"{v1_id}/VERSION"] = b"1.0"
                first = first_copies.setdefault(sha256(data), name)
                if first == name:
                    files[name] = data
                else:
                    symlinks[name] = f"../{first}"
            else:
                name = f"blobs/sha256/{sha256(data).split(':')[1]}"
                files[name] = data
            layer_names.append(name)
        config_name = f"{config_hex}.json" if layout == "legacy" else f"blobs/sha256/{config_hex}"
        files[config_name] = image.config.data
        manifest.append(
            {"Config": config_name, "RepoTags": list(tags) or None, "Layers": layer_names}
        )
        if layout == "oci":
            # Docker 25 writes layers uncompressed in blobs/: the manifest names them so.
            oci_layers = [
                Blob(
                    compress(t, compress_layers),
                    m.OCI_LAYER_TAR if compress_layers == "none" else m.OCI_LAYER_GZIP,
                )
                for t in image.layer_tars
            ]
            oci_manifest = Blob(
                canonical_json(
                    {
                        "schemaVersion": 2,
                        "mediaType": m.OCI_MANIFEST,
                        "config": Blob(image.config.data, m.OCI_CONFIG).descriptor(),
                        "layers": [b.descriptor() for b in oci_layers],
                    }
                ),
                m.OCI_MANIFEST,
            )
            files["blobs/sha256/" + oci_manifest.digest.split(":")[1]] = oci_manifest.data
            for tag in tags or [None]:
                annotations = (
                    {
                        "io.containerd.image.name": tag,
                        "org.opencontainers.image.ref.name": tag.rsplit(":", 1)[-1],
                    }
                    if tag
                    else {}
                )
                oci_entries.append(oci_manifest.descriptor(annotations=annotations))
    files["manifest.json"] = json.dumps(manifest).encode()
    if layout == "oci":
        files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
        files["index.json"] = canonical_json(
            {"schemaVersion": 2, "mediaType": m.OCI_INDEX, "manifests": oci_entries}
        )
    return files, symlinks


def write_docker_archive(
    path: Path,
    images: Sequence[tuple[Image, Sequence[str]]],
    *,
    layout: str = "legacy",
    compress_layers: str = "none",
) -> Path:
    files, symlinks = docker_archive_files(images, layout=layout, compress_layers=compress_layers)
    return write_tar(path, files, symlinks=symlinks)


# --- registries -------------------------------------------------------------------------


def push(
    base_url: str,
    repository: str,
    reference: str,
    target: Target,
    *,
    auth: tuple[str, str] | None = None,
    verify: bool | str = True,
) -> str:
    """Upload every blob and manifest of ``target``; returns its manifest digest."""
    with requests.Session() as session:
        session.trust_env = False  # else REQUESTS_CA_BUNDLE would override ``verify``
        session.auth = auth
        session.verify = verify
        api = f"{base_url}/v2/{repository}"
        manifests = _manifests(target)
        manifest_digests = {b.digest for b in manifests}
        for blob in all_blobs(target):
            if blob.digest not in manifest_digests:
                _push_blob(session, api, blob)
        for blob in manifests:
            ref = reference if blob is target.manifest else blob.digest
            answer = session.put(
                f"{api}/manifests/{ref}",
                data=blob.data,
                headers={"Content-Type": blob.media_type},
                timeout=30,
            )
            assert answer.status_code == 201, (answer.status_code, answer.text)
    return target.manifest.digest


def _manifests(target: Target) -> list[Blob]:
    if isinstance(target, Image):
        return [target.manifest]
    return [*(img.manifest for img in target.images), *target.extra_manifests, target.manifest]


def _push_blob(session: requests.Session, api: str, blob: Blob) -> None:
    if session.head(f"{api}/blobs/{blob.digest}", timeout=30).status_code == 200:
        return
    started = session.post(f"{api}/blobs/uploads/", timeout=30)
    assert started.status_code == 202, (started.status_code, started.text)
    location = started.headers["Location"]
    if location.startswith("/"):
        location = api.split("/v2/", 1)[0] + location
    separator = "&" if "?" in location else "?"
    done = session.put(
        f"{location}{separator}digest={blob.digest}",
        data=blob.data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert done.status_code == 201, (done.status_code, done.text)
