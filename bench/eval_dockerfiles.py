#!/usr/bin/env python3
"""Precision and recall of octolint's Dockerfile rules on hand-judged real-world Dockerfiles.

    python bench/eval_dockerfiles.py [--json] [--extra-dir DIR] [--octolint-arg ARG ...]

The evaluation set is fixtures/eval/: Dockerfiles from public repositories
(dockerfiles/, provenance and licences in SOURCES.md) and, in labels.json, the
findings an expert expects for each file, by rule id and 1-based line, each
with a reason. Files whose licence does not allow copying are labelled but
not in the repository (`"copied": false`); pass --extra-dir with a directory
holding them under the same names to include them, else they are skipped.

octolint is the console script next to the running interpreter, run once as
`octolint --format json --fail-on never [ARGS] FILES...`. A finding matches
a label when the rule id and the line are equal; several findings of one
rule on one line count once, as do several labels. Per rule:

    TP  expected and reported        FP  reported, not expected
    FN  expected, not reported       precision = TP/(TP+FP), recall = TP/(TP+FN)

Every disagreement is listed with the label's reason (FN) or octolint's
message (FP, with the label's reason when the rule is marked not expected).
Matched findings whose severity differs from the label's are listed too; they
do not change the figures. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO / "fixtures" / "eval"
GOAL = 0.97  # issue 13: precision and recall on real-world Dockerfiles


class EvalError(Exception):
    pass


@dataclass(frozen=True)
class Case:
    """One labelled file: where it is (None when skipped) and what is expected."""

    id: str
    name: str
    path: Path | None
    expected: dict[tuple[str, int], dict[str, Any]]  # (rule, line) -> label
    not_expected: dict[str, str]  # rule -> reason


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Score) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision(),
            "recall": self.recall(),
        }


@dataclass
class Result:
    per_rule: dict[str, Score] = field(default_factory=dict)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    severity: list[dict[str, Any]] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def score(self, rule: str) -> Score:
        return self.per_rule.setdefault(rule, Score())

    def overall(self) -> Score:
        total = Score()
        for score in self.per_rule.values():
            total.add(score)
        return total


def load_cases(labels: Path, directory: Path, extra: Path | None) -> list[Case]:
    try:
        doc = json.loads(labels.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalError(f"{labels}: cannot read the labels: {exc}") from exc
    cases = []
    for entry in doc["files"]:
        name = entry["file"]
        path: Path | None = directory / name if entry["copied"] else None
        if path is None and extra is not None and (extra / name).is_file():
            path = extra / name
        if path is not None and not path.is_file():
            raise EvalError(f"{path}: labelled file is missing")
        expected = {(e["rule"], int(e["line"])): e for e in entry["expected"]}
        not_expected = {n["rule"]: n["reason"] for n in entry.get("not_expected", [])}
        cases.append(Case(entry["id"], name, path, expected, not_expected))
    return cases


def find_octolint(explicit: str | None) -> Path:
    """The console script next to sys.executable, else on PATH (explicit path wins)."""
    if explicit:
        return Path(explicit)
    beside = Path(sys.executable).parent / "octolint"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("octolint")
    if found is None:
        raise EvalError(f"octolint not found next to {sys.executable} nor on PATH")
    return Path(found)


def run_octolint(
    exe: Path, args: Sequence[str], files: Sequence[Path]
) -> dict[Path, list[dict[str, Any]]]:
    """octolint's findings per file (resolved path), from one batch run."""
    cmd = [str(exe), "--format", "json", "--fail-on", "never", *args, *(str(f) for f in files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise EvalError(f"octolint exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    try:
        report = json.loads(proc.stdout)
    except ValueError as exc:
        raise EvalError(f"octolint printed no JSON report: {exc}") from exc
    found: dict[Path, list[dict[str, Any]]] = {f.resolve(): [] for f in files}
    for finding in report["findings"]:
        found.setdefault(Path(finding["file"]).resolve(), []).append(finding)
    return found


def compare(case: Case, findings: Iterable[dict[str, Any]], result: Result) -> None:
    reported: dict[tuple[str, int], dict[str, Any]] = {}
    for item in findings:
        reported.setdefault((item["rule_id"], int(item["line"])), item)
    for key in sorted(set(case.expected) | set(reported)):
        rule, line = key
        label, finding = case.expected.get(key), reported.get(key)
        where = {"id": case.id, "file": case.name, "rule": rule, "line": line}
        if label and finding:
            result.score(rule).tp += 1
            if label.get("severity") and label["severity"] != finding["severity"]:
                result.severity.append(
                    {**where, "expected": label["severity"], "reported": finding["severity"]}
                )
        elif label:
            result.score(rule).fn += 1
            result.disagreements.append({**where, "kind": "FN", "reason": label["reason"]})
        elif finding:
            result.score(rule).fp += 1
            reason = case.not_expected.get(rule, "no label")
            result.disagreements.append(
                {**where, "kind": "FP", "reason": reason, "message": finding["message"]}
            )


def evaluate(cases: Sequence[Case], exe: Path, args: Sequence[str]) -> Result:
    result = Result()
    present = [c for c in cases if c.path is not None]
    result.skipped = [c.name for c in cases if c.path is None]
    found = run_octolint(exe, args, [c.path for c in present if c.path is not None])
    for case in present:
        assert case.path is not None
        result.evaluated.append(case.name)
        for rule, _line in case.expected:
            result.score(rule)  # every labelled rule gets a row, even with nothing reported
        compare(case, found.get(case.path.resolve(), []), result)
    return result


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def goal_text(score: Score) -> str:
    p, r = score.precision(), score.recall()
    met = p is not None and r is not None and p >= GOAL and r >= GOAL
    return f"goal precision and recall >= {GOAL}: {'met' if met else 'not met'}"


def render(result: Result) -> str:
    lines = [
        f"{len(result.evaluated)} files evaluated, {len(result.skipped)} skipped "
        "(not copied; see --extra-dir)",
        "",
        f"{'rule':<8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}",
    ]
    for rule in sorted(result.per_rule):
        s = result.per_rule[rule]
        lines.append(
            f"{rule:<8} {s.tp:>4} {s.fp:>4} {s.fn:>4} {fmt(s.precision()):>10} {fmt(s.recall()):>8}"
        )
    total = result.overall()
    lines += [
        f"{'overall':<8} {total.tp:>4} {total.fp:>4} {total.fn:>4} "
        f"{fmt(total.precision()):>10} {fmt(total.recall()):>8}",
        goal_text(total),
        "",
    ]
    lines.append(f"Disagreements ({len(result.disagreements)}):")
    for d in result.disagreements:
        text = f"  {d['kind']} {d['rule']} {d['file']}:{d['line']}  label: {d['reason']}"
        if d["kind"] == "FP":
            text += f"\n       octolint: {d['message']}"
        lines.append(text)
    lines += ["", f"Severity differences on matched findings ({len(result.severity)}):"]
    for diff in result.severity:
        lines.append(
            f"  {diff['rule']} {diff['file']}:{diff['line']}  expected {diff['expected']}, "
            f"reported {diff['reported']}"
        )
    return "\n".join(lines)


def as_json(result: Result, exe: Path, args: Sequence[str]) -> dict[str, Any]:
    total = result.overall()
    return {
        "octolint": str(exe),
        "octolint_args": list(args),
        "goal": GOAL,
        "goal_met": bool((total.precision() or 0) >= GOAL and (total.recall() or 0) >= GOAL),
        "evaluated": result.evaluated,
        "skipped": result.skipped,
        "per_rule": {rule: s.as_dict() for rule, s in sorted(result.per_rule.items())},
        "overall": total.as_dict(),
        "disagreements": result.disagreements,
        "severity_differences": result.severity,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Precision and recall of octolint on hand-judged real-world Dockerfiles."
    )
    parser.add_argument("--labels", type=Path, default=EVAL / "labels.json", help="labels file")
    parser.add_argument(
        "--dir", type=Path, default=EVAL / "dockerfiles", help="directory of the copied Dockerfiles"
    )
    parser.add_argument(
        "--extra-dir", type=Path, help="directory holding the labelled files that are not copied"
    )
    parser.add_argument("--octolint", help="octolint executable (default: next to python)")
    parser.add_argument(
        "--octolint-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for octolint, e.g. --octolint-arg=--octopus-version=2021.1",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the goal is not met")
    opts = parser.parse_args(argv)
    try:
        cases = load_cases(opts.labels, opts.dir, opts.extra_dir)
        exe = find_octolint(opts.octolint)
        result = evaluate(cases, exe, opts.octolint_arg)
    except EvalError as exc:
        print(f"eval_dockerfiles: {exc}", file=sys.stderr)
        return 2
    report = as_json(result, exe, opts.octolint_arg)
    print(json.dumps(report, indent=2) if opts.json else render(result))
    return 1 if opts.strict and not report["goal_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
