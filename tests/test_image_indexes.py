"""Hostile image indexes stay bounded work (issue 11, point 10).

Index documents are JSON blobs, so each case is a real OCI image layout (and a real
docker-registry on 127.0.0.1 for one) written by the test: a chain of 1,500 nested
indexes, a 6-wide fan-out 7 levels deep (7 small documents, 6**7 paths to a manifest),
and flat indexes of 15,000 entries. Each run is the real CLI and must end quickly with
one line naming the image (exit 3), or a correct result, in bounded memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import run_measured
from imagebuild import Blob, Image, all_blobs, build_image, canonical_json, tar_layer

from octolint.image import model as m
from octolint.image.sources.base import MAX_INDEX_DEPTH, MAX_INDEX_DOCUMENTS, MAX_INDEX_ENTRIES

PLATFORMS = [{"os": "linux", "architecture": arch}
             for arch in ("amd64", "arm64", "ppc64le", "s390x", "386", "riscv64")]  # fmt: skip
SECONDS = 60  # each case takes well under a second; the issue saw minutes
MAX_RSS = 500 << 20


@pytest.fixture(scope="module")
def image() -> Image:
    return build_image([tar_layer({"bin/sh": b"#!sh\n"}, dirs=["bin"])], cmd=["/bin/sh"])


def index_blob(entries: Sequence[dict[str, Any]]) -> Blob:
    return Blob(canonical_json({"schemaVersion": 2, "mediaType": m.OCI_INDEX,
                                "manifests": list(entries)}), m.OCI_INDEX)  # fmt: skip


def write_layout(root: Path, image: Image, indexes: Sequence[Blob], top: Blob) -> Path:
    """An OCI layout holding the image and the indexes; index.json names ``top`` as x."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for blob in [*all_blobs(image), *indexes]:
        (root / "blobs" / "sha256" / blob.digest.split(":")[1]).write_bytes(blob.data)
    named = top.descriptor(annotations={"org.opencontainers.image.ref.name": "x"})
    (root / "index.json").write_bytes(canonical_json({"schemaVersion": 2, "manifests": [named]}))
    return root


def scan(*args: str, cache: Path) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run `octolint image ARGS --format json`: the process, its seconds and peak RSS."""
    started = time.monotonic()
    env = {**os.environ, "OCTOLINT_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    proc, peak = run_measured(
        [sys.executable, "-m", "octolint", "image", *args, "--format", "json"],
        env=env, timeout=SECONDS * 2,
    )  # fmt: skip
    return proc, time.monotonic() - started, peak


def assert_refused(proc: subprocess.CompletedProcess[str], reference: str, problem: str) -> None:
    """Exit 3 and one line on stderr naming the image and what is wrong."""
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.startswith("octolint: ")]
    assert len(lines) == 1 and reference in lines[0] and problem in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def chain(image: Image, depth: int) -> list[Blob]:
    """Indexes nested ``depth`` deep above the image: the outermost last."""
    blobs: list[Blob] = []
    below = image.manifest
    for _ in range(depth):
        blobs.append(index_blob([below.descriptor(platform=PLATFORMS[0])]))
        below = blobs[-1]
    return blobs


def test_indexes_nested_1500_deep(tmp_path: Path, image: Image) -> None:
    indexes = chain(image, 1500)
    assert sum(len(b.data) for b in indexes) < 1 << 20
    layout = write_layout(tmp_path / "layout", image, indexes, indexes[-1])
    proc, elapsed, peak = scan(f"{layout}:x", cache=tmp_path / "cache")
    assert_refused(proc, f"{layout}:x", f"more than {MAX_INDEX_DEPTH} levels deep")
    assert elapsed < SECONDS and peak < MAX_RSS


@pytest.mark.parametrize("depth", [2, MAX_INDEX_DEPTH])
def test_indexes_nested_within_the_bound_are_read(tmp_path: Path, image: Image, depth: int):
    indexes = chain(image, depth)
    layout = write_layout(tmp_path / "layout", image, indexes, indexes[-1])
    proc, _, _ = scan(f"{layout}:x", cache=tmp_path / "cache")
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["files"] == [f"{layout}:x (linux/amd64)"]


def test_a_6_wide_7_level_fan_out_with_all_platforms(tmp_path: Path, image: Image) -> None:
    """Every entry of a level names the same index below: 7 documents, 6**7 paths, one
    image (each distinct digest is read once)."""
    below, indexes = image.manifest, []
    for _ in range(7):
        indexes.append(index_blob([below.descriptor(platform=p) for p in PLATFORMS]))
        below = indexes[-1]
    assert sum(len(b.data) for b in indexes) < 12_000
    layout = write_layout(tmp_path / "layout", image, indexes, indexes[-1])
    proc, elapsed, peak = scan(f"{layout}:x", "--all-platforms", cache=tmp_path / "cache")
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["files"] == [f"{layout}:x (linux/amd64)"]
    assert elapsed < SECONDS and peak < MAX_RSS


def test_a_fan_out_of_distinct_documents_is_bounded(tmp_path: Path, image: Image) -> None:
    """6 indexes of 60 distinct manifests each: more documents than one reference may
    make octolint fetch."""
    manifests = [build_image([tar_layer({"n": str(n)})], cmd=["/bin/sh"]) for n in range(360)]
    groups = [manifests[k * 60 : (k + 1) * 60] for k in range(6)]
    middle = [index_blob([i.manifest.descriptor(platform=PLATFORMS[0]) for i in group])
              for group in groups]  # fmt: skip
    top = index_blob([b.descriptor(platform=PLATFORMS[0]) for b in middle])
    layout = write_layout(tmp_path / "layout", image, [*middle, top], top)
    for img in manifests:
        for blob in all_blobs(img):
            (layout / "blobs" / "sha256" / blob.digest.split(":")[1]).write_bytes(blob.data)
    proc, elapsed, peak = scan(f"{layout}:x", "--all-platforms", cache=tmp_path / "cache")
    assert_refused(proc, f"{layout}:x", f"more than {MAX_INDEX_DOCUMENTS} manifests")
    assert elapsed < SECONDS and peak < MAX_RSS


@pytest.mark.parametrize("all_platforms", [False, True])
def test_a_flat_index_of_15000_entries(tmp_path: Path, image: Image, all_platforms: bool):
    entries = [image.manifest.descriptor(platform=PLATFORMS[n % 6]) for n in range(15_000)]
    top = index_blob(entries)
    layout = write_layout(tmp_path / "layout", image, [top], top)
    args = ["--all-platforms"] if all_platforms else []
    proc, elapsed, peak = scan(f"{layout}:x", *args, cache=tmp_path / "cache")
    assert_refused(proc, f"{layout}:x", f"15000 manifests, more than the {MAX_INDEX_ENTRIES}")
    assert elapsed < SECONDS and peak < MAX_RSS


def named_entries(image: Image, count: int) -> list[dict[str, Any]]:
    return [image.manifest.descriptor(platform=PLATFORMS[n % 6],
                                      annotations={"org.opencontainers.image.ref.name": f"n{n}"})
            for n in range(count)]  # fmt: skip


def test_a_layout_index_json_of_15000_entries(tmp_path: Path, image: Image) -> None:
    """index.json is a layout's own index: the same bound applies."""
    layout = write_layout(tmp_path / "layout", image, [], image.manifest)
    document = {"schemaVersion": 2, "manifests": named_entries(image, 15_000)}
    (layout / "index.json").write_bytes(canonical_json(document))
    proc, elapsed, peak = scan(str(layout), "--all-platforms", cache=tmp_path / "cache")
    assert_refused(proc, str(layout), f"index.json lists 15000 manifests, more than the "
                                      f"{MAX_INDEX_ENTRIES}")  # fmt: skip
    assert elapsed < SECONDS and peak < MAX_RSS


