"""A cache someone else can write is never trusted (issue 11, point 7).

Another user of a shared, world-writable ``OCTOLINT_CACHE_DIR`` plants files there:
a valid layer index that clears a broken image, a rule memo that removes every rule
or names a module to import, a ``layers`` symlink that redirects writes, files that
``cache clear`` must not delete. The tests run as root, so "another user" is uid
65534 (nobody) through os.chown, and everything goes through the real CLI.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from imagebuild import Image, build_image, tar_layer, write_oci_archive

from octolint.image import layers
from octolint.image.cache import LayerCache
from octolint.image.model import OCI_LAYER_TAR

NOBODY = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root"
)

# A musl image without ICU: OCT203 (musl loader) and OCT204 (no ICU) are errors.
MUSL = tar_layer(
    {"lib/ld-musl-x86_64.so.1": b"\0musl libc (x86_64)\nVersion 1.2.4\n", "bin/sh": b"\x7fELF"},
    symlinks={"lib64/ld-linux-x86-64.so.2": "/lib/ld-musl-x86_64.so.1"},
    dirs=["lib", "bin", "lib64"],
)
# What a planted index claims instead: glibc, ICU, OpenSSL and bash (no problem at all).
_ELF = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00\x3e\x00" + bytes(44)
_GLIBC = _ELF + b"GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\n"
_GNU = "usr/lib/x86_64-linux-gnu"
HEALTHY = tar_layer(
    {f"{_GNU}/{name}": _GLIBC if name.startswith(("ld-", "libc.")) else _ELF
     for name in ("ld-linux-x86-64.so.2", "libc.so.6", "libicuuc.so.72", "libicui18n.so.72",
                  "libssl.so.3", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1",
                  "libgssapi_krb5.so.2")}
    | {"usr/bin/bash": _ELF, "usr/bin/sh": _ELF},
    symlinks={"lib64/ld-linux-x86-64.so.2": f"/{_GNU}/ld-linux-x86-64.so.2",
              "bin": "usr/bin", "lib": "usr/lib"},
    dirs=["usr", "usr/bin", "usr/lib", _GNU, "lib64"],
)  # fmt: skip


def env_for(cache: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OCTOLINT_", "DOCKER_"))}
    return {**clean, "OCTOLINT_CACHE_DIR": str(cache), "DOCKER_HOST": "unix:///nonexistent",
            "NO_COLOR": "1", **extra}  # fmt: skip


def octolint(cache: Path, *args: str, cwd: Path | None = None, **extra: str) -> Any:
    return subprocess.run([sys.executable, "-m", "octolint", *args], env=env_for(cache, **extra),
                          capture_output=True, text=True, timeout=120, cwd=cwd)  # fmt: skip


def errors(cache: Path, archive: Path) -> tuple[set[str], str]:
    """The rule ids of the error findings of a scan, and its stderr."""
    proc = octolint(cache, "image", str(archive), "--format", "json")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    return {f["rule_id"] for f in findings if f["severity"] == "error"}, proc.stderr


@pytest.fixture
def musl_image(tmp_path: Path) -> tuple[Image, Path]:
    image = build_image([MUSL], compression="none", cmd=["/bin/sh"])
    return image, write_oci_archive(tmp_path / "musl.tar", [("x", image)])


def plant_healthy_index(cache: Path, digest: str) -> Path:
    """A valid entry (right schema, digest and CRC) for ``digest`` with HEALTHY's content."""
    index = layers.index_layer(io.BytesIO(HEALTHY), layers_digest(HEALTHY), OCI_LAYER_TAR)
    LayerCache(cache).store(dataclasses.replace(index, digest=digest))
    (entry,) = (cache / "layers").iterdir()
    return entry


def layers_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def give_away(*paths: Path) -> None:
    for path in paths:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def test_the_planted_index_would_clear_the_image_if_it_were_trusted(
    tmp_path: Path, musl_image: tuple[Image, Path]
) -> None:
    """The control: the same planted entry, in the user's own cache, is believed."""
    image, archive = musl_image
    assert {"OCT203", "OCT204"} <= errors(tmp_path / "clean", archive)[0]
    plant_healthy_index(tmp_path / "own", image.layers[0].digest)
    assert not errors(tmp_path / "own", archive)[0] & {"OCT203", "OCT204"}


