#!/usr/bin/env python3
"""Compare octolint's reports between two revisions, byte for byte.

A refactoring that should change nothing is checked by running the command
line of both revisions over the same inputs and diffing what they print::

    python bench/compare_reports.py                      # main vs the working tree
    python bench/compare_reports.py --base HEAD~3 --head HEAD
    python bench/compare_reports.py --base main --head main   # determinism check

Each revision is checked out with ``git worktree add`` into a temporary
directory (``--head WORKTREE``, the default, is this working tree itself) and
laid out as if installed: its packages linked beside a dist-info holding the
entry points of its own setup.cfg, so its own rules are found. It runs as
``python -m octolint`` with ``PYTHONPATH`` pointing there. Inputs: every file
of the shared Dockerfile corpus (``$OCTOLINT_CORPUS``, else
``../shared/corpus/dockerfiles`` beside the repository, else
``/work/shared/corpus/dockerfiles``), named in one run, and each deployment
directory of ``fixtures/deploy`` checked with ``octolint deploy``; each in the
``human`` (``NO_COLOR``), ``json`` and ``sarif`` formats, plus ``octolint rules
--format json``. Every run has an empty cache directory and the same working
directory (outside any repository), so nothing but the code differs.

``--json-drop FIELD`` (repeatable) leaves a field out of both JSON reports,
at the top level and in every finding, to check that a deliberate format
change (``--json-drop version --json-drop location`` for JSON format 2) is the
only one.

Exit status: 0 when every output, stderr and exit code is identical, 1 when
something differs (a unified diff of the first lines of each difference is
printed), 2 when a revision cannot be checked out or installed.
"""

from __future__ import annotations

import argparse
import configparser
import difflib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKTREE = "WORKTREE"
FORMATS = ("human", "json", "sarif")
MAX_DIFF_LINES = 40


@dataclass(frozen=True)
class Case:
    """One octolint invocation: a name and its arguments (before the format options)."""

    name: str
    args: tuple[str, ...]
    formats: tuple[str, ...] = FORMATS


def default_corpus() -> Path:
    configured = os.environ.get("OCTOLINT_CORPUS")
    if configured:
        return Path(configured)
    beside = REPO.parent / "shared" / "corpus" / "dockerfiles"
    return beside if beside.is_dir() else Path("/work/shared/corpus/dockerfiles")


def cases(corpus: Path, deploy_root: Path) -> list[Case]:
    """The corpus in one run, and every deployment directory of the fixtures."""
    # named one by one: a directory search would skip names like "x__Dockerfile@3.2.0"
    files = sorted(str(p) for p in corpus.iterdir() if p.is_file())
    found = [Case("corpus", ("lint", *files))]
    deployments = sorted({p.parent for p in deploy_root.rglob("*.y*ml")})
    for directory in deployments:
        name = "deploy-" + "-".join(directory.relative_to(deploy_root).parts)
        found.append(Case(name, ("deploy", str(directory))))
    found.append(Case("rules", ("rules", "--format", "json"), formats=()))
    return found


@contextmanager
def installed(revision: str, scratch: Path) -> Iterator[Path]:
    """A directory holding the revision's package, installed, for PYTHONPATH."""
    target = scratch / f"site-{len(list(scratch.iterdir()))}"
    if revision == WORKTREE:
        _install(REPO, target)
        yield target
        return
    checkout = scratch / f"checkout-{target.name}"
    _git("worktree", "add", "--detach", str(checkout), revision)
    try:
        _install(checkout, target)
        yield target
    finally:
        _git("worktree", "remove", "--force", str(checkout))


def _git(*args: str) -> None:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compare_reports: git {' '.join(args)}: {done.stderr.strip()}")


