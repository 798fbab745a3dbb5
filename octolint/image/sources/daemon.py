"""Images in a Docker engine, through the ``docker`` SDK (imported lazily: it is slow).

The engine is the one ``DOCKER_HOST`` names (``docker.from_env()``; TLS through
``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``), else ``/var/run/docker.sock``. Docker CLI
*contexts* are not read: set ``DOCKER_HOST`` for a non-default engine.

**Resolving is cheap**: ``inspect_image`` gives the platform, the config (``Config``,
``RootFS.Layers`` = the diff_ids) and the image ID (the config's digest), and
``history()`` the history. The engine has no API for the config JSON itself, so
``ResolvedImage.config`` is rebuilt from these (same keys as an image config; history
entries get ``empty_layer`` only when the layer sizes tell it unambiguously).

**Layer blobs come from ``docker save``**, the only way an engine hands out layers,
and only when the first blob is opened (a cache of layer indexes may make that
unnecessary). The save stream is spooled once per image to a temporary file (in
``spool_dir``, default the system temp dir: ``TMPDIR``), because a tar has to be read
in archive order while layers are asked for in image order; the file is deleted by
``close()``. The saved config must have the inspected image ID as its digest and the
same diff_ids, so what is streamed is what was resolved. Layers are uncompressed tars
named by diff_id (``VERIFY_DIFF_ID``).
"""

from __future__ import annotations

import os
import tempfile
import threading
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from octolint.image.model import (
    OCI_LAYER_TAR,
    VERIFY_DIFF_ID,
    Descriptor,
    Platform,
    ResolvedImage,
)
from octolint.image.sources.archive import DockerArchive, TarContainer
from octolint.image.sources.base import (
    ImageNotFoundError,
    ImageSourceError,
    check_single_platform,
    platform_from_json,
    short_digest,
)

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_TIMEOUT = 60.0
PING_TIMEOUT = 2.0  # for "is there an engine at all?": a local socket answers in ms
_DEFAULT_HOST = "unix:///var/run/docker.sock"
_SAVE_CHUNK = 1024 * 1024
_REASONS = ("No such file or directory", "Connection refused", "Permission denied", "timed out")


class DaemonError(ImageSourceError):
    """The Docker engine could not be reached or refused a request."""


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or _DEFAULT_HOST


def connect(timeout: float = DEFAULT_TIMEOUT) -> DockerClient:
    """A client for the engine DOCKER_HOST names; DaemonError when none answers."""
    import docker
    import requests

    try:
        # from_env() asks the engine for its API version: that is the ping.
        return docker.from_env(timeout=max(1, round(timeout)))
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise DaemonError(
            f"docker engine {engine_address()}", f"not reachable ({_reason(exc)})"
        ) from None


def engine_available(timeout: float = PING_TIMEOUT) -> DockerClient | None:
    """A client when an engine answers within ``timeout`` seconds, else None."""
    try:
        return connect(timeout)
    except DaemonError:
        return None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in _REASONS:
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(exc).__name__


