"""OCT302 eula-not-accepted: ACCEPT_EULA other than Y, after .env interpolation."""

from pathlib import Path

from rulecheck import COMPOSE_OCTOPUS, deploy, where


def test_eula_n(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + '    environment:\n      ACCEPT_EULA: "N"\n'
    assert where(deploy(tmp_path, {"compose.yaml": text}, "OCT302")) == [("OCT302", 5, 7, 5)]


def test_eula_from_env_names_the_env_line(tmp_path: Path) -> None:
    files = {
        "compose.yaml": COMPOSE_OCTOPUS
        + "    environment:\n      ACCEPT_EULA: ${ACCEPT_OCTOPUS_EULA}\n",
        ".env": "# read the EULA first\nACCEPT_OCTOPUS_EULA=N\n",
    }
    found = deploy(tmp_path, files, "OCT302")
    assert where(found) == [("OCT302", 5, 7, 5)]
    assert "from ACCEPT_OCTOPUS_EULA at" in found[0].message and ".env" in found[0].message


def test_eula_accepted_passes(tmp_path: Path) -> None:
    text = COMPOSE_OCTOPUS + '    environment:\n      ACCEPT_EULA: "Y"\n'
    assert deploy(tmp_path, {"compose.yaml": text}, "OCT302") == []
