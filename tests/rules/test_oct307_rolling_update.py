"""OCT307 rolling-update: StatefulSets default to RollingUpdate; at the kind."""

from pathlib import Path

from rulecheck import K8S_STATEFULSET, deploy, where


def test_statefulset_default_strategy(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"sts.yaml": K8S_STATEFULSET}, "OCT307")
    assert where(found) == [("OCT307", 2, 1, 2)]
    assert "defaults to RollingUpdate" in found[0].message


def test_on_delete_passes(tmp_path: Path) -> None:
    fixed = K8S_STATEFULSET.replace(
        "  replicas: 2\n", "  replicas: 2\n  updateStrategy:\n    type: OnDelete\n"
    )
    assert deploy(tmp_path, {"sts.yaml": fixed}, "OCT307") == []
