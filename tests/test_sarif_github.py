"""SARIF that GitHub code scanning accepts and presents well (issue 4).

Every SARIF file produced here, by real runs of the CLI (Dockerfile lint of
fixtures, an image scan of an archive, empty reports), is checked three ways:
against the official SARIF 2.1.0 schema, by Microsoft's validator
(``Sarif.Multitool validate`` with its SARIF and GitHub rule sets; no error or
warning may remain), and against what GitHub documents for code scanning (one
run, automation id, rule metadata, one repository-relative location per result
with a full region, fingerprints, limits).
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jsonschema
import pytest
from conftest import FIXTURES, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from imagebuild import build_image, tar_layer, write_oci_archive
from multitool import describe, sarif_multitool, validate
from realroots import require_tool
from test_rule_docs import examples

from octolint.errors import ConfigError
from octolint.model import FileLocation, Finding, ImageLocation, Report, Severity
from octolint.reporters import render, sarif
from octolint.rulebook import load_rules
from octolint.schemas import load_schema

LEVELS = ("error", "warning", "note")
PRECISIONS = ("very-high", "high", "medium", "low")
FINGERPRINT = re.compile(r"^[0-9a-f]{16}:[1-9][0-9]*$")
SEMVER = sarif.SEMVER

RULES = {rule.id: rule for rule in load_rules()}
DOCKERFILE_RULES = [rule for rule in RULES.values() if rule.applies_to == "dockerfile"]


@pytest.fixture(scope="session")
def multitool() -> Path:
    return sarif_multitool()


@cache
def schema_validator() -> Any:
    schema = load_schema("sarif-2.1.0")
    return jsonschema.validators.validator_for(schema)(schema)


def check(path: Path, multitool: Path) -> dict[str, Any]:
    """The log in ``path`` after every check: schema, Microsoft's validator, GitHub's rules."""
    log: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    schema_validator().validate(log)
    problems = validate(multitool, path)
    assert not problems, f"Sarif.Multitool on {path.name}:\n{describe(problems)}"
    return github_ready(log)


def github_ready(log: dict[str, Any]) -> dict[str, Any]:
    """Assert what GitHub code scanning documents for an uploaded log; return its run."""
    assert log["version"] == "2.1.0"
    assert len(gzip.compress(json.dumps(log).encode())) <= sarif.MAX_GZIP_BYTES
    (run,) = log["runs"]
    assert run["automationDetails"]["id"].endswith("/")
    driver = run["tool"]["driver"]
    assert driver["name"] == "octolint" and SEMVER.match(driver["semanticVersion"])
    information = urlparse(driver["informationUri"])
    assert information.scheme == "https" and information.netloc
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({r["id"] for r in rules})
    assert len(rules) <= sarif.MAX_RULES
    for rule in rules:
        descriptor_ready(rule)
    results = run["results"]
    assert len(results) <= sarif.MAX_RESULTS
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        result_ready(result)
    keys = [(r["ruleId"], location_of(r)[0], fingerprint_of(r)) for r in results]
    assert len(keys) == len(set(keys)), "two results share a fingerprint"
    return dict(run)


def descriptor_ready(rule: dict[str, Any]) -> None:
    assert rule["name"] and rule["shortDescription"]["text"]
    assert 0 < len(rule["fullDescription"]["text"]) <= sarif.MAX_FULL_DESCRIPTION
    assert rule["help"]["text"] and rule["help"]["markdown"]
    assert "helpUri" not in rule  # octolint has no public documentation site
    assert rule["defaultConfiguration"]["level"] in LEVELS
    properties = rule["properties"]
    assert 0 < len(properties["tags"]) <= 10  # GitHub keeps 10 of at most 20
    assert properties["precision"] in PRECISIONS
    score = properties["security-severity"]
    assert isinstance(score, str) and 0.0 <= float(score) <= 10.0


def result_ready(result: dict[str, Any]) -> None:
    assert result["level"] in LEVELS and result["message"]["text"].strip()
    (location,) = result["locations"]
    artifact = location["physicalLocation"]["artifactLocation"]
    assert artifact["uriBaseId"] == "%SRCROOT%"
    uri = urlparse(artifact["uri"])
    assert not uri.scheme and not uri.netloc and not artifact["uri"].startswith("/")
    assert ".." not in unquote(artifact["uri"]).split("/")
    region = location["physicalLocation"]["region"]
    start, end = (region["startLine"], region["startColumn"]), (
        region["endLine"], region["endColumn"])  # fmt: skip
    assert min(*start, *end) >= 1 and end > start
    assert FINGERPRINT.match(fingerprint_of(result))


def location_of(result: dict[str, Any]) -> tuple[str, tuple[int, int, int, int]]:
    physical = result["locations"][0]["physicalLocation"]
    region = physical["region"]
    span = (region["startLine"], region["startColumn"], region["endLine"], region["endColumn"])
    return unquote(physical["artifactLocation"]["uri"]), span


def fingerprint_of(result: dict[str, Any]) -> str:
    return str(result["partialFingerprints"]["primaryLocationLineHash"])


def git_repo(path: Path) -> Path:
    """A real git repository: its top is what %SRCROOT% must mean."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run([require_tool("git"), "init", "-q", str(path)], check=True)
    return path


