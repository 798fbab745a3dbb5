"""A pre-push hook must feel instant: the lint path imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import run_cli

HEAVY = ("rich", "docker", "requests", "jsonschema", "importlib.metadata", "tomllib", "zstandard")


def imported_modules(args: list[str], env_cache: Path, cwd: Path) -> tuple[set[str], str]:
    """The modules a run imports, and its stdout."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "octolint", *args],
        capture_output=True, text=True, cwd=cwd, timeout=60,
        env={"OCTOLINT_CACHE_DIR": str(env_cache), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names, proc.stdout


def test_json_lint_imports_nothing_heavy_once_rules_are_memoised(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM ubuntu:22.04\nCMD ["bash"]\n', encoding="utf-8")
    args = ["--format", "json", "Dockerfile"]
    first, _ = imported_modules(args, tmp_path / "cache", tmp_path)
    assert "importlib.metadata" in first  # the first run discovers the rule plugins
    assert (tmp_path / "cache" / "entry-points.json").is_file()
    second, report = imported_modules(args, tmp_path / "cache", tmp_path)
    assert '"OCT102"' in report  # the rules did run
    assert not second & set(HEAVY), second & set(HEAVY)


def test_memo_is_rebuilt_when_garbage(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM ubuntu:22.04\nCMD ["bash"]\n', encoding="utf-8")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "entry-points.json").write_text("{not json", encoding="utf-8")
    _, report = imported_modules(["--format", "json", "Dockerfile"], cache, tmp_path)
    assert '"OCT102"' in report
    assert '"values"' in (cache / "entry-points.json").read_text(encoding="utf-8")


def test_dockerfile_lint_imports_only_dockerfile_rules(tmp_path: Path) -> None:
    """Image and deploy rules (and what they import) stay unloaded for a Dockerfile."""
    (tmp_path / "Dockerfile").write_text('FROM ubuntu:22.04\nCMD ["bash"]\n', encoding="utf-8")
    args = ["--format", "json", "Dockerfile"]
    imported_modules(args, tmp_path / "cache", tmp_path)  # builds the memo
    names, report = imported_modules(args, tmp_path / "cache", tmp_path)
    assert '"OCT102"' in report
    assert "octolint.image.target" not in names
    assert "octolint.deploy.target" not in names


def test_editing_a_rule_file_refreshes_its_memoised_metadata(tmp_path: Path) -> None:
    from test_plugins import make_plugin

    plugin_dir = make_plugin(tmp_path / "site")
    env = {"PYTHONPATH": str(plugin_dir), "OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}
    assert "Base image uses the latest tag." in run_cli(["rules"], env=env).stdout
    module = plugin_dir / "acme_rules.py"
    module.write_text(
        module.read_text(encoding="utf-8").replace("uses the latest tag", "is unpinned"),
        encoding="utf-8",
    )
    listing = run_cli(["rules"], env=env).stdout
    assert "Base image is unpinned." in listing
    assert "uses the latest tag" not in listing
