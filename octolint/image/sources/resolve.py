"""Which source a REF is read from.

``kind="auto"`` (the default) decides as a user would expect:

1. a REF that is an existing file or directory (or ``PATH:NAME`` with an existing PATH,
   see :mod:`octolint.image.sources.archive`) is an archive or OCI layout;
2. else, when a Docker engine answers within ``ping_timeout`` seconds and has the image,
   the engine (what ``docker run REF`` would use, including images never pushed);
3. else the registry the reference names (Docker Hub for short names).

A REF that can only be a path, one that starts with ``/``, ``./``, ``../`` or ``~``, or
whose path part ends in ``.tar``, ``.tar.gz`` or ``.tgz`` (``app.tar``, ``app.tar:app:1.0``),
is never looked up in an engine or a registry: when it does not exist, the answer is
"no such file or directory" at once. ``~`` is the user's home, as in a shell.

``kind`` may force ``"archive"``, ``"daemon"`` or ``"registry"``. The returned source's
``kind`` and ``description`` ("registry localhost:5000", "docker engine
unix:///var/run/docker.sock", "archive image.tar") say which one was used.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from octolint.errors import ConfigError
from octolint.image.sources.archive import ArchiveSource, split_archive_ref
from octolint.image.sources.base import ImageNotFoundError, ImageSource
from octolint.imageref import parse_image_ref
from octolint.progress import waiting

SOURCE_KINDS = ("auto", "registry", "daemon", "archive")
DEFAULT_TIMEOUT = 60.0
PING_TIMEOUT = 2.0


def open_source(
    ref: str,
    kind: str = "auto",
    *,
    insecure_registries: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    ping_timeout: float = PING_TIMEOUT,
    docker_config: Path | None = None,
) -> ImageSource:
    """The source to read REF from (see the module docstring); close() it when done."""
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"unknown image source '{kind}' (expected one of: {', '.join(SOURCE_KINDS)})"
        )
    # Quoted, "~/app.tar" reaches us unexpanded: expanded as the shell would have.
    path_ref = os.path.expanduser(ref) if ref.startswith("~") else ref
    if kind in ("auto", "archive") and split_archive_ref(path_ref) is not None:
        return ArchiveSource.from_ref(path_ref)
    if kind == "archive" or (kind == "auto" and names_a_path(ref)):
        raise ImageNotFoundError(ref, "no such file or directory")
    parsed = parse_image_ref(ref)
    if parsed is None:
        raise ImageNotFoundError(ref, "neither an existing file nor a valid image reference")
    if kind in ("daemon", "auto"):
        daemon = _daemon_source(ref, kind, timeout, ping_timeout)
        if daemon is not None:
            return daemon
    from octolint.image.sources.registry import RegistrySource

    return RegistrySource(
        parsed,
        insecure_registries=insecure_registries,
        timeout=timeout,
        docker_config=docker_config,
    )


_PATH_PREFIXES = ("/", "./", "../", "~")
_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def names_a_path(ref: str) -> bool:
    """Whether REF can only mean a file or directory (see the module docstring): an
    image reference never starts like a path, nor has a name ending in ``.tar``."""
    if ref.startswith(_PATH_PREFIXES) or ref in (".", ".."):
        return True
    head = ref.split(":", 1)[0]  # PATH:NAME
    return any(part.lower().endswith(_ARCHIVE_SUFFIXES) for part in (ref, head))


def _daemon_source(ref: str, kind: str, timeout: float, ping_timeout: float) -> ImageSource | None:
    """The engine's source: always for kind 'daemon'; for 'auto' only if it has the image."""
    from octolint.image.sources.daemon import DaemonSource, engine_available

    if kind == "daemon":
        return DaemonSource(ref, timeout=timeout)
    with waiting("looking for the image in the Docker engine"):
        client = engine_available(ping_timeout)
    if client is None:
        return None
    client.api.timeout = max(1, round(timeout))  # the ping is done; saves take longer
    source = DaemonSource(ref, client=client, timeout=timeout)
    with waiting("looking for the image in the Docker engine"):
        found = source.has_image()
    if found:
        return source
    source.close()
    return None
