"""`octolint deploy` on real public deployments (fixtures/deploy/real, see SOURCES.md there).

One test per case of issue 17: the official Helm chart rendered with several value
sets, and the Windows Compose files of OctopusDeploy/Octopus-Docker with their .env.
Variations are made from those files in the test, so each input stays a real one
with one thing changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, run_cli
from infra import unavailable

from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.engine import Engine
from octolint.model import Finding

REAL = FIXTURES / "deploy" / "real"
CHART = REAL / "helm-charts"
SINGLE = CHART / "single-mssql.yaml"  # one replica, in-cluster SQL Server
HA = CHART / "ha-external-db.yaml"  # three replicas, external DB, Password01! in a Secret
GENERATE_ME = CHART / "masterkey-generate-me.yaml"
DOCKER = REAL / "octopus-docker"
WINDOWS = DOCKER / "2019-12"  # Server/docker-compose.yml, .env beside Server/
WINDOWS_2017 = DOCKER / "2017-09"
PUBLISHED_COMPOSE = FIXTURES / "deploy" / "published" / "compose"
SAMPLES = ("Password01!", "N0tS3cr3t!", "Passw0rd123", "GENERATE_ME")


def findings(*paths: Path | str, env_files: list[Path] | None = None) -> list[Finding]:
    return lint_deploy_paths([str(p) for p in paths], Engine(Config()), env_files).findings


def summary(*paths: Path | str, env_files: list[Path] | None = None) -> set[tuple[str, str, int]]:
    return {(Path(f.path).name, f.rule_id, f.line) for f in findings(*paths, env_files=env_files)}


def rules(*paths: Path | str, env_files: list[Path] | None = None) -> set[str]:
    return {f.rule_id for f in findings(*paths, env_files=env_files)}


def windows(version: Path = WINDOWS) -> set[tuple[str, str, int]]:
    return summary(version / "Server" / "docker-compose.yml", env_files=[version / ".env"])


def documents(path: Path) -> list[str]:
    return [d for d in path.read_text(encoding="utf-8").split("\n---\n") if "kind:" in d]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# -- objects are kept apart by input, kind, namespace and name ------------------------
def test_two_renders_give_the_same_findings_in_either_order() -> None:
    alone = summary(SINGLE) | summary(HA)
    assert summary(SINGLE, HA) == alone == summary(HA, SINGLE)
    assert "OCT312" not in {rule for _f, rule, _l in alone}


def test_a_render_with_the_other_renders_claims_in_another_namespace(tmp_path: Path) -> None:
    """One stream: the HA render in namespace `prod`, a one-replica render's ReadWriteOnce
    claims of the same names in `staging`. The HA StatefulSet keeps its own claims."""
    staging = [d.replace("\nmetadata:\n", "\nmetadata:\n  namespace: staging\n", 1)
               for d in documents(SINGLE)]  # fmt: skip
    prod = [d.replace("\nmetadata:\n", "\nmetadata:\n  namespace: prod\n", 1)
            for d in documents(HA)]  # fmt: skip
    for order in ((prod, staging), (staging, prod)):
        stream = tmp_path / "both.yaml"
        stream.write_text("\n---\n".join(order[0] + order[1]), encoding="utf-8")
        found = rules(stream)
        assert "OCT312" not in found and "OCT306" not in found and "OCT309" not in found


def test_services_of_one_file_do_not_serve_a_statefulset_of_another(tmp_path: Path) -> None:
    docs = documents(HA)
    per_pod = [d for d in docs if "statefulset.kubernetes.io/pod-name" in d]
    assert len(per_pod) == 3
    (tmp_path / "octopus.yaml").write_text("\n---\n".join(d for d in docs if d not in per_pod))
    (tmp_path / "services.yaml").write_text("\n---\n".join(per_pod))
    apart = summary(tmp_path / "octopus.yaml", tmp_path / "services.yaml")
    assert ("octopus.yaml", "OCT309", line_of(tmp_path / "octopus.yaml", "replicas: 3")) in apart
    assert "OCT309" not in rules(tmp_path)  # one directory, distinct objects: one deployment


def test_an_object_defined_twice_in_one_stream_is_reported_not_merged() -> None:
    stream = SINGLE.read_bytes() + b"\n---\n" + HA.read_bytes()
    proc = run_cli(["deploy", "-", "-f", "json"], stdin=stream)
    found = json.loads(proc.stdout)["findings"]
    duplicates = [f for f in found if f["rule_id"] == "OCT312"]
    assert any("StatefulSet 'octo-octopus-deploy'" in f["message"] for f in duplicates)
    # the first definition (one replica) is what is checked: no HA findings
    assert not {"OCT306", "OCT309"} & {f["rule_id"] for f in found}


def test_a_folder_of_renders_is_one_input_per_file() -> None:
    assert "OCT312" not in rules(CHART)
    assert summary(CHART) == set().union(*(summary(p) for p in sorted(CHART.glob("*.yaml"))))


# -- values from Secrets --------------------------------------------------------------
def test_a_connection_string_from_a_secret_is_checked_and_never_printed() -> None:
    found = [f for f in findings(HA) if f.rule_id == "OCT301"]
    assert [f.line for f in found] == [line_of(HA, "name: DB_CONNECTION_STRING")]
    assert "Secret 'octo-connectionstring'" in found[0].message
    for fmt in ("human", "json", "sarif"):
        proc = run_cli(["deploy", str(HA), "-f", fmt])
        shown = proc.stdout + proc.stderr
        if fmt == "sarif":  # the rules' documentation names the published samples
            shown = json.dumps(json.loads(proc.stdout)["runs"][0]["results"])
        assert proc.returncode == 1 and "Password01!" not in shown
        assert "UGFzc3dvcmQwMSE" not in shown  # nor its base64


def test_a_master_key_from_a_secret_that_is_not_a_key_is_an_error() -> None:
    [found] = [f for f in findings(GENERATE_ME) if f.rule_id == "OCT303"]
    assert found.severity.name == "ERROR" and "16-byte" in found.message
    assert "GENERATE_ME" not in run_cli(["deploy", str(GENERATE_ME)]).stdout


def test_envfrom_and_stringdata_are_read(tmp_path: Path) -> None:
    """The render's Octopus container takes its settings with envFrom from one Secret
    written with stringData, as hand-written manifests often do."""
    text = HA.read_text()
    text = text.replace("        env:\n", "        envFrom:\n          - secretRef:\n"
                        "              name: octopus-env\n        env:\n", 1)
    text += ("\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: octopus-env\n"
             "stringData:\n  ADMIN_USERNAME: admin\n  ADMIN_PASSWORD: Password01!\n")
    path = tmp_path / "envfrom.yaml"
    path.write_text(text)
    messages = [f.message for f in findings(path) if f.rule_id == "OCT301"]
    assert any(m.startswith("ADMIN_PASSWORD is a sample") and "octopus-env" in m
               for m in messages)  # fmt: skip
    assert "Password01!" not in run_cli(["deploy", str(path), "-f", "json"]).stdout


# -- the variants people write --------------------------------------------------------
def test_windows_compose_old_names_are_checked_and_windows_judgements_hold() -> None:
    compose = WINDOWS / "Server" / "docker-compose.yml"
    assert windows() == {
        ("docker-compose.yml", "OCT301", line_of(compose, "sa_password")),
        ("docker-compose.yml", "OCT301", line_of(compose, "OctopusAdminPassword")),
        ("docker-compose.yml", "OCT301", line_of(compose, "sqlDbConnectionString")),
        ("docker-compose.yml", "OCT304", line_of(compose, "image: octopusdeploy")),
    }  # no OCT305 (Windows: no DinD), OCT303 (C:/MasterKey volume), OCT302, OCT310 (Express)


def test_windows_image_without_a_master_key_volume_is_warned() -> None:
    assert ("docker-compose.yml", "OCT303", 14) in windows(WINDOWS_2017)


def test_older_sql_server_images_are_recognised(tmp_path: Path) -> None:
    shutil.copytree(WINDOWS, tmp_path / "w")
    compose = tmp_path / "w" / "Server" / "docker-compose.yml"
    env = tmp_path / "w" / ".env"
    env.write_text(env.read_text().replace("mssql-server-windows-express:1709",
                                           "mssql-server-linux:2017-latest"))  # fmt: skip
    text = compose.read_text().replace('ACCEPT_EULA: "Y"', 'ACCEPT_EULA: "N"')
    compose.write_text(text)
    found = rules(compose, env_files=[env])
    assert {"OCT302", "OCT310"} <= found  # EULA and memory of microsoft/mssql-server-linux


def test_sql_server_express_is_not_said_to_take_80_percent() -> None:
    """The windows-express image of Octopus-Docker: Express caps its buffer pool."""
    assert "OCT310" not in {rule for _f, rule, _l in windows()}


def test_inline_shared_volumes_pass_and_empty_dirs_are_lost(tmp_path: Path) -> None:
    shared = HA.read_text()
    for claim in ("package-repository-claim", "artifacts-claim", "task-log-claim"):
        shared = shared.replace(
            f"persistentVolumeClaim:\n            claimName: {claim}",
            f"nfs:\n            server: nfs.example.internal\n            path: /{claim}")
    (tmp_path / "nfs.yaml").write_text(shared.replace("ReadWriteMany", "ReadWriteOnce"))
    assert not {"OCT306", "OCT311"} & rules(tmp_path / "nfs.yaml")
    lost = SINGLE.read_text().replace(
        "persistentVolumeClaim:\n            claimName: task-log-claim", "emptyDir: {}")
    (tmp_path / "emptydir.yaml").write_text(lost)
    [found] = [f for f in findings(tmp_path / "emptydir.yaml") if f.rule_id == "OCT311"]
    assert "/taskLogs" in found.message  # one replica: still lost at every reschedule


def test_a_pre_upgrade_hook_that_scales_to_zero_avoids_the_rolling_update(tmp_path: Path) -> None:
    assert "OCT307" in rules(HA)  # the chart's own hook orphans the pods: still rolling
    hook = documents(HA)[-1]
    assert '"helm.sh/hook": pre-upgrade' in hook and "kind: Job" in hook
    scaled = re.sub(r"for sts in .*?done\n", "kubectl scale statefulset octo-octopus-deploy "
                    "--replicas=0 --namespace=default\n", hook, flags=re.S)  # fmt: skip
    assert scaled != hook
    (tmp_path / "scaled.yaml").write_text(HA.read_text() + "\n---\n" + scaled.replace(
        "octo-octopus-deploy-pre-upgrade", "octo-scale-down"))  # fmt: skip
    assert "OCT307" not in rules(tmp_path / "scaled.yaml")


# -- documented scope -----------------------------------------------------------------
def _published_with(tmp_path: Path, **settings: str) -> set[tuple[str, str, int]]:
    shutil.copytree(PUBLISHED_COMPOSE, tmp_path / "c")
    env = tmp_path / "c" / ".env"
    text = env.read_text()
    for name, value in settings.items():
        text = re.sub(rf"(?m)^{name}=.*$", f"{name}={value}", text)
    env.write_text(text)
    return summary(tmp_path / "c" / "docker-compose.yml")


def test_an_empty_connection_string_is_reported(tmp_path: Path) -> None:
    found = _published_with(tmp_path, DB_CONNECTION_STRING="")
    assert ("docker-compose.yml", "OCT301", 22) in found


def test_an_unset_repository_suffix_is_empty_as_in_compose(tmp_path: Path) -> None:
    shutil.copytree(WINDOWS, tmp_path / "w")
    env = tmp_path / "w" / ".env"
    env.write_text(re.sub(r"(?m)^OCTOPUS_SERVER_REPO_SUFFIX=\n", "", env.read_text()))
    assert "OCTOPUS_SERVER_REPO_SUFFIX" not in env.read_text()
    found = summary(tmp_path / "w" / "Server" / "docker-compose.yml", env_files=[env])
    assert ("docker-compose.yml", "OCT304", 13) in found


def test_the_master_key_of_the_docs_is_a_sample(tmp_path: Path) -> None:
    found = findings(*_published_paths(tmp_path, MASTER_KEY="U9ZrQR98uLXyz4CXJzUuCA=="))
    [key] = [f for f in found if f.rule_id == "OCT303"]
    assert "sample key" in key.message and "U9ZrQR98" not in key.message


def _published_paths(tmp_path: Path, **settings: str) -> list[Path]:
    _published_with(tmp_path, **settings)
    return [tmp_path / "c" / "docker-compose.yml"]


def test_placeholder_passwords_are_reported(tmp_path: Path) -> None:
    found = _published_with(tmp_path, SA_PASSWORD="THE_SA_PASSWORD_DEFINED_ABOVE",
                            ADMIN_PASSWORD="your_db_password")  # fmt: skip
    assert {("docker-compose.yml", "OCT301", line) for line in (6, 22, 24)} <= found


# -- a chart directory ----------------------------------------------------------------
def test_a_chart_directory_asks_for_helm_template() -> None:
    proc = run_cli(["deploy", str(CHART / "chart")])
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "Helm chart" in line and "helm template" in line and str(CHART / "chart") in line


def test_a_directory_holding_a_chart_never_half_checks_its_templates() -> None:
    assert not [f for f in findings(CHART) if "/chart/" in f.path]
    template = CHART / "chart" / "templates" / "pvc.yaml"  # valid YAML, still a template
    proc = run_cli(["deploy", str(template)])
    assert proc.returncode == 3 and "helm template" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _helm() -> str | None:
    return os.environ.get("OCTOLINT_HELM") or shutil.which("helm")


@pytest.mark.infra
def test_fresh_renders_match_the_kept_ones(tmp_path: Path) -> None:
    """With a Helm binary, render.sh reproduces the kept renders (the chart's random
    secrets aside): same findings, same lines."""
    helm = _helm()
    if helm is None:
        unavailable("no helm binary: `python tools/fetch_helm.py DIR`, then OCTOLINT_HELM=DIR/helm")
        return
    shutil.copytree(CHART, tmp_path / "c")
    subprocess.run(["sh", str(tmp_path / "c" / "render.sh")], check=True, timeout=120,
                   env={**os.environ, "HELM": helm})  # fmt: skip
    for kept in sorted(CHART.glob("*.yaml")):
        fresh = tmp_path / "c" / kept.name
        assert summary(fresh) == summary(kept)


def test_no_sample_secret_is_printed_for_any_real_fixture() -> None:
    proc = run_cli(["deploy", str(CHART), "-f", "json"])
    assert proc.returncode == 1
    assert not [s for s in SAMPLES if s in proc.stdout]


def test_the_real_deployment_set_meets_the_goal() -> None:
    """bench/eval_deploy.py: precision and recall on the labelled real deployments."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "eval_deploy.py"), "--json"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    result = json.loads(proc.stdout)
    assert result["deployments"] >= 10 and result["goal_met"], result["disagreements"]
    assert proc.returncode == 0


