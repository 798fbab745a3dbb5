"""`octolint deploy`: the published Octopus Server examples, variations of them, the CLI."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO, run_cli

from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.deploy.load import load_deploy
from octolint.engine import Engine
from octolint.errors import InputError
from octolint.model import Finding
from octolint.schemas import load_schema

DEPLOY = FIXTURES / "deploy"
PUBLISHED = DEPLOY / "published"
SECRETS = ("N0tS3cr3t!", "Passw0rd123", "Password01!", "6EdU6IWsCtMEwk0kPKflQQ==")


def findings(*paths: Path | str, **engine_args: Any) -> list[Finding]:
    engine = Engine(Config(), **engine_args)
    return lint_deploy_paths([str(p) for p in paths], engine).findings


def summary(*paths: Path | str) -> set[tuple[str, str, int]]:
    """(file name, rule id, line) of every finding."""
    return {(Path(f.path).name, f.rule_id, f.line) for f in findings(*paths)}


def write(tmp_path: Path, text: str, name: str = "compose.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- the published examples ---------------------------------------------------------
def test_published_compose_example() -> None:
    assert summary(PUBLISHED / "compose" / "docker-compose.yml") == {
        ("docker-compose.yml", "OCT301", 6),  # SA_PASSWORD=N0tS3cr3t!
        ("docker-compose.yml", "OCT302", 7),  # ACCEPT_EULA=N (SQL Server)
        ("docker-compose.yml", "OCT302", 20),  # ACCEPT_OCTOPUS_EULA=N
        ("docker-compose.yml", "OCT301", 22),  # the connection string embeds N0tS3cr3t!
        ("docker-compose.yml", "OCT301", 24),  # ADMIN_PASSWORD=Passw0rd123
        ("docker-compose.yml", "OCT303", 27),  # MASTER_KEY= (empty)
    }


def test_published_kubernetes_example() -> None:
    assert summary(PUBLISHED / "kubernetes") == {
        # no OCT310: MSSQL_PID=Express caps its buffer pool at 1410 MB
        ("mssql.yaml", "OCT301", 60),  # SA_PASSWORD Password01!
        ("octopus-statefulset.yaml", "OCT307", 2),  # default RollingUpdate, 2 replicas
        ("octopus-statefulset.yaml", "OCT301", 41),  # connection string
        ("octopus-statefulset.yaml", "OCT301", 45),  # ADMIN_PASSWORD
        ("octopus-statefulset.yaml", "OCT303", 53),  # the published master key
    }


def test_fixed_examples_pass() -> None:
    fixed = DEPLOY / "fixed"
    assert findings(fixed / "compose" / "docker-compose.yml", fixed / "kubernetes") == []


def test_messages_name_the_env_line_a_value_came_from() -> None:
    found = findings(PUBLISHED / "compose" / "docker-compose.yml")
    eula = next(f for f in found if f.rule_id == "OCT302" and f.line == 20)
    assert "ACCEPT_OCTOPUS_EULA at" in eula.message and ".env line 23" in eula.message
    assert eula.message.startswith("ACCEPT_EULA is 'N'")


def test_locations_are_the_exact_key() -> None:
    found = findings(PUBLISHED / "kubernetes" / "octopus-statefulset.yaml")
    key = next(f for f in found if f.rule_id == "OCT303")
    line = (PUBLISHED / "kubernetes" / "octopus-statefulset.yaml").read_text().splitlines()[52]
    assert line[key.column - 1 : key.end_column - 1] == "value"
    assert (key.line, key.end_line) == (53, 53)


def test_variants() -> None:
    # independent variants: one argument each (a directory is one input, and two of
    # them name their StatefulSet alike)
    found = summary(*sorted((DEPLOY / "variants" / "kubernetes").glob("*.yaml")))
    assert found == {
        ("deployment-ha.yaml", "OCT307", 2),  # Deployment: default RollingUpdate
        ("deployment-ha.yaml", "OCT306", 6),  # 2 replicas, nothing mounted
        ("deployment-ha.yaml", "OCT309", 6),  # a Deployment's pods cannot be addressed
        ("deployment-ha.yaml", "OCT302", 16),  # no ACCEPT_EULA
        ("deployment-ha.yaml", "OCT303", 16),  # no MASTER_KEY
        ("deployment-ha.yaml", "OCT305", 16),  # DinD on, not privileged
        ("deployment-ha.yaml", "OCT308", 16),  # no probes
        ("deployment-ha.yaml", "OCT304", 17),  # no tag
        ("helm-template.yaml", "OCT302", 72),  # SQL Server EULA N; its OCT310 is silenced
        ("list.yaml", "OCT306", 48),  # RWO claim, emptyDir, nothing at /taskLogs
        ("list.yaml", "OCT309", 48),  # no Service for octopus-2
        ("list.yaml", "OCT307", 50),  # explicit RollingUpdate, at the `type` key
        ("list.yaml", "OCT308", 63),  # no startupProbe
        ("list.yaml", "OCT311", 63),  # emptyDir at /artifacts: lost at every reschedule
    }
    messages = {f.rule_id: f.message for f in findings(DEPLOY / "variants" / "kubernetes" /
                                                       "list.yaml")}  # fmt: skip
    assert "octopus-2" in messages["OCT309"] and "octopus-1" not in messages["OCT309"]
    assert "ReadWriteOnce" in messages["OCT306"] and "/taskLogs" in messages["OCT306"]
    assert "/artifacts" not in messages["OCT306"] and "/artifacts" in messages["OCT311"]
    assert messages["OCT308"].endswith("has no startupProbe")


# -- rules, one variation at a time ----------------------------------------------------
OCTOPUS = """\
services:
  octopus:
    image: {image}
{privileged}    environment:
      ACCEPT_EULA: "{eula}"
      MASTER_KEY: "{key}"
      ADMIN_USERNAME: admin
      ADMIN_PASSWORD: "{password}"
      DB_CONNECTION_STRING: "Server=db;User=sa;Password={db_password}"
{extra}"""
GOOD = {
    "image": "octopusdeploy/octopusdeploy:2024.1.1", "privileged": "    privileged: true\n",
    "eula": "Y", "key": "q3N0ZXN0LWZpeHR1cmUtaw==", "password": "Gq4-long-unique",
    "db_password": "Jk8-long-unique", "extra": "",
}  # fmt: skip


def octopus_rules(tmp_path: Path, **changes: str) -> set[str]:
    path = write(tmp_path, OCTOPUS.format(**{**GOOD, **changes}))
    return {f.rule_id for f in findings(path)}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, set()),
        ({"password": "Passw0rd123"}, {"OCT301"}),
        ({"password": ""}, {"OCT301"}),  # a named administrator without a password
        ({"db_password": "N0tS3cr3t!"}, {"OCT301"}),
        ({"db_password": ""}, {"OCT301"}),
        ({"eula": "N"}, {"OCT302"}),
        ({"eula": "y"}, set()),
        ({"eula": "yes"}, {"OCT302"}),
        ({"key": ""}, {"OCT303"}),
        ({"key": "6EdU6IWsCtMEwk0kPKflQQ=="}, {"OCT303"}),
        ({"key": "not-base64!"}, {"OCT303"}),
        ({"key": "c2hvcnQ="}, {"OCT303"}),  # 5 bytes, not 16
        ({"image": "octopusdeploy/octopusdeploy"}, {"OCT304"}),
        ({"image": "octopusdeploy/octopusdeploy:latest"}, {"OCT304"}),
        ({"image": "octopusdeploy/octopusdeploy@sha256:" + "a" * 64}, set()),
        ({"image": "docker.io/octopusdeploy/octopusdeploy:2024.1"}, set()),
        ({"privileged": ""}, {"OCT305"}),
        ({"privileged": "    privileged: false\n"}, {"OCT305"}),
        ({"privileged": "", "extra": "      DISABLE_DIND: Y\n"}, set()),
        ({"extra": "      DISABLE_DIND: Y\n"}, {"OCT305"}),  # privileged for nothing
        ({"image": "nginx:1.27", "key": "", "privileged": ""}, set()),  # not Octopus
    ],
)
def test_octopus_server_rules(tmp_path: Path, changes: dict[str, str], expected: set[str]) -> None:
    assert octopus_rules(tmp_path, **changes) == expected


def test_dind_severity_depends_on_the_direction(tmp_path: Path) -> None:
    path = write(tmp_path, OCTOPUS.format(**{**GOOD, "extra": "      DISABLE_DIND: Y\n"}))
    assert [f.severity.label for f in findings(path)] == ["warning"]
    path = write(tmp_path, OCTOPUS.format(**{**GOOD, "privileged": ""}))
    assert [f.severity.label for f in findings(path)] == ["error"]


def test_empty_master_key_is_a_warning_and_sample_an_error(tmp_path: Path) -> None:
    assert [f.severity.label for f in findings(write(tmp_path, OCTOPUS.format(
        **{**GOOD, "key": ""})))] == ["warning"]  # fmt: skip
    assert [f.severity.label for f in findings(write(tmp_path, OCTOPUS.format(
        **{**GOOD, "key": "6EdU6IWsCtMEwk0kPKflQQ=="})))] == ["error"]  # fmt: skip


def test_admin_password_may_be_empty_for_an_api_key_user(tmp_path: Path) -> None:
    extra = "      ADMIN_API_KEY: API-0123456789ABCDEF\n"
    assert octopus_rules(tmp_path, password="", extra=extra) == set()


@pytest.mark.parametrize(
    ("env", "variables", "expected"),
    [
        ("ACCEPT_EULA: ${ACCEPT_OCTOPUS_EULA}", "ACCEPT_OCTOPUS_EULA=N\n", {"OCT302"}),
        ("ACCEPT_EULA: ${ACCEPT_OCTOPUS_EULA}", "ACCEPT_OCTOPUS_EULA=Y\n", set()),
        ("ACCEPT_EULA: ${ACCEPT_OCTOPUS_EULA}", "", set()),  # set nowhere: unknown, silent
        ("ACCEPT_EULA: ${ACCEPT_OCTOPUS_EULA:-N}", "", {"OCT302"}),  # the file's own default
        ("ACCEPT_EULA: ${ACCEPT_OCTOPUS_EULA:-N}", "ACCEPT_OCTOPUS_EULA=Y\n", set()),
        ("ACCEPT_EULA: $$Y", "", {"OCT302"}),  # a literal '$Y'
    ],
)
def test_compose_values_are_interpolated_from_dotenv(
    tmp_path: Path, env: str, variables: str, expected: set[str]
) -> None:
    write(tmp_path, variables, ".env")
    text = OCTOPUS.format(**GOOD).replace('ACCEPT_EULA: "Y"', env)
    assert {f.rule_id for f in findings(write(tmp_path, text))} == expected


def test_env_file_option_replaces_dotenv(tmp_path: Path) -> None:
    write(tmp_path, "ACCEPT_OCTOPUS_EULA=Y\n", ".env")
    other = write(tmp_path, "ACCEPT_OCTOPUS_EULA=N\n", "prod.env")
    text = OCTOPUS.format(**GOOD).replace('"Y"', "${ACCEPT_OCTOPUS_EULA}")
    path = write(tmp_path, text)
    engine = Engine(Config())
    assert not lint_deploy_paths([str(path)], engine).findings
    assert {f.rule_id for f in lint_deploy_paths([str(path)], engine, [other]).findings} == {
        "OCT302"
    }


def test_list_form_environment(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        services:
          db:
            image: mcr.microsoft.com/mssql/server:2022-latest
            environment:
              - ACCEPT_EULA=Y
              - SA_PASSWORD=N0tS3cr3t!
            mem_limit: 4g
        """)  # fmt: skip
    [found] = findings(path)
    assert (found.rule_id, found.line, found.column) == ("OCT301", 6, 9)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("", {"OCT310"}),
        ("    mem_limit: 4g\n", set()),
        ("    deploy:\n      resources:\n        limits:\n          memory: 4g\n", set()),
    ],
)
def test_sql_server_memory_limit(tmp_path: Path, limit: str, expected: set[str]) -> None:
    text = ("services:\n  db:\n    image: mcr.microsoft.com/mssql/server:2022-latest\n"
            "    environment:\n      ACCEPT_EULA: Y\n" + limit)  # fmt: skip
    assert {f.rule_id for f in findings(write(tmp_path, text))} == expected


