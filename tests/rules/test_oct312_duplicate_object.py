"""OCT312 duplicate-object: the second definition of an object in one input."""

from pathlib import Path

from rulecheck import deploy, where

CLAIM = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: repository
{namespace}spec:
  accessModes: [ReadWriteMany]
"""
DEFAULT = CLAIM.format(namespace="")
STAGING = CLAIM.format(namespace="  namespace: staging\n")


def test_second_definition_in_one_stream_is_reported_at_its_kind(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"claims.yaml": f"{DEFAULT}---\n{DEFAULT}"}, "OCT312")
    assert where(found) == [("OCT312", 9, 1, 9)]
    assert "already defined at line 2" in found[0].message


def test_another_namespace_is_another_object(tmp_path: Path) -> None:
    assert deploy(tmp_path, {"claims.yaml": f"{DEFAULT}---\n{STAGING}"}, "OCT312") == []


def test_two_inputs_are_separate_deployments(tmp_path: Path) -> None:
    assert deploy(tmp_path, {"a.yaml": DEFAULT, "b.yaml": DEFAULT}, "OCT312") == []
