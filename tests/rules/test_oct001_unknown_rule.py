"""OCT001 unknown-rule: reported by the engine (it reads pragmas and configuration).

Unlike other rules it needs every rule loaded, to know which ids exist."""

from pathlib import Path

from rulecheck import where

from octolint.api import lint_bytes, make_engine
from octolint.config import Config
from octolint.engine import Engine
from octolint.model import Finding


def unknown(text: str) -> list[Finding]:
    found = lint_bytes(text.encode(), "Dockerfile", Engine(Config()))
    return [f for f in found if f.rule_id == "OCT001"]


def test_unknown_id_in_a_pragma_is_reported_at_the_pragma() -> None:
    found = unknown("FROM ubuntu:22.04\n# octolint ignore=OCT999\nRUN apt-get update\n")
    assert where(found) == [("OCT001", 2, 1, 2)]
    assert "'OCT999'" in found[0].message


def test_misspelt_pragma() -> None:
    found = unknown("FROM ubuntu\n# octolint ignroe=OCT107\nRUN true\n")
    assert where(found) == [("OCT001", 2, 1, 2)]
    assert "looks like an octolint pragma" in found[0].message


def test_unknown_id_in_the_configuration_file_names_its_line(tmp_path: Path) -> None:
    config = tmp_path / ".octolint.toml"
    config.write_text('fail-on = "error"\nignore = ["OCT10"]\n', encoding="utf-8")
    found = make_engine(config_path=config).config_findings()
    assert [(f.rule_id, f.location.line) for f in found] == [("OCT001", 2)]
    assert "unknown rule 'OCT10' in configuration" in found[0].message


def test_known_ids_and_names_pass() -> None:
    assert unknown("FROM ubuntu:22.04\n# octolint ignore=OCT107,no-cmd\nRUN apt-get update\n") == []
