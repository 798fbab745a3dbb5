"""OCT308 missing-probes: at the Octopus container; Kubernetes manifests only."""

from pathlib import Path

from rulecheck import COMPOSE_OCTOPUS, K8S_POD, deploy, where


def test_container_without_probes(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"pod.yaml": K8S_POD}, "OCT308")
    assert where(found) == [("OCT308", 7, 7, 7)]
    assert "startupProbe" in found[0].message and "preStop" in found[0].message


def test_compose_files_are_not_checked(tmp_path: Path) -> None:
    assert deploy(tmp_path, {"compose.yaml": COMPOSE_OCTOPUS}, "OCT308") == []


def test_all_four_pass(tmp_path: Path) -> None:
    probe = "        httpGet: {path: /api/octopusservernodes/ping, port: 8080}\n"
    text = K8S_POD + (
        f"      startupProbe:\n{probe}      readinessProbe:\n{probe}      livenessProbe:\n{probe}"
        "      lifecycle:\n        preStop:\n          exec:\n"
        "            command: [/Octopus/Octopus.Server, node, --drain=true, --wait=600]\n"
    )
    assert deploy(tmp_path, {"pod.yaml": text}, "OCT308") == []
