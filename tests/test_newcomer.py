"""Issue 16: help and messages a newcomer understands, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from octolint.cli import COMMAND_EXAMPLES, cli


def test_top_level_help_shows_lint_options_and_an_example_of_every_command() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0
    for option in ("--format", "--output", "--fail-on", "--ignore", "--build-arg", "--target"):
        assert option in result.stdout, option
    lines = result.stdout.splitlines()
    for name in cli.commands:  # type: ignore[attr-defined]
        example = COMMAND_EXAMPLES[name][0]
        assert example.startswith(f"octolint {name}")
        assert any(line.strip().startswith(example) for line in lines), name


def test_a_mistyped_command_gets_did_you_mean(tmp_path: Path) -> None:
    result = run_cli(["imag", "foo"], cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean 'octolint image'?" in result.stderr
    assert "no such file" not in result.stderr


def test_an_existing_path_named_like_a_command_is_linted(tmp_path: Path) -> None:
    (tmp_path / "imag").write_text("FROM ubuntu:22.04\nRUN apt-get install -y libicu70\n")
    result = run_cli(["imag"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_missing_file_far_from_any_command_is_an_input_error(tmp_path: Path) -> None:
    result = run_cli(["Dockerfil"], cwd=tmp_path)
    assert result.returncode == 3
    assert "Dockerfil: no such file or directory" in result.stderr
