"""Scanning images: resolve each reference, index its layers once, run the image rules.

Layers are the cost: each is streamed and decompressed exactly once, in a
thread pool (zlib and zstandard release the GIL, so two cores decompress two
layers at a time), and its index is cached by digest, so a second scan, or a
scan of another image sharing base layers, reads no layer twice; for a
registry, a cached layer is not even downloaded. A cached index is a store
queried path by path (``store``, ``fs``): a warm scan reads only the rows the
rules ask for, so its time does not grow with the image.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import BinaryIO

from octolint.dockerfile.stages import Build
from octolint.engine import Engine
from octolint.image.cache import LayerCache
from octolint.image.fs import ImageFS
from octolint.image.model import Descriptor, Platform, ResolvedImage
from octolint.image.probe import ProbeResult
from octolint.image.sources.base import ImageSource, naming_the_layer
from octolint.image.sources.resolve import open_source
from octolint.image.store import CorruptStoreError, LayerStore
from octolint.image.target import ImageTarget
from octolint.model import Finding, Report

# Called with (reference, number of layers, event) per layer; event is "cached" or "read".
ProgressCallback = Callable[[str, int, str], None]


@dataclass
class ScanOptions:
    source: str = "auto"  # auto | daemon | registry | archive
    platform: Platform | None = None
    all_platforms: bool = False
    insecure_registries: Sequence[str] = ()
    timeout: float = 300.0
    use_cache: bool = True
    workers: int = 4
    dockerfile: Build | None = None
    progress: ProgressCallback | None = None
    probe: bool = False  # run the image to cross-check (needs a Docker engine)


@dataclass
class ScanResult:
    report: Report = field(default_factory=Report)
    used_sources: list[str] = field(default_factory=list)  # "ref: registry localhost:5000"
    targets: list[ImageTarget] = field(default_factory=list)


def scan_images(references: Sequence[str], engine: Engine, options: ScanOptions) -> ScanResult:
    """Scan every reference (concurrently), sharing one layer cache."""
    if options.probe:  # Ctrl-C must remove probe containers at once, not after the probes
        from octolint.image.probe import interrupt_guard

        with interrupt_guard():
            return _scan_images(references, engine, options)
    return _scan_images(references, engine, options)


def _scan_images(references: Sequence[str], engine: Engine, options: ScanOptions) -> ScanResult:
    cache = LayerCache(enabled=options.use_cache)
    result = ScanResult()
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, min(len(references), 4))) as pool:
        scans = [pool.submit(_scan_one, ref, engine, options, cache) for ref in references]
        for future in scans:  # in argument order, so output is stable
            targets, findings, used = future.result()
            with lock:
                result.targets += targets
                result.report.findings += findings
                result.report.files += [t.reference + _platform_suffix(t) for t in targets]
                result.used_sources.append(used)
    result.report.rules_run = [r.id for r in engine.active_rules("image")]
    return result


def _platform_suffix(target: ImageTarget) -> str:
    return f" ({target.image.platform})"


def _scan_one(
    reference: str, engine: Engine, options: ScanOptions, cache: LayerCache
) -> tuple[list[ImageTarget], list[Finding], str]:
    source = open_source(
        reference,
        options.source,
        insecure_registries=options.insecure_registries,
        timeout=options.timeout,
    )
    try:
        images = source.resolve(options.platform, options.all_platforms)
        targets, findings = [], []
        for image in images:
            probe = None
            if options.probe:
                from octolint.image.probe import run_probe

                probe = run_probe(image)
            target, found = _checked(source, image, engine, options, cache, probe)
            targets.append(target)
            findings += found
        return targets, findings, f"{reference}: {source.description}"
    finally:
        source.close()


def _checked(
    source: ImageSource,
    image: ResolvedImage,
    engine: Engine,
    options: ScanOptions,
    cache: LayerCache,
    probe: ProbeResult | None,
) -> tuple[ImageTarget, list[Finding]]:
    """The image's target and findings. A cached layer index found corrupt while the
    rules read it (a file planted with a valid checksum) is deleted and the layer read
    again: a layer read afresh is never corrupt, so one attempt per layer is enough,
    and the last bypasses the cache, so this ends whatever else writes there."""
    attempts = len(image.layers) + 2
    for attempt in range(attempts):
        use = cache if attempt < attempts - 1 else LayerCache(enabled=False)
        target = ImageTarget(image, _filesystem(source, image, options, use),
                             options.dockerfile, probe)  # fmt: skip
        try:
            return target, engine.lint_image(target)
        except CorruptStoreError as exc:
            cache.discard(exc)
            if target.fs is not None:
                target.fs.close()
    raise AssertionError("unreachable: the last attempt reads no cache")


def _filesystem(
    source: ImageSource, image: ResolvedImage, options: ScanOptions, cache: LayerCache
) -> ImageFS | None:
    """The merged filesystem of a Linux image; None for Windows (layers are not read)."""
    if image.platform.os != "linux":
        return None
    # Indexing a layer allocates an object or more per entry, none in a reference
    # cycle: the cycle collector would only rescan them again and again. Paused
    # meanwhile.
    with _gc_paused():
        return _merged(source, image, options, cache)


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()  # the first of concurrent scans re-enables it
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _merged(
    source: ImageSource, image: ResolvedImage, options: ScanOptions, cache: LayerCache
) -> ImageFS:
    # Cached layers open right here (a CRC check, no rows read); the pool is for the
    # layers to stream, decompress and hash.
    known = [_cached(image, layer, options, cache) for layer in image.layers]
    missing = [layer for layer, store in zip(image.layers, known) if store is None]
    if not missing:
        return ImageFS([store for store in known if store is not None])
    workers = min(max(1, options.workers), len(missing))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        fresh = iter(list(pool.map(lambda d: _layer(source, image, d, options, cache), missing)))
    return ImageFS([store if store is not None else next(fresh) for store in known])


def _cached(
    image: ResolvedImage, layer: Descriptor, options: ScanOptions, cache: LayerCache
) -> LayerStore | None:
    store = cache.get(layer.digest)
    if store is not None:
        _report(options, image, layer, "cached")
    return store


def _layer(
    source: ImageSource,
    image: ResolvedImage,
    layer: Descriptor,
    options: ScanOptions,
    cache: LayerCache,
) -> LayerStore:
    opened = []

    def open_blob() -> AbstractContextManager[BinaryIO]:
        opened.append(layer)
        return naming_the_layer(image, layer, source.open_blob(image, layer))

    # Held while reading: a concurrent scan of another image sharing this layer waits,
    # then finds it in the cache instead of downloading it a second time.
    with _layer_lock(layer.digest) if cache.enabled else nullcontext():
        store = cache.index(layer, open_blob)
    _report(options, image, layer, "read" if opened else "cached")
    return store


_layer_locks: dict[str, threading.Lock] = {}  # layer digest -> lock (a few bytes per layer)
_layer_locks_guard = threading.Lock()


def _layer_lock(digest: str) -> threading.Lock:
    with _layer_locks_guard:
        return _layer_locks.setdefault(digest, threading.Lock())


def _report(options: ScanOptions, image: ResolvedImage, layer: Descriptor, event: str) -> None:
    if options.progress is not None:
        options.progress(image.reference, len(image.layers), event)
