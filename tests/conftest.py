"""Shared helpers: run the real CLI in a subprocess, lint text in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import realroots
from hypothesis import settings

from octolint import lint_text
from octolint.config import Config
from octolint.engine import Engine
from octolint.rulebook import load_rules

# The registry, engine and daemon fixtures; a plugin (not a plain import) so that its
# asserts are rewritten like the tests' own.
pytest_plugins = ["infra"]

# Hypothesis's default 200 ms deadline per example is a wall-clock assertion: on a loaded
# machine it fails tests that are correct. Work is bounded by each test's own limits.
settings.register_profile("octolint", deadline=None)
settings.load_profile("octolint")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"

# Markers (pyproject.toml): `pytest -m "not infra and not slow"` is the fast, offline part.
# Fixtures that start or fetch real infrastructure (tests/infra.py, npm packages): a test
# using one, directly or through another fixture, is marked `infra` at collection. Tests
# that reach debootstrap or apt-get download (tests/realroots.py), npm, PyPI or a git
# push carry an explicit `@pytest.mark.infra`; those builders check it
# (realroots.needs_infra), so a forgotten mark fails `pytest -m "not infra"` instead of
# slowing it down silently. `@pytest.mark.slow` is by hand: over 5 s on a loaded 2-core VM.
INFRA_FIXTURES = frozenset(
    {
        "plain_registry",
        "basic_registry",
        "tls_registry",
        "token_registry",
        "fault_proxy",
        "docker_engine",
        "actions_core",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INFRA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.infra)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    realroots.INFRA_MARKED = item.get_closest_marker("infra") is not None


def corpus_dir() -> Path | None:
    """The shared corpus of real Dockerfiles, when this checkout has it beside it."""
    configured = os.environ.get("OCTOLINT_CORPUS")
    path = Path(configured) if configured else REPO.parent / "shared" / "corpus" / "dockerfiles"
    return path if path.is_dir() else None


def run_cli(
    args: Sequence[str],
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m octolint ARGS` as a user would; output decoded as text."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("OCTOLINT_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "octolint", *args],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=full_env,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


# Runs a command and writes its peak RSS (KiB) to a file. The measurement must come from
# this small parent: a child's ru_maxrss includes what the forking process had mapped
# before exec (pytest can be hundreds of MB), and RUSAGE_CHILDREN in the test process
# would hold the peak of any earlier child of the session.
_MEASURE = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def run_measured(
    command: Sequence[str], **options: object
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run a command as subprocess.run(command, capture_output=True, text=True, **options)
    does; return the result and the command's peak RSS in bytes."""
    with tempfile.TemporaryDirectory() as scratch:
        rss = Path(scratch) / "rss"
        proc = subprocess.run(  # type: ignore[call-overload]
            [sys.executable, "-c", _MEASURE, str(rss), *command],
            capture_output=True, text=True, **options,
        )  # fmt: skip
        peak = int(rss.read_text() or 0) * 1024
    return subprocess.CompletedProcess(command, proc.returncode, proc.stdout, proc.stderr), peak


def rule_ids(text: str, only: str | None = None, **engine_args: object) -> list[str]:
    """Rule ids of the findings for Dockerfile text (optionally of one rule only)."""
    rules = [r for r in load_rules() if only is None or r.id == only]
    engine = Engine(Config(), rules, **engine_args)  # type: ignore[arg-type]
    return [f.rule_id for f in lint_text(text, engine=engine).findings]


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """write('Dockerfile', text) -> Path, relative to a fresh temporary directory."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write


# --- what a run skipped, and how to run it ---------------------------------------------


def apt_packages(ci_script: str) -> list[str]:
    """The Debian packages `.ci/run` installs (its APT_PACKAGES, additions included)."""
    import re

    found: list[str] = []
    for body in re.findall(r"APT_PACKAGES\+?=\(([^)]*)\)", ci_script):
        found += body.split()
    return list(dict.fromkeys(found))


def install_command() -> str:
    packages = apt_packages((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    return "sudo apt-get install -y --no-install-recommends " + " ".join(packages)


def skip_reasons(reports: Sequence[pytest.TestReport]) -> list[tuple[str, int]]:
    """Each skip reason with how many tests it skipped, most first."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for report in reports:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        counts[reason.removeprefix("Skipped: ")] += 1
    return counts.most_common()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """After a run that skipped tests: why, grouped, and the one command that installs
    what the skipped tests need (the system packages `.ci/run` installs)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if r.when in ("setup", "call")]
    if not skipped:
        return
    terminalreporter.write_sep("=", f"{len(skipped)} skipped, by reason")
    for reason, count in skip_reasons(skipped):
        terminalreporter.write_line(f"{count:5}  {reason}")
    terminalreporter.write_line(
        "Most of these need system packages; to run them too (Debian/Ubuntu), install them "
        f"and run `python -m pytest` again:\n    {install_command()}"
    )