def test_sql_server_is_recognised_by_its_password_when_the_image_is_unknown(
    tmp_path: Path,
) -> None:
    text = "services:\n  db:\n    image: ${SQL_IMAGE}\n    environment:\n      SA_PASSWORD: ''\n"
    assert {f.rule_id for f in findings(write(tmp_path, text))} == {"OCT301", "OCT302", "OCT310"}


STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  replicas: {replicas}
  serviceName: octopus
{strategy}  selector:
    matchLabels:
      app: octopus
  template:
    metadata:
      labels:
        app: octopus
    spec:
      containers:
        - name: octopus
          image: octopusdeploy/octopusdeploy:2020.3.1
"""


@pytest.mark.parametrize(
    ("replicas", "strategy", "expected"),
    [
        (1, "", False),  # one pod is stopped before the new one starts
        (2, "", True),
        (2, "  updateStrategy:\n    type: RollingUpdate\n", True),
        (2, "  updateStrategy:\n    type: OnDelete\n", False),
        (3, "  updateStrategy:\n    rollingUpdate:\n      partition: 0\n", True),
    ],
)
def test_rolling_update(tmp_path: Path, replicas: int, strategy: str, expected: bool) -> None:
    path = write(tmp_path, STATEFULSET.format(replicas=replicas, strategy=strategy), "sts.yaml")
    assert ("OCT307" in {f.rule_id for f in findings(path)}) is expected


CLAIM_TEMPLATES = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  replicas: 2
  serviceName: octopus
  updateStrategy:
    type: OnDelete
  selector:
    matchLabels:
      app: octopus
  template:
    metadata:
      labels:
        app: octopus
    spec:
      volumes:
        - name: artifacts
          persistentVolumeClaim: {claimName: shared}
        - name: logs
          persistentVolumeClaim: {claimName: elsewhere}
      containers:
        - name: octopus
          image: octopusdeploy/octopusdeploy:2020.3.1
          volumeMounts:
            - {name: repository, mountPath: /repository}
            - {name: artifacts, mountPath: /artifacts/}
            - {name: logs, mountPath: /taskLogs}
  volumeClaimTemplates:
    - metadata: {name: repository}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}
"""


