"""SARIF 2.1.0 output (``--format sarif``), e.g. for GitHub code scanning.

One run. ``tool.driver.rules`` holds the rules that ran, sorted by id, and each
result points at its rule with ``ruleId`` and ``ruleIndex``. Artifact URIs are
relative to ``%SRCROOT%`` (the working directory); files outside it get an
absolute ``file://`` URI and standard input is ``stdin``.

Fingerprints: ``partialFingerprints.primaryLocationLineHash`` is
``<hash>:<n>``, where ``<hash>`` is the first 16 hex digits of the SHA-256 of
the rule id and the finding's source text with whitespace normalised (each
line stripped, runs of whitespace collapsed, blank lines dropped; the message
when there is no source), and ``<n>`` counts identical hashes within the same
file in document order (1, 2, ...). The line number is deliberately not
hashed, so a finding keeps its fingerprint when unrelated lines are added or
removed above it; a different rule on the same source gets another one.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from octolint.model import Finding, Report, Severity
from octolint.reporters._common import (
    STDIN_PATH,
    clamped_region,
    effective_hint,
    ordered_findings,
)

if TYPE_CHECKING:
    from octolint.registry import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "octolint"
INFORMATION_URI = "https://github.com/octolint/octolint"
SRCROOT = "%SRCROOT%"
STDIN_URI = "stdin"
MAX_FULL_DESCRIPTION = 1024
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
RULE_TAGS = ("octopus-deploy", "execution-container")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

JSON = dict[str, Any]


def render(
    report: Report, rules: Mapping[str, Rule], *, color: bool = False, tool_version: str
) -> str:
    """The report as an indented SARIF log followed by a newline (ASCII only)."""
    return json.dumps(build(report, rules, tool_version=tool_version), indent=2) + "\n"


def build(report: Report, rules: Mapping[str, Rule], *, tool_version: str) -> JSON:
    """The SARIF log as Python data."""
    findings = ordered_findings(report)
    descriptors = _descriptors(report, rules, findings)
    index = {descriptor["id"]: i for i, descriptor in enumerate(descriptors)}
    fingerprints = primary_location_line_hashes(findings)
    driver: JSON = {"name": TOOL_NAME, "version": tool_version}
    if SEMVER.match(tool_version):  # SARIF requires semanticVersion to be SemVer 2.0
        driver["semanticVersion"] = tool_version
    driver |= {"informationUri": INFORMATION_URI, "rules": descriptors}
    run: JSON = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(pathlib.Path.cwd())}},
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(f, index[f.rule_id], fp, rules) for f, fp in zip(findings, fingerprints)
        ],
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _descriptors(report: Report, rules: Mapping[str, Rule], findings: list[Finding]) -> list[JSON]:
    """Descriptors of the rules that ran, plus any rule a finding names, sorted by id."""
    names = {f.rule_id: f.rule_name for f in findings}
    ids = sorted({*(r for r in report.rules_run if r in rules), *names})
    return [
        rule_descriptor(rules[rule_id]) if rule_id in rules else _bare(rule_id, names)
        for rule_id in ids
    ]


def rule_descriptor(rule: Rule) -> JSON:
    """A SARIF reportingDescriptor for one rule."""
    summary = rule.summary or rule.name or rule.id
    doc = rule.doc or summary
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": first_paragraph(doc) or summary},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": [*RULE_TAGS, rule.applies_to], "precision": "high"},
    }


def _bare(rule_id: str, names: Mapping[str, str]) -> JSON:
    """A minimal descriptor for a finding whose rule is not in ``rules``."""
    return {"id": rule_id, "name": names[rule_id], "shortDescription": {"text": rule_id}}


def first_paragraph(doc: str, limit: int = MAX_FULL_DESCRIPTION) -> str:
    """The first paragraph of ``doc`` that is not a markdown heading, as one line."""
    for paragraph in re.split(r"\n\s*\n", doc.strip()):
        text = " ".join(paragraph.split())
        if text and not text.startswith("#"):
            return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
    return ""


def _result(finding: Finding, rule_index: int, fingerprint: str, rules: Mapping[str, Rule]) -> JSON:
    line, column, end_line, end_column = clamped_region(finding)
    region: JSON = {
        "startLine": line,
        "startColumn": column,
        "endLine": end_line,
        "endColumn": end_column,
    }
    if finding.source:
        region["snippet"] = {"text": finding.source}
    result: JSON = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": result_message(finding, effective_hint(finding, rules))},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.path),
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
    }
    if finding.stage:
        result["properties"] = {"stage": finding.stage}
    return result


def result_message(finding: Finding, hint: str | None) -> str:
    """The message, followed by the hint as a second sentence when there is one."""
    message = finding.message.strip() or finding.rule_name or finding.rule_id
    if not hint or not hint.strip():
        return message
    return f"{_sentence(message)} {_sentence(hint.strip())}"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def artifact_location(path: str) -> JSON:
    """``{"uri", "uriBaseId"}`` relative to the working directory, or an absolute URI."""
    if path == STDIN_PATH:
        return {"uri": STDIN_URI, "uriBaseId": SRCROOT}
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # on another drive (Windows)
        return {"uri": pathlib.Path(absolute).as_uri()}
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return {"uri": pathlib.Path(absolute).as_uri()}
    return {"uri": quote(relative.replace(os.sep, "/")), "uriBaseId": SRCROOT}


def _directory_uri(directory: pathlib.Path) -> str:
    uri = directory.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def normalised_source(finding: Finding) -> str:
    """The finding's source (or message) with whitespace differences removed."""
    text = finding.source if finding.source and finding.source.strip() else finding.message
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def primary_location_line_hashes(findings: list[Finding]) -> list[str]:
    """One ``<hash>:<n>`` fingerprint per finding, in order (see the module docstring)."""
    seen: Counter[tuple[str, str]] = Counter()
    fingerprints = []
    for finding in findings:
        payload = f"{finding.rule_id}\0{normalised_source(finding)}"
        digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        seen[(finding.path, digest)] += 1
        fingerprints.append(f"{digest}:{seen[(finding.path, digest)]}")
    return fingerprints
