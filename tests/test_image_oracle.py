"""A real .NET program as the oracle for OCT203/OCT204.

``@microsoft/sarif-multitool-linux`` (npm, fetched by tests/multitool.py) ships
``Sarif.Multitool``, a self-contained single-file x86_64 .NET application: it
needs what Calamari needs from the image (glibc, ICU unless invariant
globalization is on). For each variant of a real Debian minbase bookworm root
filesystem, the program is started in a chroot of it, and octolint's verdict on
the matching image must agree: OCT203 or OCT204 is reported exactly when the
program does not start.

Needs root (chroot, mounting proc), npm and the Debian tooling of tests/realroots.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Union

import pytest
from conftest import run_cli
from imagebuild import build_image, write_oci_archive
from multitool import sarif_multitool
from realroots import (
    SpecItem,
    cache_root,
    deb_files,
    debian_rootfs,
    layer_tar,
    missing_infra,
    require_tool,
)

ICU_FAILURE = "Couldn't find a valid ICU package"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INVARIANT = "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1"
MUSL_LOADER_LINK: list[SpecItem] = [
    ("lib64", "dir", None),
    ("lib64/ld-linux-x86-64.so.2", "symlink", "/lib/ld-musl-x86_64.so.1"),
]
ICU_DIR = "usr/lib/x86_64-linux-gnu"
DELETE_ICUUC: list[SpecItem] = [
    (f"{ICU_DIR}/libicuuc.so.72", "whiteout", None),
    (f"{ICU_DIR}/libicuuc.so.72.1", "whiteout", None),
]
OPT_ICU = "/opt/icu/lib"

Layer = Union[Callable[[Path], Path], Sequence[SpecItem]]


def minbase(_: Path) -> Path:
    return debian_rootfs()


def debs(*packages: str) -> Callable[[Path], Path]:
    return lambda _: deb_files(list(packages))


def icu_under_opt(work: Path) -> Path:
    """libicu72's libraries moved to /opt/icu/lib, where only LD_LIBRARY_PATH finds them."""
    tree = work / "icu-under-opt"
    lib = tree / OPT_ICU.lstrip("/")
    lib.mkdir(parents=True, exist_ok=True)
    for item in (deb_files(["libicu72"]) / ICU_DIR).iterdir():
        shutil.copy2(item, lib / item.name, follow_symlinks=False)
    return tree


# name -> (layers, Env, does the real program start?)
VARIANTS: dict[str, tuple[list[Layer], list[str], bool]] = {
    "minbase": ([minbase], [DEFAULT_PATH], False),
    "minbase+libicu72": ([minbase, debs("libicu72")], [DEFAULT_PATH], True),
    "minbase+invariant": ([minbase], [DEFAULT_PATH, INVARIANT], True),
    "minbase+libicu72-whiteout": (
        [minbase, debs("libicu72"), DELETE_ICUUC], [DEFAULT_PATH], False
    ),
    "minbase+icu-in-opt": ([minbase, icu_under_opt], [DEFAULT_PATH], False),
    "minbase+icu-in-opt+LD_LIBRARY_PATH": (
        [minbase, icu_under_opt], [DEFAULT_PATH, f"LD_LIBRARY_PATH={OPT_ICU}"], True
    ),
    "musl-only": ([debs("musl"), MUSL_LOADER_LINK], [DEFAULT_PATH], False),
}  # fmt: skip


@pytest.fixture(scope="session")
def multitool() -> Path:
    """Sarif.Multitool, unpacked once from the npm tarball (both kept in the test cache)."""
    return sarif_multitool()


@pytest.fixture(scope="session")
def chroot_ok() -> str:
    if os.geteuid() != 0:
        missing_infra("the .NET oracle needs root (chroot and mounting proc)")
    require_tool("mount")
    require_tool("umount")
    return require_tool("chroot")


def materialise(root: Path, layers: Sequence[Path | Sequence[SpecItem]]) -> None:
    """Apply the layers to an empty ``root`` as an engine would (dirs, symlinks, whiteouts)."""
    root.mkdir()
    for layer in layers:
        if isinstance(layer, Path):
            subprocess.run(["cp", "-a", f"{layer}/.", str(root)], check=True)
            continue
        for name, kind, target in (item[:3] for item in layer):
            path = root / name
            if kind == "dir":
                path.mkdir(exist_ok=True)
            elif kind == "symlink":
                path.symlink_to(str(target))
            elif kind == "whiteout":
                path.unlink()
            else:
                raise ValueError(kind)


@pytest.fixture
def rootfs() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="octolint-oracle-", dir=cache_root()))
    try:
        yield work / "root"
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)


def oracle_starts(chroot: str, root: Path, binary: Path, env: Sequence[str]) -> tuple[bool, str]:
    """Start the program in a chroot of ``root``; (started, its output)."""
    target = root / "opt" / "sm" / "Sarif.Multitool"
    target.parent.mkdir(parents=True)
    shutil.copy2(binary, target)
    (root / "proc").mkdir(exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    variables = dict(item.split("=", 1) for item in env)
    variables.setdefault("HOME", "/root")
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        proc = subprocess.run(
            [chroot, str(root), "/opt/sm/Sarif.Multitool", "--version"],
            env=variables, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=True)
    output = proc.stdout + proc.stderr
    return proc.returncode == 0 and ICU_FAILURE not in output, f"exit {proc.returncode}: {output}"


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.infra
def test_octolint_agrees_with_a_real_dotnet_program(
    variant: str, chroot_ok: str, multitool: Path, rootfs: Path, tmp_path: Path
) -> None:
    recipe, env, expected_start = VARIANTS[variant]
    layers = [item(tmp_path) if callable(item) else item for item in recipe]
    materialise(rootfs, layers)
    started, output = oracle_starts(chroot_ok, rootfs, multitool, env)
    # What the real program does, pinned, so that a broken oracle cannot pass unnoticed.
    assert started == expected_start, f"{variant}: oracle {output}"

    image = build_image([layer_tar(layer, None) for layer in layers], compression="none",
                        env=env, cmd=["bash"])  # fmt: skip
    path = write_oci_archive(tmp_path / "image.tar", [("oracle", image)])
    proc = run_cli(
        ["image", str(path), "--format", "json"],
        env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert proc.returncode in (0, 1), proc.stderr
    found = {f["rule_id"] for f in json.loads(proc.stdout)["findings"] if f["severity"] == "error"}
    blocked = found & {"OCT203", "OCT204"}
    assert bool(blocked) == (not started), f"{variant}: octolint {sorted(found)}; oracle {output}"
    if variant == "musl-only":
        assert "OCT203" in blocked
