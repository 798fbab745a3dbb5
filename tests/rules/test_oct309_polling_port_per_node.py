"""OCT309 polling-port-per-node: a Service per node for port 10943; at `replicas`."""

from pathlib import Path

from rulecheck import K8S_STATEFULSET, deploy, where


def test_two_nodes_without_per_pod_services(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"sts.yaml": K8S_STATEFULSET}, "OCT309")
    assert where(found) == [("OCT309", 6, 3, 6)]
    assert "octopus-0, octopus-1" in found[0].message


def test_one_node_passes(tmp_path: Path) -> None:
    one = K8S_STATEFULSET.replace("replicas: 2", "replicas: 1")
    assert deploy(tmp_path, {"sts.yaml": one}, "OCT309") == []
