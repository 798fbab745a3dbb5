"""Planted secrets never come out: registry passwords, tokens and credential-helper
answers, and secret-looking Env values of the scanned image.

Each scan runs the real CLI (with Python logging at DEBUG, so log lines are checked
too) in every report format, to stdout and to --output files; then stdout, stderr,
the report files, the layer cache (raw and decompressed), HOME and TMPDIR are
searched for every form of the secret.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from imagebuild import build_image, tar_layer, write_oci_archive

from octolint.redact import MASK, redact, secret_values
from octolint.reporters import FORMATS

if TYPE_CHECKING:
    from infra import Proxy, Registry

LAYER = tar_layer({"bin/sh": b"#!sh\n", "bin/bash": b"#!bash\n"}, dirs=["bin"])
SQLITE = b"SQLite format 3\0"  # how every layer-cache entry begins
# Logging at DEBUG, then the CLI: what a user with logging turned on would see.
WITH_LOGGING = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
    "from octolint.cli import main\n"
    "main(sys.argv[1:])\n"
)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


class Sandbox:
    def __init__(self, root: Path):
        self.root = root
        for name in ("home", "tmp", "cache", "docker", "bin", "reports"):
            (root / name).mkdir()
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("OCTOLINT_", "DOCKER_"))}  # fmt: skip
        self.env = {
            **clean,
            "HOME": str(root / "home"),
            "TMPDIR": str(root / "tmp"),
            "OCTOLINT_CACHE_DIR": str(root / "cache"),
            "DOCKER_CONFIG": str(root / "docker"),
            "DOCKER_HOST": f"unix://{root}/no-engine.sock",
            "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "NO_PROXY": "127.0.0.1,localhost",
            "NO_COLOR": "1",
        }
        self.seen: list[str] = []  # everything octolint printed or wrote

    def docker_config(self, config: dict[str, object]) -> None:
        (self.root / "docker" / "config.json").write_text(json.dumps(config))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-c", WITH_LOGGING, *args], env=self.env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        self.seen += [proc.stdout, proc.stderr]
        return proc

    def scan_every_format(self, ref: str, *extra: str) -> list[int]:
        codes = []
        for fmt in FORMATS:
            report = self.root / "reports" / f"report.{fmt}"
            codes.append(self.run("image", ref, "--format", fmt, *extra).returncode)
            codes.append(self.run("image", ref, "-f", fmt, "-o", str(report), *extra).returncode)
        return codes

    def files(self) -> list[bytes]:
        """Every file octolint could have written: reports, cache, HOME, TMPDIR."""
        found = []
        for directory in ("reports", "cache", "home", "tmp"):
            for path in (self.root / directory).rglob("*"):
                if path.is_file():
                    found.append(path.read_bytes())  # cache entries: plain SQLite
        return found

    def assert_never_seen(self, *secrets: str) -> None:
        texts = [t.encode() for t in self.seen] + self.files()
        assert any(t.startswith(SQLITE) for t in texts), "nothing was cached"
        for secret in secrets:
            assert secret, "an empty secret proves nothing"
            for form in {secret, base64.b64encode(secret.encode()).decode()}:
                leaks = [t[:200] for t in texts if form.encode() in t]
                assert not leaks, f"{secret[:4]}... found in {leaks}"


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def install_helper(sandbox: Sandbox, server: str, username: str, secret: str) -> None:
    """A real `docker-credential-planted` that answers for one server (credsStore)."""
    helper = sandbox.root / "bin" / "docker-credential-planted"
    answer = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    helper.write_text(
        "#!/bin/sh\n"
        "read -r server\n"
        f'if [ "$server" = "{server}" ]; then echo \'{answer}\'; '
        'else echo "credentials not found in native keychain"; exit 1; fi\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)


# -- registry credentials and tokens ---------------------------------------------------------


def test_basic_auth_password_never_leaks(basic_registry: Registry, sandbox: Sandbox) -> None:
    repo = unique("secret/basic")
    basic_registry.push(repo, "1", build_image([LAYER], cmd=["/bin/bash"]))
    assert basic_registry.auth is not None
    user, password = basic_registry.auth
    sandbox.docker_config({"auths": {basic_registry.host: auth_entry(user, password)}})
    codes = sandbox.scan_every_format(basic_registry.ref(repo, "1"))
    assert set(codes) <= {0, 1}, sandbox.seen[-1]
    # And when the registry refuses them, or the image is missing (error paths).
    sandbox.run("image", basic_registry.ref(repo, "missing"), "-f", "json")
    wrong = "Planted-" + uuid.uuid4().hex
    sandbox.docker_config({"auths": {basic_registry.host: auth_entry(user, wrong)}})
    refused = sandbox.run("image", basic_registry.ref(repo, "1"))
    assert refused.returncode == 3 and "refused the credentials" in refused.stderr
    sandbox.assert_never_seen(password, f"{user}:{password}", wrong, f"{user}:{wrong}")


def test_credential_helper_and_tokens_never_leak(
    token_registry: Proxy, plain_registry: Registry, sandbox: Sandbox
) -> None:
    assert token_registry.tokens is not None
    repo = unique("private/secret")
    plain_registry.push(repo, "1", build_image([LAYER], cmd=["/bin/bash"]))
    tokens = token_registry.tokens
    install_helper(sandbox, token_registry.host, tokens.username, tokens.password)
    sandbox.docker_config({"credsStore": "planted"})
    issued_before = set(token_registry.tokens.tokens)
    codes = sandbox.scan_every_format(token_registry.ref(repo, "1"))
    assert set(codes) <= {0, 1}, sandbox.seen[-1]
    issued = set(token_registry.tokens.tokens) - issued_before
    assert issued, "the scans must have used bearer tokens"
    # A token rejected later (expired) goes through the error path too.
    token_registry.add_fault(f"/{repo}/manifests/", "expire", count=100)
    assert sandbox.run("image", token_registry.ref(repo, "1")).returncode == 3
    sandbox.assert_never_seen(tokens.password, *issued)


def test_identity_token_never_leaks(
    token_registry: Proxy, plain_registry: Registry, sandbox: Sandbox
) -> None:
    assert token_registry.tokens is not None
    repo = unique("private/identity")
    plain_registry.push(repo, "1", build_image([LAYER], cmd=["/bin/bash"]))
    refresh = token_registry.tokens.refresh_token
    entry = {**auth_entry(token_registry.tokens.username, ""), "identitytoken": refresh}
    sandbox.docker_config({"auths": {token_registry.host: entry}})
    issued_before = set(token_registry.tokens.tokens)
    assert set(sandbox.scan_every_format(token_registry.ref(repo, "1"))) <= {0, 1}
    issued = set(token_registry.tokens.tokens) - issued_before
    sandbox.assert_never_seen(refresh, *issued)


# -- secret-looking Env values of the image ----------------------------------------------------

PLANTED_ENV = {
    "DB_PASSWORD": "hunter2-" + uuid.uuid4().hex,
    "GITHUB_TOKEN": "ghp_" + uuid.uuid4().hex + "abcd",
    "AWS_ACCESS_KEY_ID": "AKIA" + uuid.uuid4().hex[:16].upper(),
    "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex + uuid.uuid4().hex[:8],
    "OCTOPUS_API_KEY": "API-" + uuid.uuid4().hex[:24].upper(),
    "DATABASE_URL": f"postgres://app:{uuid.uuid4().hex}@db:5432/app",
}


@pytest.mark.slow
def test_secret_env_values_are_masked_in_every_finding(sandbox: Sandbox) -> None:
    # The Entrypoint and Cmd quote the values, and OCT201/OCT202 quote those.
    values = list(PLANTED_ENV.values())
    image = build_image(
        [LAYER],
        env=["PATH=/usr/bin:/bin", *(f"{k}={v}" for k, v in PLANTED_ENV.items()), "DEBUG=1"],
        entrypoint=["/app", "--token", values[1], f"--db={values[5]}"],
        cmd=["--password", values[0], values[2], values[3], values[4]],
    )
    path = write_oci_archive(sandbox.root / "image.tar", [("x", image)])
    codes = sandbox.scan_every_format(str(path))
    assert set(codes) == {1}
    quoted = [t for t in sandbox.seen if "OCT201" in t or "image-entrypoint" in t]
    assert quoted and all(f"--token gh{MASK}" in t or "gh***" in t for t in quoted)
    sandbox.assert_never_seen(*values)


def test_which_values_count_as_secrets() -> None:
    env = {
        **PLANTED_ENV,
        "PATH": "/usr/local/bin:/usr/bin",
        "HOME": "/root",
        "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1",
        "API_TOKEN": "short",  # too short to mask usefully
        "NODE_VERSION": "20.11.1",
        "SOME_URL": "https://example.com/path",
    }
    assert sorted(secret_values(env)) == sorted(PLANTED_ENV.values())
    text = f"runs /app --token {PLANTED_ENV['GITHUB_TOKEN']} in /usr/bin"
    assert redact(text, secret_values(env)) == f"runs /app --token gh{MASK} in /usr/bin"