def test_a_layout_of_4096_named_images_is_one_short_line(tmp_path: Path, image: Image) -> None:
    """Choosing among the names is linear, and the error lists a few names, not 4096."""
    layout = write_layout(tmp_path / "layout", image, [], image.manifest)
    document = {"schemaVersion": 2, "manifests": named_entries(image, MAX_INDEX_ENTRIES)}
    (layout / "index.json").write_bytes(canonical_json(document))
    proc, elapsed, peak = scan(str(layout), cache=tmp_path / "cache")
    assert_refused(proc, str(layout), f"holds {MAX_INDEX_ENTRIES} images; name one")
    assert len(proc.stderr) < 1000 and f"and {MAX_INDEX_ENTRIES - 20} more" in proc.stderr
    assert elapsed < SECONDS and peak < MAX_RSS


# -- the same through a real registry ------------------------------------------------------


def put_indexes(registry: Any, repository: str, indexes: Sequence[Blob], tag: str) -> None:
    """PUT each index by digest (children first, as the registry checks references), the
    outermost also by tag."""
    import requests

    with requests.Session() as session:
        session.trust_env = False
        for blob in indexes:
            for ref in (blob.digest, tag) if blob is indexes[-1] else (blob.digest,):
                answer = session.put(f"{registry.url}/v2/{repository}/manifests/{ref}",
                                     data=blob.data, headers={"Content-Type": blob.media_type},
                                     timeout=30)  # fmt: skip
                assert answer.status_code == 201, (answer.status_code, answer.text)


def test_a_registry_serving_nested_and_fanned_out_indexes(
    tmp_path: Path, image: Image, plain_registry: Any
) -> None:
    repository = "indexes/hostile"
    plain_registry.push(repository, "base", image)
    put_indexes(plain_registry, repository, chain(image, MAX_INDEX_DEPTH + 4), "deep")
    reference = plain_registry.ref(repository, "deep")
    proc, elapsed, _ = scan(reference, cache=tmp_path / "cache")
    assert_refused(proc, reference, f"more than {MAX_INDEX_DEPTH} levels deep")
    below, fan_out = image.manifest, []
    for _ in range(7):
        fan_out.append(index_blob([below.descriptor(platform=p) for p in PLATFORMS]))
        below = fan_out[-1]
    put_indexes(plain_registry, repository, fan_out, "wide")
    reference = plain_registry.ref(repository, "wide")
    proc, elapsed, peak = scan(reference, "--all-platforms", cache=tmp_path / "cache")
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["files"] == [f"{reference} (linux/amd64)"]
    assert elapsed < SECONDS and peak < MAX_RSS