def test_no_secret_value_or_its_base64_is_left_in_the_lines_shown() -> None:
    """A Secret's base64 `data` ends in `=` padding: the lines a report shows keep none
    of it (a `KEY=value` shape is a Compose list item only)."""
    import base64

    from octolint.deploy.load import load_deploy

    target = load_deploy([str(CHART / "sample-passwords.yaml"), str(CHART / "ha-external-db.yaml")])
    shown = "\n".join(line for f in target.files for line in f.lines)
    for value in (*target.secrets(), "N0tS3cr3t!", "Password01!"):
        encoded = base64.b64encode(value.encode()).decode()
        assert value not in shown and encoded.rstrip("=")[:12] not in shown


def test_a_compose_master_key_with_padding_is_redacted_whole(tmp_path: Path) -> None:
    key = "U9ZrQR98uLXyz4CXJzUuCA=="  # starts like a name: once kept up to its `=`
    (tmp_path / "compose.yaml").write_text(
        "services:\n  octopus:\n    image: octopusdeploy/octopusdeploy:2024.1\n"
        f"    environment:\n      MASTER_KEY: {key}\n"
    )
    proc = run_cli(["deploy", str(tmp_path / "compose.yaml")])
    assert "OCT303" in proc.stdout and key[:8] not in proc.stdout


def test_every_secret_value_is_redacted_even_duplicated_or_oddly_keyed(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n"
        "  1: IntegerKeyValue1\n  k: |\n    BlockLineOne1\n    BlockLineTwo2\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: DuplicateValue3}\n"
    )
    proc = run_cli(["deploy", str(path), "-f", "json"])
    assert "OCT312" in proc.stdout
    from octolint.deploy.load import load_deploy

    shown = "\n".join(load_deploy([str(path)]).files[0].lines)
    for value in ("IntegerKeyValue1", "BlockLineOne1", "BlockLineTwo2", "DuplicateValue3"):
        assert value not in shown and value not in proc.stdout
