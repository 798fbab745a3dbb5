"""Issue 16: one input that cannot be read no longer throws the whole report away.

Every input is processed and every requested report written, with the findings of
all inputs that could be read; the unreadable one is named on stderr and in each
format (SARIF tool notification, JSON ``errors``, a JUnit ``<error>``, a GitHub
annotation, a GitLab ``blocker``), and the exit code is 3 (README's precedence).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import run_cli
from imagebuild import build_image, tar_layer, write_oci_archive
from test_formats import gitlab_validator, junit_schema

from octolint.schemas import load_schema

# OCT103 (an error) and OCT101 (a warning for a supported Octopus, 2021.2 and later)
ALPINE = 'FROM alpine:3.19\nENTRYPOINT ["/app/run"]\n'
BINARY = b"FROM debian\n\x00\x01\x02 not text\n"
EVERY_FORMAT = ("json", "sarif", "junit", "github", "gitlab")


def every_format(command: list[str]) -> list[str]:
    """``command`` writing each format to its own file, and human to stdout."""
    args = list(command)
    for fmt in EVERY_FORMAT:
        args += ["-f", fmt, "-o", f"out.{fmt}"]
    return [*args, "-f", "human"]


def reports(tmp_path: Path) -> dict[str, str]:
    return {fmt: (tmp_path / f"out.{fmt}").read_text(encoding="utf-8") for fmt in EVERY_FORMAT}


def assert_valid(written: dict[str, str]) -> dict[str, Any]:
    """Each report parses and is valid against its format's schema."""
    document = json.loads(written["json"])
    jsonschema.validate(document, load_schema("octolint-report.schema.json"))
    sarif = json.loads(written["sarif"])
    jsonschema.validate(sarif, load_schema("sarif-2.1.0.json"))
    gitlab_validator().validate(json.loads(written["gitlab"]))
    return {"json": document, "sarif": sarif, "junit": ET.fromstring(written["junit"])}


