"""Compose override files merged as `docker compose` merges them, checked against it."""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from composeoracle import compose_config
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.deploy.load import load_deploy
from octolint.deploy.target import is_true
from octolint.engine import Engine
from octolint.model import Finding

BASE = """\
services:
  db:
    image: mcr.microsoft.com/mssql/server:2022-latest
    mem_limit: 4g
    environment:
      ACCEPT_EULA: "Y"
      SA_PASSWORD: "{password}"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def findings(*paths: Path) -> list[Finding]:
    return lint_deploy_paths([str(p) for p in paths], Engine(Config())).findings


def where(found: list[Finding]) -> set[tuple[str, str, int]]:
    return {(Path(f.path).name, f.rule_id, f.line) for f in found}


# -- hand-written cases ---------------------------------------------------------------
def test_an_override_that_fixes_the_sample_password_silences_oct301(tmp_path: Path) -> None:
    base = write(tmp_path, "compose.yaml", BASE.format(password="N0tS3cr3t!"))
    assert where(findings(base)) == {("compose.yaml", "OCT301", 7)}
    write(tmp_path, "compose.override.yaml", "services:\n  db:\n    environment:\n"
                                              "      SA_PASSWORD: ${SA_PASSWORD}\n")  # fmt: skip
    assert findings(base) == []
    assert findings(tmp_path) == []  # the directory: the override is not read on its own


def test_an_override_that_sets_the_sample_password_is_reported_at_its_line(
    tmp_path: Path,
) -> None:
    base = write(tmp_path, "docker-compose.yml", BASE.format(password="${SA_PASSWORD}"))
    assert findings(base) == []
    write(tmp_path, "docker-compose.override.yml", """\
        # local development
        services:
          db:
            environment:
              - SA_PASSWORD=N0tS3cr3t!
        """)  # fmt: skip
    for path in (base, tmp_path):
        [found] = findings(path)
        assert (Path(found.path).name, found.rule_id, found.line) == (
            "docker-compose.override.yml", "OCT301", 5)  # fmt: skip
        assert "N0tS3cr3t" not in (found.source or "") + found.message


def test_merge_rules_and_pragmas_in_the_override(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:2024.1.1
            privileged: true
            environment:
              ACCEPT_EULA: "Y"
              MASTER_KEY: q3N0ZXN0LWZpeHR1cmUtaw==
              DB_CONNECTION_STRING: ${DB}
        """)  # fmt: skip
    write(tmp_path, "compose.override.yml", """\
        services:
          octopus:
            image: octopusdeploy/octopusdeploy:latest
            privileged: !reset null
            environment: !override
              # octolint ignore=OCT303
              MASTER_KEY: ""
              DB_CONNECTION_STRING: ${DB}
        """)  # fmt: skip
    assert where(findings(tmp_path)) == {
        ("compose.override.yml", "OCT304", 3),  # the override's unpinned image
        ("compose.yaml", "OCT305", 2),  # privileged reset: at the service's definition
        ("compose.yaml", "OCT302", 2),  # !override dropped ACCEPT_EULA
    }


