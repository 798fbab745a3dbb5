"""Directory discovery finds real-world Dockerfile names (issue 13, point 5) and skips
files named after a Dockerfile that are not one."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_directory_finds_real_world_dockerfile_names(tmp_path: Path) -> None:
    found = [
        "Dockerfile", "Powershell_Dockerfile", "app-Dockerfile", "Dockerfile_windows",
        "Dockerfile-alpine", "DOCKERFILE.prod", "api.dockerfile", "worker.Containerfile",
        "Containerfile_arm64", "app.Dockerfile.test", "sub/Dockerfile.windows-ltsc2019",
    ]  # fmt: skip
    skipped = [
        "Dockerfile.md", "Dockerfile-guide.md", "README.Dockerfile.txt", "Dockerfile.json",
        "Dockerfile.yml", "build-dockerfile.sh", "Dockerfile.ps1", "Dockerfile.bak",
        "Dockerfile.dockerignore", "Dockerfile.j2", "MyDockerfile", "Dockerfiles",
        "Dockerfile2", "notes.txt",
    ]  # fmt: skip
    for name in found + skipped:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("FROM ubuntu:22.04\nRUN true\n", encoding="utf-8")
    result = run_cli(["--format", "json", "--fail-on", "never", "."], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)["files"]) == sorted(found)
    # a name the walk skips is still linted when named
    named = run_cli(["--format", "json", "--fail-on", "never", "Dockerfile.md"], cwd=tmp_path)
    assert json.loads(named.stdout)["files"] == ["Dockerfile.md"]
