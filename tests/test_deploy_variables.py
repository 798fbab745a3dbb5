"""Where a container's variables come from, beyond literal values: Compose's `env_file`
interpolated with the project's `.env`, `KEY` entries without a value, Kubernetes
`envFrom` sources octolint cannot read, `$(VAR)` dependent variables and Secrets
kubectl refuses. Compose behaviour is checked against the real `docker compose`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from composeoracle import compose_config, environment_of

from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.deploy.load import load_deploy
from octolint.engine import Engine


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rules(path: Path) -> set[tuple[str, int]]:
    return {(f.rule_id, f.line) for f in lint_deploy_paths([str(path)], Engine(Config())).findings}


def known_env(path: Path, service: str) -> dict[str, str | None]:
    [container] = [c for c in load_deploy([str(path)]).containers if c.name == service]
    return {name: value.text for name, value in container.env.items()}


# -- Compose ---------------------------------------------------------------------------
def privileged_octopus(directory: Path, *environment: str) -> Path:
    """compose.yaml: a privileged Octopus Server with these `environment` lines."""
    lines = "".join(f"      {line}\n" for line in environment)
    return write(directory, "compose.yaml", "services:\n  octopus:\n"
                 "    image: octopusdeploy/octopusdeploy:2024.1.1\n    privileged: true\n"
                 f"    environment:\n{lines}")  # fmt: skip



DOTENV = "MK=Zm9vYmFyYmF6cXV4MTIzNA==\nEULA=Y\nX=from-dotenv\nBARE=bare-from-dotenv\n"
ENV_FILE = "X=local\nY=${X}\nZ=${EULA}-${X}\nW=${NOPE:-default}\nQ='${X}'\n"


@pytest.mark.infra
def test_env_file_and_bare_entries_read_the_project_variables_as_compose_does(
    tmp_path: Path,
) -> None:
    write(tmp_path, ".env", DOTENV)
    write(tmp_path, "e.env", ENV_FILE)
    compose = write(tmp_path, "compose.yaml", """\
        services:
          s:
            image: busybox
            env_file: e.env
            environment:
              - BARE
        """)  # fmt: skip
    _code, document, stderr = compose_config(tmp_path)
    assert document is not None, stderr
    expected = environment_of(document, "s")
    # an env_file's ${X} is the project's X before its own key above (compose-go's lookup)
    assert expected["Y"] == "from-dotenv" and expected["BARE"] == "bare-from-dotenv"
    assert known_env(compose, "s") == expected


def octopus_with_env_file(directory: Path, env_file: str) -> Path:
    write(directory, "octopus.env", env_file)
    return write(directory, "compose.yaml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:2024.1
            privileged: true
            env_file: octopus.env
        """)  # fmt: skip


def test_env_file_values_from_dotenv_are_checked(tmp_path: Path) -> None:
    write(tmp_path, ".env", "MK=Zm9vYmFyYmF6cXV4MTIzNA==\nEULA=Y\nPW=Passw0rd123\n")
    compose = octopus_with_env_file(
        tmp_path, "ACCEPT_EULA=${EULA}\nMASTER_KEY=${MK}\nADMIN_PASSWORD=${PW}\n"
    )
    # no "ACCEPT_EULA is ''" nor "MASTER_KEY is not set": the sample password is found
    assert rules(compose) == {("OCT301", 5)}


def test_an_env_file_variable_set_nowhere_is_unknown_not_empty(tmp_path: Path) -> None:
    compose = octopus_with_env_file(
        tmp_path, "ACCEPT_EULA=${EULA}\nMASTER_KEY=${MK}\nADMIN_PASSWORD=x${PW}\n"
    )
    assert rules(compose) == set()
    assert known_env(compose, "octopus") == {
        "ACCEPT_EULA": None, "MASTER_KEY": None, "ADMIN_PASSWORD": None,
    }  # fmt: skip


@pytest.mark.parametrize("entry", ["DB_CONNECTION_STRING:", "- DB_CONNECTION_STRING"])
def test_an_entry_without_a_value_takes_the_dotenv_value(tmp_path: Path, entry: str) -> None:
    write(tmp_path, ".env", "DB_CONNECTION_STRING='Server=db;Password=N0tS3cr3t!'\n")
    eula, key = ("ACCEPT_EULA: Y", "MASTER_KEY: Zm9vYmFyYmF6cXV4MTIzNA==")
    if entry.startswith("-"):
        eula, key = ("- ACCEPT_EULA=Y", "- MASTER_KEY=Zm9vYmFyYmF6cXV4MTIzNA==")
    compose = privileged_octopus(tmp_path, eula, key, entry)
    [found] = lint_deploy_paths([str(compose)], Engine(Config())).findings
    assert (found.rule_id, found.line) == ("OCT301", 8)
    assert ".env line 1)" in found.message and "N0tS3cr3t" not in found.message
    # not in .env: from the shell at `docker compose up`, unknown
    (tmp_path / ".env").write_text("OTHER=1\n", encoding="utf-8")
    assert known_env(compose, "octopus")["DB_CONNECTION_STRING"] is None


