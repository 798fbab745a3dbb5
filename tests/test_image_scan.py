"""`octolint image` end to end: the real CLI on images built from real Debian root filesystems.

The base layer is ``debootstrap --variant=minbase bookworm`` (tests/realroots.py); extra
layers hold the files of real bookworm packages. Images are written by
tests/imagebuild.py and read through every source: OCI layout, oci-archive,
docker-archive, a registry on 127.0.0.1 and a private Docker engine (tests/infra.py).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from imagebuild import (
    Image,
    build_image,
    docker_archive_files,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
    write_tar,
)
from realroots import deb_files, debian_layer, layer_tar

from octolint.image import model as m

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NVM_BIN = "/root/.nvm/versions/node/v20.0.0/bin"


# -- layers, built once per session ------------------------------------------------------


@pytest.fixture(scope="session")
def base_tar() -> bytes:
    """The minbase bookworm rootfs as one uncompressed layer tar."""
    return gzip.decompress(debian_layer().read_bytes())


@pytest.fixture(scope="session")
def icu_ssl_tar() -> bytes:
    return layer_tar(deb_files(["libicu72", "libssl3"]), None)


@pytest.fixture(scope="session")
def musl_tar() -> bytes:
    return layer_tar(deb_files(["musl"]), None)


WHITEOUT_ICU = layer_tar(
    [("usr/lib/x86_64-linux-gnu/libicuuc.so.72", "whiteout", None),
     ("usr/lib/x86_64-linux-gnu/libicuuc.so.72.1", "whiteout", None)],
    None,
)  # fmt: skip
MUSL_LOADER_LINK = layer_tar(
    [("lib64", "dir", None),
     ("lib64/ld-linux-x86-64.so.2", "symlink", "/lib/ld-musl-x86_64.so.1")],
    None,
)  # fmt: skip
NVM_LAYER = layer_tar(
    [("root/.nvm/versions/node/v20.0.0/bin", "dir", None),
     (f"{NVM_BIN.lstrip('/')}/node", "file", b"\x7fELF fake node", 0o755)],
    None,
)  # fmt: skip


# -- helpers -----------------------------------------------------------------------------


def scan(
    args: Sequence[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run `octolint image ARGS --format json`; the process and its findings."""
    proc = run_cli(["image", *args, "--format", "json"], env=env)
    findings: list[dict[str, Any]] = []
    if proc.returncode in (0, 1):
        findings = json.loads(proc.stdout)["findings"]
    else:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc, findings


def ids(findings: list[dict[str, Any]], severity: str | None = None) -> set[str]:
    return {f["rule_id"] for f in findings if severity is None or f["severity"] == severity}


def of(findings: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == rule]


def archive(tmp_path: Path, image: Image, name: str = "image.tar") -> Path:
    return write_oci_archive(tmp_path / name, [("test", image)])


def image_of(layers: Sequence[bytes], **config: Any) -> Image:
    config.setdefault("cmd", ["bash"])
    return build_image(list(layers), compression="none", **config)


@pytest.fixture
def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}


# -- (a)-(c): ICU, OpenSSL, whiteouts ----------------------------------------------------


@pytest.mark.infra
def test_minbase_lacks_icu_and_openssl(tmp_path: Path, base_tar: bytes, cache_env):
    proc, findings = scan([str(archive(tmp_path, image_of([base_tar])))], cache_env)
    assert proc.returncode == 1
    assert "OCT204" in ids(findings, "error")
    assert "OCT203" not in ids(findings)
    assert not ids(findings) & {"OCT201", "OCT202", "OCT208", "OCT209"}
    errors = [f["message"] for f in of(findings, "OCT205") if f["severity"] == "error"]
    assert len(errors) == 1 and "OpenSSL" in errors[0] and "libssl3" in errors[0]
    notes = [f["message"] for f in of(findings, "OCT205") if f["severity"] == "note"]
    assert any("libgssapi_krb5.so.2" in n for n in notes)


@pytest.mark.infra
def test_icu_and_openssl_layer_fixes_both(tmp_path, base_tar, icu_ssl_tar, cache_env):
    _, findings = scan([str(archive(tmp_path, image_of([base_tar, icu_ssl_tar])))], cache_env)
    assert "OCT204" not in ids(findings)
    assert "OCT205" not in ids(findings, "error")
    assert "OCT203" not in ids(findings)