def assert_names_unread(written: dict[str, str], unread: str, message_part: str) -> None:
    """The unreadable input is named, as an error, in every format."""
    parsed = assert_valid(written)
    errors = parsed["json"]["errors"]
    assert any(e["input"] == unread and message_part in e["message"] for e in errors), errors
    (invocation,) = parsed["sarif"]["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any(unread in n and message_part in n for n in notes), notes
    junit = parsed["junit"]
    suite = next(s for s in junit.iter("testsuite") if s.get("name") == unread)
    assert suite.get("errors") == "1" and message_part in suite.find("testcase/error").text
    assert int(junit.get("errors")) >= 1
    github = written["github"].splitlines()
    assert any(line.startswith("::error title=octolint") and unread in line
               and message_part in line for line in github), github  # fmt: skip
    issues = json.loads(written["gitlab"])
    assert any(i["check_name"] == "input-error" and i["location"]["path"] == unread
               and i["severity"] == "blocker" for i in issues), issues  # fmt: skip


def test_a_binary_dockerfile_beside_a_good_one_keeps_every_report(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a/Dockerfile").write_text(ALPINE, encoding="utf-8")
    (tmp_path / "b/Dockerfile").write_bytes(BINARY)
    result = run_cli(every_format(["."]), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr == (
        "octolint: error: b/Dockerfile: binary file (contains NUL bytes): not a Dockerfile\n"
    )
    written = reports(tmp_path)
    assert_names_unread(written, "b/Dockerfile", "binary file")
    document = json.loads(written["json"])
    assert document["files"] == ["a/Dockerfile"]
    summary = document["summary"]
    assert (summary["errors"], summary["warnings"]) == (1, 1)  # a's findings are all there
    assert {f["rule_id"] for f in document["findings"]} >= {"OCT101", "OCT103"}
    sarif_results = json.loads(written["sarif"])["runs"][0]["results"]
    assert sorted(r["level"] for r in sarif_results) == ["error", "warning"]
    assert "a/Dockerfile:1:1" in result.stdout
    assert "1 input could not be read" in result.stdout


def test_a_binary_star_dockerfile_in_the_tree(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/Dockerfile").write_text(ALPINE, encoding="utf-8")
    (tmp_path / "app/tools.Dockerfile").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = run_cli(every_format(["app"]), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert_names_unread(reports(tmp_path), "app/tools.Dockerfile", "binary file")
    assert "app/Dockerfile:1:1" in result.stdout


def test_a_utf16_dockerfile_without_bom_is_named(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ALPINE, encoding="utf-8")
    (tmp_path / "win.Dockerfile").write_bytes("FROM debian\n".encode("utf-16-le"))
    result = run_cli(["-f", "json", "-o", "r.json", "."], cwd=tmp_path)
    assert result.returncode == 3
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [e["input"] for e in document["errors"]] == ["win.Dockerfile"]
    assert document["files"] == ["Dockerfile"]


def test_every_missing_path_is_named(tmp_path: Path) -> None:
    (tmp_path / "alpine").mkdir()
    (tmp_path / "alpine/Dockerfile").write_text(ALPINE, encoding="utf-8")
    result = run_cli(every_format(["nosuch1", "nosuch2", "alpine/Dockerfile"]), cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "octolint: error: nosuch1: no such file or directory",
        "octolint: error: nosuch2: no such file or directory",
    ]
    written = reports(tmp_path)
    for missing in ("nosuch1", "nosuch2"):
        assert_names_unread(written, missing, "no such file or directory")
    summary = json.loads(written["json"])["summary"]
    assert (summary["errors"], summary["warnings"]) == (1, 1)
    assert "alpine/Dockerfile:1:1" in result.stdout


def test_exit_code_3_even_when_findings_are_below_the_threshold(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ALPINE, encoding="utf-8")
    result = run_cli(["--fail-on", "never", "Dockerfile", "missing"], cwd=tmp_path)
    assert result.returncode == 3


def test_quiet_still_shows_an_unread_input(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN apt-get install -y libicu70\n")
    result = run_cli(["-q", "Dockerfile", "missing"], cwd=tmp_path)
    assert result.returncode == 3
    assert "missing: no such file or directory" in result.stderr


def broken_layout(path: Path) -> Path:
    """An OCI layout whose index is not JSON: the archive source cannot read it."""
    path.mkdir()
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
    (path / "index.json").write_text("{not json", encoding="utf-8")
    (path / "blobs").mkdir()
    return path


def test_image_good_archive_and_bad_layout(tmp_path: Path) -> None:
    files = {"etc/os-release": "ID=alpine\nVERSION_ID=3.19.1\n", "lib/ld-musl-x86_64.so.1": b""}
    image = build_image([tar_layer(files)], entrypoint=["/app/run"])
    write_oci_archive(tmp_path / "good.tar", [("good", image)])
    broken_layout(tmp_path / "bad-layout")
    env = {"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}
    result = run_cli(every_format(["image", "--source", "archive", "good.tar", "bad-layout:v2"]),
                     cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    written = reports(tmp_path)
    assert_names_unread(written, "bad-layout:v2", "bad-layout")
    document = json.loads(written["json"])
    assert document["files"] == ["good.tar (linux/amd64)"]
    assert document["findings"], "good.tar's findings are kept"
    # images are counted as images, and named by reference and platform
    assert "good.tar (linux/amd64)" in result.stdout
    assert "image checked" in result.stdout and "file" not in result.stdout.splitlines()[-2]
    assert "good.tar: archive" not in result.stderr  # the post-scan source line is gone


def test_deploy_good_compose_and_binary_manifest(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  octopus:\n    image: octopusdeploy/octopusdeploy:latest\n",
        encoding="utf-8",
    )
    (tmp_path / "k8s.yaml").write_bytes(b"\xff\xfe\x00binary")
    result = run_cli(every_format(["deploy", "compose.yaml", "k8s.yaml", "nosuch.yaml"]),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 3, result.stderr
    written = reports(tmp_path)
    assert_names_unread(written, "k8s.yaml", "not UTF-8")
    assert_names_unread(written, "nosuch.yaml", "no such file")
    document = json.loads(written["json"])
    assert document["files"] == ["compose.yaml"]
    assert document["findings"]


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "gitlab"])
def test_a_clean_run_has_no_error_entries(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "Dockerfile").write_text(ALPINE, encoding="utf-8")
    result = run_cli(["-f", fmt, "Dockerfile"], cwd=tmp_path)
    assert result.returncode == 1
    if fmt == "json":
        assert json.loads(result.stdout)["errors"] == []
    elif fmt == "sarif":
        assert "invocations" not in json.loads(result.stdout)["runs"][0]
    else:
        assert "input-error" not in result.stdout and "input not checked" not in result.stdout


@pytest.mark.infra  # the Jenkins JUnit XSD comes from npm
def test_junit_with_unreadable_inputs_is_valid_jenkins_junit(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/Dockerfile").write_text(ALPINE, encoding="utf-8")
    (tmp_path / "a/tools.Dockerfile").write_bytes(BINARY)
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: x\n", encoding="utf-8")
    for command in (["a", "nosuch"], ["deploy", "compose.yaml", "nosuch.yaml"]):
        result = run_cli([*command, "-f", "junit", "-o", "out.junit"], cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        junit_schema().validate(str(tmp_path / "out.junit"))
