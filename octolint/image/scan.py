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
from typing import TYPE_CHECKING, BinaryIO

from octolint import interrupt
from octolint.engine import Engine
from octolint.errors import InputError
from octolint.image import layers
from octolint.image.cache import LayerCache
from octolint.image.fs import ImageFS
from octolint.image.layers import kept_files
from octolint.image.model import Descriptor, Platform, ResolvedImage
from octolint.image.probe import ProbeResult
from octolint.image.sources.base import (
    ImageSource,
    ImageSourceError,
    LayerReadError,
    naming_the_layer,
    short_digest,
)
from octolint.image.sources.resolve import open_source
from octolint.image.store import CorruptStoreError, LayerStore
from octolint.image.target import ImageTarget
from octolint.model import Finding, InputFailure, Report

if TYPE_CHECKING:
    from octolint.dockerfile.stages import Build

# Called with (reference, number of distinct layers, event) per distinct layer; event is
# "cached" or "read".
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
    """Scan every reference (concurrently), sharing one layer cache. An image that
    cannot be read is listed in ``report.errors``; the others are still scanned."""
    # Ctrl-C must remove probe containers at once, not after the probes; under the CLI,
    # octolint.interrupt does (and ends the process).
    if options.probe and not interrupt.active():
        from octolint.image.probe import interrupt_guard

        with interrupt_guard():
            return _scan_images(references, engine, options)
    return _scan_images(references, engine, options)


def _scan_images(references: Sequence[str], engine: Engine, options: ScanOptions) -> ScanResult:
    # Layers keep the contents of what octolint and the active image rules read.
    kept = kept_files(r.reads_files for r in engine.active_rules("image"))
    cache = LayerCache(enabled=options.use_cache, kept=kept)
    result = ScanResult()
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, min(len(references), 4))) as pool:
        scans = [pool.submit(_scan_one, ref, engine, options, cache) for ref in references]
        for reference, future in zip(references, scans):  # in argument order: stable output
            try:
                targets, findings, used = interrupt.result(future)  # Ctrl-C heard meanwhile
            except InputError as exc:  # the other images are still scanned and reported
                result.report.errors.append(_failure(reference, exc))
                continue
            with lock:
                result.targets += targets
                result.report.findings += findings
                result.report.files += [t.at(None).image for t in targets]
                result.report.images += [t.reference for t in targets]
                result.used_sources.append(used)
    result.report.rules_run = [r.id for r in engine.active_rules("image")]
    # unknown ids in --ignore and the configuration: OCT001, as for Dockerfiles
    result.report.findings = engine.config_findings() + result.report.findings
    return result


def _failure(reference: str, exc: InputError) -> InputFailure:
    """The error, naming the reference as the user gave it when it names a part of it."""
    message = str(exc)
    if not message.startswith(reference):
        message = f"{reference}: {message}"
    return InputFailure(reference, message)


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
            if options.probe and image.reads_layers:  # the probe checks Linux loaders
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
    """The image's target (closed) and findings. A cached layer index found corrupt while
    the rules read it (a file planted with a valid checksum) is deleted and the layer
    read again: a layer read afresh is never corrupt, so one attempt per layer is
    enough, and the last bypasses the cache, so this ends whatever else writes there."""
    attempts = len(set(image.layers)) + 2
    for attempt in range(attempts):
        use = cache if attempt < attempts - 1 else LayerCache(enabled=False, kept=cache.kept)
        target = ImageTarget(image, _filesystem(source, image, options, use),
                             options.dockerfile, probe, engine.octopus)  # fmt: skip
        try:
            return target, engine.run(target)
        except CorruptStoreError as exc:
            cache.discard(exc)
        finally:
            target.close()  # also after a clean run: its layer stores stay open otherwise
    raise AssertionError("unreachable: the last attempt reads no cache")


def _filesystem(
    source: ImageSource, image: ResolvedImage, options: ScanOptions, cache: LayerCache
) -> ImageFS | None:
    """The merged filesystem of a Linux image; None for Windows (layers are not read)."""
    if not image.reads_layers:
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


