"""The README is part of the product: its commands and rule table must stay true."""

from __future__ import annotations

import re

from conftest import REPO, run_cli

from octolint.rulebook import load_rules

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_the_rules() -> None:
    rows = re.findall(r"^\| (\w+\d+) \| ([\w-]+) \| (\w+) \|", README, re.M)
    documented = {rule_id: (name, severity) for rule_id, name, severity in rows}
    actual = {r.id: (r.name, r.severity.label) for r in load_rules()}
    assert documented == actual


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