@needs_root
@pytest.mark.parametrize(
    "setup", ["world-writable cache", "layers of another user", "entry of another user",
              "group-writable entry", "world-writable layers"],
)  # fmt: skip
def test_a_planted_index_does_not_change_the_verdict(
    tmp_path: Path, musl_image: tuple[Image, Path], setup: str
) -> None:
    image, archive = musl_image
    cache = tmp_path / "shared"
    entry = plant_healthy_index(cache, image.layers[0].digest)
    if setup == "world-writable cache":
        cache.chmod(0o777)
        give_away(cache / "layers", entry)
    elif setup == "layers of another user":
        give_away(cache / "layers", entry)
    elif setup == "entry of another user":
        give_away(entry)
    elif setup == "group-writable entry":
        entry.chmod(0o660)
    else:
        (cache / "layers").chmod(0o777)
    before = snapshot(cache / "layers")
    found, stderr = errors(cache, archive)
    assert {"OCT203", "OCT204"} <= found
    warnings = [line for line in stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "not using the cache" in warnings[0], stderr
    if "entry" not in setup:  # an untrusted directory is neither read nor written
        assert snapshot(cache / "layers") == before


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in root.rglob("*")}


@needs_root
@pytest.mark.parametrize("setup", ["link of another user", "non-sticky shared parent"])
def test_a_cache_directory_another_user_can_replace_is_not_used(
    tmp_path: Path, musl_image: tuple[Image, Path], setup: str
) -> None:
    image, archive = musl_image
    planted = tmp_path / "planted"
    plant_healthy_index(planted, image.layers[0].digest)
    shared = tmp_path / "shared"
    shared.mkdir()
    if setup == "link of another user":  # the planted directory is the user's, the link not
        shared.chmod(0o1777)
        cache = shared / "cache"
        cache.symlink_to(planted)
        give_away(cache)
    else:  # anyone could rename the user's own cache away and put another in its place
        shared.chmod(0o777)
        cache = shared / "cache"
        planted.rename(cache)
    found, stderr = errors(cache, archive)
    assert {"OCT203", "OCT204"} <= found and "not using the cache" in stderr


def test_a_private_cache_in_a_sticky_shared_directory_is_used(
    tmp_path: Path, musl_image: tuple[Image, Path]
) -> None:
    """/tmp-like: others can write the parent but not replace what the user made there."""
    _, archive = musl_image
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    found, stderr = errors(shared / "cache", archive)
    assert {"OCT203", "OCT204"} <= found and "warning" not in stderr
    assert len(list((shared / "cache" / "layers").iterdir())) == 1
    assert (shared / "cache").stat().st_mode & 0o777 == 0o700
    assert (shared / "cache" / "entry-points.json").stat().st_mode & 0o777 == 0o600


def test_a_symlinked_entry_is_not_followed_and_is_replaced(
    tmp_path: Path, musl_image: tuple[Image, Path]
) -> None:
    image, archive = musl_image
    cache = tmp_path / "cache"
    entry = plant_healthy_index(tmp_path / "elsewhere", image.layers[0].digest)
    (cache / "layers").mkdir(parents=True)
    link = cache / "layers" / entry.name
    link.symlink_to(entry)
    before = entry.read_bytes()
    assert {"OCT203", "OCT204"} <= errors(cache, archive)[0]
    assert entry.read_bytes() == before  # the link's target is untouched
    assert not link.is_symlink() and LayerCache(cache).get(image.layers[0].digest) is not None


def test_a_layers_symlink_receives_no_writes(
    tmp_path: Path, musl_image: tuple[Image, Path]
) -> None:
    _, archive = musl_image
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    cache.mkdir(mode=0o700)
    elsewhere.mkdir(mode=0o700)
    (cache / "layers").symlink_to(elsewhere)
    found, stderr = errors(cache, archive)
    assert {"OCT203", "OCT204"} <= found
    assert "is a symbolic link" in stderr
    assert not list(elsewhere.iterdir())