# Layer references in one manifest. Docker refuses more than 127 layers (overlay2's
# limit) when it runs an image; this is generous above that, and bounds the work a
# manifest of a few megabytes can ask for.
MAX_LAYERS = 1000


def _merged(
    source: ImageSource, image: ResolvedImage, options: ScanOptions, cache: LayerCache
) -> ImageFS:
    if len(image.layers) > MAX_LAYERS:
        raise ImageSourceError(
            f"image {image.reference} ({image.where})",
            f"lists {len(image.layers)} layers: refused (at most {MAX_LAYERS}; Docker runs "
            "images of up to 127)",
        )
    # A layer listed several times is read (and opened) once; the filesystem then
    # stacks the same store at each of its places.
    distinct = list(dict.fromkeys(image.layers))
    budget = layers.ImageBudget()
    stores: dict[Descriptor, LayerStore] = {}
    try:
        _fill_stores(source, image, options, cache, distinct, budget, stores)
    except BaseException:
        for store in stores.values():
            store.close()
        raise
    return ImageFS([stores[layer] for layer in image.layers])


def _fill_stores(
    source: ImageSource,
    image: ResolvedImage,
    options: ScanOptions,
    cache: LayerCache,
    distinct: list[Descriptor],
    budget: layers.ImageBudget,
    stores: dict[Descriptor, LayerStore],
) -> None:
    """Put in ``stores`` the store of every layer in ``distinct``: cached layers open
    right here (a CRC check, no rows read); the pool is for the layers to stream,
    decompress and hash. Cached layers count towards the image's bounds too, so a
    scan gives the same answer warm or cold."""
    total = len(distinct)
    for layer in distinct:
        store = cache.get(layer.digest)
        if store is not None:
            stores[layer] = store
            _charge_cached(image, layer, store, budget)
            _report(options, image, total, "cached")
    missing = [layer for layer in distinct if layer not in stores]
    if not missing:
        return
    workers = min(max(1, options.workers), len(missing))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            layer: pool.submit(_layer, source, image, layer, options, cache, budget, total)
            for layer in missing
        }
        failure: BaseException | None = None
        for layer, future in futures.items():  # every one finishes: none is left open
            try:
                stores[layer] = future.result()
            except BaseException as exc:  # re-raised below, once all are done
                failure = failure or exc
    if failure is not None:
        raise failure


def _charge_cached(
    image: ResolvedImage, layer: Descriptor, store: LayerStore, budget: layers.ImageBudget
) -> None:
    try:
        budget.add(store.kept_bytes, store.members)
    except layers.BoundExceeded as exc:
        number = image.layers.index(layer) + 1
        raise LayerReadError(
            f"image {image.reference} ({image.where})",
            f"reading layer {number} of {len(image.layers)} ({short_digest(layer.digest)}): {exc}",
        ) from None


def _layer(
    source: ImageSource,
    image: ResolvedImage,
    layer: Descriptor,
    options: ScanOptions,
    cache: LayerCache,
    budget: layers.ImageBudget,
    total: int,
) -> LayerStore:
    opened = []

    def open_blob() -> AbstractContextManager[BinaryIO]:
        opened.append(layer)
        return naming_the_layer(image, layer, source.open_blob(image, layer))

    # Held while reading: a concurrent scan of another image sharing this layer waits,
    # then finds it in the cache instead of downloading it a second time.
    with _layer_lock(layer.digest) if cache.enabled else nullcontext():
        store = cache.index(layer, open_blob, budget)
    if not opened:  # another scan cached it meanwhile: it was not charged
        try:
            _charge_cached(image, layer, store, budget)
        except BaseException:
            store.close()
            raise
    _report(options, image, total, "read" if opened else "cached")
    return store


_layer_locks: dict[str, threading.Lock] = {}  # layer digest -> lock (a few bytes per layer)
_layer_locks_guard = threading.Lock()


def _layer_lock(digest: str) -> threading.Lock:
    with _layer_locks_guard:
        return _layer_locks.setdefault(digest, threading.Lock())


def _report(options: ScanOptions, image: ResolvedImage, total: int, event: str) -> None:
    """``total``: the image's distinct layers (a layer listed twice is read once)."""
    if options.progress is not None:
        options.progress(image.reference, total, event)
