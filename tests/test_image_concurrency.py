"""Several REFs in one `octolint image` run are scanned concurrently and share the layer cache.

Two images with the same real Debian base layer, in two repositories of the
real local registry, read through the pass-through `fault_proxy`, which records
every request: the shared base layer must be downloaded once, although both
scans want it at the same moment, and the findings must be those of two
separate scans.
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from imagebuild import Image, build_image
from realroots import deb_files, debian_layer, layer_tar

ENTRYPOINT_LAYER = layer_tar([("docker-entrypoint.sh", "file", b"#!/bin/sh\nexec \"$@\"\n", 0o755)],
                             None)  # fmt: skip


@pytest.fixture(scope="module")
def images() -> tuple[Image, Image]:
    base = gzip.decompress(debian_layer().read_bytes())
    with_icu = build_image([base, layer_tar(deb_files(["libicu72", "libssl3"]), None)],
                           compression="none", cmd=["bash"])  # fmt: skip
    with_entrypoint = build_image([base, ENTRYPOINT_LAYER], compression="none",
                                  entrypoint=["/docker-entrypoint.sh"], cmd=None)  # fmt: skip
    assert with_icu.layers[0].digest == with_entrypoint.layers[0].digest
    return with_icu, with_entrypoint


def scan(refs: list[str], cache: Path) -> tuple[int, list[dict[str, Any]]]:
    proc = run_cli(["image", *refs, "--source", "registry", "--format", "json"],
                   env={"OCTOLINT_CACHE_DIR": str(cache)})  # fmt: skip
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"]


def ordered(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in findings)


def blob_gets(seen: list[str], digest: str) -> list[str]:
    return [r for r in seen if r.startswith("GET ") and r.endswith(f"/blobs/{digest}")]


def test_shared_layer_is_downloaded_once(images, plain_registry, fault_proxy, tmp_path):
    first, second = images
    prefix = f"concurrency/{uuid.uuid4().hex[:8]}"
    plain_registry.push(f"{prefix}/icu", "1", first)
    plain_registry.push(f"{prefix}/entry", "1", second)
    refs = [fault_proxy.ref(f"{prefix}/icu", "1"), fault_proxy.ref(f"{prefix}/entry", "1")]

    code, together = scan(refs, tmp_path / "together")

    base = first.layers[0].digest
    assert len(blob_gets(fault_proxy.seen, base)) == 1, fault_proxy.seen
    for layer in (first.layers[1], second.layers[1]):  # the others: once each, too
        assert len(blob_gets(fault_proxy.seen, layer.digest)) == 1
    # The same findings as two separate scans with empty caches.
    alone = [scan([ref], tmp_path / f"alone{n}") for n, ref in enumerate(refs)]
    assert ordered(together) == ordered(alone[0][1] + alone[1][1])
    assert code == max(c for c, _ in alone)
    assert {f["location"]["reference"] for f in together} == set(refs)
