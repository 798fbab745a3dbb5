"""The pre-push hook never runs repository content and never writes through links.

Real git repositories, a real bare remote and real `git push`es, as in
tests/test_integrations.py. The hostile repository content is exactly what an
attacker can get into a work tree: an untracked (or committed) package named
`octolint` at the top of the work tree, which git's hooks run in, and symlinks
committed into a hooks directory that `core.hooksPath` points at. The last
test covers the only other program octolint starts by name, a Docker
credential helper.
"""

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from test_integrations import BAD, GOOD, commit, git, install_hook, push, remote_sha

from octolint.hooks import SIGNATURE

# The attack: writes a marker, then hands over to the real octolint, so the
# push behaves exactly as usual and nothing looks wrong.
PLANTED = """\
import os, sys
with open({marker!r}, "a") as f:
    f.write("planted octolint ran\\n")
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
del sys.modules[__name__]
import octolint
sys.modules[__name__] = octolint
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A work repository with a bare remote `origin`; main (a good Dockerfile) is pushed."""
    git(tmp_path, "init", "-q", "--bare", "-b", "main", "remote.git")
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", "work")
    git(work, "remote", "add", "origin", str(tmp_path / "remote.git"))
    commit(work, {"Dockerfile": GOOD}, "good Dockerfile")
    git(work, "push", "-q", "origin", "main")
    return work


def plant(repo: Path, marker: Path) -> None:
    package = repo / "octolint"
    package.mkdir()
    (package / "__init__.py").write_text(PLANTED.format(marker=str(marker)), encoding="utf-8")


@pytest.mark.infra
def test_planted_package_is_live_when_python_runs_from_the_work_tree(
    repo: Path, tmp_path: Path
) -> None:
    """The planted package works: what the hook used to run imports it and still behaves."""
    marker = tmp_path / "marker"
    plant(repo, marker)
    proc = subprocess.run(
        [sys.executable, "-m", "octolint.hooks"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "usage: python -m octolint.hooks" in proc.stderr
    assert marker.read_text() == "planted octolint ran\n"


@pytest.mark.infra
def test_git_push_never_imports_an_octolint_package_from_the_work_tree(
    repo: Path, tmp_path: Path
) -> None:
    assert install_hook(repo).returncode == 0
    marker = tmp_path / "marker"
    plant(repo, marker)  # at the top of the work tree, where git runs the hook
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("/octolint/\n")  # untracked, and stays so

    before = remote_sha(repo, "main")
    commit(repo, {"app/Dockerfile": BAD}, "bad")
    proc = push(repo, "main")
    assert proc.returncode != 0 and "OCT102" in proc.stdout, proc.stderr
    assert remote_sha(repo, "main") == before
    assert not marker.exists()

    commit(repo, {"app/Dockerfile": GOOD}, "fixed")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout and "older octolint" not in proc.stderr
    assert not marker.exists()


@pytest.mark.infra
def test_a_hook_from_an_older_octolint_says_to_install_it_again(repo: Path) -> None:
    """A hook that runs octolint without -I (as octolint < 0.1.1 wrote it) warns at each push."""
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f'#!/bin/sh\n{SIGNATURE}\nexec {sys.executable} -m octolint.hooks pre-push "$@"\n',
        encoding="utf-8",
    )
    hook.chmod(0o755)
    commit(repo, {"README.md": "docs\n"}, "docs")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stderr
    assert "older octolint" in proc.stderr and "octolint install-hook" in proc.stderr


@pytest.mark.parametrize("target_exists", [True, False], ids=["existing", "dangling"])
@pytest.mark.infra
def test_install_hook_never_writes_through_a_committed_symlink_in_the_hooks_directory(
    repo: Path, tmp_path: Path, target_exists: bool
) -> None:
    outside = tmp_path / "outside" / "precious"
    outside.parent.mkdir()
    if target_exists:
        outside.write_text("precious\n", encoding="utf-8")
        outside.chmod(0o600)
    hooks_dir = repo / ".githooks"
    hooks_dir.mkdir()
    planted = hooks_dir / ".pre-push.octolint-tmp"  # the name octolint used to write first
    planted.symlink_to(outside)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "shared hooks")
    git(repo, "config", "core.hooksPath", ".githooks")

    proc = install_hook(repo)
    assert proc.returncode == 0, proc.stderr

    if target_exists:
        assert outside.read_text() == "precious\n"
        assert stat.S_IMODE(outside.stat().st_mode) == 0o600
    else:
        assert not outside.exists()
    assert os.readlink(planted) == str(outside)
    hook = hooks_dir / "pre-push"
    assert not hook.is_symlink() and SIGNATURE in hook.read_text().splitlines()
    assert os.access(hook, os.X_OK)
    assert sorted(p.name for p in hooks_dir.iterdir()) == [planted.name, "pre-push"]
    commit(repo, {"Dockerfile": BAD}, "bad")
    assert push(repo, "main").returncode != 0