def _install(source: Path, target: Path) -> None:
    """Lay the revision out as an installed distribution would be, without building it.

    The packages are linked (``octolint``, and ``rules/`` as ``octolint_rules``, as
    setup.cfg's package_dir says), and a dist-info holds the revision's own entry
    points, so rule discovery sees exactly the rules that revision registers.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(source / "setup.cfg", encoding="utf-8")
    target.mkdir(parents=True)
    (target / "octolint").symlink_to(source / "octolint")
    (target / "octolint_rules").symlink_to(source / "rules")
    info = target / "octolint-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: octolint\nVersion: 0.0.0\n")
    groups = parser["options.entry_points"]
    lines = []
    for group in groups:
        entries = [e.strip() for e in groups[group].splitlines() if "=" in e]
        lines += [f"[{group}]", *entries, ""]
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")


def run(site: Path, case: Case, workdir: Path, cache: Path) -> dict[str, str]:
    """Every output of one case: each format's file, stdout, stderr and the exit code."""
    outputs = workdir / "out"
    outputs.mkdir(exist_ok=True)
    for stale in outputs.iterdir():
        stale.unlink()
    args = list(case.args)
    for fmt in case.formats:
        args += ["--format", fmt, "--output", str(outputs / fmt)]
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1",
           "OCTOLINT_CACHE_DIR": str(cache), "PYTHONHASHSEED": "0"}  # fmt: skip
    env.pop("OCTOLINT_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "octolint", *args], cwd=workdir, env=env,
                          capture_output=True, text=True)  # fmt: skip
    result = {"exit code": str(done.returncode), "stdout": done.stdout, "stderr": done.stderr}
    for fmt in case.formats:
        path = outputs / fmt
        result[fmt] = path.read_text(encoding="utf-8") if path.exists() else "<not written>"
    return result


def without(text: str, fields: Sequence[str]) -> str:
    """A JSON report without ``fields`` (top level and findings), re-serialised."""
    if not fields:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return text
    for field in fields:
        document.pop(field, None)
        for finding in document.get("findings", []):
            finding.pop(field, None)
    return json.dumps(document, indent=2) + "\n"


def differences(base: dict[str, str], head: dict[str, str], label: str) -> list[str]:
    lines = []
    for key in base:
        if base[key] == head.get(key):
            continue
        diff = list(difflib.unified_diff(
            base[key].splitlines(), head.get(key, "").splitlines(),
            f"base/{label}/{key}", f"head/{label}/{key}", lineterm="", n=1,
        ))  # fmt: skip
        shown = diff[:MAX_DIFF_LINES]
        if len(diff) > len(shown):
            shown.append(f"... ({len(diff) - len(shown)} more diff lines)")
        lines += shown or [f"{label}/{key}: differs"]
    return lines


def compare(
    base: str, head: str, corpus: Path, deploy_root: Path, json_drop: Sequence[str] = ()
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="octolint-compare-") as temporary:
        scratch = Path(temporary)
        workdir = scratch / "work"  # the same cwd for both, outside any repository
        workdir.mkdir()
        todo = cases(corpus, deploy_root)
        results: list[dict[str, dict[str, str]]] = []
        for number, revision in enumerate((base, head)):
            with installed(revision, scratch) as site:
                cache = scratch / f"cache-{number}"
                outputs = {case.name: run(site, case, workdir, cache) for case in todo}
                for output in outputs.values():
                    if "json" in output:
                        output["json"] = without(output["json"], json_drop)
                results.append(outputs)
        report = []
        for case in todo:
            report += differences(results[0][case.name], results[1][case.name], case.name)
        return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="main", help="git revision (default: main)")
    parser.add_argument(
        "--head",
        default=WORKTREE,
        help=f"git revision, or {WORKTREE} for the working tree (default)",
    )
    parser.add_argument("--corpus", type=Path, default=None, help="directory of Dockerfiles")
    parser.add_argument(
        "--deploy",
        type=Path,
        default=REPO / "fixtures" / "deploy",
        help="directory of deployments (default: fixtures/deploy)",
    )
    parser.add_argument("--json-drop", action="append", default=[], metavar="FIELD",
                        help="leave FIELD out of JSON reports (top level and findings)")
    options = parser.parse_args(argv)
    corpus = (options.corpus or default_corpus()).resolve()
    if not corpus.is_dir():
        print(f"compare_reports: {corpus}: no such directory", file=sys.stderr)
        return 2
    report = compare(options.base, options.head, corpus, options.deploy.resolve(),
                     options.json_drop)  # fmt: skip
    if report:
        print("\n".join(report))
        print(f"compare_reports: {options.base} and {options.head} differ", file=sys.stderr)
        return 1
    print(f"compare_reports: {options.base} and {options.head}: identical reports "
          f"({corpus}, {options.deploy}; {', '.join(FORMATS)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
