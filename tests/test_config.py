"""Configuration files: discovery, every setting, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

BAD = 'FROM debian:bookworm-slim\nCMD ["bash"]\n'


def rule_ids_of(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f["rule_id"] for f in json.loads(result.stdout)["findings"]]


def test_found_by_walking_up(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", 'ignore = ["OCT102"]\n')
    path = write("services/api/Dockerfile", BAD)
    result = run_cli(["--format", "json", str(path)], cwd=tmp_path / "services")
    assert rule_ids_of(result) == ["OCT107"]


def test_pyproject_table(write) -> None:  # type: ignore[no-untyped-def]
    write("pyproject.toml", '[project]\nname = "x"\n\n[tool.octolint]\nignore = ["OCT107"]\n')
    path = write("Dockerfile", BAD)
    assert rule_ids_of(run_cli(["--format", "json", str(path)])) == ["OCT102"]


def test_pyproject_without_table_is_passed_over(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", 'ignore = ["OCT107"]\n')
    write("app/pyproject.toml", '[project]\nname = "x"\n')
    path = write("app/Dockerfile", BAD)
    assert rule_ids_of(run_cli(["--format", "json", str(path)])) == ["OCT102"]


def test_search_stops_at_repository_root(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", 'ignore = ["OCT102", "OCT107"]\n')
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    path = write("repo/Dockerfile", BAD)
    assert rule_ids_of(run_cli(["--format", "json", str(path)])) == ["OCT107", "OCT102"]


def test_severity_override_and_fail_on(write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", 'severity = { OCT107 = "error" }\n')
    path = write("Dockerfile", "FROM debian:bookworm-slim\n")
    result = run_cli(["--format", "json", str(path)])
    assert result.returncode == 1
    assert json.loads(result.stdout)["findings"][0]["severity"] == "error"


def test_fail_on_from_config_and_cli_wins(write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", 'fail-on = "warning"\n')
    path = str(write("Dockerfile", "FROM debian:bookworm-slim\n"))
    assert run_cli([path]).returncode == 1
    assert run_cli(["--fail-on", "error", path]).returncode == 0


def test_rule_options(write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", '[rules.OCT103]\nmusl-images = ["acme/tiny*"]\n')
    path = write("Dockerfile", "FROM acme/tiny-base:1\n")
    assert rule_ids_of(run_cli(["--format", "json", str(path)])) == ["OCT103"]


ALPINE = 'FROM alpine:3.20\nCMD ["sh"]\n'  # OCT103 musl-base, OCT102 cmd


@pytest.mark.parametrize(
    ("config", "args", "expected"),
    [
        ("", ["--ignore", "musl-base"], ["OCT102"]),
        ("", ["--ignore", "MUSL-BASE", "--ignore", "oct102"], []),
        ('ignore = ["musl-base"]\n', [], ["OCT102"]),
        ('severity = { musl-base = "note", oct102 = "warning" }\n', [],
         [("OCT103", "note"), ("OCT102", "warning")]),
    ],
)  # fmt: skip
def test_rules_are_named_by_id_or_name_in_any_case(  # type: ignore[no-untyped-def]
    write, config: str, args: list[str], expected: list[object]
) -> None:
    write(".octolint.toml", config)
    path = write("Dockerfile", ALPINE)
    result = run_cli(["--format", "json", *args, str(path)])
    findings = json.loads(result.stdout)["findings"]
    if expected and isinstance(expected[0], tuple):
        assert [(f["rule_id"], f["severity"]) for f in findings] == expected
    else:
        assert [f["rule_id"] for f in findings] == expected  # and no OCT001 note


def test_rule_options_by_rule_name(write) -> None:  # type: ignore[no-untyped-def]
    write(".octolint.toml", '[rules.musl-base]\nmusl-images = ["acme/tiny*"]\n')
    path = write("Dockerfile", "FROM acme/tiny-base:1\n")
    assert rule_ids_of(run_cli(["--format", "json", str(path)])) == ["OCT103"]
    write(".octolint.toml", '[rules.musl-base]\nno-such-option = 1\n')
    result = run_cli(["--format", "json", str(path)])
    assert result.returncode == 2 and "rules.musl-base.no-such-option" in result.stderr


def test_unknown_rule_silences_its_own_notes(write) -> None:  # type: ignore[no-untyped-def]
    path = write("Dockerfile", "# octolint ignore=NOPE999\nFROM debian:bookworm-slim\n")
    assert "OCT001" in rule_ids_of(run_cli(["--format", "json", str(path)]))
    assert "OCT001" not in rule_ids_of(
        run_cli(["--format", "json", "--ignore", "unknown-rule", str(path)])
    )


def test_explicit_config_flag(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    config = write("elsewhere/custom.toml", 'ignore = ["OCT102", "OCT107"]\n')
    path = write("Dockerfile", BAD)
    assert run_cli(["--config", str(config), str(path)]).returncode == 0


@pytest.mark.parametrize(
    ("content", "key", "reason"),
    [
        ("ignore = 'OCT101'\n", "ignore", "must be a list of strings"),
        ("igonre = ['OCT101']\n", "igonre", "unknown setting"),
        ("fail-on = 'sometimes'\n", "fail-on", "must be one of"),
        ("severity = { OCT107 = 'fatal' }\n", "severity.OCT107", "unknown severity"),
        ("[rules.OCT103]\nmusl-image = []\n", "rules.OCT103.musl-image", "has no option"),
        ("[rules.OCT103]\nmusl-images = 'x'\n", "rules.OCT103.musl-images", "must be a list"),
        # element types are checked too: a list of numbers is a config error, not a crash
        ("[rules.OCT103]\nmusl-images = [1]\n", "rules.OCT103.musl-images",
         "must be a list of str values: item 1 is 1 (int)"),
        ("[rules.OCT107]\nicu-packages = ['a', true]\n", "rules.OCT107.icu-packages",
         "item 2 is True (bool)"),
        ("ignore = [\n", None, "invalid TOML"),
    ],
)
def test_invalid_config_is_exit_2_naming_file_key_reason(
    write,
    content: str,
    key: str | None,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    config = write(".octolint.toml", content)
    result = run_cli([str(write("Dockerfile", BAD))])
    assert result.returncode == 2
    assert str(config) in result.stderr and reason in result.stderr
    if key:
        assert f"'{key}'" in result.stderr
    assert "Traceback" not in result.stderr


def test_pyproject_keys_are_named_in_full(write) -> None:  # type: ignore[no-untyped-def]
    write("pyproject.toml", "[tool.octolint]\nexclude = 3\n")
    result = run_cli([str(write("Dockerfile", BAD))])
    assert result.returncode == 2 and "'tool.octolint.exclude'" in result.stderr


def test_missing_explicit_config(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(["--config", str(tmp_path / "nope.toml"), str(write("Dockerfile", BAD))])
    assert result.returncode == 2 and "nope.toml" in result.stderr


def test_unknown_rule_in_config_is_a_note(write) -> None:  # type: ignore[no-untyped-def]
    config = write(".octolint.toml", 'ignore = ["OCT102", "OCT1O7"]\n')
    result = run_cli(["--format", "json", str(write("Dockerfile", BAD))])
    notes = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "OCT001"]
    assert len(notes) == 1
    assert notes[0]["file"] == str(config) and notes[0]["line"] == 1
    assert "OCT1O7" in str(notes[0]["message"])