def test_shared_volumes_from_claim_templates_are_per_pod(tmp_path: Path) -> None:
    path = write(tmp_path, CLAIM_TEMPLATES, "sts.yaml")
    [problem] = [f for f in findings(path) if f.rule_id == "OCT306"]
    assert "/repository is a per-pod volumeClaimTemplate" in problem.message
    assert "/artifacts" not in problem.message  # RWX claim in the same run
    assert "/taskLogs" not in problem.message  # a claim not in the files: unknown


# -- files that cannot be read ----------------------------------------------------------
def test_broken_files_are_oct300_with_a_line(tmp_path: Path) -> None:
    bad_yaml = write(tmp_path, "services:\n  a:\n    image: [unclosed\n", "bad.yaml")
    required = write(tmp_path, "services:\n  a:\n    image: x\n    environment:\n"
                     "      KEY: ${KEY:?KEY must be set}\n", "req/compose.yaml")  # fmt: skip
    bad_env = write(tmp_path, "services:\n  a:\n    image: x\n", "env/compose.yaml")
    write(tmp_path, "OK=1\nSA_PASSWORD=\"N0tS3cr3t!\nX=1\n", "env/.env")
    found = {(Path(f.path).name, f.rule_id, f.line) for f in findings(bad_yaml, required, bad_env)}
    assert found == {("bad.yaml", "OCT300", 3), ("compose.yaml", "OCT300", 5),
                     (".env", "OCT300", 2)}  # fmt: skip
    messages = [f.message + (f.source or "") for f in findings(required, bad_env)]
    assert any("required variable KEY is missing a value: KEY must be set" in m for m in messages)
    assert not any("N0tS3cr3t" in m for m in messages)  # the .env line is redacted too