def test_only_the_file_docker_compose_picks_gets_the_override(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", BASE.format(password="${SA_PASSWORD}"))
    other = write(tmp_path, "docker-compose.yml", BASE.format(password="${SA_PASSWORD}"))
    write(tmp_path, "compose.override.yaml", "services:\n  db:\n    mem_limit: !reset null\n")
    assert where(findings(other)) == set()
    assert where(findings(tmp_path)) == {("compose.yaml", "OCT310", 2)}
    target = load_deploy([str(tmp_path)])
    assert [Path(f.path).name for f in target.files] == [
        "compose.yaml", "compose.override.yaml", "docker-compose.yml"]  # fmt: skip


def test_a_broken_override_is_oct300_and_the_project_has_no_services(tmp_path: Path) -> None:
    base = write(tmp_path, "compose.yaml", BASE.format(password="N0tS3cr3t!"))
    write(tmp_path, "compose.override.yaml", "services:\n  db:\n    image: [unclosed\n")
    assert where(findings(base)) == {("compose.override.yaml", "OCT300", 3)}
    write(tmp_path, "compose.override.yaml", "services:\n  db:\n    image: ${X:?X is required}\n")
    assert where(findings(base)) == {("compose.override.yaml", "OCT300", 3)}


def test_cli_lists_both_files(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", BASE.format(password="${SA_PASSWORD}"))
    write(tmp_path, "compose.override.yaml", "services:\n  db:\n    environment:\n"
                                              "      SA_PASSWORD: N0tS3cr3t!\n")  # fmt: skip
    proc = run_cli(["deploy", "compose.yaml", "-f", "json"], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["files"] == ["compose.yaml", "compose.override.yaml"]
    assert [(f["file"], f["line"]) for f in document["findings"]] == [("compose.override.yaml", 4)]
    assert "N0tS3cr3t" not in proc.stdout


# -- generated override pairs, compared with `docker compose config` ------------------------
SERVICES = ("db", "octopus")
KEYS = ("A", "B", "C")
VALUES = st.sampled_from(["x", "Passw0rd123", "", "y z"])
MEMORY = {"512m": "536870912"}
ENV_FILES = {"a.env": "A=from_a\nB=from_a\n", "b.env": "B=from_b\nC=from_b\n"}
TAGS = st.sampled_from(["", "!override ", "!reset "])


@st.composite
def service(draw: st.DrawFn, image: bool, tags: bool = True) -> str:
    """A service's settings; ``tags``: may use `!reset` and `!override`."""
    lines = []
    if image or draw(st.booleans()):
        lines.append(f"image: {draw(st.sampled_from(['nginx:1', 'octopusdeploy/octopusdeploy']))}")
    if draw(st.booleans()):
        choices = ["true", "false", "!reset null"] if tags else ["true", "false"]
        lines.append(f"privileged: {draw(st.sampled_from(choices))}")
    if draw(st.booleans()):
        # (Compose refuses a reset deploy memory beside a mem_limit: 0 differs from it)
        choices = ["mem_limit: 512m", "deploy: {resources: {limits: {memory: 512m}}}"]
        if tags:
            choices.append("mem_limit: !reset null")
        lines.append(draw(st.sampled_from(choices)))
    if draw(st.booleans()):
        files = draw(st.lists(st.sampled_from(sorted(ENV_FILES)), min_size=1, max_size=2))
        lines.append(f"env_file: {draw(TAGS) if tags else ''}[{', '.join(files)}]")
    if draw(st.booleans()):
        lines.append(environment(draw, tags))
    return "".join(f"    {line}\n" for line in lines)


def block(body: str) -> str:
    """A service's lines, or an empty mapping."""
    return body or "    {}\n"


def environment(draw: st.DrawFn, tags: bool) -> str:
    values = draw(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3))
    tag = draw(TAGS) if tags else ""
    if draw(st.booleans()):
        items = ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items())
        return f"environment: {tag}{{{items}}}"
    return f"environment: {tag}[{', '.join(json.dumps(f'{k}={v}') for k, v in values.items())}]"


@st.composite
def compose_pair(draw: st.DrawFn) -> tuple[str, str]:
    base = draw(st.lists(st.sampled_from(SERVICES), min_size=1, unique=True))
    later = draw(st.lists(st.sampled_from(SERVICES), unique=True))
    base_text = "services:\n" + "".join(f"  {n}:\n{draw(service(True))}" for n in base)
    later_text = "services:\n" + "".join(
        f"  {n}:\n{block(draw(service(n not in base)))}" for n in later
    )  # fmt: skip
    return base_text, later_text if later else "services: {}\n"


def ours(directory: Path) -> dict[str, dict[str, Any]]:
    result = {}
    for container in load_deploy([str(directory)]).containers:
        memory = container.memory_limit.text if container.memory_limit else None
        result[container.name] = {
            "image": container.image.text if container.image else None,
            "privileged": is_true(container.privileged),
            "memory": MEMORY.get(memory or "", memory),
            "environment": {k: v.text for k, v in container.env.items()},
        }
    return result


def theirs(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = {}
    for name, service in document["services"].items():
        limits = (service.get("deploy") or {}).get("resources", {}).get("limits", {})
        result[name] = {
            "image": service.get("image"),
            "privileged": bool(service.get("privileged")),
            "memory": limits.get("memory") or service.get("mem_limit"),
            "environment": dict(service.get("environment") or {}),
        }
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compose_pair(), st.sampled_from(["compose.override.yaml", "docker-compose.override.yml"]))
@pytest.mark.slow
def test_merge_agrees_with_docker_compose(pair: tuple[str, str], override_name: str) -> None:
    base, override = pair
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "compose.yaml").write_text(base)
        (directory / override_name).write_text(override)
        for env_name, text in ENV_FILES.items():
            (directory / env_name).write_text(text)
        code, document, stderr = compose_config(directory)
        assert code == 0 and document is not None, f"{stderr}\n{base}---\n{override}"
        assert ours(directory) == theirs(document), f"{base}---\n{override}"


@pytest.mark.parametrize("name", ["compose.yml", "docker-compose.yaml"])
def test_docker_compose_picks_the_same_override(tmp_path: Path, name: str) -> None:
    """The override names and their order are compose-go's: check one pair against it."""
    write(tmp_path, name, "services:\n  a:\n    image: nginx\n")
    write(tmp_path, "docker-compose.override.yaml", "services:\n  a:\n    image: first\n")
    write(tmp_path, "compose.override.yml", "services:\n  a:\n    image: second\n")
    code, document, stderr = compose_config(tmp_path)
    assert code == 0 and document is not None, stderr
    [container] = load_deploy([str(tmp_path / name)]).containers
    assert container.image is not None
    assert container.image.text == document["services"]["a"]["image"] == "second"