@pytest.mark.parametrize("kind", ["dangling", "to-a-file", "fifo"])
@pytest.mark.infra
def test_install_hook_treats_a_link_or_special_file_at_pre_push_as_foreign(
    repo: Path, tmp_path: Path, kind: str
) -> None:
    hook = repo / ".git" / "hooks" / "pre-push"
    target = tmp_path / "elsewhere" / "pre-push"
    target.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(hook)
    else:
        if kind == "to-a-file":
            target.write_text(f"#!/bin/sh\n{SIGNATURE}\n", encoding="utf-8")  # even ours
        hook.symlink_to(target)
    before = target.read_text() if target.exists() else None

    proc = install_hook(repo)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(hook) in proc.stderr and "--force" in proc.stderr
    assert ("symbolic link" if kind != "fifo" else "not a regular file") in proc.stderr
    assert hook.is_symlink() or stat.S_ISFIFO(hook.lstat().st_mode)

    proc = install_hook(repo, "--uninstall")
    assert proc.returncode == 2 and "left in place" in proc.stderr
    assert hook.is_symlink() or stat.S_ISFIFO(hook.lstat().st_mode)

    proc = install_hook(repo, "--force")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISREG(hook.lstat().st_mode) and SIGNATURE in hook.read_text().splitlines()
    assert (target.read_text() if target.exists() else None) == before  # the link, not its target


@pytest.mark.infra
def test_install_hook_refuses_an_interpreter_that_cannot_run_octolint_isolated(
    repo: Path, tmp_path: Path
) -> None:
    """octolint reachable only through PYTHONPATH: -I would not find it, so no hook is written."""
    source = Path(__file__).resolve().parents[1]
    venv = tmp_path / "bare-venv"
    subprocess.run(
        [sys.executable, "-I", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "octolint", "install-hook"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(source), *sys.path[1:]])},
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "isolated" in proc.stderr
    assert not (repo / ".git" / "hooks" / "pre-push").exists()
    assert run_cli(["install-hook"], cwd=repo).returncode == 0


# -- other programs octolint starts -----------------------------------------------------------


class _Challenge(http.server.BaseHTTPRequestHandler):
    """A registry that wants credentials for everything."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="octolint tests"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def challenging_registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Challenge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.infra
def test_a_credential_helper_name_with_a_path_never_runs_a_program_from_the_checkout(
    repo: Path, tmp_path: Path, challenging_registry: str
) -> None:
    """A Docker config in the repository (DOCKER_CONFIG pointing into a checkout, as CI
    jobs do) names a "helper" that is a path into the repository."""
    marker = tmp_path / "marker"
    helper = repo / "docker-credential-tools" / "grab"
    helper.parent.mkdir()
    helper.write_text(f"#!/bin/sh\necho ran > '{marker}'\necho '{{}}'\n", encoding="utf-8")
    helper.chmod(0o755)
    config = repo / ".docker" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"credsStore": "tools/grab"}), encoding="utf-8")
    env = {
        "DOCKER_CONFIG": str(config.parent),
        "HOME": str(tmp_path),
        "OCTOLINT_CACHE_DIR": str(tmp_path / "cache"),
    }
    proc = run_cli(["image", f"{challenging_registry}/app:1"], cwd=repo, env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(config) in proc.stderr and "'tools/grab' is not a program name" in proc.stderr
    assert not marker.exists()
