"""`octolint image --probe` against a real dockerd, on images of real Debian root filesystems.

The probe is the one time octolint runs image content, so these tests check
what a user relies on: it agrees with the static reading on a correct image,
it reports a real disagreement (a library whose file is present but which the
image's own loader cannot load), the container is confined (HostConfig of the
real container, inspected while it runs), a hanging probe is cut off by the
time limit, and Ctrl-C removes the container and exits cleanly.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from imagebuild import Image, build_image, write_docker_archive, write_oci_archive
from realroots import deb_files, debian_layer, layer_tar

from octolint.image.probe import LABEL, MEMORY_LIMIT, PIDS_LIMIT

LIBDIR = "usr/lib/x86_64-linux-gnu"
# Deletes ICU's data library, which libicuuc.so.72 needs: the file libicuuc.so.72
# stays, so the static reading finds ICU, but the loader cannot load it.
WHITEOUT_ICUDATA = layer_tar(
    [(f"{LIBDIR}/libicudata.so.72", "whiteout", None),
     (f"{LIBDIR}/libicudata.so.72.1", "whiteout", None)],
    None,
)  # fmt: skip
# /etc/os-release as a FIFO nobody writes to: reading it blocks forever, so the
# probe really hangs (the static reading does not read FIFOs).
HANGING_OS_RELEASE = layer_tar([("etc/os-release", "fifo", None)], None)


# -- images, loaded into the session's dockerd ------------------------------------------


@pytest.fixture(scope="session")
def base_tar() -> bytes:
    return gzip.decompress(debian_layer().read_bytes())


@pytest.fixture(scope="session")
def icu_ssl_tar() -> bytes:
    return layer_tar(deb_files(["libicu72", "libssl3"]), None)


def image_of(layers: list[bytes]) -> Image:
    return build_image(layers, compression="none", cmd=["bash"])


@pytest.fixture(scope="session")
def loaded(docker_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """load(image) -> a tag of that image in the test engine."""
    directory = tmp_path_factory.mktemp("probe-images")
    done: dict[str, str] = {}

    def load(image: Image) -> str:
        key = image.config.digest
        if key not in done:
            tag = f"octolint-test/probe-{uuid.uuid4().hex[:8]}:1"
            path = write_docker_archive(directory / f"{tag.split('/')[1]}.tar", [(image, [tag])])
            docker_engine.load(path.read_bytes())
            path.unlink()
            done[key] = tag
        return done[key]

    return load


@pytest.fixture(scope="module")
def layer_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One layer cache for the module: the static reading is not what is tested here,
    and a warm cache spares a `docker save` of the image per scan."""
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture
def probe_env(docker_engine: Any, layer_cache: Path) -> Iterator[dict[str, str]]:
    env = {"DOCKER_HOST": docker_engine.host, "OCTOLINT_CACHE_DIR": str(layer_cache)}
    yield env
    # Every test, passing or not, must leave no probe container behind.
    assert probe_containers(docker_engine) == []


def probe_containers(engine: Any) -> list[Any]:
    return list(engine.client.containers.list(all=True, filters={"label": LABEL}))


