"""A third-party rule, defined outside the package, is found through its entry point."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import run_cli

PLUGIN = textwrap.dedent(
    '''
    """ACME001 no-latest: base images must be pinned.

    Fails:

    ```dockerfile
    FROM ubuntu:latest
    ```
    """
    from octolint.plugin import problem_at

    ID = "ACME001"
    NAME = "no-latest"
    SEVERITY = "warning"
    APPLIES_TO = "dockerfile"
    SUMMARY = "Base image uses the latest tag."
    HINT = "Pin a version."

    def check(target, options):
        for stage in target.build.stages:
            if stage.base and stage.base.endswith(":latest"):
                yield problem_at(stage.from_instruction, "latest tag", stage)
    '''
)


def make_plugin(root: Path) -> Path:
    """A real installed distribution: a module plus dist-info with an entry point."""
    root.mkdir(parents=True)
    (root / "acme_rules.py").write_text(PLUGIN, encoding="utf-8")
    info = root / "acme_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[octolint.rules]\nACME001 = acme_rules\n")
    return root


def test_plugin_rule_runs_and_is_listed(tmp_path: Path) -> None:
    plugin_dir = make_plugin(tmp_path / "site")
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:latest\nRUN apt-get install -y libicu70\n")
    env = {"PYTHONPATH": str(plugin_dir)}
    result = run_cli(["--format", "json", "--fail-on", "warning", "Dockerfile"], cwd=tmp_path,
                     env=env)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert [f["rule_id"] for f in json.loads(result.stdout)["findings"]] == ["ACME001"]
    assert "ACME001" in run_cli(["rules"], env=env).stdout
    assert "base images must be pinned" in run_cli(["explain", "ACME001"], env=env).stdout
    silenced = "# octolint ignore=no-latest\nFROM ubuntu:latest\nRUN apt-get install -y libicu70\n"
    (tmp_path / "Dockerfile").write_text(silenced, encoding="utf-8")
    quiet = run_cli(["--fail-on", "note", "Dockerfile"], cwd=tmp_path, env=env)
    assert quiet.returncode == 0, quiet.stdout


def test_broken_plugin_is_a_clear_error(tmp_path: Path) -> None:
    plugin_dir = make_plugin(tmp_path / "site")
    (plugin_dir / "acme_rules.py").write_text("ID = 'bad id'\n", encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("FROM ubuntu\n")
    result = run_cli(["Dockerfile"], cwd=tmp_path, env={"PYTHONPATH": str(plugin_dir)})
    assert result.returncode == 2
    assert "acme_rules" in result.stderr and "Traceback" not in result.stderr
