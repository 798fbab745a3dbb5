"""Secrets stay out of reports and errors where quoting or a failed parse used to let
them through: deploy files that cannot be parsed, Entrypoint/Cmd words whose quoting
changes the secret (a backslash, a newline, non-ASCII), and a credential helper that
fails after printing its answer.

Each case runs the real CLI (every report format, to files and stdout) and searches
stdout, stderr and every report file for the planted value.
"""

from __future__ import annotations

import http.server
import json
import os
import stat
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from imagebuild import build_image, tar_layer, write_oci_archive
from test_output_escaping import FORMATS, every_format, serve

from octolint.redact import MASK


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


def test_redacting_a_hostile_unparseable_file_is_linear(tmp_path: Path) -> None:
    """About 1 MB shaped against the shape-based redaction (long words full of secret
    names, deep nesting, thousands of `name:` keys in one mapping, one value with
    100k continuation lines) after an early syntax error: well within the bar."""
    parts = [
        "services:\n\tx: y\n",  # YAML stops here; the redaction reads all of it
        "password" * 25_000 + "\n",
        "".join(" " * i + "name: A_PASSWORD\n" for i in range(300)),
        "name: A_TOKEN\n" * 10_000,
        "A_SECRET: |\n" + "  x\n" * 100_000,
        "".join(" " * i + "- value: v\n" for i in range(300)),
    ]
    (tmp_path / "compose.yaml").write_text("".join(parts), encoding="utf-8")
    assert (tmp_path / "compose.yaml").stat().st_size < 1_000_000
    started = time.monotonic()
    result = run_cli(["deploy", "compose.yaml", "-f", "sarif"], cwd=tmp_path)
    assert result.returncode == 1 and '"OCT300"' in result.stdout, result.stderr
    assert time.monotonic() - started < 60  # about a second; quadratic took minutes


def test_reused_anchor_warning_does_not_print_source_lines(tmp_path: Path) -> None:
    secret = planted()
    text = COMPOSE_HEAD + f"      POSTGRES_PASSWORD: &pw {secret}\n      MYSQL_PASSWORD: &pw x\n"
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    result = run_cli(every_format("deploy", "compose.yaml"), cwd=tmp_path)
    assert result.returncode in (0, 1) and result.stderr == ""
    assert secret not in everything(result, tmp_path)


# -- OCT201/OCT202: Entrypoint and Cmd words ------------------------------------------


def test_secrets_that_quoting_would_change_are_masked_in_oct201_and_oct202(
    tmp_path: Path,
) -> None:
    hidden = [uuid.uuid4().hex for _ in range(4)]  # what must never be seen
    env = {
        "DB_PASSWORD": f"Zq\\{hidden[0]}\\n",  # backslashes: repr doubles them
        "API_TOKEN": f"Zq{hidden[1]}\nline-two",  # a newline: repr writes \n
        "SIGNING_SECRET": f"Zqé{hidden[2]}ü\u00a0",  # non-ASCII, one repr escapes
        "APP_SECRET": f"Zq'{hidden[3]}\"",  # both quotes: repr escapes one
    }
    image = build_image(
        [tar_layer({"bin/sh": b"#!sh\n"})],
        env=["PATH=/usr/bin:/bin", *(f"{k}={v}" for k, v in env.items())],
        entrypoint=["/app", "--password", env["DB_PASSWORD"], f"--token={env['API_TOKEN']}"],
        cmd=["serve", env["SIGNING_SECRET"], env["APP_SECRET"]],
    )
    archive = write_oci_archive(tmp_path / "image.tar", [("app", image)])
    result = run_cli(every_format("image", str(archive)), cwd=tmp_path,
                     env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert result.returncode == 1, result.stderr
    text = everything(result, tmp_path)
    for value in hidden:
        assert value not in text
    # The command reads as a shell would be given it, each secret word masked.
    assert f"`/app --password 'Zq{MASK}' '--token=Zq{MASK}'`" in result.stdout
    assert f"`serve 'Zq{MASK}' 'Zq{MASK}'`" in result.stdout


# -- a credential helper that fails after printing its answer --------------------------

ANSWER = '{"Username":"u","Secret":"s3cr3t-value"}'


class _Challenge(http.server.BaseHTTPRequestHandler):
    """A registry that asks for Basic credentials on everything."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("stream", ["stdout", "stderr", "both"])
def test_failing_credential_helper_output_is_not_echoed(tmp_path: Path, stream: str) -> None:
    bin_dir, config = tmp_path / "bin", tmp_path / "docker"
    bin_dir.mkdir()
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"credsStore": "x"}))
    lines = {"stdout": [f"echo '{ANSWER}'"], "stderr": [f"echo 'oops {ANSWER}' >&2"]}
    body = lines["stdout"] + lines["stderr"] if stream == "both" else lines[stream]
    helper = bin_dir / "docker-credential-x"
    helper.write_text("#!/bin/sh\ncat >/dev/null\n" + "\n".join(body) + "\nexit 1\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DOCKER_CONFIG": str(config),
           "OCTOLINT_CACHE_DIR": str(tmp_path / "cache"), "NO_PROXY": "127.0.0.1"}  # fmt: skip
    with serve(_Challenge) as host:
        result = run_cli(["image", "--source", "registry", "--timeout", "20",
                          f"{host}/team/app:1"], cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 3, result.stderr
    # the image as given first (issue 16: every unreadable input is named), then the helper
    assert result.stderr.startswith(f"octolint: error: {host}/team/app:1: docker-credential-x: ")
    assert "credential helper failed (exit 1" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "s3cr3t-value" not in result.stdout + result.stderr
    if stream != "stdout":
        assert "oops" in result.stderr  # stderr is still quoted, scrubbed
