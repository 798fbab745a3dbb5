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


IMAGE_PLUGIN = textwrap.dedent(
    '''
    """ACME002 acme-config: the image must say it was built by ACME."""
    from collections.abc import Iterator

    from octolint.plugin import ImageTarget, Options, Problem, SarifScore, list_of, problem_at

    ID = "ACME002"
    NAME = "acme-config"
    SEVERITY = "error"
    APPLIES_TO = "image"
    SUMMARY = "/etc/acme.conf does not name an allowed builder."
    HINT = "Build with the ACME pipeline."
    OPTIONS = {"builders": list_of(str, default=["acme"])}
    READS_FILES = ("/etc/acme.conf",)
    SARIF_SCORE = SarifScore("6.5", "high", security=True)

    def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
        content = target.fs.read("/etc/acme.conf") if target.fs else None
        builder = (content or b"").decode().strip()
        if builder not in options["builders"]:
            yield problem_at(target.at(file="/etc/acme.conf"), f"built by {builder!r}")
    '''
)


def image_plugin(root: Path, source: str = IMAGE_PLUGIN) -> dict[str, str]:
    plugin_dir = make_plugin(root)
    (plugin_dir / "acme_rules.py").write_text(source, encoding="utf-8")
    info = plugin_dir / "acme_rules-1.0.dist-info" / "entry_points.txt"
    info.write_text("[octolint.rules]\nACME002 = acme_rules\n")
    return {"PYTHONPATH": str(plugin_dir)}


def test_image_plugin_reads_the_file_it_declares_even_from_a_warm_cache(tmp_path: Path) -> None:
    """READS_FILES: the layer index keeps the file for the plugin, and a layer cached
    before the plugin was installed (without that file's contents) is read again."""
    from imagebuild import build_image, tar_layer, write_oci_archive

    layer = tar_layer({"etc/acme.conf": "rogue\n", "etc/os-release": "ID=debian\n"})
    write_oci_archive(tmp_path / "app.tar", [("app", build_image([layer]))])
    cache = {"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}
    args = ["image", "app.tar", "--format", "json"]
    before = run_cli(args, cwd=tmp_path, env=cache)  # caches the layer, no plugin yet
    assert "ACME002" not in before.stdout
    env = {**cache, **image_plugin(tmp_path / "site")}
    result = run_cli(args, cwd=tmp_path, env=env)
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "ACME002"]
    assert [f["message"] for f in found] == ["built by 'rogue'"], result.stderr
    where = found[0]["location"]
    assert where["path"] == "/etc/acme.conf" and where["layer"].startswith("sha256:")


def test_plugin_options_are_checked_against_their_declared_types(tmp_path: Path) -> None:
    env = image_plugin(tmp_path / "site")
    (tmp_path / ".octolint.toml").write_text("[rules.ACME002]\nbuilders = ['a', 2]\n")
    (tmp_path / "Dockerfile").write_text("FROM ubuntu\n")
    result = run_cli(["Dockerfile"], cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "rules.ACME002.builders" in result.stderr and "item 2 is 2 (int)" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_rule_whose_check_takes_another_kinds_target_is_refused(tmp_path: Path) -> None:
    """APPLIES_TO and check()'s annotated target must agree: a mismatch is found when
    the plugin loads (exit 2), not as an AttributeError in the middle of a scan."""
    wrong = IMAGE_PLUGIN.replace("target: ImageTarget", "target: DockerfileTarget")
    # as the built-in rules are written: annotations stay strings, nothing is imported
    future = "from __future__ import annotations\n"
    wrong = wrong.replace("from collections.abc", future + "from collections.abc")
    env = image_plugin(tmp_path / "site", wrong)
    (tmp_path / "Dockerfile").write_text("FROM ubuntu\n")
    result = run_cli(["Dockerfile"], cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "acme_rules" in result.stderr
    assert "APPLIES_TO is 'image' but check() takes a DockerfileTarget" in result.stderr


def test_the_rule_memo_keeps_every_fact_of_a_rule(tmp_path: Path) -> None:
    """The second run reads the rule from the on-disk memo without importing it: its
    options, SARIF score and READS_FILES must come back the same."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **image_plugin(tmp_path / "site"),
           "OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    code = ("from octolint.rulebook import load_rules\n"
            "rule = {r.id: r for r in load_rules()}['ACME002']\n"
            "print(type(rule.check).__name__, rule.options, rule.sarif_score, rule.reads_files)")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=60) for _ in range(2)]  # fmt: skip
    assert runs[1].returncode == 0, runs[1].stderr
    assert "_DeferredCheck" in runs[1].stdout  # from the memo, not imported
    facts = [run.stdout.split(" ", 1)[1] for run in runs]
    assert facts[0] == facts[1]
    assert "items='str'" in facts[1] and "6.5" in facts[1] and "/etc/acme.conf" in facts[1]
