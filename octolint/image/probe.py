"""``--probe``: run the image once, safely, to cross-check the static facts.

The only time octolint executes image content, and only when asked. The
container runs with the entrypoint cleared, no network, a read-only root
filesystem, no new privileges, a memory and a time limit, and is removed
afterwards even when octolint is interrupted. It runs ``cat /etc/os-release``
and ``ldconfig -p``; rule OCT290 reports where they disagree with what octolint
read from the layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from octolint.errors import InputError
from octolint.image.model import ResolvedImage

PROBE_SCRIPT = "cat /etc/os-release 2>/dev/null; echo ---octolint---; ldconfig -p 2>/dev/null"
MEMORY_LIMIT = "256m"
TIME_LIMIT_SECONDS = 60


@dataclass
class ProbeResult:
    os_release: dict[str, str] = field(default_factory=dict)
    sonames: set[str] = field(default_factory=set)  # from `ldconfig -p`
    ldconfig_ran: bool = False


class ProbeError(InputError):
    """The probe could not run (no engine, image not in the engine, timeout)."""


def parse_probe_output(text: str) -> ProbeResult:
    os_part, _, ld_part = text.partition("---octolint---")
    result = ProbeResult()
    for line in os_part.splitlines():
        key, eq, value = line.partition("=")
        if eq and key.strip():
            result.os_release[key.strip()] = value.strip().strip("'\"")
    for line in ld_part.splitlines():
        # "\tlibicuuc.so.72 (libc6,x86-64) => /lib/x86_64-linux-gnu/libicuuc.so.72"
        if "=>" in line:
            result.sonames.add(line.strip().split(" ", 1)[0])
            result.ldconfig_ran = True
    return result


def run_probe(image: ResolvedImage) -> ProbeResult:
    """Run the probe in the Docker engine (DOCKER_HOST); the image must be there."""
    import docker
    import docker.errors

    reference = image.config_digest or image.reference
    try:
        client = docker.from_env(timeout=TIME_LIMIT_SECONDS)
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        raise ProbeError(image.reference, "--probe needs the image in the Docker engine "
                         "(docker pull or docker load it first)") from None  # fmt: skip
    except docker.errors.DockerException as exc:
        raise ProbeError(image.reference, f"--probe needs a Docker engine: {exc}") from None
    container = client.containers.create(reference, **_safe_run_options())
    try:
        container.start()
        container.wait(timeout=TIME_LIMIT_SECONDS)
        output = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
    except Exception as exc:  # timeout (requests) or engine error: a one-line message
        raise ProbeError(image.reference, f"probe failed: {exc}") from None
    finally:
        container.remove(force=True)  # also runs on KeyboardInterrupt
    return parse_probe_output(output)


def _safe_run_options() -> dict[str, Any]:
    return {
        "entrypoint": ["/bin/sh", "-c"],
        "command": [PROBE_SCRIPT],
        "network_disabled": True,
        "network_mode": "none",
        "read_only": True,
        "mem_limit": MEMORY_LIMIT,
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
        "pids_limit": 64,
        "detach": True,
    }
