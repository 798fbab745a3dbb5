"""OCT300 deploy-parse-error: the line docker compose or kubectl would complain about."""

from pathlib import Path

from rulecheck import COMPOSE_OCTOPUS, deploy, where


def test_required_variable_unset_points_at_its_value(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + "    environment:\n      MASTER_KEY: ${MASTER_KEY:?set it in .env}\n"
    found = deploy(tmp_path, {"compose.yaml": text}, "OCT300")
    assert where(found) == [("OCT300", 5, 7, 5)]
    assert "cannot interpolate 'MASTER_KEY'" in found[0].message


def test_invalid_yaml(tmp_path: Path) -> None:
    found = deploy(tmp_path, {"compose.yaml": "services:\n  a: [\n"}, "OCT300")
    assert where(found) == [("OCT300", 2, 1, 2)]


def test_malformed_env_line_is_reported_in_the_env_file(tmp_path: Path) -> None:
    files = {"compose.yaml": COMPOSE_OCTOPUS + "    environment:\n      X: ${Y}\n",
             ".env": "Y=1\nnot a line\n"}  # fmt: skip
    found = deploy(tmp_path, files, "OCT300")
    assert where(found) == [("OCT300", 2, 1, 2)]
    assert Path(found[0].location.path).name == ".env"


def test_valid_file_passes(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + '    environment:\n      DISABLE_DIND: "Y"\n'
    assert deploy(tmp_path, {"compose.yaml": text}, "OCT300") == []
