"""The layer cache under real use: concurrent octolint processes, entries damaged or
edited by hand, and `octolint cache info|clear` (all through the real CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from forge import alter
from imagebuild import build_image, tar_layer, write_oci_archive

from octolint.image import layers
from octolint.image.cache import LayerCache
from octolint.image.store import FORMAT, CorruptStoreError

BASE = tar_layer(
    {"bin/sh": b"#!sh\n", "bin/bash": b"#!bash\n", "etc/os-release": "ID=debian\n"},
    dirs=["bin", "etc"],
)
EXTRA = [tar_layer({f"opt/app{n}/data": os.urandom(200_000)}, dirs=["opt", f"opt/app{n}"])
         for n in range(3)]  # fmt: skip


def images(tmp_path: Path) -> list[str]:
    """Three archives sharing the base layer (and two sharing a second one)."""
    paths = []
    for n in range(3):
        layers_ = [BASE, EXTRA[0], EXTRA[n]] if n else [BASE, EXTRA[0]]
        image = build_image(layers_, cmd=["/bin/bash"], env=[f"PATH=/opt/app{n}:/bin"])
        paths.append(str(write_oci_archive(tmp_path / f"image{n}.tar", [("x", image)])))
    return paths


def env_for(cache: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OCTOLINT_", "DOCKER_"))}
    return {**clean, "OCTOLINT_CACHE_DIR": str(cache), "DOCKER_HOST": "unix:///nonexistent",
            "NO_COLOR": "1"}  # fmt: skip


def start(cache: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "octolint", *args], env=env_for(cache),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def finish(process: subprocess.Popen[str]) -> Any:
    out, err = process.communicate(timeout=120)
    assert process.returncode in (0, 1), err
    return json.loads(out)["findings"]


def scan(cache: Path, paths: list[str]) -> Any:
    return finish(start(cache, "image", *paths, "--format", "json"))


def entries(cache: Path) -> dict[str, bytes]:
    directory = cache / "layers"
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def assert_all_valid(cache: Path) -> None:
    store = LayerCache(cache)
    names = sorted(os.listdir(store.directory))
    suffix = f"-v{layers.ANALYSER_VERSION}-f{FORMAT}.idx"
    assert names and all(n.endswith(suffix) for n in names), names
    for name in names:  # each entry is whole and is the layer its name says
        algorithm, hexdigest, *_ = name.split("-")
        assert store.get(f"{algorithm}:{hexdigest}") is not None, name


def test_two_processes_scanning_the_same_images_at_once(tmp_path: Path) -> None:
    paths = images(tmp_path)
    expected = scan(tmp_path / "reference-cache", paths)
    cache = tmp_path / "cache"
    for _ in range(3):  # racing on an empty cache, then on a full one
        running = [start(cache, "image", *order, "--format", "json")
                   for order in (paths, paths[::-1])]  # fmt: skip
        first, second = (finish(p) for p in running)
        assert first == expected
        assert sorted(second, key=str) == sorted(expected, key=str)
        assert_all_valid(cache)
    assert len(entries(cache)) == 4  # base, shared, two own layers: no duplicates or temps


def test_truncated_or_edited_entries_are_detected_and_rebuilt(tmp_path: Path) -> None:
    paths = images(tmp_path)
    cache = tmp_path / "cache"
    expected = scan(cache, paths)
    good = entries(cache)
    names = sorted(good)
    directory = cache / "layers"
    (directory / names[0]).write_bytes(good[names[0]][: len(good[names[0]]) // 2])
    edited = bytearray(good[names[1]])
    edited[-10] ^= 0x01
    (directory / names[1]).write_bytes(bytes(edited))
    (directory / names[2]).write_bytes(good[names[3]])  # another layer's (valid) entry
    (directory / names[3]).write_bytes(b"")
    assert scan(cache, paths) == expected
    assert entries(cache) == good  # every damaged entry was rebuilt, identical
    assert_all_valid(cache)


def test_entries_planted_with_a_valid_checksum_are_rebuilt_when_read(tmp_path: Path) -> None:
    paths = images(tmp_path)
    cache = tmp_path / "cache"
    expected = scan(cache, paths)
    good = entries(cache)
    for name in good:  # every row of every entry now has an impossible mode
        alter(cache / "layers" / name, "UPDATE node SET mode=-1")
    planted = entries(cache)
    assert scan(cache, paths) == expected
    rebuilt = [n for n, data in entries(cache).items() if data == good[n]]
    assert rebuilt  # the base layer's rows (/bin/sh...) are read by the rules
    store = LayerCache(cache)
    for name in set(good) - set(rebuilt):  # the rest were never read: still planted
        assert entries(cache)[name] == planted[name]
        algorithm, hexdigest, *_ = name.split("-")
        with pytest.raises(CorruptStoreError):
            store.get(f"{algorithm}:{hexdigest}").node("/opt")  # type: ignore[union-attr]


def test_cache_info_and_clear(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    scan(cache, images(tmp_path))
    (cache / "layers" / ".tmp-leftover.idx").write_bytes(b"half")  # a crashed writer's
    info = subprocess.run([sys.executable, "-m", "octolint", "cache", "info"],
                          env=env_for(cache), capture_output=True, text=True)  # fmt: skip
    assert info.returncode == 0 and f"{cache / 'layers'}: 4 layer(s)" in info.stdout
    clear = subprocess.run([sys.executable, "-m", "octolint", "cache", "clear"],
                           env=env_for(cache), capture_output=True, text=True)  # fmt: skip
    assert clear.returncode == 0 and "removed 4 layer(s)" in clear.stdout
    assert not list((cache / "layers").iterdir())
    again = subprocess.run([sys.executable, "-m", "octolint", "cache", "info"],
                           env=env_for(cache), capture_output=True, text=True)  # fmt: skip
    assert ": 0 layer(s)" in again.stdout