def sarif_of(args: Sequence[str], cwd: Path, out: Path) -> subprocess.CompletedProcess[str]:
    proc = run_cli([*args, "--format", "sarif", "--output", str(out)], cwd=cwd,
                   env={"OCTOLINT_CACHE_DIR": str(out.parent / "layer-cache")})  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return proc


# --- Dockerfile lint ----------------------------------------------------------------------

MULTILINE = (
    "FROM ubuntu:22.04\n"
    "RUN mkdir -p /opt/tool/bin \\\n"
    " && echo 'export PATH=/opt/tool/bin:$PATH' >> ~/.bashrc\n"
)


def write_fixtures(repo: Path) -> list[str]:
    """Dockerfiles with a finding of every Dockerfile rule; their paths from repo/docker."""
    app = repo / "docker" / "app"
    app.mkdir(parents=True)
    shutil.copy(FIXTURES / "sample" / "Dockerfile", app / "Dockerfile")
    shutil.copy(FIXTURES / "sample" / "fixed.Dockerfile", app / "fixed.Dockerfile")
    paths = ["app/Dockerfile", "app/fixed.Dockerfile"]
    examples_dir = repo / "examples"
    examples_dir.mkdir()
    for rule in DOCKERFILE_RULES:
        for number, (kind, text, encoding) in enumerate(examples(rule)):
            if kind == "Fails":
                name = f"{rule.id}-{number}.Dockerfile"
                (examples_dir / name).write_bytes(text.encode(encoding or "utf-8"))
                paths.append(f"../examples/{name}")
    extra = {
        "multiline.Dockerfile": MULTILINE,
        "broken.Dockerfile": "FROM ubuntu:22.04\nRUNN echo\n",
        "pragma.Dockerfile": "FROM ubuntu:22.04\n# octolint ignore=OCT1O1\nRUN true\n",
    }
    for name, text in extra.items():
        (examples_dir / name).write_text(text, encoding="utf-8")
        paths.append(f"../examples/{name}")
    return paths