def test_yaml_that_is_neither_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "name: CI\non: push\n", "workflow.yml")
    with pytest.raises(InputError, match="neither a Compose file"):
        load_deploy([str(path)])


def test_directories_skip_other_yaml_and_helm_sources(tmp_path: Path) -> None:
    write(tmp_path, "name: CI\non: push\n", "ci.yml")
    write(tmp_path, "kind: Service\napiVersion: v1\nmetadata:\n  name: {{ .Release.Name }}\n",
          "chart/templates/svc.yaml")  # fmt: skip
    with pytest.raises(InputError, match="no Compose files or Kubernetes manifests"):
        load_deploy([str(tmp_path)])
    shutil.copy(PUBLISHED / "kubernetes" / "mssql.yaml", tmp_path / "mssql.yaml")
    assert [f.path for f in load_deploy([str(tmp_path)]).files] == [str(tmp_path / "mssql.yaml")]


# -- pragmas -------------------------------------------------------------------------
def test_yaml_pragmas(tmp_path: Path) -> None:
    text = OCTOPUS.format(**{**GOOD, "password": "Passw0rd123", "eula": "N"})
    text = text.replace("      ADMIN_PASSWORD:", "      # octolint ignore=OCT301\n"
                        "      ADMIN_PASSWORD:")  # fmt: skip
    assert {f.rule_id for f in findings(write(tmp_path, text))} == {"OCT302"}
    text = "# octolint global ignore=eula-not-accepted\n" + text
    assert {f.rule_id for f in findings(write(tmp_path, text))} == set()
    text = text.replace("ignore=OCT301", "ignore=OCT399")
    found = findings(write(tmp_path, text))
    assert {(f.rule_id, f.line) for f in found} == {("OCT001", 10), ("OCT301", 11)}