# -- extends ------------------------------------------------------------------------------
@st.composite
def extends_project(draw: st.DrawFn) -> tuple[str, str, str]:
    """compose.yaml, other.yaml and an override; services extend earlier ones, in the
    same file or in other.yaml. `!reset` only in the override: with `extends` chains
    in one file, docker compose's own answer varies from run to run."""
    other = "services:\n  o0:\n" + draw(service(True, False))
    other += "  o1:\n" + draw(service(True, False))
    if draw(st.booleans()):
        other += "    extends: o0\n"
    base = "services:\n"
    for index in range(draw(st.integers(1, 3))):
        base += f"  web{index}:\n" + draw(service(True, False))
        choices = [f"web{i}" for i in range(index)]
        choices += [f"{{file: other.yaml, service: o{i}}}" for i in (0, 1)]
        if draw(st.booleans()):
            base += f"    extends: {draw(st.sampled_from(choices))}\n"
    override = draw(service(False))
    if draw(st.booleans()):
        override += "    extends: {file: other.yaml, service: o1}\n"
    return base, other, "services:\n  web0:\n" + block(override)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extends_project())
@pytest.mark.slow
def test_extends_agrees_with_docker_compose(project: tuple[str, str, str]) -> None:
    base, other, override = project
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        for file, text in (("compose.yaml", base), ("other.yaml", other),
                           ("compose.override.yaml", override), *ENV_FILES.items()):  # fmt: skip
            (directory / file).write_text(text)
        code, document, stderr = compose_config(directory)
        assert code == 0 and document is not None, f"{stderr}\n{base}---\n{other}---\n{override}"
        assert ours(directory / "compose.yaml") == theirs(document), (
            f"{base}---\n{other}---\n{override}"
        )


def test_extends_reports_where_the_inherited_value_is(tmp_path: Path) -> None:
    write(tmp_path, "common.yaml", """\
        services:
          sql:
            image: mcr.microsoft.com/mssql/server:2022-latest
            environment:
              ACCEPT_EULA: "Y"
              SA_PASSWORD: N0tS3cr3t!
        """)  # fmt: skip
    base = write(tmp_path, "compose.yaml", """\
        services:
          db:
            extends: {file: common.yaml, service: sql}
            mem_limit: 4g
          db2:
            extends: db
        """)  # fmt: skip
    found = findings(base)
    assert where(found) == {("common.yaml", "OCT301", 6)}  # once, for both services
    assert "N0tS3cr3t" not in (found[0].source or "")
    proc = run_cli(["deploy", "compose.yaml", "-f", "json"], cwd=tmp_path)
    assert json.loads(proc.stdout)["files"] == ["compose.yaml", "common.yaml"]
    write(tmp_path, "compose.override.yaml", "services:\n  db:\n    environment:\n"
                                              "      SA_PASSWORD: ${SA_PASSWORD}\n")  # fmt: skip
    # Compose follows `extends` in each file before merging the override: db2 keeps
    # the sample, only db takes the override's value
    assert where(findings(base)) == {("common.yaml", "OCT301", 6)}
    [db2] = [c for c in load_deploy([str(base)]).containers if c.name == "db2"]
    assert db2.env["SA_PASSWORD"].path == str(tmp_path / "common.yaml")
    code, document, stderr = compose_config(tmp_path, env={"SA_PASSWORD": "from-env"})
    assert code == 0 and document is not None, stderr
    assert document["services"]["db"]["environment"]["SA_PASSWORD"] == "from-env"
    assert document["services"]["db2"]["environment"]["SA_PASSWORD"] == "N0tS3cr3t!"


@pytest.mark.parametrize(
    ("extends", "message"),
    [
        ("db", "circular reference to service 'db'"),
        ("missing", "no service 'missing' in this file"),
        ("{file: nowhere.yaml, service: x}", "nowhere.yaml: cannot read"),
        ("{file: bad.yaml, service: x}", "bad.yaml: line 2:"),
        ("{file: loop.yaml, service: x}", "loop.yaml line 3: extends: no service 'y'"),
    ],
)
def test_extends_that_compose_refuses_is_oct300(tmp_path: Path, extends: str, message: str) -> None:
    write(tmp_path, "bad.yaml", "services: [\n")
    write(tmp_path, "loop.yaml", "services:\n  x:\n    extends: y\n")
    base = write(tmp_path, "compose.yaml", f"services:\n  db:\n    image: x\n"
                                           f"    extends: {extends}\n")  # fmt: skip
    [found] = findings(base)
    assert (found.path, found.rule_id, found.line) == (str(base), "OCT300", 4)
    assert message in found.message
    assert compose_config(tmp_path)[0] != 0  # docker compose refuses it too
