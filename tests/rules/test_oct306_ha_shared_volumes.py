"""OCT306 ha-shared-volumes: several nodes need ReadWriteMany claims; at `replicas`."""

from pathlib import Path

from rulecheck import K8S_STATEFULSET, deploy, where


def test_two_replicas_without_shared_volumes(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"sts.yaml": K8S_STATEFULSET}, "OCT306")
    assert where(found) == [("OCT306", 6, 3, 6)]


def test_one_replica_passes(tmp_path: Path) -> None:
    one = K8S_STATEFULSET.replace("replicas: 2", "replicas: 1")
    assert deploy(tmp_path, {"sts.yaml": one}, "OCT306") == []