# -- Kubernetes ------------------------------------------------------------------------
STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: octopus{namespace}}}
spec:
  replicas: 1
  updateStrategy: {{type: OnDelete}}
  template:
    spec:
      containers:
      - name: octopus
        image: "octopusdeploy/octopusdeploy:2024.1.1"
{settings}
        startupProbe: {{exec: {{command: [x]}}}}
        readinessProbe: {{exec: {{command: [x]}}}}
        livenessProbe: {{exec: {{command: [x]}}}}
        lifecycle: {{preStop: {{exec: {{command: [x]}}}}}}
"""


def manifest(tmp_path: Path, settings: str, before: str = "", namespace: str = "") -> Path:
    settings = textwrap.indent(textwrap.dedent(settings), " " * 8)
    where = f", namespace: {namespace}" if namespace else ""
    text = STATEFULSET.format(settings=settings, namespace=where)
    return write(tmp_path, "octopus.yaml", textwrap.dedent(before) + text)


@pytest.mark.parametrize("source", ["configMapRef: {name: octopus-config}",
                                    "secretRef: {name: not-in-the-files}"])  # fmt: skip
def test_an_env_from_octolint_cannot_read_may_set_anything(tmp_path: Path, source: str) -> None:
    # no OCT302 (no ACCEPT_EULA), OCT303 (MASTER_KEY not set), OCT305 (DISABLE_DIND)
    assert rules(manifest(tmp_path, f"envFrom:\n- {source}\n")) == set()
    # what the container sets itself is still checked
    path = manifest(tmp_path, f"""\
        envFrom:
        - {source}
        env:
        - {{name: ACCEPT_EULA, value: "N"}}
        """)  # fmt: skip
    assert rules(path) == {("OCT302", 15)}


def test_without_env_from_a_missing_variable_is_reported(tmp_path: Path) -> None:
    found = {rule for rule, _line in rules(manifest(tmp_path, "env: []\n"))}
    assert found == {"OCT302", "OCT303", "OCT305"}


def test_dependent_variables_are_expanded_as_the_kubelet_does(tmp_path: Path) -> None:
    path = manifest(tmp_path, """\
        securityContext: {privileged: true}
        env:
        - {name: EULA, valueFrom: {configMapKeyRef: {name: octopus, key: eula}}}
        - {name: ACCEPT_EULA, value: "$(EULA)"}
        - {name: MASTER_KEY, value: "Zm9vYmFyYmF6cXV4MTIzNA=="}
        - {name: PW, value: "Passw0rd123"}
        - {name: ADMIN_PASSWORD, value: "$(PW)"}
        - {name: ESCAPED, value: "$$(PW) $(LATER) $PW $("}
        - {name: LATER, value: "x"}
        """)  # fmt: skip
    env = known_env(path, "octopus")
    assert env["ACCEPT_EULA"] is None  # a ConfigMap's value: unknown, so no OCT302
    assert env["ADMIN_PASSWORD"] == "Passw0rd123"
    # `$$` is a `$`; a name defined later, or not at all, stays as written
    assert env["ESCAPED"] == "$(PW) $(LATER) $PW $("
    assert rules(path) == {("OCT301", 18)}


def test_with_env_from_an_undefined_reference_is_unknown(tmp_path: Path) -> None:
    path = manifest(tmp_path, """\
        envFrom:
        - configMapRef: {name: octopus}
        env:
        - {name: ADMIN_PASSWORD, value: "$(FROM_THE_CONFIG_MAP)"}
        """)  # fmt: skip
    assert known_env(path, "octopus")["ADMIN_PASSWORD"] is None


def test_a_secret_kubectl_refuses_is_oct300_and_its_values_unknown(tmp_path: Path) -> None:
    secret = """\
        apiVersion: v1
        kind: Secret
        metadata: {name: octopus}
        data:
          MASTER_KEY: "!!!not-base64"
        ---
        """
    path = manifest(tmp_path, "envFrom:\n- secretRef: {name: octopus}\n"
                    'env:\n- {name: ACCEPT_EULA, value: "Y"}\n', before=secret)  # fmt: skip
    [found] = lint_deploy_paths([str(path)], Engine(Config())).findings
    assert (found.rule_id, found.line) == ("OCT300", 5)
    assert "'MASTER_KEY' is not valid base64" in found.message and "not-base64" not in found.message


@pytest.mark.parametrize(
    ("secret_namespace", "workload_namespace", "expected"),
    [
        ("", "default", {"OCT303"}),  # no namespace: it goes where it is applied
        ("default", "", {"OCT303"}),
        ("octopus", "octopus", {"OCT303"}),
        ("other", "octopus", set()),  # another namespace's is not the workload's
    ],
)
def test_the_secret_of_the_workloads_namespace_is_used(
    tmp_path: Path, secret_namespace: str, workload_namespace: str, expected: set[str]
) -> None:
    namespace = f", namespace: {secret_namespace}" if secret_namespace else ""
    secret = f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: octopus{namespace}}}
        stringData:
          MASTER_KEY: "6EdU6IWsCtMEwk0kPKflQQ=="
        ---
        """
    path = manifest(tmp_path, "securityContext: {privileged: true}\n"
                    "envFrom:\n- secretRef: {name: octopus}\n"
                    'env:\n- {name: ACCEPT_EULA, value: "Y"}\n',
                    before=secret, namespace=workload_namespace)  # fmt: skip
    assert {rule for rule, _line in rules(path)} == expected  # OCT303: the sample key


