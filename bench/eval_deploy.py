#!/usr/bin/env python3
"""Precision and recall of `octolint deploy` on hand-judged real deployments.

    python bench/eval_deploy.py [--json]

The set is fixtures/deploy/real/labels.json: real deployments (the official
Helm chart rendered with several value sets, the Windows Compose files of
OctopusDeploy/Octopus-Docker, the blog post's Compose and Kubernetes examples;
provenance and licences in fixtures/deploy/real/SOURCES.md), each with the
findings an expert expects (rule id, file name, 1-based line, reason) and the
rules that must stay quiet. Each case runs the console script next to the
running interpreter once, as `octolint deploy --format json --fail-on never
ARGS`. A finding matches a label when rule, file name and line are equal
(several on one line count once). Per rule:

    TP  expected and reported        FP  reported, not expected
    FN  expected, not reported       precision = TP/(TP+FP), recall = TP/(TP+FN)

Every disagreement is printed with the label's reason or octolint's message.
Exits 1 when the goal is not met, 2 when the set cannot be read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "fixtures" / "deploy" / "real" / "labels.json"
GOAL = 0.97  # issue 17: precision and recall on real deployments
Key = tuple[str, str, int]  # rule, file name, line


def octolint() -> str:
    beside = Path(sys.executable).with_name("octolint")
    found = str(beside) if beside.exists() else shutil.which("octolint")
    if found is None:
        raise SystemExit("eval_deploy: no octolint console script (pip install -e .)")
    return found


def reported(args: Sequence[str]) -> dict[Key, str]:
    proc = subprocess.run(
        [octolint(), "deploy", "--format", "json", "--fail-on", "never", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise SystemExit(f"eval_deploy: octolint failed on {' '.join(args)}: {proc.stderr}")
    findings = json.loads(proc.stdout)["findings"]
    return {(f["rule_id"], Path(f["file"]).name, int(f["line"])): f["message"] for f in findings}


def evaluate(cases: list[dict[str, Any]]) -> tuple[Counter[tuple[str, str]], list[str]]:
    """Counts per (rule, TP|FP|FN) and the disagreements, one line each."""
    counts: Counter[tuple[str, str]] = Counter()
    notes = []
    for case in cases:
        expected = {(r, f, int(n)): why for r, f, n, why in case["expected"]}
        got = reported(case["args"])
        for key in expected.keys() & got.keys():
            counts[(key[0], "TP")] += 1
        for key in expected.keys() - got.keys():
            counts[(key[0], "FN")] += 1
            notes.append(f"FN {case['id']} {key}: {expected[key]}")
        for key in got.keys() - expected.keys():
            counts[(key[0], "FP")] += 1
            quiet = case.get("not_expected", {}).get(key[0], "")
            notes.append(
                f"FP {case['id']} {key}: {got[key]}" + (f" [label: {quiet}]" if quiet else "")
            )
    return counts, notes


def ratio(a: int, b: int) -> float | None:
    return a / (a + b) if a + b else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args(argv)
    try:
        cases = json.loads(LABELS.read_text(encoding="utf-8"))["cases"]
    except (OSError, ValueError, KeyError) as error:
        print(f"eval_deploy: {LABELS}: {error}", file=sys.stderr)
        return 2
    counts, notes = evaluate(cases)
    total = {
        kind: sum(n for (_r, k), n in counts.items() if k == kind) for kind in ("TP", "FP", "FN")
    }
    precision, recall = ratio(total["TP"], total["FP"]), ratio(total["TP"], total["FN"])
    met = precision is not None and recall is not None and min(precision, recall) >= GOAL
    rules = sorted({rule for rule, _k in counts})
    if options.json:
        print(
            json.dumps(
                {
                    "deployments": len(cases),
                    **total,
                    "precision": precision,
                    "recall": recall,
                    "goal": GOAL,
                    "goal_met": met,
                    "per_rule": {r: {k: counts[(r, k)] for k in ("TP", "FP", "FN")} for r in rules},
                    "disagreements": notes,
                },
                indent=2,
            )
        )
    else:
        print(f"{len(cases)} deployments; TP {total['TP']} FP {total['FP']} FN {total['FN']}")
        for rule in rules:
            print(
                f"  {rule}: TP {counts[(rule, 'TP')]} FP {counts[(rule, 'FP')]} "
                f"FN {counts[(rule, 'FN')]}"
            )
        print(
            f"precision {precision if precision is None else round(precision, 3)}, "
            f"recall {recall if recall is None else round(recall, 3)}; goal >= {GOAL}: "
            f"{'met' if met else 'not met'}"
        )
        print("\n".join(notes))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
