"""OCT311 ephemeral-data-volume: an emptyDir at a data folder; at the container."""

from pathlib import Path

from rulecheck import K8S_STATEFULSET, deploy, where

ONE_NODE = K8S_STATEFULSET.replace("replicas: 2", "replicas: 1")
MOUNTED = ONE_NODE + (
    "          volumeMounts:\n"
    "            - name: repository\n"
    "              mountPath: /repository\n"
    "      volumes:\n        - name: repository\n"
)


def test_repository_in_an_empty_dir_even_with_one_replica(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"sts.yaml": MOUNTED + "          emptyDir: {}\n"}, "OCT311")
    assert where(found) == [("OCT311", 17, 11, 17)]  # the octopus container
    assert "/repository in an emptyDir" in found[0].message


def test_persistent_volume_claim_passes(tmp_path: Path) -> None:
    claim = "          persistentVolumeClaim:\n            claimName: octopus-repository\n"
    assert deploy(tmp_path, {"sts.yaml": MOUNTED + claim}, "OCT311") == []
