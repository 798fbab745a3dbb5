"""The hand-judged evaluation set (fixtures/eval) is consistent, and the bench scores it right.

The set measures precision and recall on real-world Dockerfiles (issue 13);
a label pointing past the end of its file, a copied file without a label or
without its licence text, or a bench that miscounts would make the figures
silently wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO

from octolint.registry import load_rules

EVAL = FIXTURES / "eval"
LABELS: dict[str, Any] = json.loads((EVAL / "labels.json").read_text(encoding="utf-8"))
SEVERITIES = {"error", "warning", "note"}
BENCH = REPO / "bench" / "eval_dockerfiles.py"


def dockerfile_rule_ids() -> set[str]:
    return {r.id for r in load_rules() if r.applies_to == "dockerfile"}


def test_every_copied_dockerfile_is_labelled_once_and_every_label_has_a_file() -> None:
    names = [entry["file"] for entry in LABELS["files"]]
    assert len(names) == len(set(names))
    copied = {entry["file"] for entry in LABELS["files"] if entry["copied"]}
    on_disk = {p.name for p in (EVAL / "dockerfiles").iterdir()}
    assert copied == on_disk
    assert len(LABELS["files"]) >= 50


@pytest.mark.parametrize("entry", LABELS["files"], ids=lambda e: e["id"])
def test_labels_name_real_rules_and_lines_inside_the_file(entry: dict[str, Any]) -> None:
    rules = dockerfile_rule_ids()
    for label in entry["expected"]:
        assert label["rule"] in rules and label["severity"] in SEVERITIES and label["reason"]
    for label in entry["not_expected"]:
        assert label["rule"] in rules and label["reason"]
    if entry["copied"]:
        lines = (EVAL / "dockerfiles" / entry["file"]).read_text(encoding="utf-8").splitlines()
        for label in entry["expected"]:
            assert 1 <= label["line"] <= len(lines), label


def test_sources_list_every_file_with_its_commit_and_copied_files_with_a_licence_text() -> None:
    sources = (EVAL / "SOURCES.md").read_text(encoding="utf-8")
    for entry in LABELS["files"]:
        src = entry["source"]
        row = next((line for line in sources.splitlines() if f"`{entry['file']}`" in line), "")
        assert src["repo"] in row and src["commit"] in row and src["path"] in row, entry["id"]
        if entry["copied"]:
            assert src["license"] in {"MIT", "Apache-2.0", "Unlicense"}
            licence = row.split("](licenses/")[-1].split(")")[0]
            assert (EVAL / "licenses" / licence).is_file(), entry["id"]


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def small_set(tmp_path: Path) -> Path:
    """Two files whose verdicts do not depend on the issue-13 changes."""
    (tmp_path / "a.Dockerfile").write_text('FROM alpine:3.19\nCMD ["sh"]\n', encoding="utf-8")
    (tmp_path / "b.Dockerfile").write_text("FROM ubuntu:22.04\n", encoding="utf-8")
    a_expected = [
        {"rule": "OCT103", "line": 1, "severity": "warning", "reason": "musl"},
        {"rule": "OCT104", "line": 2, "severity": "error", "reason": "never reported"},
    ]
    b_expected = [{"rule": "OCT107", "line": 1, "severity": "warning", "reason": "no ICU"}]
    labels = {
        "files": [
            {"id": "1", "file": "a.Dockerfile", "copied": True, "expected": a_expected,
             "not_expected": [{"rule": "OCT102", "reason": "x"}]},
            {"id": "2", "file": "b.Dockerfile", "copied": True, "expected": b_expected,
             "not_expected": []},
            {"id": "3", "file": "c.Dockerfile", "copied": False, "expected": [],
             "not_expected": []},
        ]
    }  # fmt: skip
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(labels), encoding="utf-8")
    return path


def test_bench_counts_matches_misses_and_extras_per_rule(tmp_path: Path) -> None:
    labels = small_set(tmp_path)
    proc = run_bench("--labels", str(labels), "--dir", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    rules = report["per_rule"]
    assert rules["OCT103"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
    assert rules["OCT104"]["fn"] == 1 and rules["OCT104"]["recall"] == 0.0
    assert rules["OCT102"]["fp"] == 1 and rules["OCT102"]["precision"] == 0.0
    assert rules["OCT107"]["tp"] == 1
    assert (
        report["overall"]["tp"] == 2
        and report["overall"]["fp"] == 1
        and report["overall"]["fn"] == 1
    )
    assert report["skipped"] == ["c.Dockerfile"] and not report["goal_met"]
    kinds = {(d["kind"], d["rule"], d["line"]) for d in report["disagreements"]}
    assert kinds == {("FN", "OCT104", 2), ("FP", "OCT102", 2)}
    assert [(s["rule"], s["expected"], s["reported"]) for s in report["severity_differences"]] == [
        ("OCT103", "warning", "error")
    ]


def test_bench_reads_files_that_are_not_copied_from_extra_dir(tmp_path: Path) -> None:
    labels = small_set(tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "c.Dockerfile").write_text("FROM alpine:3.19\n", encoding="utf-8")
    proc = run_bench(
        "--labels", str(labels), "--dir", str(tmp_path), "--extra-dir", str(extra), "--json"
    )
    report = json.loads(proc.stdout)
    assert report["skipped"] == [] and "c.Dockerfile" in report["evaluated"]
    assert ("FP", "OCT103", 1) in {
        (d["kind"], d["rule"], d["line"]) for d in report["disagreements"]
    }


def test_bench_fails_cleanly_when_a_labelled_file_is_missing(tmp_path: Path) -> None:
    labels = small_set(tmp_path)
    (tmp_path / "b.Dockerfile").unlink()
    proc = run_bench("--labels", str(labels), "--dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.startswith("eval_dockerfiles: ") and "b.Dockerfile" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bench_runs_on_the_committed_set() -> None:
    proc = run_bench("--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    labelled = sum(len(e["expected"]) for e in LABELS["files"] if e["copied"])
    overall = report["overall"]
    assert overall["tp"] + overall["fn"] == labelled
    assert len(report["evaluated"]) == sum(e["copied"] for e in LABELS["files"])