# -- Compose include ---------------------------------------------------------------------
def include_project(tmp_path: Path, entry: str) -> Path:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", ".env", "TAG=2024.1\nEULA=N\nKEY=from-sub\n")
    write(tmp_path / "sub", "other.env", "TAG=2024.2\nEULA=N\n")
    write(tmp_path / "sub", "o.env", "X=${KEY}\n")
    write(tmp_path / "sub", "compose.yaml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:${TAG}
            privileged: true
            env_file: o.env
            environment:
              ACCEPT_EULA: ${EULA}
              MASTER_KEY: Zm9vYmFyYmF6cXV4MTIzNA==
        """)  # fmt: skip
    write(tmp_path, ".env", "EULA=Y\n")
    return write(tmp_path, "compose.yaml", f"include:\n{entry}\nservices:\n  web:\n"
                 "    image: nginx:1.27\n")  # fmt: skip


INCLUDES = ["  - sub/compose.yaml", "  - path: [sub/compose.yaml]\n    env_file: sub/other.env"]


@pytest.mark.infra
@pytest.mark.parametrize("entry", INCLUDES)
@pytest.mark.parametrize("parent", ["EULA=Y\n", "EULA=Y\nKEY=from-parent\n"])
def test_included_projects_read_as_compose_reads_them(
    tmp_path: Path, entry: str, parent: str
) -> None:
    compose = include_project(tmp_path, entry)
    write(tmp_path, ".env", parent)
    _code, document, stderr = compose_config(tmp_path)
    assert document is not None, stderr
    # the including project's variables win over the included one's .env
    assert environment_of(document, "octopus")["ACCEPT_EULA"] == "Y"
    target = load_deploy([str(compose)])
    [octopus] = [c for c in target.containers if c.name == "octopus"]
    ours = {n: v.text for n, v in octopus.env.items()}
    # an included project's env_file sees the including project's variables only (not
    # its own .env): without the parent's KEY it is set nowhere, which Compose makes ""
    # and octolint unknown
    expected = environment_of(document, "octopus")
    assert ours == ({**expected, "X": None} if "KEY" not in parent else expected)
    assert octopus.image is not None
    assert octopus.image.text == document["services"]["octopus"]["image"]
    assert {c.name for c in target.containers} == {"octopus", "web"}


def test_an_included_service_is_checked_at_its_own_file(tmp_path: Path) -> None:
    compose = include_project(tmp_path, "  - sub/compose.yaml")
    (tmp_path / ".env").unlink()  # ACCEPT_EULA is then sub/.env's N
    [found] = lint_deploy_paths([str(compose)], Engine(Config())).findings
    assert (found.rule_id, Path(found.path).name, found.line) == ("OCT302", "compose.yaml", 7)
    assert Path(found.path).parent.name == "sub" and "sub/.env line 2" in found.message


@pytest.mark.infra
@pytest.mark.parametrize(("include", "extra", "message"), [
    ("  - sub/compose.yaml", "  octopus:\n    image: x\n",
     "services.octopus conflicts with imported resource"),
    ("  - sub/missing.yaml", "", "include: sub/missing.yaml: cannot read"),
    ("  - compose.yaml", "", "include: cycle through compose.yaml"),
])  # fmt: skip
def test_includes_compose_refuses_are_oct300(
    tmp_path: Path, include: str, extra: str, message: str
) -> None:
    compose = include_project(tmp_path, include)
    compose.write_text(compose.read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert compose_config(tmp_path)[0] != 0  # docker compose refuses it too
    [found] = lint_deploy_paths([str(compose)], Engine(Config())).findings
    assert (found.rule_id, found.line) == ("OCT300", 1)
    assert message in found.message.replace(str(tmp_path) + "/", "")


# -- values as Compose and kubectl type them (QA round 2) ---------------------------------
@pytest.mark.parametrize(("written", "privileged"), [
    ("yes", True), ("Y", True), ("'y'", True), ("on", True), ("true", True),
    ("no", False), ("off", False), ("${P}", True),
])  # fmt: skip
def test_compose_privileged_is_cast_as_compose_casts_it(
    tmp_path: Path, written: str, privileged: bool
) -> None:
    write(tmp_path, ".env", "P=yes\n")
    compose = write(tmp_path, "compose.yaml", f"""\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:2024.1.1
            privileged: {written}
            environment: {{ACCEPT_EULA: "Y", MASTER_KEY: q7Vp3kLm9XwT2sYb4nRc8A==}}
        """)  # fmt: skip
    assert rules(compose) == (set() if privileged else {("OCT305", 4)})


def test_compose_refuses_a_privileged_that_is_no_boolean(tmp_path: Path) -> None:
    compose = write(tmp_path, "compose.yaml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:2024.1.1
            privileged: "1"
        """)  # fmt: skip
    [found] = lint_deploy_paths([str(compose)], Engine(Config())).findings
    assert (found.rule_id, found.line) == ("OCT300", 4) and "invalid boolean" in found.message


