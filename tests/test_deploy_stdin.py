"""`octolint deploy -`: `helm template chart/ | octolint deploy -`, through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURES, run_cli

from octolint.schemas import load_schema

DEPLOY = FIXTURES / "deploy"
HELM = DEPLOY / "variants" / "kubernetes" / "helm-template.yaml"
COMPOSE = DEPLOY / "published" / "compose"


def json_findings(proc_stdout: str) -> set[tuple[str, str, int]]:
    document = json.loads(proc_stdout)
    return {(f["file"], f["rule_id"], f["line"]) for f in document["findings"]}


def test_helm_template_output_on_stdin_is_checked_like_the_file() -> None:
    text = HELM.read_bytes()
    assert b"# Source: octopusdeploy/templates/" in text  # the shape `helm template` prints
    piped = run_cli(["deploy", "-", "-f", "json"], stdin=text)
    named = run_cli(["deploy", str(HELM), "-f", "json"])
    assert piped.returncode == named.returncode == 1, piped.stderr
    assert json_findings(piped.stdout) == {("<stdin>", "OCT302", 72)}
    assert {(r, line) for _f, r, line in json_findings(named.stdout)} == {("OCT302", 72)}
    assert json.loads(piped.stdout)["files"] == ["<stdin>"]
    human = run_cli(["deploy", "-"], stdin=text)
    assert human.stdout.splitlines()[1].startswith("<stdin>:72:15  error    OCT302")


def test_several_helm_documents_are_one_deployment() -> None:
    """Manifests of several templates, each after its `# Source:` comment, with a
    StatefulSet whose Service and claims come in other documents."""
    stream = "\n".join(
        f"---\n# Source: octopus/templates/{path.stem}.yaml\n{path.read_text()}"
        for path in sorted((DEPLOY / "published" / "kubernetes").glob("*.yaml"))
    )
    proc = run_cli(["deploy", "-", "-f", "json"], stdin=stream.encode())
    assert proc.returncode == 1, proc.stderr
    found = {rule for _f, rule, _line in json_findings(proc.stdout)}
    assert found == {"OCT301", "OCT303", "OCT307"}  # no OCT310: the SQL Server is Express
    assert "Password01!" not in proc.stdout  # secrets redacted on stdin too


def test_compose_on_stdin_uses_the_dotenv_of_the_working_directory(tmp_path: Path) -> None:
    shutil.copy(COMPOSE / ".env", tmp_path / ".env")  # as `docker compose -f -` reads it
    text = (COMPOSE / "docker-compose.yml").read_bytes()
    proc = run_cli(["deploy", "-", "-f", "json"], cwd=tmp_path, stdin=text)
    assert proc.returncode == 1, proc.stderr
    named = run_cli(["deploy", str(COMPOSE / "docker-compose.yml"), "-f", "json"])
    assert json_findings(proc.stdout) == {
        ("<stdin>", rule, line) for _f, rule, line in json_findings(named.stdout)
    }


def test_bad_yaml_on_stdin_is_oct300_at_its_line() -> None:
    text = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\nspec: {}\n"
    proc = run_cli(["deploy", "-", "-f", "json"], stdin=text)
    assert proc.returncode == 1, proc.stderr
    assert json_findings(proc.stdout) == {("<stdin>", "OCT300", 5)}


def test_unusable_stdin_is_a_one_line_input_error() -> None:
    for stdin, reason in (
        (b"", "<stdin>: empty"),
        (b"\n  \n", "<stdin>: empty"),
        (b"name: CI\non: push\n", "<stdin>: neither a Compose file"),
        (b"\xff\xfeservices:\n", "<stdin>: not UTF-8"),
    ):
        proc = run_cli(["deploy", "-"], stdin=stdin)
        assert proc.returncode == 3, (stdin, proc.stderr)
        assert proc.stderr.count("\n") == 1 and reason in proc.stderr, proc.stderr
    twice = run_cli(["deploy", "-", "-"], stdin=HELM.read_bytes())
    assert twice.returncode == 3 and "more than once" in twice.stderr


def test_stdin_and_files_together() -> None:
    proc = run_cli(["deploy", "-", str(COMPOSE / "docker-compose.yml"), "-f", "json"],
                   stdin=HELM.read_bytes())  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    files = {path for path, _r, _l in json_findings(proc.stdout)}
    assert files == {"<stdin>", str(COMPOSE / "docker-compose.yml")}


def test_stdin_sarif_is_valid() -> None:
    import jsonschema

    proc = run_cli(["deploy", "-", "-f", "sarif"], stdin=HELM.read_bytes())
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    jsonschema.validate(document, load_schema("sarif-2.1.0"))
    [result] = document["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 72