# -- command line ------------------------------------------------------------------------
def test_cli_deploy_formats_never_show_a_secret(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(PUBLISHED, root)
    secret = "Zq9-octolint-test-secret"
    (root / ".octolint.toml").write_text(f'[rules.OCT301]\nsample-values = ["{secret}"]\n')
    (root / "compose" / ".env").write_text(
        (root / "compose" / ".env").read_text().replace("N0tS3cr3t!", secret)
    )
    outputs = {}
    for fmt in ("human", "json", "sarif"):
        proc = run_cli(["deploy", "compose/docker-compose.yml", "kubernetes", "-f", fmt],
                       cwd=root)  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        outputs[fmt] = proc.stdout
        assert secret not in proc.stdout + proc.stderr
    document = json.loads(outputs["json"])
    import jsonschema

    jsonschema.validate(document, load_schema("octolint-report.schema.json"))
    assert sum(f["rule_id"] == "OCT301" for f in document["findings"]) == 6
    results = json.dumps(json.loads(outputs["sarif"])["runs"][0]["results"])
    human = outputs["human"]
    for published in SECRETS:  # rule docs may quote them; findings never do
        assert published not in results and published not in human
        assert published not in json.dumps(document["findings"])


def test_cli_sarif_is_valid_and_regions_are_well_formed(tmp_path: Path) -> None:
    import jsonschema

    output = tmp_path / "out.sarif"
    proc = run_cli(["deploy", str(PUBLISHED / "kubernetes"), str(DEPLOY / "variants"),
                    "-f", "sarif", "-o", str(output)])  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    document = json.loads(output.read_text())
    jsonschema.validate(document, load_schema("sarif-2.1.0"))
    results = document["runs"][0]["results"]
    assert len(results) > 10
    for result in results:
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert region.get("endLine", region["startLine"]) >= region["startLine"]
        if region.get("endLine", region["startLine"]) == region["startLine"]:
            assert region["endColumn"] > region["startColumn"]


@pytest.mark.infra
def test_cli_sarif_passes_microsofts_validator(tmp_path: Path) -> None:
    from multitool import describe, sarif_multitool, validate

    output = tmp_path / "deploy.sarif"
    proc = run_cli(["deploy", str(PUBLISHED / "kubernetes"), str(PUBLISHED / "compose" /
                    "docker-compose.yml"), "-f", "sarif", "-o", str(output)], cwd=REPO)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    problems = validate(sarif_multitool(), output)
    assert problems == [], describe(problems)


def test_plain_octolint_dispatches_yaml_files_to_deploy(tmp_path: Path) -> None:
    compose = PUBLISHED / "compose" / "docker-compose.yml"
    proc = run_cli([str(compose), str(REPO / "fixtures" / "sample" / "fixed.Dockerfile"),
                    "-f", "json"])  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert {f["rule_id"] for f in document["findings"]} == {"OCT301", "OCT302", "OCT303"}
    assert len(document["files"]) == 2
    # directories are searched for Dockerfiles only, as before
    shutil.copy(REPO / "fixtures" / "sample" / "fixed.Dockerfile", tmp_path / "Dockerfile")
    shutil.copy(compose, tmp_path / "docker-compose.yml")
    proc = run_cli([str(tmp_path), "-f", "json"])
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text("on: push\n")
    for args, code in ((["deploy", str(tmp_path / "missing.yaml")], 3),
                       (["deploy", str(tmp_path / "ci.yml")], 3),
                       ([str(tmp_path / "ci.yml")], 3),
                       (["deploy", str(tmp_path)], 3)):  # fmt: skip
        proc = run_cli(args)
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_rules_and_explain_show_deploy_rules() -> None:
    proc = run_cli(["rules", "--format", "json"])
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert {rows[i]["applies_to"] for i in rows if i.startswith("OCT3")} == {"deploy"}
    assert "Applies to: deploy" in run_cli(["explain", "OCT306"]).stdout


def test_compose_env_file_values_are_checked(tmp_path: Path) -> None:
    write(tmp_path, "ACCEPT_EULA=Y\nSA_PASSWORD=N0tS3cr3t!\n", "sql.env")
    text = (
        "services:\n  db:\n    image: mcr.microsoft.com/mssql/server:2022-latest\n"
        "    env_file: sql.env\n    environment:\n      MSSQL_MEMORY_LIMIT_MB: 2048\n"
    )
    [found] = findings(write(tmp_path, text))
    assert (found.rule_id, found.line) == ("OCT301", 4)
    assert "from sql.env line 2" in found.message and "N0tS3cr3t" not in found.message
    # environment overrides env_file, as in Compose
    text += "      SA_PASSWORD: ${SA_PASSWORD}\n"
    assert findings(write(tmp_path, text)) == []
    missing = text.replace("env_file: sql.env", "env_file: [missing.env]")
    [broken] = findings(write(tmp_path, missing))
    assert (broken.rule_id, broken.line) == ("OCT300", 4)
    optional = text.replace(
        "env_file: sql.env", "env_file:\n      - path: missing.env\n        required: false"
    )
    assert {f.rule_id for f in findings(write(tmp_path, optional))} == {"OCT302"}