@pytest.mark.parametrize(("settings", "line", "what"), [
    ("env:\n- name: ACCEPT_EULA\n  value: Y\n", 14, "the value of ACCEPT_EULA is a boolean"),
    ("env:\n- {name: LIMIT, value: 2048}\n", 13, "the value of LIMIT is a number"),
    ("securityContext: {privileged: \"true\"}\n", 12, "privileged must be a boolean"),
])  # fmt: skip
def test_what_kubectl_types_wrongly_is_oct300(
    tmp_path: Path, settings: str, line: int, what: str
) -> None:
    [found] = [f for f in lint_deploy_paths([str(manifest(tmp_path, settings))],
                                            Engine(Config())).findings if f.rule_id == "OCT300"]
    assert found.line == line and what in found.message


def test_kubectl_reads_an_unquoted_yes_as_true(tmp_path: Path) -> None:
    path = manifest(tmp_path, 'securityContext: {privileged: yes}\nenv:\n'
                    '- {name: ACCEPT_EULA, value: "Y"}\n'
                    "- {name: MASTER_KEY, value: q7Vp3kLm9XwT2sYb4nRc8A==}\n")  # fmt: skip
    assert rules(path) == set()


def test_services_and_claims_without_a_namespace_serve_a_namespaced_workload(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "deployment"
    directory.mkdir()
    write(directory, "sts.yaml", """\
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: octopus, namespace: octopus}
        spec:
          replicas: 2
          updateStrategy: {type: OnDelete}
          template:
            spec:
              containers:
              - name: octopus
                image: octopusdeploy/octopusdeploy:2024.1.1
                ports: [{containerPort: 10943, name: tentacle}]
                volumeMounts: [{name: repository, mountPath: /repository}]
              volumes:
              - {name: repository, persistentVolumeClaim: {claimName: repository}}
        """)  # fmt: skip
    pods = "".join(textwrap.dedent(f"""\
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: octopus-{n}}}
        spec:
          selector: {{statefulset.kubernetes.io/pod-name: octopus-{n}}}
          ports: [{{port: 10943, targetPort: 10943}}]
        """) for n in (0, 1))  # fmt: skip
    claim = """\
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: repository}
        spec: {accessModes: [ReadWriteOnce]}
        """
    (directory / "svc.yaml").write_text(textwrap.dedent(claim) + pods)
    found = {f.rule_id for f in lint_deploy_paths([str(directory)], Engine(Config())).findings}
    assert "OCT309" not in found  # the per-pod Services are found
    assert "OCT306" in found  # and the ReadWriteOnce claim two nodes share


def test_a_job_running_the_octopus_image_needs_no_probes(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", """\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: upgrade
          annotations: {helm.sh/hook: pre-upgrade}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: upgrade
                image: octopusdeploy/octopusdeploy:2024.1.1
                command: [/Octopus/Octopus.Server, database, --upgrade]
        """)  # fmt: skip
    assert "OCT308" not in {rule for rule, _line in rules(path)}


@pytest.mark.parametrize("password", ['"N0tS3cr3t!"', "'N0tS3cr3t!'", '""'])
def test_a_quoted_connection_string_password_is_read_as_sqlclient_reads_it(
    tmp_path: Path, password: str
) -> None:
    connection = f"DB_CONNECTION_STRING: Server=db;User Id=sa;Password={password}"
    compose = privileged_octopus(
        tmp_path, 'ACCEPT_EULA: "Y"', "MASTER_KEY: q7Vp3kLm9XwT2sYb4nRc8A==", connection
    )
    [found] = lint_deploy_paths([str(compose)], Engine(Config())).findings
    assert found.rule_id == "OCT301"
    assert ("empty password" in found.message) is (password == '""')


# -- fragments: files for `docker compose -f base.yaml -f this.yaml` -----------------------
FRAGMENT = """\
services:
  octopus:
    environment:
      DB_CONNECTION_STRING: ${PROD_DB_CONNECTION_STRING}
      MASTER_KEY: ${PROD_MASTER_KEY}
  db:
    environment:
      MSSQL_SA_PASSWORD: ${PROD_SA}
"""


@pytest.mark.infra
def test_a_compose_fragment_is_skipped_in_a_directory_and_oct300_when_named(
    tmp_path: Path,
) -> None:
    write(tmp_path, "compose.yaml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:2024.1.1
            privileged: true
            environment: {ACCEPT_EULA: "Y", MASTER_KEY: q7Vp3kLm9XwT2sYb4nRc8A==}
          db:
            image: mcr.microsoft.com/mssql/server:2022-latest
            environment: {ACCEPT_EULA: "Y", MSSQL_PID: Express}
        """)  # fmt: skip
    fragment = write(tmp_path, "compose.prod.yaml", FRAGMENT)
    assert compose_config(tmp_path, files=("compose.prod.yaml",))[0] != 0  # refused alone
    assert compose_config(tmp_path, files=("compose.yaml", "compose.prod.yaml"))[0] == 0
    # in a directory: no claims about containers a fragment only adds to
    assert lint_deploy_paths([str(tmp_path)], Engine(Config())).findings == []
    [found] = lint_deploy_paths([str(fragment)], Engine(Config())).findings
    assert (found.rule_id, found.line) == ("OCT300", 2)
    assert "neither an image nor a build context" in found.message


def test_a_namespace_declared_in_each_file_keeps_the_directory_one_deployment(
    tmp_path: Path,
) -> None:
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: octopus}\n---\n"
    settings = "securityContext: {privileged: true}\nports: [{containerPort: 10943}]\n"
    sts = manifest(tmp_path, settings)
    text = sts.read_text(encoding="utf-8").replace("replicas: 1", "replicas: 2")
    directory = tmp_path / "deployment"
    directory.mkdir()
    (directory / "sts.yaml").write_text(namespace + text, encoding="utf-8")
    services = "".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: octopus-{n}}}\nspec:\n"
        f"  selector: {{statefulset.kubernetes.io/pod-name: octopus-{n}}}\n"
        "  ports: [{port: 10943, targetPort: 10943}]\n"
        for n in (0, 1)
    )
    (directory / "svc.yaml").write_text(namespace + services, encoding="utf-8")
    found = {f.rule_id for f in lint_deploy_paths([str(directory)], Engine(Config())).findings}
    assert "OCT309" not in found and "OCT312" not in found


@pytest.mark.infra
def test_an_override_resets_one_variable_as_compose_does(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:2024.1.1
            environment:
              ACCEPT_EULA: "Y"
              DISABLE_DIND: "Y"
              MASTER_KEY: q7Vp3kLm9XwT2sYb4nRc8A==
        """)  # fmt: skip
    write(tmp_path, "compose.override.yaml", """\
        services:
          octopus:
            environment:
              MASTER_KEY: !reset null
              DISABLE_DIND: !reset null
        """)  # fmt: skip
    _code, document, stderr = compose_config(tmp_path)
    assert document is not None, stderr
    assert environment_of(document, "octopus") == {"ACCEPT_EULA": "Y"}
    assert known_env(tmp_path / "compose.yaml", "octopus") == {"ACCEPT_EULA": "Y"}
    found = {(f.rule_id, f.severity.label) for f in
             lint_deploy_paths([str(tmp_path / "compose.yaml")], Engine(Config())).findings}
    assert found == {("OCT303", "warning"), ("OCT305", "error")}  # not set; DinD unprivileged
