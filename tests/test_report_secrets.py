"""Secrets stay out of reports and errors where a failed parse used to let them
through: deploy files that YAML, Compose or kubectl refuse.

Each case runs the real CLI (every report format, to files and stdout) and searches
stdout, stderr and every report file for the planted value.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from test_output_escaping import FORMATS, every_format


def planted() -> str:
    return "Sup3r$ecret-" + uuid.uuid4().hex[:12]


def everything(result: Any, directory: Path) -> str:
    """stdout, stderr and every report file of one run, as one text."""
    reports = [(directory / name).read_text(encoding="utf-8") for name in FORMATS.values()]
    return "\n".join([result.stdout, result.stderr, *reports])


# -- deploy files that cannot be parsed ---------------------------------------------

COMPOSE_HEAD = "services:\n  db:\n    image: postgres:16\n    environment:\n"
BROKEN = {
    # YAML refuses the very line holding the password
    "mapping value": COMPOSE_HEAD + "      POSTGRES_PASSWORD: {secret}: x\n",
    "tab": COMPOSE_HEAD + "      A: b\n\tPOSTGRES_PASSWORD: {secret}\n",
    "duplicate key": COMPOSE_HEAD + "      POSTGRES_PASSWORD: {secret}\n"
                                    "      POSTGRES_PASSWORD: {secret}-2\n",
    # the file ends inside a flow sequence / a quoted scalar: the last line is shown
    "list form": COMPOSE_HEAD + "      [A=b, POSTGRES_PASSWORD={secret}\n",
    "multi-line value": COMPOSE_HEAD + '      POSTGRES_PASSWORD: "first\n        {secret}\n',
    # Compose refuses it: an invalid ${ inside the password
    "interpolation": COMPOSE_HEAD + "      POSTGRES_PASSWORD: Sup3r${{{secret}\n",
    # a Kubernetes env var: the value's key is `value`, its name on the line above
    "kubernetes": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: db\nspec:\n  containers:\n"
                  "    - name: db\n      image: postgres:16\n      env:\n"
                  "        - name: DB_PASSWORD\n          value: {secret}: x\n",
}  # fmt: skip


@pytest.mark.parametrize("shape", sorted(BROKEN))
def test_unparseable_deploy_file_never_shows_the_secret(tmp_path: Path, shape: str) -> None:
    secret = planted()
    name = "pod.yaml" if shape == "kubernetes" else "compose.yaml"
    (tmp_path / name).write_text(BROKEN[shape].format(secret=secret), encoding="utf-8")
    result = run_cli(every_format("deploy", name), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # OCT300, a finding
    assert "OCT300" in result.stdout and result.stderr == ""
    text = everything(result, tmp_path)
    assert secret not in text and secret.split("-")[1] not in text
    (sarif_result,) = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    region = sarif_result["locations"][0]["physicalLocation"]["region"]
    assert "snippet" in region  # the line is still shown, redacted
    assert region["snippet"]["text"].endswith("<redacted>")  # the secret's own line
    assert "<redacted>" in result.stdout


def test_reused_anchor_warning_does_not_print_source_lines(tmp_path: Path) -> None:
    secret = planted()
    text = COMPOSE_HEAD + f"      POSTGRES_PASSWORD: &pw {secret}\n      MYSQL_PASSWORD: &pw x\n"
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    result = run_cli(every_format("deploy", "compose.yaml"), cwd=tmp_path)
    assert result.returncode in (0, 1) and result.stderr == ""
    assert secret not in everything(result, tmp_path)