class DaemonSource:
    """An ImageSource for an image the Docker engine has."""

    kind = "daemon"

    def __init__(
        self,
        ref: str,
        *,
        client: DockerClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        spool_dir: Path | None = None,
    ):
        self.ref = ref
        self.client = client if client is not None else connect(timeout)
        self.description = f"docker engine {engine_address()}"
        self.spool_dir = spool_dir
        self._spools: dict[str, tuple[IO[bytes], TarContainer, dict[str, str]]] = {}
        self._spool_lock = threading.Lock()  # layers are opened from several threads

    @property
    def _api(self) -> Any:
        # The low-level client; types-docker leaves these calls untyped.
        return self.client.api

    # ---- inspecting

    def has_image(self, ref: str | None = None) -> bool:
        import docker

        try:
            self._api.inspect_image(ref or self.ref)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            if exc.status_code in (400, 404):  # 400: a name the engine cannot parse
                return False
            raise self._api_error("inspecting the image", exc) from None
        return True

    def _inspect(self) -> dict[str, Any]:
        import docker
        import requests

        try:
            result: dict[str, Any] = self._api.inspect_image(self.ref)
        except docker.errors.ImageNotFound:
            raise ImageNotFoundError(
                self.description, f"no image '{self.ref}' in the Docker engine"
            ) from None
        except docker.errors.APIError as exc:
            raise self._api_error("inspecting the image", exc) from None
        except requests.RequestException as exc:
            raise DaemonError(self.description, f"inspecting the image: {_reason(exc)}") from None
        return result

    def _history(self, image_id: str) -> list[dict[str, Any]]:
        import docker
        import requests

        try:
            history: list[dict[str, Any]] = self._api.history(image_id)
        except (docker.errors.APIError, requests.RequestException) as exc:
            raise DaemonError(self.description, f"reading the history: {_reason(exc)}") from None
        return history

    def _api_error(self, step: str, exc: Any) -> DaemonError:
        explanation = getattr(exc, "explanation", None) or str(exc)
        return DaemonError(self.description, f"{step} '{self.ref}': {explanation}")

    def resolve(
        self, platform: Platform | None = None, all_platforms: bool = False
    ) -> list[ResolvedImage]:
        """The image (an engine holds one platform of an image)."""
        inspect = self._inspect()
        image_id = str(inspect["Id"])
        config = config_from_inspect(inspect, self._history(image_id))
        image_platform = platform_from_json(config)
        check_single_platform(image_platform, platform, self.description)
        diff_ids: list[str] = config["rootfs"]["diff_ids"]
        layers = [Descriptor(d, OCI_LAYER_TAR, -1, VERIFY_DIFF_ID, d) for d in diff_ids]
        repo_digests = inspect.get("RepoDigests") or []
        return [
            ResolvedImage(
                reference=self.ref,
                source=self.kind,
                where=self.description,
                platform=image_platform,
                config=config,
                layers=layers,
                manifest_digest=str(repo_digests[0]).split("@", 1)[-1] if repo_digests else None,
                config_digest=image_id,
            )
        ]

    # ---- layers, through docker save

    def open_blob(
        self, image: ResolvedImage, layer: Descriptor
    ) -> AbstractContextManager[BinaryIO]:
        _, container, members = self._saved(image)
        member = members.get(layer.digest)
        if member is None:
            raise DaemonError(
                self.description,
                f"layer {short_digest(layer.digest)} is not in the saved image",
            )
        return container.open(member)

    def _saved(self, image: ResolvedImage) -> tuple[IO[bytes], TarContainer, dict[str, str]]:
        image_id = image.config_digest or ""
        with self._spool_lock:  # one save per image, however many threads ask for layers
            if image_id not in self._spools:
                spool = self._save(image_id)
                name = spool.name
                display = f"docker save of {short_digest(image_id)}"
                container = TarContainer(lambda: open(name, "rb"), display)  # noqa: SIM115
                try:
                    members = self._check_saved(container, image)
                except BaseException:
                    spool.close()
                    raise
                self._spools[image_id] = (spool, container, members)
            return self._spools[image_id]

    def _save(self, image_id: str) -> IO[bytes]:
        """Spool `docker save IMAGE_ID` (the ID: a tag could move meanwhile) to a file."""
        import docker
        import requests

        spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives until close())
            prefix="octolint-save-", suffix=".tar", dir=self.spool_dir
        )
        try:
            for chunk in self._api.get_image(image_id, chunk_size=_SAVE_CHUNK):
                spool.write(chunk)
            spool.flush()
        except (docker.errors.APIError, requests.RequestException, OSError) as exc:
            spool.close()
            raise DaemonError(
                self.description, f"saving {short_digest(image_id)}: {_reason(exc)}"
            ) from None
        return spool

    def _check_saved(self, container: TarContainer, image: ResolvedImage) -> dict[str, str]:
        """diff_id -> member of the saved image, after checking it is the resolved one."""
        archive = DockerArchive(container)
        saved, members = archive.image(archive.pick(None), image.reference, self.kind, "")
        wanted = [layer.digest for layer in image.layers]
        if (
            saved.config_digest != image.config_digest
            or saved.config["rootfs"].get("diff_ids") != wanted
        ):
            raise DaemonError(
                self.description,
                f"the saved image is not {short_digest(image.config_digest or '')} "
                "(was it replaced while octolint read it?)",
            )
        return members

    def close(self) -> None:
        for spool, _, _ in self._spools.values():
            spool.close()
        self._spools.clear()
        self.client.close()

    def __enter__(self) -> DaemonSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the config, rebuilt from inspect and history ----------------------------------------


def config_from_inspect(inspect: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """An image config (as in the image's JSON) from `docker image inspect` and history."""
    rootfs = inspect.get("RootFS") or {}
    diff_ids = [str(d) for d in rootfs.get("Layers") or []]
    config: dict[str, Any] = {
        "architecture": inspect.get("Architecture") or "",
        "os": inspect.get("Os") or "",
        "config": inspect.get("Config") or {},
        "rootfs": {"type": rootfs.get("Type") or "layers", "diff_ids": diff_ids},
        "history": history_entries(history, len(diff_ids)),
    }
    for key, value in (
        ("variant", inspect.get("Variant")),
        ("os.version", inspect.get("OsVersion")),
        ("created", inspect.get("Created")),
        ("author", inspect.get("Author")),
    ):
        if value:
            config[key] = value
    return config


def history_entries(history: list[dict[str, Any]], layer_count: int) -> list[dict[str, Any]]:
    """The engine's history (newest first) as config history entries (oldest first)."""
    oldest_first = list(reversed(history))
    # A history entry without a layer has size 0, but so may a layer that only changed
    # metadata: trust the sizes only when they account for every layer exactly.
    sized = sum(1 for h in oldest_first if h.get("Size"))
    entries = []
    for item in oldest_first:
        entry: dict[str, Any] = {"created_by": item.get("CreatedBy") or ""}
        created = item.get("Created")
        if isinstance(created, int) and created > 0:
            entry["created"] = datetime.fromtimestamp(created, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        if item.get("Comment"):
            entry["comment"] = item["Comment"]
        if sized == layer_count and not item.get("Size"):
            entry["empty_layer"] = True
        entries.append(entry)
    return entries