def test_cache_clear_leaves_unrelated_files_and_link_targets_alone(
    tmp_path: Path, musl_image: tuple[Image, Path]
) -> None:
    image, archive = musl_image
    cache = tmp_path / "cache"
    errors(cache, archive)  # one real entry
    directory = cache / "layers"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data.idx").write_text("keep", encoding="utf-8")
    entry_like = "sha256-" + "ab" * 32 + "-v1-f2.idx"
    unrelated = {
        "README": "notes",
        "notes.idx": "not an entry",
        ".tmp-x.idx.bak": "not a temporary",
    }
    for name, text in unrelated.items():
        (directory / name).write_text(text, encoding="utf-8")
    (directory / entry_like).symlink_to(outside / "data.idx")
    (directory / ("sha256-" + "cd" * 32 + "-v1-f2.idx")).mkdir()
    clear = octolint(cache, "cache", "clear")
    assert clear.returncode == 0 and "removed 1 layer(s)" in clear.stdout, clear.stderr
    left = sorted(os.listdir(directory))
    assert left == sorted([*unrelated, entry_like, "sha256-" + "cd" * 32 + "-v1-f2.idx"])
    assert (outside / "data.idx").read_text(encoding="utf-8") == "keep"
    assert LayerCache(cache).get(image.layers[0].digest) is None


@needs_root
def test_cache_clear_leaves_another_users_files_and_a_redirected_layers_alone(
    tmp_path: Path, musl_image: tuple[Image, Path]
) -> None:
    image, _ = musl_image
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    entry = plant_healthy_index(elsewhere, image.layers[0].digest)
    give_away(entry)  # another user's entry in the user's own cache
    clear = octolint(elsewhere, "cache", "clear")
    assert clear.returncode == 0 and entry.exists()
    cache.mkdir(mode=0o700)
    (cache / "layers").symlink_to(elsewhere / "layers")
    entry.chmod(0o600)
    os.chown(entry, os.getuid(), os.getgid())
    clear = octolint(cache, "cache", "clear")
    assert clear.returncode == 0 and "is a symbolic link" in clear.stderr
    assert entry.exists()


# -- the rule memo --------------------------------------------------------------------------

MARKER_MODULE = """\
import os
open(os.environ["MARKER"], "w").close()
ID, NAME, SEVERITY, APPLIES_TO = "EVIL001", "evil", "note", "dockerfile"
SUMMARY = HINT = "planted"
def check(target, options):
    return []
"""


def lint(cache: Path, tmp_path: Path) -> tuple[set[str], str]:
    """The rule ids a Dockerfile lint reports, and its stderr (the planted module is
    importable: it sits in the working directory)."""
    proc = octolint(cache, "--format", "json", "--fail-on", "never", "Dockerfile", cwd=tmp_path,
                    MARKER=str(tmp_path / "imported"))  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return {f["rule_id"] for f in json.loads(proc.stdout)["findings"]}, proc.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM ubuntu\nRUN apt-get install -y curl\n")
    (tmp_path / "planted_rules.py").write_text(MARKER_MODULE, encoding="utf-8")
    return tmp_path


def plant_memo(cache: Path, project: Path, how: str) -> Path:
    """A genuine memo (written by a run), then edited as an attacker would."""
    lint(cache, project)
    memo = cache / "entry-points.json"
    data = json.loads(memo.read_text(encoding="utf-8"))
    if how == "no rules":
        data["values"], data["rules"] = [], {}
    else:
        data["values"] = ["planted_rules"]  # and no description: imported to describe it
        data["rules"] = {}
    memo.write_text(json.dumps(data), encoding="utf-8")
    return memo


@pytest.mark.parametrize("how", ["no rules", "planted module"])
def test_the_users_own_memo_never_decides_what_is_imported(
    tmp_path: Path, project: Path, how: str
) -> None:
    """Even a memo that passes the owner check must list the installed entry points."""
    cache = tmp_path / "cache"
    expected, _ = lint(tmp_path / "reference", project)
    assert expected  # the Dockerfile has findings to lose
    plant_memo(cache, project, how)
    assert lint(cache, project)[0] == expected
    assert not (project / "imported").exists()


@needs_root
@pytest.mark.parametrize("how", ["no rules", "planted module"])
def test_another_users_memo_is_ignored(tmp_path: Path, project: Path, how: str) -> None:
    cache = tmp_path / "shared"
    expected, _ = lint(tmp_path / "reference", project)
    memo = plant_memo(cache, project, how)
    give_away(memo)
    cache.chmod(0o777)
    found, stderr = lint(cache, project)
    assert found == expected and not (project / "imported").exists()
    assert "not using the cache" in stderr
    assert memo.stat().st_uid == NOBODY  # nothing was written into the shared directory
