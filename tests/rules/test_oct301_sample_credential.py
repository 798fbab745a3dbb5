"""OCT301 sample-credential: published sample passwords, after .env interpolation."""

from pathlib import Path

from rulecheck import COMPOSE_SQL, deploy, where

FROM_ENV = COMPOSE_SQL + "    environment:\n      SA_PASSWORD: ${SA_PASSWORD}\n"


def test_sample_password_in_the_compose_file(tmp_path: Path) -> None:
    text = COMPOSE_SQL + '    environment:\n      ACCEPT_EULA: "Y"\n      SA_PASSWORD: N0tS3cr3t!\n'
    found = deploy(tmp_path, {"compose.yaml": text}, "OCT301")
    assert where(found) == [("OCT301", 6, 7, 6)]
    assert "N0tS3cr3t!" not in found[0].message  # never printed


def test_sample_password_from_env_points_at_the_compose_value(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"compose.yaml": FROM_ENV, ".env": "SA_PASSWORD=Passw0rd123\n"},
                   "OCT301")  # fmt: skip
    assert where(found) == [("OCT301", 5, 7, 5)]
    assert "Passw0rd123" not in found[0].message


def test_variable_set_nowhere_is_not_reported(tmp_path: Path) -> None:
    assert deploy(tmp_path, {"compose.yaml": FROM_ENV}, "OCT301") == []


def test_own_password_passes(tmp_path: Path) -> None:
    files = {"compose.yaml": FROM_ENV, ".env": "SA_PASSWORD=kq7-Hv2+Wr9#pL4x\n"}
    assert deploy(tmp_path, files, "OCT301") == []
