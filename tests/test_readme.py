"""The README is part of the product: its commands and rule table must stay true."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from conftest import REPO, run_cli

from octolint.rulebook import load_rules

README = (REPO / "README.md").read_text(encoding="utf-8")
TOOL = REPO / "tools" / "update_readme.py"


def update_readme() -> ModuleType:
    """tools/update_readme.py, which writes the README's rules table."""
    spec = importlib.util.spec_from_file_location("update_readme", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rule_table_is_generated_from_the_rule_modules() -> None:
    tool = update_readme()
    _, table, _ = tool.split(README)
    assert table == tool.rules_table(), "stale rules table: run python tools/update_readme.py"
    rows = re.findall(r"^\| (\w+\d+) \| ([\w-]+) \| (\w+) \|", table, re.M)
    documented = {rule_id: (name, severity) for rule_id, name, severity in rows}
    actual = {r.id: (r.name, r.severity.label) for r in load_rules()}
    assert documented == actual  # the tool reads the rules octolint itself loads


def test_the_table_check_fails_on_a_stale_table(tmp_path: Path) -> None:
    tool = update_readme()
    head, table, tail = tool.split(README)
    stale = tmp_path / "README.md"
    stale.write_text(head + table.replace("| error |", "| warning |", 1) + tail, encoding="utf-8")
    tool.README = stale
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0
    assert stale.read_text(encoding="utf-8") == README


def test_quick_start_sample_exists_and_shows_findings() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "python -m pytest" in first_block
    sample = re.search(r"octolint (\S+)", first_block)
    assert sample and (REPO / sample.group(1)).is_file()
    result = run_cli([sample.group(1)], cwd=REPO)
    assert result.returncode == 1 and "3 problems" in result.stdout
    assert run_cli(["fixtures/sample/fixed.Dockerfile"], cwd=REPO).returncode == 0


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "-m pytest" in ci


def test_readme_lists_the_system_packages_ci_installs_and_what_ci_does() -> None:
    from conftest import apt_packages, install_command

    packages = apt_packages((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    assert {"docker.io", "docker-registry", "debootstrap", "npm"} <= set(packages)
    for package in packages:  # named as a whole word
        assert re.search(rf"(?<![\w.-]){re.escape(package)}(?![\w.-])", README), package
    assert install_command().endswith(" ".join(packages))
    ci_paragraph = README.split("`bash .ci/run` is what CI runs", 1)[1].split("\n\n", 1)[0]
    for fact in ("apt-get", "OCTOLINT_REQUIRE_INFRA=1", "ruff check .", "mypy", "python -m pytest"):
        assert fact in ci_paragraph, fact


def test_readme_states_the_exit_code_precedence() -> None:
    assert "The first that applies wins: 2, then 3, then 1, then 0." in README