@pytest.mark.infra
def test_whiteout_of_icu_brings_oct204_back(tmp_path, base_tar, icu_ssl_tar, cache_env):
    image = image_of([base_tar, icu_ssl_tar, WHITEOUT_ICU])
    _, findings = scan([str(archive(tmp_path, image))], cache_env)
    assert "OCT204" in ids(findings, "error")
    assert "OCT205" not in ids(findings, "error")


@pytest.mark.infra
def test_invariant_globalization_env_silences_icu(tmp_path, base_tar, cache_env):
    image = image_of([base_tar], env=[DEFAULT_PATH, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1"])
    _, findings = scan([str(archive(tmp_path, image))], cache_env)
    assert "OCT204" not in ids(findings)


# -- (d) Entrypoint and Cmd --------------------------------------------------------------


@pytest.mark.infra
def test_entrypoint_and_cmd(tmp_path, base_tar, icu_ssl_tar, cache_env):
    layers = [base_tar, icu_ssl_tar]
    entry = image_of(layers, entrypoint=["/docker-entrypoint.sh"], cmd=None)
    _, findings = scan([str(archive(tmp_path, entry, "entry.tar"))], cache_env)
    # a supported Octopus (2021.2 on) replaces the Entrypoint: a warning (see
    # test_octopus_version.py for every version)
    assert ids(findings, "warning") & {"OCT201"} and "OCT202" not in ids(findings)
    assert "/docker-entrypoint.sh" in of(findings, "OCT201")[0]["message"]

    cmd = image_of(layers, cmd=["node", "x"])
    _, findings = scan([str(archive(tmp_path, cmd, "cmd.tar"))], cache_env)
    assert [f["severity"] for f in of(findings, "OCT202")] == ["note"]
    assert "OCT201" not in ids(findings)


# -- (e) musl ------------------------------------------------------------------------------


@pytest.mark.infra
def test_musl_only_image(tmp_path, musl_tar, cache_env):
    image = image_of([musl_tar, MUSL_LOADER_LINK], cmd=None)
    _, findings = scan([str(archive(tmp_path, image))], cache_env)
    [libc] = of(findings, "OCT203")
    assert libc["severity"] == "error" and "musl" in libc["message"]
    # the loader and its layer are the location, not words in the message
    where = libc["location"]
    assert where["kind"] == "image" and where["path"] == "/lib64/ld-linux-x86-64.so.2"
    assert where["layer"] == image.layers[1].digest and "(layer " not in libc["message"]


def test_a_scan_closes_the_layer_stores_it_opened(tmp_path, monkeypatch):
    """Also after a clean scan: each image's layer stores (SQLite files) are released."""
    import sqlite3

    from octolint.engine import Engine
    from octolint.image.scan import ScanOptions, scan_images
    from octolint.image.store import CorruptStoreError

    monkeypatch.setenv("OCTOLINT_CACHE_DIR", str(tmp_path / "cache"))
    image = image_of([layer_tar([("etc/os-release", "file", b"ID=debian\n")], None)])
    result = scan_images([str(archive(tmp_path, image))], Engine(), ScanOptions())
    (target,) = result.targets
    assert target.fs is not None and target.fs.layers
    for layer in target.fs.layers:
        with pytest.raises((sqlite3.ProgrammingError, CorruptStoreError), match="closed"):
            layer.node("/etc")


def test_no_loader_at_all(tmp_path, cache_env):
    image = image_of([layer_tar([("etc/hostname", "file", b"x\n")], None)], cmd=None)
    _, findings = scan([str(archive(tmp_path, image))], cache_env)
    [libc] = of(findings, "OCT203")
    assert "no dynamic loader" in libc["message"]


# -- (f) platforms -------------------------------------------------------------------------


def test_old_windows(tmp_path, cache_env):
    windows = m.Platform("windows", "amd64", os_version="10.0.14393.1000")
    image = image_of([], platform=windows, cmd=None, env=[])
    _, findings = scan([str(archive(tmp_path, image)), "--platform", "windows/amd64"], cache_env)
    [old] = of(findings, "OCT206")
    assert "10.0.14393.1000" in old["message"]
    assert not ids(findings) & {"OCT203", "OCT204", "OCT205", "OCT208"}


@pytest.mark.infra
def test_unsupported_architecture(tmp_path, base_tar, cache_env):
    image = image_of([base_tar], platform=m.Platform("linux", "s390x"))
    _, findings = scan([str(archive(tmp_path, image)), "--platform", "linux/s390x"], cache_env)
    [arch] = of(findings, "OCT209")
    assert "s390x" in arch["message"]


# -- (g) version-manager directories off PATH ------------------------------------------


@pytest.mark.infra
def test_nvm_node_not_on_path(tmp_path, base_tar, cache_env):
    off = image_of([base_tar, NVM_LAYER])
    _, findings = scan([str(archive(tmp_path, off, "off.tar"))], cache_env)
    [nvm] = of(findings, "OCT207")
    assert NVM_BIN in nvm["message"] and "node" in nvm["message"]

    on = image_of([base_tar, NVM_LAYER], env=[f"PATH={NVM_BIN}:/usr/local/bin:/usr/bin:/bin"])
    _, findings = scan([str(archive(tmp_path, on, "on.tar"))], cache_env)
    assert "OCT207" not in ids(findings)


MANAGERS_LAYER = layer_tar(
    [("opt/conda/bin/python", "file", b"\x7fELF", 0o755),
     ("root/.sdkman/candidates/java/17.0.2/bin/java", "file", b"\x7fELF", 0o755),
     ("root/.sdkman/candidates/java/current", "symlink", "17.0.2"),
     ("usr/local/nvm/versions/node/v20.0.0/bin/node", "file", b"\x7fELF", 0o755),
     ("root/.nvm", "symlink", "/usr/local/nvm"),
     ("root/.cargo/bin/README", "file", b"not a tool")],
    None,
)  # fmt: skip


@pytest.mark.infra
def test_version_managers_are_found_by_name_wherever_they_live(tmp_path, base_tar, cache_env):
    image = image_of([base_tar, MANAGERS_LAYER],
                     env=["PATH=/opt/conda/bin:/usr/local/bin:/usr/bin:/bin"])  # fmt: skip
    _, findings = scan([str(archive(tmp_path, image))], cache_env)
    messages = sorted(f["message"] for f in of(findings, "OCT207"))
    # /opt/conda/bin is on PATH; .cargo/bin holds no executable; nvm is reported
    # once although two paths reach it; sdkman's "current" symlink is followed.
    assert len(messages) == 2, messages
    assert "/root/.nvm/versions/node/v20.0.0/bin" in messages[0] and "node" in messages[0]
    assert "/root/.sdkman/candidates/java/current/bin" in messages[1] and "java" in messages[1]
    no_path = image_of([base_tar, MANAGERS_LAYER], env=["PATH=/usr/bin:/bin"])
    _, findings = scan([str(archive(tmp_path, no_path, "no-path.tar"))], cache_env)
    assert any("/opt/conda/bin" in f["message"] for f in of(findings, "OCT207"))


# -- (h) every source gives the same answer --------------------------------------------


@pytest.fixture(scope="session")
def source_image(base_tar: bytes) -> Image:
    return image_of([base_tar, NVM_LAYER], entrypoint=["/docker-entrypoint.sh"], cmd=["node", "x"])


def docker_load(host: str, path: Path) -> None:
    """`docker load` with a timeout fit for a 60 MB layer on vfs (the fixture's client has 5 s)."""
    import docker

    client = docker.APIClient(base_url=host, timeout=300)
    try:
        with path.open("rb") as data:
            for message in client.load_image(data):
                assert not (isinstance(message, dict) and message.get("error")), message
    finally:
        client.close()


SOURCE_FINDINGS = {"OCT201", "OCT202", "OCT204", "OCT205", "OCT207"}


@pytest.mark.parametrize("kind", ["layout", "oci-archive", "docker-archive", "registry", "daemon"])
@pytest.mark.infra
def test_every_source_agrees(
    kind: str, tmp_path: Path, source_image: Image, cache_env, request: pytest.FixtureRequest
):
    """The same image gives the same findings whichever source it is read from."""
    tag = f"octolint-test/scan-{uuid.uuid4().hex[:8]}:1"
    env = cache_env
    if kind == "layout":
        args = [str(write_oci_layout(tmp_path / "layout", [("test", source_image)]))]
    elif kind == "oci-archive":
        args = [str(write_oci_archive(tmp_path / "oci.tar", [("test", source_image)]))]
    elif kind == "docker-archive":
        args = [str(write_docker_archive(tmp_path / "docker.tar", [(source_image, [tag])]))]
    elif kind == "registry":
        registry = request.getfixturevalue("plain_registry")
        repo = f"scan/{uuid.uuid4().hex[:8]}"
        registry.push(repo, "1", source_image)
        args = [registry.ref(repo, "1"), "--source", "registry"]
    else:
        engine = request.getfixturevalue("docker_engine")
        docker_load(engine.host, write_docker_archive(tmp_path / "d.tar", [(source_image, [tag])]))
        args, env = [tag, "--source", "daemon"], {**cache_env, "DOCKER_HOST": engine.host}
    assert ids(scan(args, env)[1]) == SOURCE_FINDINGS


@pytest.mark.infra
def test_docker_archive_oci_layout_variant(tmp_path, source_image, cache_env):
    files, links = docker_archive_files([(source_image, ["x/y:1"])], layout="oci")
    path = write_tar(tmp_path / "docker25.tar", files, symlinks=links)
    assert "OCT201" in ids(scan([str(path)], cache_env)[1])


# -- (i) the layer cache -----------------------------------------------------------------


def cache_entries(env: dict[str, str]) -> str:
    proc = run_cli(["cache", "info"], env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def layer_files(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "layers").rglob("*") if p.is_file())


@pytest.mark.infra
def test_cache_reused_and_bypassed(tmp_path, base_tar, icu_ssl_tar, cache_env):
    path = str(archive(tmp_path, image_of([base_tar, icu_ssl_tar, WHITEOUT_ICU])))
    _, first = scan([path], cache_env)
    info = cache_entries(cache_env)
    assert "3 layer(s)" in info, info
    cached = layer_files(tmp_path / "cache")
    assert len(cached) == 3
    _, second = scan([path], cache_env)
    assert second == first
    assert cache_entries(cache_env) == info
    assert layer_files(tmp_path / "cache") == cached
    unused = {"OCTOLINT_CACHE_DIR": str(tmp_path / "unused")}
    _, third = scan([path, "--no-cache"], unused)
    assert third == first
    assert layer_files(tmp_path / "unused") == []
    assert "0 layer(s)" in cache_entries(unused)


# -- (j) --dockerfile ----------------------------------------------------------------------


@pytest.mark.infra
def test_findings_point_at_the_dockerfile(tmp_path, base_tar, icu_ssl_tar, cache_env):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        'FROM debian:bookworm-slim\nRUN true\nENTRYPOINT ["/docker-entrypoint.sh"]\n',
        encoding="utf-8",
    )
    image = image_of([base_tar, icu_ssl_tar], entrypoint=["/docker-entrypoint.sh"], cmd=None)
    path = archive(tmp_path, image)
    _, findings = scan([str(path), "--dockerfile", str(dockerfile)], cache_env)
    [entry] = of(findings, "OCT201")
    assert Path(entry["file"]).resolve() == dockerfile.resolve()
    assert entry["line"] == 3


# -- (k) bad input -------------------------------------------------------------------------


def one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_missing_archive(tmp_path, cache_env):
    missing = tmp_path / "absent.tar"
    proc = run_cli(["image", str(missing), "--source", "archive"], env=cache_env)
    assert "absent.tar" in one_line_error(proc, 3)


def test_registry_404(plain_registry, cache_env):
    ref = plain_registry.ref(f"scan/absent-{uuid.uuid4().hex[:8]}", "1")
    proc = run_cli(["image", ref, "--source", "registry"], env=cache_env)
    one_line_error(proc, 3)


def test_bad_platform(tmp_path, cache_env):
    proc = run_cli(["image", str(tmp_path / "x.tar"), "--platform", "garbage"], env=cache_env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "garbage" in proc.stderr
