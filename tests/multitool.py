"""Microsoft's ``Sarif.Multitool``, fetched once from npm and kept in the test cache.

``@microsoft/sarif-multitool-linux`` ships the tool as a self-contained single-file
x86_64 .NET application. It serves two purposes in the tests: a real .NET program
(the oracle of tests/test_image_oracle.py) and the reference SARIF validator
(tests/test_sarif_github.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from realroots import _locked, cache_root, missing_infra, needs_infra, require_tool

PACKAGE = "@microsoft/sarif-multitool-linux"


def sarif_multitool() -> Path:
    """The ``Sarif.Multitool`` binary, unpacked once from the npm tarball (both cached)."""
    needs_infra("Sarif.Multitool (npm)")
    directory = cache_root() / "npm"
    binary = directory / "Sarif.Multitool"
    if binary.is_file():
        return binary
    npm = require_tool("npm")
    directory.mkdir(parents=True, exist_ok=True)
    with _locked("npm"):
        if binary.is_file():
            return binary
        tarballs = sorted(directory.glob("microsoft-sarif-multitool-linux-*.tgz"))
        if not tarballs:
            proc = subprocess.run(
                [npm, "pack", PACKAGE, "--pack-destination", str(directory)],
                capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            tarballs = sorted(directory.glob("microsoft-sarif-multitool-linux-*.tgz"))
            if proc.returncode != 0 or not tarballs:
                missing_infra(f"npm pack {PACKAGE} failed: {proc.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[-1]) as tgz:
            member = tgz.extractfile("package/Sarif.Multitool")
            assert member is not None
            temp = directory / f".Sarif.Multitool.{os.getpid()}"
            with member, temp.open("wb") as out:
                shutil.copyfileobj(member, out)
        temp.chmod(0o755)
        os.replace(temp, binary)
    return binary


# SARIF2006 (UrisShouldBeReachable) would fetch every URI in the log: the tests send
# no traffic beyond 127.0.0.1, so it is off. Every other rule keeps its default.
POLICY = """<?xml version="1.0" encoding="utf-8"?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" Type="Driver.RuleEnabledState" />
  </Properties>
</Properties>
"""
DISABLED_BY_POLICY = "WRN999.RuleExplicitlyDisabled"


def validate(binary: Path, sarif: Path, *, rule_kinds: str = "Sarif;Gh") -> list[dict[str, Any]]:
    """The errors and warnings ``Sarif.Multitool validate`` reports for ``sarif``.

    The tool exits 0 even when the file has errors, so its own SARIF output is
    read instead: results and tool notifications of level error or warning (a
    missing level means warning). ``rule_kinds`` chooses the rule sets: ``Sarif``
    (the SARIF specification) and ``Gh`` (what GitHub code scanning needs).
    """
    output = sarif.with_name(sarif.name + ".validation.sarif")
    policy = sarif.with_name(sarif.name + ".policy.xml")
    policy.write_text(POLICY, encoding="utf-8")
    proc = subprocess.run(
        [str(binary), "validate", str(sarif), "--output", str(output), "--log", "ForceOverwrite",
         "--rule-kind", rule_kinds, "--config", str(policy)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )  # fmt: skip
    assert output.is_file(), f"Sarif.Multitool wrote no output: {proc.stdout}{proc.stderr}"
    log = json.loads(output.read_text(encoding="utf-8-sig"))
    problems: list[dict[str, Any]] = []
    for run in log.get("runs", []):
        for invocation in run.get("invocations", []):
            assert invocation.get("executionSuccessful"), f"Sarif.Multitool failed: {invocation}"
            notes = invocation.get("toolExecutionNotifications", []) + invocation.get(
                "toolConfigurationNotifications", []
            )
            problems += [
                note for note in notes
                if note.get("level", "warning") in ("error", "warning")
                and note.get("descriptor", {}).get("id") != DISABLED_BY_POLICY
            ]  # fmt: skip
        problems += [
            result for result in run.get("results", [])
            if result.get("level", "warning") in ("error", "warning")
        ]  # fmt: skip
    return problems


def describe(problems: list[dict[str, Any]]) -> str:
    """The validator's findings, one per line, for assertion messages."""
    lines = []
    for problem in problems:
        message = problem.get("message", {})
        text = message.get("text") or f"{message.get('id')} {message.get('arguments')}"
        lines.append(f"{problem.get('ruleId', 'notification')}: {text}")
    return "\n".join(lines)
