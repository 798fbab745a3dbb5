"""Verdicts follow the Octopus Server version (issue 13): ENTRYPOINT and CMD, on
Dockerfiles and on built images, at each version, through the CLI.

Octopus has always replaced an image's CMD, and since 2021.2 its ENTRYPOINT too
(OctopusDeploy/Issues#6788): an ENTRYPOINT is an error before 2021.2 and a
warning from then on (the default), a CMD a note at every version. Images are
docker-archive tars written by tests/imagebuild.py: no daemon needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from imagebuild import build_image, tar_layer, write_docker_archive

ENTRYPOINT_AND_CMD = (
    "FROM ubuntu:22.04\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends libicu70\n"
    'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\n'
    'CMD ["node", "server.js"]\n'
)
# (--octopus-version, OCT101/OCT201 severity, exit code); None: the default
VERSIONS = [
    (None, "warning", 0),
    ("2020.6", "error", 1),
    ("2021.1", "error", 1),
    ("2021.1.9999", "error", 1),
    ("2021.2", "warning", 0),
    ("2021.2.124", "warning", 0),
    ("2023.4", "warning", 0),
    ("2025.1", "warning", 0),
]


def by_rule(stdout: str) -> dict[str, dict[str, Any]]:
    return {f["rule_id"]: f for f in json.loads(stdout)["findings"]}


def lint(tmp_path: Path, text: str, *args: str) -> Any:
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    return run_cli(["lint", "--format", "json", *args, "Dockerfile"], cwd=tmp_path)


def version_args(version: str | None) -> list[str]:
    return ["--octopus-version", version] if version else []


# -- Dockerfiles: OCT101, OCT102 -----------------------------------------------------------


@pytest.mark.parametrize(("version", "severity", "code"), VERSIONS)
def test_dockerfile_entrypoint_and_cmd_at_each_version(
    tmp_path: Path, version: str | None, severity: str, code: int
) -> None:
    result = lint(tmp_path, ENTRYPOINT_AND_CMD, *version_args(version))
    assert result.returncode == code, result.stderr
    found = by_rule(result.stdout)
    assert set(found) == {"OCT101", "OCT102"}
    entrypoint, cmd = found["OCT101"], found["OCT102"]
    assert (entrypoint["severity"], entrypoint["line"]) == (severity, 3)
    assert (cmd["severity"], cmd["line"]) == ("note", 4)
    # both the documentation's requirement and the version in which Octopus changed
    message = entrypoint["message"]
    assert "documentation" in message and "no ENTRYPOINT" in message
    assert "2021.2" in message and "OctopusDeploy/Issues#6788" in message
    if severity == "warning":  # what really happens
        assert "replaces it" in entrypoint["message"]
        assert "does not happen in steps" in entrypoint["message"]
        assert "PATH" in entrypoint["message"] and "daemon" in entrypoint["message"]
    else:
        assert f"Octopus {version}" in entrypoint["message"]
        assert "the step fails" in entrypoint["message"]
    assert "replaces it" in cmd["message"] and "never runs in a step" in cmd["message"]


def test_inherited_entrypoint_from_an_earlier_stage_follows_the_version(tmp_path: Path) -> None:
    text = 'FROM ubuntu:22.04 AS base\nENTRYPOINT ["/x"]\nFROM base\nRUN true\n'
    assert by_rule(lint(tmp_path, text).stdout)["OCT101"]["severity"] == "warning"
    old = by_rule(lint(tmp_path, text, "--octopus-version", "2020.6").stdout)["OCT101"]
    assert old["severity"] == "error" and "inherited from stage 'base'" in old["message"]


@pytest.mark.parametrize(
    "reset", ['ENTRYPOINT [""]', "ENTRYPOINT []", "ENTRYPOINT [ \"\" ]"]
)
@pytest.mark.parametrize("version", [None, "2020.6", "2023.4"])
def test_entrypoint_of_one_empty_string_is_a_reset(
    tmp_path: Path, reset: str, version: str | None
) -> None:
    text = f'FROM ubuntu:22.04 AS base\nENTRYPOINT ["/x"]\nFROM base\n{reset}\n'
    assert "OCT101" not in by_rule(lint(tmp_path, text, *version_args(version)).stdout)


def test_only_an_entrypoint_of_exactly_one_empty_string_resets(tmp_path: Path) -> None:
    for kept in ('ENTRYPOINT ["", "x"]', 'ENTRYPOINT [" "]', 'ENTRYPOINT ""'):
        text = f"FROM ubuntu:22.04\n{kept}\n"
        assert "OCT101" in by_rule(lint(tmp_path, text).stdout), kept
    # CMD [""] is not a reset: the engine would run "" (and Octopus replaces it anyway)
    assert "OCT102" in by_rule(lint(tmp_path, 'FROM ubuntu:22.04\nCMD [""]\n').stdout)


# -- configuration and the option --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".octolint.toml", 'octopus-version = "2020.6"\n'),
        ("pyproject.toml", '[tool.octolint]\noctopus-version = "2020.6"\n'),
    ],
)
def test_config_key_sets_the_version_and_the_option_wins(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = lint(tmp_path, ENTRYPOINT_AND_CMD)
    assert result.returncode == 1
    assert by_rule(result.stdout)["OCT101"]["severity"] == "error"
    assert "Octopus 2020.6" in by_rule(result.stdout)["OCT101"]["message"]
    newer = lint(tmp_path, ENTRYPOINT_AND_CMD, "--octopus-version", "2023.4")
    assert newer.returncode == 0
    assert by_rule(newer.stdout)["OCT101"]["severity"] == "warning"


@pytest.mark.parametrize(
    ("setting", "version", "expected"),
    [
        ('{ OCT101 = "note" }', "2020.6", "note"),  # down from the version's error
        ('{ OCT101 = "error" }', None, "error"),  # up from the default's warning
        ('{ OCT102 = "error" }', "2023.4", None),  # CMD: the configured severity
    ],
)
def test_configured_severity_wins_over_the_version(
    tmp_path: Path, setting: str, version: str | None, expected: str | None
) -> None:
    (tmp_path / ".octolint.toml").write_text(f"severity = {setting}\n", encoding="utf-8")
    found = by_rule(lint(tmp_path, ENTRYPOINT_AND_CMD, *version_args(version)).stdout)
    if expected is None:
        assert found["OCT102"]["severity"] == "error"
    else:
        assert found["OCT101"]["severity"] == expected


@pytest.mark.parametrize("value", ["abc", "2021.x", "", " ", "latest", "1!2021.2", "2021.2+local",
                                   "2" * 41])  # fmt: skip
def test_invalid_option_is_one_line_exit_2(tmp_path: Path, value: str) -> None:
    result = lint(tmp_path, ENTRYPOINT_AND_CMD, "--octopus-version", value)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("octolint: error: --octopus-version: ")
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"next"', "'next' is not a version"),
        ("2021.2", 'must be a quoted version like "2021.2"'),  # a TOML float: 2021.10 == 2021.1
        ("[2021]", "must be a quoted version"),
    ],
)
def test_invalid_config_value_is_one_line_exit_2(tmp_path: Path, value: str, reason: str) -> None:
    (tmp_path / ".octolint.toml").write_text(f"octopus-version = {value}\n", encoding="utf-8")
    result = lint(tmp_path, ENTRYPOINT_AND_CMD)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert ".octolint.toml: key 'octopus-version': " in lines[0] and reason in lines[0]


def test_explain_cites_the_documentation_and_the_version() -> None:
    for rule_id in ("OCT101", "OCT201"):
        text = run_cli(["explain", rule_id]).stdout
        assert "require that no CMD or ENTRYPOINT" in text or "requires" in text
        assert "2021.2" in text and "OctopusDeploy/Issues#6788" in text and "2021.2.124" in text
        assert "before 2021.2" in text and "error" in text and "warning" in text
    for rule_id in ("OCT102", "OCT202"):
        text = run_cli(["explain", rule_id]).stdout
        assert "note" in text and "every" in text and "OctopusDeploy/Issues#6788" in text


def test_rules_list_the_supported_server_severities() -> None:
    rows = {r["id"]: r["severity"] for r in json.loads(run_cli(["rules", "-f", "json"]).stdout)}
    assert (rows["OCT101"], rows["OCT102"], rows["OCT201"], rows["OCT202"]) == (
        "warning", "note", "warning", "note",
    )  # fmt: skip


# -- built images: OCT201, OCT202 --------------------------------------------------------


def archive(tmp_path: Path, **config: Any) -> Path:
    """A glibc Debian image with ICU's loader-visible parts left out (other rules may
    speak; these tests look at OCT201/OCT202) as a `docker save` tar."""
    files = {"etc/os-release": "ID=debian\nVERSION_ID=12\n", "bin/sh": b"\x7fELF"}
    image = build_image([tar_layer(files)], compression="none", media="docker", **config)
    return write_docker_archive(tmp_path / "app.tar", [(image, ["app:1"])])


def scan(tmp_path: Path, *args: str) -> Any:
    return run_cli(["image", "--format", "json", "--fail-on", "never", *args, "app.tar"],
                   cwd=tmp_path, env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip


@pytest.mark.parametrize(("version", "severity", "_code"), VERSIONS)
def test_image_entrypoint_and_cmd_at_each_version(
    tmp_path: Path, version: str | None, severity: str, _code: int
) -> None:
    archive(tmp_path, entrypoint=["/usr/local/bin/entrypoint.sh"], cmd=["node", "server.js"])
    result = scan(tmp_path, *version_args(version))
    assert result.returncode == 0, result.stderr
    found = by_rule(result.stdout)
    entrypoint, cmd = found["OCT201"], found["OCT202"]
    assert entrypoint["severity"] == severity and cmd["severity"] == "note"
    assert "`/usr/local/bin/entrypoint.sh`" in entrypoint["message"]
    message = entrypoint["message"]
    assert "2021.2" in message and "OctopusDeploy/Issues#6788" in message
    assert "documentation" in message
    if severity == "warning":
        assert "does not happen in steps" in entrypoint["message"]
    else:
        assert "the step fails" in entrypoint["message"]
    assert "`node server.js`" in cmd["message"] and "never runs in a step" in cmd["message"]


@pytest.mark.parametrize("version", [None, "2020.6"])
def test_image_entrypoint_of_one_empty_string_is_none(tmp_path: Path, version: str | None) -> None:
    archive(tmp_path, entrypoint=[""], cmd=["bash"])
    found = by_rule(scan(tmp_path, *version_args(version)).stdout)
    assert "OCT201" not in found and "OCT202" not in found  # a bare shell Cmd is fine


def test_image_config_and_invalid_version(tmp_path: Path) -> None:
    archive(tmp_path, entrypoint=["/x"])
    (tmp_path / ".octolint.toml").write_text('octopus-version = "2021.1"\n', encoding="utf-8")
    assert by_rule(scan(tmp_path).stdout)["OCT201"]["severity"] == "error"
    bad = scan(tmp_path, "--octopus-version", "soon")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("octolint: error: --octopus-version: 'soon' is not a version")


# -- plugins -----------------------------------------------------------------------------

VERSION_PLUGIN = '''"""ACME010 acme-octopus: says which Octopus Server it judges for."""
from octolint.plugin import DockerfileTarget, Options, problem_at

ID = "ACME010"
NAME = "acme-octopus"
SEVERITY = "note"
APPLIES_TO = "dockerfile"
SUMMARY = "Says the Octopus version."
HINT = "None."


def check(target: DockerfileTarget, options: Options):
    octopus = target.octopus
    first = target.build.stages[0].from_instruction
    yield problem_at(first, f"{octopus.name}: {octopus.version}, {octopus.replaces_entrypoint}")
'''


def test_plugin_rules_read_the_version_on_the_target(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "acme_octopus-1.0.dist-info").mkdir(parents=True)
    (site / "acme_octopus.py").write_text(VERSION_PLUGIN, encoding="utf-8")
    (site / "acme_octopus-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-octopus\nVersion: 1.0\n", encoding="utf-8"
    )
    (site / "acme_octopus-1.0.dist-info" / "entry_points.txt").write_text(
        "[octolint.rules]\nACME010 = acme_octopus\n", encoding="utf-8"
    )
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\n", encoding="utf-8")
    env = {"PYTHONPATH": str(site), "OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}
    cases = [([], "Octopus: None, True"),
             (["--octopus-version", "2020.6"], "Octopus 2020.6: 2020.6, False")]  # fmt: skip
    for args, said in cases:
        result = run_cli(["--format", "json", *args, "Dockerfile"], cwd=tmp_path, env=env)
        assert by_rule(result.stdout)["ACME010"]["message"] == said, result.stderr
