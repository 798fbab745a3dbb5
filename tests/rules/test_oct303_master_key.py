"""OCT303 master-key: the sample key or a malformed one (errors), none (a warning)."""

from pathlib import Path

from rulecheck import COMPOSE_OCTOPUS, K8S_POD, deploy, where

from octolint.model import Severity


def test_sample_key_in_a_manifest(tmp_path: Path) -> None:
    text = (
        K8S_POD
        + "      env:\n        - name: MASTER_KEY\n          value: 6EdU6IWsCtMEwk0kPKflQQ==\n"
    )
    found = deploy(tmp_path, {"pod.yaml": text}, "OCT303")
    assert where(found) == [("OCT303", 11, 11, 11)]
    assert found[0].severity == Severity.ERROR and "6EdU6" not in found[0].message


def test_empty_key_is_a_warning(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + '    environment:\n      MASTER_KEY: ""\n'
    found = deploy(tmp_path, {"compose.yaml": text}, "OCT303")
    assert where(found) == [("OCT303", 5, 7, 5)]
    assert found[0].severity == Severity.WARNING


def test_key_that_is_not_16_bytes_of_base64(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + "    environment:\n      MASTER_KEY: notbase64\n"
    found = deploy(tmp_path, {"compose.yaml": text}, "OCT303")
    assert where(found) == [("OCT303", 5, 7, 5)]
    assert found[0].severity == Severity.ERROR


def test_key_from_a_secret_passes(tmp_path: Path) -> None:
    text = K8S_POD + (
        "      env:\n        - name: MASTER_KEY\n          valueFrom:\n"
        "            secretKeyRef:\n              name: octopus\n              key: master-key\n"
    )
    assert deploy(tmp_path, {"pod.yaml": text}, "OCT303") == []
