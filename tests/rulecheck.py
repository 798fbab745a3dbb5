"""What the per-rule tests (tests/rules/) share: one rule's findings, and where they are.

``where(findings)`` gives ``(rule_id, line, column, end_line)`` for file findings
(Dockerfile and deployment rules), so a test asserts the exact place a user is sent to::

    assert where(dockerfile("FROM alpine:3.20\\n", "OCT103")) == [("OCT103", 1, 1, 1)]

Image rules use ``imagefixture``: images built in memory from a dict of files.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from octolint.api import lint_bytes
from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.engine import Engine
from octolint.model import FileLocation, Finding
from octolint.rulebook import Rule, load_rules

Where = tuple[str, int, int, int]


def rule(rule_id: str) -> list[Rule]:
    found = [r for r in load_rules() if r.id == rule_id]
    assert found, f"no rule {rule_id}"
    return found


def engine_for(
    rule_id: str, options: Mapping[str, Any] | None = None, **engine_args: Any
) -> Engine:
    """An engine running only ``rule_id`` (with ``options`` as in ``[rules.ID]``)."""
    config = Config(rule_options={rule_id: dict(options)}) if options else Config()
    return Engine(config, rule(rule_id), **engine_args)


def dockerfile(text: str | bytes, rule_id: str, options: Mapping[str, Any] | None = None,
               **engine_args: Any) -> list[Finding]:  # fmt: skip
    """The findings of one rule on a Dockerfile (text is dedented; bytes are taken as is)."""
    data = textwrap.dedent(text).encode() if isinstance(text, str) else text
    return lint_bytes(data, "Dockerfile", engine_for(rule_id, options, **engine_args))


def deploy(tmp_path: Path, files: Mapping[str, str], rule_id: str) -> list[Finding]:
    """The findings of one rule on deployment files (name -> text, dedented), all in one
    directory: the YAML files are linted, a ``.env`` beside a Compose file is read by it."""
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        if not name.startswith(".env"):
            paths.append(str(path))
    return lint_deploy_paths(paths, engine_for(rule_id)).findings


def where(findings: Sequence[Finding]) -> list[Where]:
    """(rule id, line, column, end line) of each finding, in report order."""
    places = []
    for finding in findings:
        location = finding.location
        assert isinstance(location, FileLocation), f"{finding.rule_id}: not in a file"
        places.append((finding.rule_id, location.line, location.column, location.end_line))
    return places


# Minimal deployment files the deploy rules' tests grow from (see tests/rules/test_oct3*).
COMPOSE_OCTOPUS = "services:\n  octopus:\n    image: octopusdeploy/octopusdeploy:2024.1\n"
COMPOSE_SQL = "services:\n  db:\n    image: mcr.microsoft.com/mssql/server:2022-latest\n"
K8S_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: octopus
spec:
  containers:
    - name: octopus
      image: octopusdeploy/octopusdeploy:2024.1
"""
K8S_STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: octopus
spec:
  replicas: 2
  serviceName: octopus
  selector:
    matchLabels:
      app: octopus
  template:
    metadata:
      labels:
        app: octopus
    spec:
      containers:
        - name: octopus
          image: octopusdeploy/octopusdeploy:2024.1
"""
