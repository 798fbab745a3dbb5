"""Whatever YAML users feed `octolint deploy`: findings or a one-line input error, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.engine import Engine
from octolint.errors import InputError

KEYS = ["services", "image", "environment", "privileged", "kind", "apiVersion", "metadata",
        "name", "spec", "replicas", "template", "containers", "env", "value", "valueFrom",
        "volumes", "volumeMounts", "mountPath", "persistentVolumeClaim", "claimName",
        "updateStrategy", "strategy", "type", "items", "selector", "ports", "targetPort",
        "port", "lifecycle", "preStop", "resources", "limits", "memory", "accessModes",
        "securityContext", "volumeClaimTemplates", "deploy", "mem_limit", "<<"]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 20000),
    st.sampled_from(["Y", "N", "", "octopusdeploy/octopusdeploy", "octopusdeploy/octopusdeploy:1",
                     "mcr.microsoft.com/mssql/server", "StatefulSet", "Deployment", "List",
                     "Service", "PersistentVolumeClaim", "Pod", "ReadWriteMany", "/repository",
                     "SA_PASSWORD", "MASTER_KEY", "N0tS3cr3t!", "${X}", "${X:?e}", "$$", "${",
                     "statefulset.kubernetes.io/pod-name", "octopus-0", "10943", "tentacle"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
DOCUMENTS = st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6), min_size=1,
                     max_size=3)  # fmt: skip


FIXTURE_CHECK = HealthCheck.function_scoped_fixture  # tmp_path is only overwritten


def check(path: Path) -> None:
    try:
        report = lint_deploy_paths([str(path)], Engine(Config()))
    except InputError as error:
        assert "\n" not in str(error)
        return
    for failure in report.errors:  # an unreadable input is one line, naming it
        assert "\n" not in failure.message and failure.message.startswith(failure.input)
    lines = path.read_text(encoding="utf-8").splitlines()
    for finding in report.findings:
        assert 1 <= finding.line <= max(len(lines), 1)
        assert finding.column >= 1 and finding.end_line >= finding.line
        if finding.end_line == finding.line:
            assert finding.end_column > finding.column
        assert "N0tS3cr3t" not in finding.message  # messages never quote a value


@settings(max_examples=150, deadline=None, suppress_health_check=[FIXTURE_CHECK])
@given(documents=DOCUMENTS)
@pytest.mark.slow
def test_structured_documents_never_crash(tmp_path: Path, documents: list[dict[str, Any]]) -> None:
    path = tmp_path / "deploy.yaml"
    # JSON is YAML: one flow-style document per line keeps every key at a known place
    path.write_text("\n---\n".join(json.dumps(d) for d in documents) + "\n", encoding="utf-8")
    check(path)


PIECES = [*"ab:- \n\t{}[]'\"&*!|>#%@`$,?=", "services:\n", "kind: ", "apiVersion: v1\n",
          "\ufeff", "\x00", "é", "  "]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[FIXTURE_CHECK])
@given(parts=st.lists(st.sampled_from(PIECES), max_size=60))
def test_arbitrary_text_never_crashes(tmp_path: Path, parts: list[str]) -> None:
    path = tmp_path / "deploy.yml"
    path.write_text("".join(parts), encoding="utf-8")
    check(path)