@pytest.mark.infra
def test_dockerfile_lint_sarif_is_valid_and_complete(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    paths = write_fixtures(repo)
    out = tmp_path / "lint.sarif"
    sarif_of(["lint", *paths], cwd=repo / "docker", out=out)  # run from a subdirectory
    run = check(out, multitool)

    assert run["automationDetails"]["id"] == "octolint/dockerfile/"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    descriptors = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(descriptors) == {rule.id for rule in DOCKERFILE_RULES}  # every rule that ran
    found = {result["ruleId"] for result in run["results"]}
    assert found == set(descriptors)  # so every rule's metadata met the validators
    uris = {location_of(result)[0] for result in run["results"]}
    assert "docker/app/Dockerfile" in uris  # relative to the repository, not the cwd
    assert "docker/app/fixed.Dockerfile" not in uris
    assert all(uri.startswith(("docker/app/", "examples/")) for uri in uris)


@pytest.mark.infra
def test_regions_span_the_whole_instruction(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "Dockerfile").write_text(MULTILINE, encoding="utf-8")
    out = tmp_path / "multiline.sarif"
    sarif_of(["lint", "Dockerfile"], cwd=repo, out=out)
    run = check(out, multitool)
    (result,) = [r for r in run["results"] if r["ruleId"] == "OCT106"]
    last_line = MULTILINE.splitlines()[2]
    assert location_of(result) == ("Dockerfile", (2, 1, 3, len(last_line) + 1))
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["snippet"]["text"] == "\n".join(MULTILINE.splitlines()[1:3])


def fingerprints(run: dict[str, Any]) -> dict[str, str]:
    return {r["ruleId"]: fingerprint_of(r) for r in run["results"]}


@pytest.mark.infra
def test_fingerprints_survive_unrelated_lines_moving(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    dockerfile = repo / "Dockerfile"
    original = (FIXTURES / "sample" / "Dockerfile").read_text(encoding="utf-8")
    dockerfile.write_text(original, encoding="utf-8")
    sarif_of(["lint", "Dockerfile"], cwd=repo, out=tmp_path / "before.sarif")
    before = check(tmp_path / "before.sarif", multitool)

    lines = original.splitlines()
    from_at = next(i for i, line in enumerate(lines) if line.startswith("FROM"))
    moved = [
        "# syntax=docker/dockerfile:1", "", *lines[: from_at + 1],
        "LABEL org.opencontainers.image.title=sample", "", "# unrelated", "ARG UNUSED=1",
        *lines[from_at + 1 : -1], "", "WORKDIR /work", lines[-1],
    ]  # fmt: skip
    dockerfile.write_text("\n".join(moved) + "\n", encoding="utf-8")
    sarif_of(["lint", "Dockerfile"], cwd=repo, out=tmp_path / "after.sarif")
    after = check(tmp_path / "after.sarif", multitool)

    assert len(fingerprints(before)) == 3
    assert fingerprints(after) == fingerprints(before)
    lines_before = {r["ruleId"]: location_of(r)[1][0] for r in before["results"]}
    lines_after = {r["ruleId"]: location_of(r)[1][0] for r in after["results"]}
    assert all(lines_after[rule] > line for rule, line in lines_before.items())

    # Changing the offending instruction itself makes a new alert, and only for it.
    changed_text = "\n".join(moved).replace('CMD ["bash"]', 'CMD ["sh"]') + "\n"
    dockerfile.write_text(changed_text, encoding="utf-8")
    sarif_of(["lint", "Dockerfile"], cwd=repo, out=tmp_path / "changed.sarif")
    changed = fingerprints(check(tmp_path / "changed.sarif", multitool))
    assert changed["OCT102"] != fingerprints(before)["OCT102"]
    assert {k: v for k, v in changed.items() if k != "OCT102"} == {
        k: v for k, v in fingerprints(before).items() if k != "OCT102"
    }


# --- images -------------------------------------------------------------------------------

MUSL_IMAGE_FILES = {"/bin/sh": b"\x7fELF", "/lib/ld-musl-x86_64.so.1": b"\x7fELF",
                    "/etc/os-release": "ID=alpine\n"}  # fmt: skip
IMAGE_DOCKERFILE = (
    'FROM alpine:3.19\nENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ["node", "app.js"]\n'
)


def write_image(path: Path, extra_file: str = "") -> Path:
    """A musl image with an entrypoint and a CMD, as an OCI archive (many findings)."""
    files: dict[str, bytes | str] = dict(MUSL_IMAGE_FILES)
    if extra_file:  # another layer digest, and another date, the same problems
        files[extra_file] = extra_file
    image = build_image([tar_layer(files)], entrypoint=["/docker-entrypoint.sh"],
                        cmd=["node", "app.js"])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_oci_archive(path, [("app:1.0", image)])


@pytest.mark.infra
def test_image_scan_sarif_without_dockerfile(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    write_image(repo / "build" / "image.tar")
    sarif_of(["image", "build/image.tar"], cwd=repo, out=tmp_path / "image.sarif")
    run = check(tmp_path / "image.sarif", multitool)

    assert run["automationDetails"]["id"] == "octolint/image/build/image.tar/"
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {
        rule.id for rule in RULES.values() if rule.applies_to == "image"
    }
    found = {r["ruleId"] for r in run["results"]}
    assert {"OCT201", "OCT202", "OCT203", "OCT204"} <= found
    for result in run["results"]:  # the documented stand-in: the archive, line 1
        assert location_of(result) == ("build/image.tar", (1, 1, 1, 2))
        assert result["message"]["text"].startswith("build/image.tar (linux/amd64): ")
        assert result["properties"]["image"] == "build/image.tar"
        assert result["properties"]["platform"] == "linux/amd64"

    # Rebuilt with other layer digests and dates: the same alerts.
    write_image(repo / "build" / "image.tar", extra_file="/etc/build-id")
    sarif_of(["image", "build/image.tar"], cwd=repo, out=tmp_path / "rebuilt.sarif")
    rebuilt = check(tmp_path / "rebuilt.sarif", multitool)
    assert sorted(map(fingerprint_of, rebuilt["results"])) == sorted(
        map(fingerprint_of, run["results"])
    )


@pytest.mark.infra
def test_image_scan_sarif_with_dockerfile(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    write_image(repo / "image.tar")
    (repo / "docker").mkdir()
    (repo / "docker" / "Dockerfile").write_text(IMAGE_DOCKERFILE, encoding="utf-8")
    out = tmp_path / "image.sarif"
    sarif_of(["image", "image.tar", "--dockerfile", "docker/Dockerfile"], cwd=repo, out=out)
    run = check(out, multitool)  # includes: no two results share a fingerprint

    locations = {r["ruleId"]: location_of(r) for r in run["results"]}
    assert locations["OCT201"] == ("docker/Dockerfile", (2, 1, 2, 37))
    assert locations["OCT202"] == ("docker/Dockerfile", (3, 1, 3, 23))
    assert locations["OCT203"] == ("docker/Dockerfile", (1, 1, 1, 17))  # the base image
    assert run["automationDetails"]["id"] == "octolint/image/image.tar/"


def registry_report(tag: str, layer: str) -> Report:
    reference = f"localhost:5000/team/app:{tag}"
    where = ImageLocation(reference, "linux/amd64", "/lib/ld-musl-x86_64.so.1", f"sha256:{layer}")
    finding = Finding(
        rule_id="OCT203", rule_name="image-libc", severity=Severity.ERROR,
        message="the image's dynamic loader /lib/ld-musl-x86_64.so.1 is "
        "musl, not glibc: Calamari is built for glibc only",
        location=where,
    )  # fmt: skip
    return Report([finding], [where.image], ["OCT201", "OCT203"], images=[reference])


@pytest.mark.infra
def test_registry_image_gets_a_stand_in_path_and_a_stable_fingerprint(
    tmp_path: Path, multitool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_repo(tmp_path / "repo"))
    first = render("sarif", registry_report("1.0", "0123456789ab"), RULES, tool_version="1.0.0",
                   subject="image")  # fmt: skip
    path = tmp_path / "registry.sarif"
    path.write_text(first, encoding="utf-8")
    run = check(path, multitool)
    assert run["automationDetails"]["id"] == "octolint/image/localhost:5000/team/app/"
    (result,) = run["results"]
    # "localhost:5000/..." would read as a URI with the scheme "localhost"
    assert location_of(result)[0] == "localhost_5000/team/app"
    assert result["message"]["text"].startswith("localhost:5000/team/app:1.0 (linux/amd64): ")
    assert result["properties"]["layer"] == "sha256:0123456789ab"  # evidence, out of the message
    # A new tag and new layer digests do not make a new alert; another image does.
    again = json.loads(render("sarif", registry_report("1.1", "fedcba987654"), RULES,
                              tool_version="1.0.0", subject="image"))  # fmt: skip
    assert fingerprint_of(again["runs"][0]["results"][0]) == fingerprint_of(result)
    other = registry_report("1.0", "0123456789ab")
    moved = dataclasses.replace(other.findings[0].location, reference="ubuntu:22.04")
    other.findings[0] = dataclasses.replace(other.findings[0], location=moved)
    other.files, other.images = ["ubuntu:22.04 (linux/amd64)"], ["ubuntu:22.04"]
    elsewhere = json.loads(render("sarif", other, RULES, tool_version="1.0.0", subject="image"))
    assert fingerprint_of(elsewhere["runs"][0]["results"][0]) != fingerprint_of(result)
    assert elsewhere["runs"][0]["automationDetails"]["id"] == "octolint/image/ubuntu/"


# --- Octopus Server deployments -----------------------------------------------------------

COMPOSE = """\
services:
  db:
    image: mcr.microsoft.com/mssql/server:2022-latest
    environment:
      ACCEPT_EULA: "N"
      SA_PASSWORD: "N0tS3cr3t!"
"""


@pytest.mark.infra
def test_deploy_check_sarif(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "docker-compose.yml").write_text(COMPOSE, encoding="utf-8")
    sarif_of(["deploy", "docker-compose.yml"], cwd=repo, out=tmp_path / "deploy.sarif")
    run = check(tmp_path / "deploy.sarif", multitool)
    assert run["automationDetails"]["id"] == "octolint/deploy/"
    assert run["results"]
    for rule in run["tool"]["driver"]["rules"]:
        score = RULES[rule["id"]].sarif_score
        assert score is not None
        assert ("security" in rule["properties"]["tags"]) is score.security
    assert "N0tS3cr3t!" not in json.dumps(run["results"])  # the password stays redacted


# --- empty reports, categories ------------------------------------------------------------


@pytest.mark.infra
def test_empty_reports_are_valid(tmp_path: Path, multitool: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    shutil.copy(FIXTURES / "sample" / "fixed.Dockerfile", repo / "Dockerfile")
    proc = sarif_of(["lint", "Dockerfile"], cwd=repo, out=tmp_path / "clean.sarif")
    assert proc.returncode == 0
    run = check(tmp_path / "clean.sarif", multitool)
    assert run["results"] == [] and len(run["tool"]["driver"]["rules"]) == len(DOCKERFILE_RULES)

    nothing = tmp_path / "nothing.sarif"
    nothing.write_text(render("sarif", Report(), {}, tool_version="0.1.0"), encoding="utf-8")
    run = check(nothing, multitool)
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["automationDetails"]["id"] == "octolint/dockerfile/"


def category(**options: Any) -> str:
    log = json.loads(render("sarif", Report(), RULES, tool_version="0.1.0", **options))
    return str(log["runs"][0]["automationDetails"]["id"])


def test_sarif_category() -> None:
    assert category(category="docker/app") == "docker/app/"
    assert category(category="docker/app/") == "docker/app/"
    assert category(category=" x ") == "x/"
    assert category(subject="image") == "octolint/image/unknown/"
    assert category(subject="deploy") == "octolint/deploy/"
    with pytest.raises(ConfigError, match="--sarif-category"):
        category(category="  ")


def test_sarif_category_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n", encoding="utf-8")  # OCT103
    proc = run_cli(["lint", "Dockerfile", "-f", "sarif", "--sarif-category", "docker/app"],
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["automationDetails"]["id"] == "docker/app/"
    empty = run_cli(["lint", "Dockerfile", "-f", "sarif", "--sarif-category", ""], cwd=tmp_path)
    assert empty.returncode == 2
    assert empty.stderr.strip().splitlines() == [
        "octolint: error: command line: key '--sarif-category': must not be empty"
    ]


def test_files_outside_the_repository_get_absolute_uris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_repo(tmp_path / "repo"))
    outside = tmp_path / "elsewhere" / "Dockerfile"
    where = FileLocation(str(outside), 2, 1, 2, 6)
    finding = Finding("OCT102", "no-cmd", Severity.ERROR, "CMD", where)
    log = json.loads(render("sarif", Report([finding], [str(outside)], ["OCT102"]), RULES,
                            tool_version="0.1.0"))  # fmt: skip
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert artifact["artifactLocation"] == {"uri": outside.as_uri()}  # documented: no place


# --- rule metadata ------------------------------------------------------------------------


def test_every_builtin_rule_has_a_chosen_score() -> None:
    builtin = [rule for rule in RULES.values() if rule.origin.startswith("octolint_rules.")]
    assert builtin
    missing = sorted(rule.id for rule in builtin if rule.sarif_score is None)
    assert not missing, f"give these rule modules a SARIF_SCORE: {missing}"
    for rule in builtin:
        descriptor = sarif.rule_descriptor(rule)
        descriptor_ready(descriptor)
        chosen = rule.sarif_score
        assert chosen is not None
        assert descriptor["properties"]["security-severity"] == chosen.security_severity
        assert ("security" in descriptor["properties"]["tags"]) is chosen.security
        assert descriptor["help"]["markdown"].startswith(rule.doc)
        summary = descriptor["fullDescription"]["text"].removesuffix("...")
        assert summary in " ".join(rule.doc.split())


def test_plugin_rules_get_a_score_from_their_level() -> None:
    plugin = dataclasses.replace(RULES["OCT101"], id="ACME1", severity=Severity.WARNING,
                                 sarif_score=None)  # fmt: skip
    descriptor = sarif.rule_descriptor(plugin)
    assert descriptor["properties"]["security-severity"] == "4.0"
    assert descriptor["properties"]["precision"] == "medium"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .!?\n#`"), max_size=3000))
def test_full_description_fits_github(doc: str) -> None:
    text = sarif.full_description(doc, "OCT1")
    assert len(text) <= sarif.MAX_FULL_DESCRIPTION
    assert "\n" not in text


# --- GitHub's limits ----------------------------------------------------------------------


def findings(count: int, severity: Severity, message: Callable[[int], str]) -> list[Finding]:
    return [
        Finding("OCT101", "no-entrypoint", severity, message(i),
                FileLocation(f"d{i % 50}/Dockerfile", i + 1, 1, i + 1, 5),
                source=f"ENTRYPOINT {i}")
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.slow
def test_more_results_than_github_accepts_keeps_the_most_severe(
    capsys: pytest.CaptureFixture[str],
) -> None:
    notes = findings(sarif.MAX_RESULTS, Severity.NOTE, lambda i: f"note {i}")
    errors = findings(7, Severity.ERROR, lambda i: f"error {i}")
    report = Report(notes + errors, [], ["OCT101"])
    log = json.loads(render("sarif", report, RULES, tool_version="0.1.0"))
    run = log["runs"][0]
    assert len(run["results"]) == sarif.MAX_RESULTS
    assert sum(r["level"] == "error" for r in run["results"]) == 7
    stderr = capsys.readouterr().err.strip().splitlines()
    assert stderr == [
        f"octolint: warning: SARIF output keeps the {sarif.MAX_RESULTS} most severe of "
        f"{sarif.MAX_RESULTS + 7} results: GitHub code scanning rejects more than "
        f"{sarif.MAX_RESULTS} results per run (the exit code still counts all of them)"
    ]
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["level"] == "warning"


@pytest.mark.infra
def test_a_log_too_big_for_github_is_cut_to_fit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    multitool: Path,
) -> None:  # fmt: skip
    # The real limit is 10 MB compressed; a smaller one makes the same code path quick.
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", 200_000)
    noise = [base64.b64encode(os.urandom(900)).decode() for _ in range(400)]
    report = Report(
        findings(300, Severity.WARNING, lambda i: noise[i])
        + findings(100, Severity.ERROR, lambda i: noise[300 + i]),
        [], ["OCT101"],
    )  # fmt: skip
    text = render("sarif", report, RULES, tool_version="0.1.0")
    assert len(gzip.compress(text.encode())) <= 200_000
    run = json.loads(text)["runs"][0]
    kept = len(run["results"])
    assert 100 < kept < 400
    assert sum(r["level"] == "error" for r in run["results"]) == 100
    assert f"keeps the {kept} most severe of 400 results" in capsys.readouterr().err
    path = tmp_path / "cut.sarif"
    path.write_text(text, encoding="utf-8")
    check(path, multitool)


@pytest.mark.infra
def test_the_validator_does_find_problems(tmp_path: Path, multitool: Path) -> None:
    """The harness itself: a log GitHub would reject is reported, not passed."""
    report = Report(findings(2, Severity.ERROR, str), ["d0/Dockerfile"], ["OCT101"])
    log = json.loads(render("sarif", report, RULES, tool_version="0.1.0"))
    del log["runs"][0]["results"][0]["locations"]
    log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    path = tmp_path / "broken.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    rules = {problem.get("ruleId") for problem in validate(multitool, path)}
    assert {"GH1015", "SARIF1007"} <= rules


@pytest.mark.infra
def test_an_unreadable_input_is_a_failed_invocation_github_accepts(
    tmp_path: Path, multitool: Path
) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "a").mkdir()
    (repo / "b").mkdir()
    (repo / "a/Dockerfile").write_text('FROM alpine:3.19\nENTRYPOINT ["/x"]\n', encoding="utf-8")
    (repo / "b/Dockerfile").write_bytes(b"FROM debian\n\x00\x01binary\n")
    out = tmp_path / "mixed.sarif"
    proc = run_cli(["lint", ".", "--format", "sarif", "--output", str(out)], cwd=repo)
    assert proc.returncode == 3, proc.stderr
    run = check(out, multitool)
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert notification["message"]["text"].startswith("b/Dockerfile: binary file")
    assert {r["ruleId"] for r in run["results"]} >= {"OCT101", "OCT103"}
