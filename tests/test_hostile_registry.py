"""`octolint image` against a registry that misbehaves: the fault-injecting proxy of
tests/infra.py in front of the real docker-registry (and the token proxy).

Each fault is either survived (retried with backoff, resumed with a Range request)
or reported in one line naming the registry, the repository and the step, with exit
code 3, within a bound set by ``--timeout``. A blob that does not match its digest
is rejected and never cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from imagebuild import Image, build_image, tar_layer

if TYPE_CHECKING:
    from infra import Proxy, Registry

# Random content does not compress: the layer blob is ~3 MiB, several reads long.
BIG_LAYER = tar_layer(
    {"bin/sh": b"#!fake shell\n", "bin/bash": b"#!fake bash\n", "srv/blob": os.urandom(3 << 20)},
    dirs=["bin", "srv"],
)
SMALL_LAYER = tar_layer({"etc/os-release": "ID=debian\nVERSION_ID=12\n"}, dirs=["etc"])


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def image() -> Image:
    return build_image([SMALL_LAYER, BIG_LAYER], cmd=["/bin/bash"])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "docker").mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OCTOLINT_", "DOCKER_"))}
    return {
        **clean,
        "OCTOLINT_CACHE_DIR": str(tmp_path / "cache"),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
        "NO_PROXY": "127.0.0.1,localhost",
        "NO_COLOR": "1",
    }


def octolint(
    env: dict[str, str], *args: str, bound: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `octolint image ARGS --source registry`; fail if it takes ``bound`` seconds."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "octolint", "image", "--source", "registry", *args],
        env=env, capture_output=True, text=True, timeout=bound + 30,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed < bound, f"took {elapsed:.1f}s (bound {bound}s)"
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def findings(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode in (0, 1), proc.stderr
    return list(json.loads(proc.stdout)["findings"])


def summary(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["rule_id"], f["message"]) for f in found]


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("octolint: error: "), proc.stderr
    return lines[0]


def cached(env: dict[str, str]) -> list[str]:
    return sorted(p.name for p in (Path(env["OCTOLINT_CACHE_DIR"]) / "layers").glob("*.idx"))


def pushed(registry: Registry, image: Image) -> str:
    repo = unique("hostile/app")
    registry.push(repo, "1", image)
    return repo


def big_blob(image: Image) -> str:
    return image.layers[1].digest


# -- a reset or stalled download is resumed -------------------------------------------------


@pytest.mark.parametrize("action", ["reset", "truncate", "stall"])
def test_a_broken_blob_download_is_resumed(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str], action: str
) -> None:
    repo = pushed(plain_registry, image)
    expected = findings(octolint({**env, "OCTOLINT_CACHE_DIR": env["OCTOLINT_CACHE_DIR"] + "-x"},
                                 plain_registry.ref(repo, "1"), "--format", "json"))  # fmt: skip
    fault_proxy.add_fault(f"/blobs/{big_blob(image)}", action, delay=6)
    proc = octolint(env, fault_proxy.ref(repo, "1"), "--format", "json", "--timeout", "3")
    assert summary(findings(proc)) == summary(expected)
    blob_gets = [s for s in fault_proxy.seen if big_blob(image) in s]
    assert len(blob_gets) == 2  # the broken one, then the rest with a Range request
    assert len(cached(env)) == 2


def test_a_download_that_keeps_breaking_is_a_clear_error(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    fault_proxy.add_fault(f"/blobs/{big_blob(image)}", "reset", count=100)
    # Expected: about 5 s on a loaded VM; 10x that. Retrying 100 resets would take longer.
    proc = octolint(env, fault_proxy.ref(repo, "1"), "--timeout", "5", bound=60)
    line = error_line(proc)
    assert f"registry {fault_proxy.host}, repository {repo}" in line
    assert f"fetching blob {big_blob(image)[:19]}: connection lost after" in line
    assert big_blob(image).split(":")[1] not in " ".join(cached(env))


# -- slow answers, 429, 5xx, expired tokens ---------------------------------------------------


def test_a_slow_registry_within_the_timeout_works(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    fault_proxy.add_fault("/manifests/", "slow", delay=1.5)
    fault_proxy.add_fault("/blobs/", "slow", delay=1.5, count=3)
    assert findings(octolint(env, fault_proxy.ref(repo, "1"), "-f", "json", "--timeout", "5"))


def test_a_registry_slower_than_the_timeout_is_given_up_in_time(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    fault_proxy.add_fault("/manifests/", "slow", delay=60, count=100)
    # Expected: about 4 s on a loaded VM (the 3 s timeout and start-up); bound 15x that.
    # Waiting for the proxy's answers instead would take 60 s per request, and 120 s or more.
    line = error_line(octolint(env, fault_proxy.ref(repo, "1"), "--timeout", "3", bound=60))
    assert f"registry {fault_proxy.host}, repository {repo}: fetching manifest 1:" in line
    assert "timed out" in line


def test_429_with_retry_after_is_waited_for(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    fault_proxy.add_fault("/manifests/", "status", status=429, retry_after="2")
    fault_proxy.add_fault("/blobs/", "status", status=429, retry_after="1", count=2)
    started = time.monotonic()
    assert findings(octolint(env, fault_proxy.ref(repo, "1"), "-f", "json"))
    assert time.monotonic() - started >= 3


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_registry_that_keeps_failing_is_a_clear_error_within_the_timeout(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str], status: int
) -> None:
    repo = pushed(plain_registry, image)
    fault_proxy.add_fault(f"/blobs/{big_blob(image)}", "status", status=status, count=1000)
    # Expected: about 3 s on a loaded VM; 10x that. Retrying all 1000 failures would not end.
    line = error_line(octolint(env, fault_proxy.ref(repo, "1"), "--timeout", "3", bound=40))
    assert f"registry {fault_proxy.host}, repository {repo}" in line
    assert f"fetching blob {big_blob(image)[:19]}: HTTP {status}" in line


def test_an_expired_token_is_renewed(
    token_registry: Proxy, plain_registry: Registry, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    token_registry.add_fault(f"/{repo}/blobs/", "expire", count=1)
    before = len(token_registry.tokens.requests_seen)  # type: ignore[union-attr]
    assert findings(octolint(env, token_registry.ref(repo, "1"), "-f", "json"))
    tokens = token_registry.tokens.requests_seen[before:]  # type: ignore[union-attr]
    assert len(tokens) == 2  # the first contact, then after the 401


def test_a_token_that_is_never_accepted_is_a_clear_error(
    token_registry: Proxy, plain_registry: Registry, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    token_registry.add_fault(f"/{repo}/manifests/", "expire", count=100)
    line = error_line(octolint(env, token_registry.ref(repo, "1")))
    assert (
        f"registry {token_registry.host}, repository {repo}: fetching manifest 1: HTTP 401" in line
    )


# -- content that does not match its digest ----------------------------------------------------


def test_a_corrupt_blob_is_rejected_and_never_cached(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    digest = big_blob(image)
    fault_proxy.add_fault(f"/blobs/{digest}", "corrupt")
    line = error_line(octolint(env, fault_proxy.ref(repo, "1")))
    assert f"image {fault_proxy.host}/{repo}:1 (registry {fault_proxy.host})" in line
    assert f"reading layer 2 of 2 ({digest[:19]}): digest mismatch: expected {digest}" in line
    assert digest.split(":")[1] not in " ".join(cached(env))
    # Without the fault, the same cache gets the real layer.
    assert findings(octolint(env, fault_proxy.ref(repo, "1"), "-f", "json"))
    assert any(digest.split(":")[1] in name for name in cached(env))


def test_a_corrupt_config_is_rejected(
    plain_registry: Registry, fault_proxy: Proxy, image: Image, env: dict[str, str]
) -> None:
    repo = pushed(plain_registry, image)
    fault_proxy.add_fault(f"/blobs/{image.config.digest}", "corrupt")
    line = error_line(octolint(env, fault_proxy.ref(repo, "1")))
    assert f"config {image.config.digest[:19]}: content does not match its digest" in line
    assert not cached(env)