def scan(tag: str, env: dict[str, str], *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_cli(["image", tag, "--source", "daemon", "--format", "json", *extra], env=env)
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"], proc.stderr


def ids(findings: list[dict[str, Any]]) -> set[str]:
    return {f["rule_id"] for f in findings}


def one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


# -- agreement and disagreement ----------------------------------------------------------


def test_probe_agrees_with_a_correct_image(loaded, base_tar, icu_ssl_tar, probe_env):
    """ICU and OpenSSL added from packages without running ldconfig: /etc/ld.so.cache
    does not list them, but the loader finds them in its default directories, and so
    does the static reading. No OCT290; the exit code follows the findings."""
    tag = loaded(image_of([base_tar, icu_ssl_tar]))
    code, findings, _ = scan(tag, probe_env)
    probed_code, probed, _ = scan(tag, probe_env, "--probe")
    assert "OCT290" not in ids(probed)
    assert (probed_code, probed) == (code, findings)
    assert not ids(probed) & {"OCT203", "OCT204"}


def test_probe_reports_a_library_that_cannot_load(loaded, base_tar, icu_ssl_tar, probe_env):
    """libicuuc.so.72 is in the layers but its libicudata.so.72 was deleted: the static
    reading sees ICU (no OCT204), the image's own loader cannot load it: OCT290."""
    tag = loaded(image_of([base_tar, icu_ssl_tar, WHITEOUT_ICUDATA]))
    _, findings, _ = scan(tag, probe_env)
    assert "OCT204" not in ids(findings)
    code, probed, _ = scan(tag, probe_env, "--probe", "--fail-on", "warning")
    [mismatch] = [f for f in probed if f["rule_id"] == "OCT290"]
    assert mismatch["severity"] == "warning" and code == 1
    message = mismatch["message"]
    assert message.startswith("ICU:") and "loads none" in message, message
    assert "libicuuc.so.72" in message, message
    where = mismatch["location"]  # the library the layers show, and its layer
    assert where["path"].endswith("libicuuc.so.72") and where["layer"].startswith("sha256:")
    # The probe adds OCT290 only: the static findings stay as they were.
    assert [f for f in probed if f["rule_id"] != "OCT290"] == findings


def test_static_shell_gives_no_loader_verdicts(loaded, probe_env):
    """A static busybox as /bin/sh ignores LD_PRELOAD, so every library would seem to
    load; the probe's sentinel (a soname that exists nowhere) "loads" too, which tells
    octolint the loader answers mean nothing: no OCT290 for them."""
    busybox = layer_tar(deb_files(["busybox-static"]), None)
    shell = layer_tar([("bin/sh", "symlink", "busybox")], None)
    tag = loaded(image_of([busybox, shell]))
    _, findings, _ = scan(tag, probe_env)
    assert "OCT203" in ids(findings)  # no dynamic loader, statically
    _, probed, _ = scan(tag, probe_env, "--probe")
    assert probed == findings


# -- errors ------------------------------------------------------------------------------

TINY = build_image([layer_tar([("etc/hostname", "file", b"x\n")], None)], compression="none")


def test_probe_without_an_engine(tmp_path):
    path = write_oci_archive(tmp_path / "tiny.tar", [("t", TINY)])
    nowhere = f"unix://{tmp_path}/no-engine.sock"
    env = {"DOCKER_HOST": nowhere, "OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}
    proc = run_cli(["image", str(path), "--probe"], env=env)
    line = one_line_error(proc, 3)
    assert "--probe needs a Docker engine" in line and nowhere in line, line


def test_probe_of_an_image_the_engine_lacks(tmp_path, probe_env):
    path = write_oci_archive(tmp_path / "tiny.tar", [("t", TINY)])
    proc = run_cli(["image", str(path), "--probe"], env=probe_env)
    line = one_line_error(proc, 3)
    assert "needs the image in the Docker engine" in line, line


# -- confinement, time limit, Ctrl-C -----------------------------------------------------


def start_octolint(tag: str, env: dict[str, str]) -> subprocess.Popen[str]:
    full = {**os.environ, "NO_COLOR": "1", **env}
    full.pop("OCTOLINT_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "octolint", "image", tag, "--source", "daemon", "--probe"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
        # Python installs its Ctrl-C handling only when SIGINT is not ignored at start
        # (it is in background jobs); a user's terminal never ignores it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def running_probe(engine: Any, proc: subprocess.Popen[str], timeout: float = 120) -> Any:
    """The probe container, once it is running (fails if octolint ends first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for container in probe_containers(engine):
            container.reload()
            if container.status == "running":
                return container
        time.sleep(0.2)
    raise AssertionError("no probe container started")


def test_container_is_confined_and_time_limited(loaded, base_tar, docker_engine, probe_env):
    tag = loaded(image_of([base_tar, HANGING_OS_RELEASE]))
    proc = start_octolint(tag, {**probe_env, "OCTOLINT_PROBE_TIMEOUT": "8"})
    try:
        container = running_probe(docker_engine, proc)
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert container.attrs["Config"].get("NetworkDisabled") is True
        assert container.attrs["NetworkSettings"]["Networks"].keys() <= {"none"}
        assert host["ReadonlyRootfs"] is True
        assert host["Memory"] == 256 << 20 and MEMORY_LIMIT == "256m"
        assert host["MemorySwap"] == host["Memory"]  # no swap on top
        assert host["PidsLimit"] == PIDS_LIMIT
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["Privileged"] is False and not host["Binds"]
        assert container.attrs["Config"]["Entrypoint"][:2] == ["/bin/sh", "-c"]
        started = time.monotonic()
        _, stderr = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # Expected: about 10 s (the 8 s limit, then the container's removal); 10x that. A probe
    # left hanging never ends.
    assert time.monotonic() - started < 100
    line = one_line_error(subprocess.CompletedProcess([], proc.returncode, "", stderr), 3)
    assert "did not finish within 8 s" in line and tag in line, line


def test_ctrl_c_removes_the_container(loaded, base_tar, docker_engine, probe_env):
    tag = loaded(image_of([base_tar, HANGING_OS_RELEASE]))
    proc = start_octolint(tag, {**probe_env, "OCTOLINT_PROBE_TIMEOUT": "300"})
    try:
        running_probe(docker_engine, proc)
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # Promptly (expected: a few seconds to remove the container; bound 10x that, far below
    # the 300 s limit), cleanly, and nothing left in the engine (probe_env checks that again
    # after the test).
    assert time.monotonic() - interrupted < 60
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "octolint: interrupted", stderr
    assert stdout == ""
    assert probe_containers(docker_engine) == []
