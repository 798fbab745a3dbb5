"""The command line as users meet it: inputs, formats, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

# OCT102 (a note: Octopus replaces a CMD)
BAD = 'FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y libicu70\nCMD ["bash"]\n'
GOOD = "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y libicu70\n"
WARN_ONLY = "FROM debian:bookworm-slim\n"


def findings(stdout: str) -> list[dict[str, object]]:
    return json.loads(stdout)["findings"]  # type: ignore[no-any-return]


def test_clean_file_exits_0(write) -> None:  # type: ignore[no-untyped-def]
    result = run_cli([str(write("Dockerfile", GOOD))])
    assert result.returncode == 0, result.stderr
    assert "No problems" in result.stdout


def test_error_exits_1_with_rule_line_and_hint(write) -> None:  # type: ignore[no-untyped-def]
    # an ENTRYPOINT is an error for Octopus before 2021.2 (OCT101)
    path = write("Dockerfile", BAD.replace("CMD", "ENTRYPOINT"))
    result = run_cli(["--octopus-version", "2021.1", str(path)])
    assert result.returncode == 1
    assert "OCT101" in result.stdout and f"{path}:3:1" in result.stdout
    assert 'ENTRYPOINT ["bash"]' in result.stdout  # the offending source line
    assert "ENTRYPOINT []" in result.stdout  # the fix hint
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("fail_on", "code"), [("error", 0), ("warning", 1), ("note", 1), ("never", 0)]
)
def test_fail_on_threshold(write, fail_on: str, code: int) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(["--fail-on", fail_on, str(write("Dockerfile", WARN_ONLY))])
    assert result.returncode == code


def test_fail_on_never_with_errors(write) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(["--fail-on", "never", str(write("Dockerfile", BAD))]).returncode == 0


def test_stdin_and_several_paths(write) -> None:  # type: ignore[no-untyped-def]
    other = write("b/Containerfile", BAD)
    result = run_cli(["--format", "json", "--fail-on", "note", "-", str(other)],
                     stdin=BAD.encode())  # fmt: skip
    assert result.returncode == 1
    files = {f["file"] for f in findings(result.stdout)}
    assert files == {"<stdin>", str(other)}


def test_directory_discovery(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    for name in ("Dockerfile", "sub/Containerfile", "sub/api.Dockerfile", "x/Dockerfile.dev",
                 ".git/Dockerfile", "node_modules/pkg/Dockerfile", "vendor/Dockerfile",
                 "notes.txt"):  # fmt: skip
        write(name, BAD)
    write(".octolint.toml", 'exclude = ["vendor"]\n')
    result = run_cli(["--format", "json", "."], cwd=tmp_path)
    assert json.loads(result.stdout)["files"] == [
        "Dockerfile", "sub/Containerfile", "sub/api.Dockerfile", "x/Dockerfile.dev",
    ]  # fmt: skip


def test_a_leading_double_star_matches_no_directory_too(  # type: ignore[no-untyped-def]
    tmp_path: Path, write
) -> None:
    for name in ("testdata/Dockerfile", "a/b/testdata/Dockerfile", "app/Dockerfile"):
        write(name, BAD)
    write(".octolint.toml", 'exclude = ["**/testdata/*"]\n')  # the README's example
    result = run_cli(["--format", "json", "."], cwd=tmp_path)
    assert json.loads(result.stdout)["files"] == ["app/Dockerfile"]


def test_empty_directory_is_exit_3(tmp_path: Path) -> None:
    result = run_cli([str(tmp_path)])
    assert result.returncode == 3
    assert "no Dockerfiles found" in result.stderr and str(tmp_path) in result.stderr


def test_a_directory_whose_dockerfiles_are_all_excluded_says_so(  # type: ignore[no-untyped-def]
    tmp_path: Path, write
) -> None:
    write("vendor/a/Dockerfile", BAD)
    write("vendor/b/Dockerfile", BAD)
    write(".octolint.toml", 'exclude = ["vendor"]\n')
    result = run_cli(["vendor"], cwd=tmp_path)
    assert result.returncode == 3
    assert "no Dockerfiles found in this directory (2 excluded by the configuration's " \
        "exclude)" in result.stderr


def test_the_octopus_version_is_named_as_written(write) -> None:  # type: ignore[no-untyped-def]
    path = write("Dockerfile", BAD.replace("CMD", "ENTRYPOINT"))
    result = run_cli(["--octopus-version", "2021.2-beta", str(path)])
    # a pre-release of 2021.2 comes before it: the ENTRYPOINT is an error there
    assert "Octopus 2021.2-beta runs its own" in result.stdout and "2021.2b0" not in result.stdout


def test_missing_file_is_exit_3(tmp_path: Path) -> None:
    result = run_cli([str(tmp_path / "nope")])
    assert result.returncode == 3 and "no such file" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x7fELF\x00\x00\x01binary", "binary file"),
        ("FROM ubuntu\n".encode("utf-16-le"), "binary file"),  # UTF-16 without a BOM
        ("FROM ubuntu\n".encode("utf-32-be"), "binary file"),
    ],
)
def test_unreadable_content_is_exit_3(write, content: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write("Dockerfile", content)
    result = run_cli([str(path)])
    assert result.returncode == 3
    assert message in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_unreadable_file_through_a_dangling_link(tmp_path: Path) -> None:
    link = tmp_path / "Dockerfile"
    link.symlink_to(tmp_path / "missing")
    result = run_cli([str(link)])
    assert result.returncode == 3 and "cannot read" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the Dockerfile cannot be empty"),
        (b"\n# only a comment\n", "file with no instructions"),
        ("FROM ubuntu\nCMD []\n".encode("utf-16"), "UTF-16"),
        ("FROM ubuntu\nCMD []\n".encode("utf-32"), "UTF-32"),
        (b"FROM ubuntu\nRUN <<EOF\nx\n", "unterminated heredoc"),
    ],
)
def test_broken_dockerfile_is_an_oct100_finding(write, content: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(["--format", "json", str(write("Dockerfile", content))])
    assert result.returncode == 1
    (finding,) = findings(result.stdout)
    assert finding["rule_id"] == "OCT100" and message in str(finding["message"])


def test_enormous_line(write) -> None:  # type: ignore[no-untyped-def]
    # BuildKit refuses lines over 64 KiB; octolint says so instead of choking.
    path = write("Dockerfile", "FROM ubuntu:22.04\nRUN echo " + "x" * 2_000_000 + "\n")
    result = run_cli(["--format", "json", str(path)])
    (finding,) = findings(result.stdout)
    assert finding["rule_id"] == "OCT100" and finding["line"] == 2
    long_but_legal = write("Dockerfile", "FROM ubuntu:22.04\nRUN echo " + "x" * 60_000 + "\n")
    assert run_cli([str(long_but_legal)]).returncode == 0


def test_output_file_and_formats(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    path = write("Dockerfile", BAD)
    for fmt in ("human", "json", "sarif"):
        out = tmp_path / f"report.{fmt}"
        result = run_cli(["--format", fmt, "--output", str(out), "--fail-on", "note", str(path)])
        assert result.returncode == 1 and result.stdout == ""
        assert "OCT102" in out.read_text(encoding="utf-8")
    sarif = json.loads((tmp_path / "report.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"


def test_ignore_option(write) -> None:  # type: ignore[no-untyped-def]
    path = str(write("Dockerfile", BAD))
    assert run_cli(["--ignore", "OCT102", path]).returncode == 0
    result = run_cli(["--format", "json", "--ignore", "OCT102", "--ignore", "OCT9", path])
    notes = [f for f in findings(result.stdout) if f["rule_id"] == "OCT001"]
    assert len(notes) == 1 and "OCT9" in str(notes[0]["message"])


def test_target_option(write) -> None:  # type: ignore[no-untyped-def]
    path = str(write("Dockerfile", 'FROM ubuntu AS a\nCMD ["x"]\nFROM ubuntu:22.04 AS b\n'))
    assert "OCT102" in run_cli(["--target", "a", path]).stdout
    result = run_cli(["--target", "zzz", path])
    assert result.returncode == 2 and "no stage named 'zzz'" in result.stderr


def test_target_missing_from_one_of_several_files(write) -> None:  # type: ignore[no-untyped-def]
    # the file without the stage is named; the others are still linted and reported
    with_stage = str(write("with/Dockerfile", 'FROM ubuntu:22.04 AS final\nCMD ["x"]\n'))
    without = str(write("without/Dockerfile", "FROM ubuntu:22.04 AS base\n"))
    result = run_cli(["--format", "json", "--target", "final", with_stage, without])
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        f"{without}: --target: no stage named 'final' (stages: base)"
    )
    document = json.loads(result.stdout)
    assert {f["file"] for f in document["findings"]} == {with_stage}
    assert [e["input"] for e in document["errors"]] == [without]


def test_quiet_prints_nothing_when_clean(write) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(["--quiet", str(write("Dockerfile", GOOD))]).stdout == ""
    assert "OCT102" in run_cli(["-q", str(write("Dockerfile", BAD))]).stdout


def test_no_color_and_color_on_terminal(write) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(["--no-color", str(write("Dockerfile", BAD))])
    assert "\x1b[" not in result.stdout


def test_usage_errors_exit_2(write) -> None:  # type: ignore[no-untyped-def]
    path = str(write("Dockerfile", GOOD))
    assert run_cli(["--format", "xml", path]).returncode == 2
    assert run_cli(["--build-arg", "=novalue", path]).returncode == 2
    assert run_cli(["--build-arg", "not a name", path]).returncode == 2
    assert run_cli(["explain", "OCT999"]).returncode == 2


def test_rules_and_explain() -> None:
    listing = run_cli(["rules"])
    assert listing.returncode == 0
    for rule_id in ("OCT100", "OCT101", "OCT105", "OCT109"):
        assert rule_id in listing.stdout
    assert "dockerfile" in listing.stdout and "error" in listing.stdout
    explained = run_cli(["explain", "OCT105"])
    assert explained.returncode == 0 and "nvm" in explained.stdout and "Fails" in explained.stdout
    assert run_cli(["explain", "no-cmd"]).stdout.startswith("OCT102")


def test_version_and_module_entry_point() -> None:
    from octolint import __version__

    assert __version__ in run_cli(["--version"]).stdout


def test_build_arg(write) -> None:  # type: ignore[no-untyped-def]
    path = str(write("Dockerfile", "ARG BASE\nFROM $BASE\n"))
    assert run_cli([path]).returncode == 0
    assert run_cli(["--build-arg", "BASE=alpine:3.20", path]).returncode == 1


def test_user_files_are_not_modified(write) -> None:  # type: ignore[no-untyped-def]
    path = write("Dockerfile", BAD)
    before = path.read_bytes(), path.stat().st_mtime_ns
    run_cli([str(path)])
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
