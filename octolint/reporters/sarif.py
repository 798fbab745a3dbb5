"""SARIF 2.1.0 output (``--format sarif``), made for GitHub code scanning.

**One run** per invocation. ``automationDetails.id`` is ``--sarif-category``
(option ``category``) with a ``/`` appended when missing, as upload-sarif does
with its own ``category`` input. The default names what was checked (the kind
of the rules that ran, else option ``subject``): ``octolint/dockerfile/``,
``octolint/deploy/``, or ``octolint/image/<name>/``, where ``<name>`` is the
image's repository without tag or digest (``localhost:5000/team/app``), or its
archive's path relative to the repository root (several images: their names
joined with ``,``). It never depends on the findings, so a clean run closes the
alerts of an earlier one, and a new tag does not start a new set of alerts.

**Rules.** ``tool.driver.rules`` holds the rules that ran, sorted by id, with
their documentation (the rule module's docstring) as help text and markdown,
its prose before the first example as fullDescription (at most 1024
characters), and a ``precision`` and ``security-severity`` from the rule
module's ``SARIF_SCORE`` (see docs/decisions.md; :data:`DEFAULT_SCORES` for a
rule without one). Only rules about secrets are
tagged ``security``; GitHub shows the others with their error/warning/note
level. ``helpUri`` is left out: octolint has no public documentation site yet.

**Locations.** Every result has exactly one location, relative to ``%SRCROOT%``:
the repository root (the nearest directory at or above the working directory
that holds ``.git``), else the working directory. A file outside it gets an
absolute ``file://`` URI (valid SARIF, but GitHub cannot place it); standard
input is ``stdin``. The region spans the whole instruction. An image finding
(an ``ImageLocation``) without a ``--dockerfile`` region points at a stand-in:
the image's name as above, with ``:`` (a registry port) written ``_`` so that it
cannot read as a URI scheme, at line 1 (for an archive inside the repository,
the archive itself); its message starts with the image and platform, and its
properties hold ``image``, ``platform`` and, when known, ``path``, ``layer`` and
``historyStep``.

**Fingerprints.** ``partialFingerprints.primaryLocationLineHash`` is
``<hash>:<n>``: the first 16 hex digits of a SHA-256, and the how-many-th result
with that hash in its file (1, 2, ... in document order). The hash covers the
rule id and, for a Dockerfile finding, its source text with whitespace
normalised, never a line number: a finding keeps its fingerprint when
unrelated lines move. For an image finding, its message is added (what changes
on every rebuild, layer digests and history steps, is in its location, never in
its message), and, without a Dockerfile line, the image name instead of the
source text.

**Text.** Control characters in any text (ESC, C1, bidi overrides; see
:mod:`octolint.escape`) are written as the visible text ``\\x1b``: code
scanning shows messages and snippets to people.

**GitHub's limits** ("SARIF support for code scanning"): one run (limit 20),
one location per result (1,000), at most 4 tags per rule (20), no more than
25,000 rules (an error otherwise). Beyond 25,000 results, or 10 MB
gzip-compressed, GitHub rejects the whole file, so octolint keeps the most
severe results that fit, says so on stderr and in a tool notification in the
log; the exit code still counts every finding. (GitHub displays only the 5,000
most severe results of a run.)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pathlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from octolint.errors import EXIT_INPUT, ConfigError, OctolintError
from octolint.escape import escape_line, escape_strings
from octolint.model import Finding, ImageLocation, Report, Severity
from octolint.reporters._common import (
    STDIN_PATH,
    clamped_region,
    display_path,
    effective_hint,
    normalised_source,
    ordered_findings,
    relative_posix,
)
from octolint.rulefacts import SarifScore

if TYPE_CHECKING:
    from octolint.rulebook import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (  # the "id" of the official schema, vendored in octolint/schemas
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "octolint"
# octolint has no public home page yet. This page documents the requirements
# octolint checks; replace it with the project's own URL once there is one.
INFORMATION_URI = "https://octopus.com/docs/projects/steps/execution-containers-for-workers"
SRCROOT = "%SRCROOT%"
STDIN_URI = "stdin"
MAX_FULL_DESCRIPTION = 1024
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

# GitHub code scanning's hard limits for one uploaded file.
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_GZIP_BYTES = 10_000_000
MAX_TAGS = 20


# Plugin rules, which octolint cannot judge: a score from their default level.
DEFAULT_SCORES = {
    Severity.ERROR: SarifScore("7.0", "medium"),
    Severity.WARNING: SarifScore("4.0", "medium"),
    Severity.NOTE: SarifScore("1.0", "medium"),
}

_EXAMPLE_START = re.compile(r"^(```|~~~|(Fails|Passes)\b.*:$)")

JSON = dict[str, Any]


@dataclass(frozen=True)
class _Context:
    """What the results need to know about the run: where files are, what is an image."""

    root: pathlib.Path
    subject: str  # "dockerfile", "image" or "deploy"
    images: tuple[str, ...]  # the references scanned


def render(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
    category: str | None = None,
    subject: str | None = None,
    **_options: object,
) -> str:
    """The report as an indented SARIF log followed by a newline (ASCII only).

    ``category`` is ``--sarif-category``. ``subject`` (``"dockerfile"``, ``"image"``
    or ``"deploy"``) says what the command checked; the kind of the rules that ran
    overrides it when they are all of one kind. Results dropped to stay within
    GitHub's limits are reported on stderr.
    """
    text, dropped = serialised_within_limits(report, rules, tool_version=tool_version,
                                             category=category, subject=subject)  # fmt: skip
    if dropped:
        print(f"octolint: warning: {escape_line(dropped)}", file=sys.stderr)
    return text


def _dumps(log: JSON) -> str:
    return json.dumps(log, indent=2) + "\n"


def build(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    tool_version: str,
    category: str | None = None,
    subject: str | None = None,
) -> JSON:
    """The SARIF log as Python data, with every finding (no limits applied)."""
    context = _context(report, rules, subject)
    findings = ordered_findings(report)
    descriptors = _descriptors(report, rules, findings)
    if len(descriptors) > MAX_RULES:
        raise OctolintError(
            f"SARIF: {len(descriptors)} rules ran, more than the {MAX_RULES} GitHub code "
            "scanning accepts in one run"
        )
    index = {descriptor["id"]: i for i, descriptor in enumerate(descriptors)}
    fingerprints = primary_location_line_hashes(findings, context)
    run: JSON = {
        "tool": {"driver": _driver(tool_version, descriptors)},
        "automationDetails": {"id": automation_id(category, context)},
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(context.root)}},
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(f, index[f.rule_id], fp, rules, context)
            for f, fp in zip(findings, fingerprints)
        ],
    }
    if report.errors:
        run["invocations"] = [_failed_invocation(report)]
    log = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    return escape_strings(log)


def serialised_within_limits(
    report: Report,
    rules: Mapping[str, Rule],
    *,
    tool_version: str,
    category: str | None = None,
    subject: str | None = None,
) -> tuple[str, str]:
    """The SARIF text within GitHub's limits, and a message saying what was dropped ('')."""
    log = build(report, rules, tool_version=tool_version, category=category,
                subject=subject)  # fmt: skip
    results: list[JSON] = log["runs"][0]["results"]
    total = len(results)
    keep = min(total, MAX_RESULTS)
    text = _dumps(_with_results(log, results, keep))
    if _gzip_size(text) > MAX_GZIP_BYTES:
        keep = _largest_that_fits(lambda n: _dumps(_with_results(log, results, n)), keep)
    if keep == total:
        return text, ""
    reason = (f"more than {MAX_RESULTS} results per run" if keep == MAX_RESULTS
              else f"files over {MAX_GZIP_BYTES // 1_000_000} MB gzip-compressed")  # fmt: skip
    message = (
        f"SARIF output keeps the {keep} most severe of {total} results: GitHub code "
        f"scanning rejects {reason} (the exit code still counts all of them)"
    )
    trimmed = _with_results(log, results, keep)
    invocation = _invocation(message)
    for earlier in trimmed["runs"][0].get("invocations", []):  # inputs that could not be read
        invocation["executionSuccessful"] = earlier["executionSuccessful"]
        invocation["toolExecutionNotifications"][:0] = earlier["toolExecutionNotifications"]
    trimmed["runs"][0]["invocations"] = [invocation]
    return _dumps(trimmed), message


_RANK = {"error": 0, "warning": 1, "note": 2}


def _with_results(log: JSON, results: list[JSON], keep: int) -> JSON:
    """A copy of ``log`` with the ``keep`` most severe results (earlier first on ties)."""
    if keep >= len(results):
        return log
    ranked = sorted(range(len(results)), key=lambda i: (_RANK[results[i]["level"]], i))
    run = {**log["runs"][0], "results": [results[i] for i in sorted(ranked[:keep])]}
    return {**log, "runs": [run]}


def _largest_that_fits(text_with: Callable[[int], str], upper: int) -> int:
    """The most results (at most ``upper``) whose log compresses to the size limit."""
    low, high = 0, upper
    while low < high:
        middle = (low + high + 1) // 2
        if _gzip_size(text_with(middle)) <= MAX_GZIP_BYTES:
            low = middle
        else:
            high = middle - 1
    return low


def _gzip_size(text: str) -> int:
    """The size of the text gzip-compressed (its plain size when that is small enough)."""
    data = text.encode("ascii")
    if len(data) <= MAX_GZIP_BYTES // 2:  # gzip grows text by a few bytes at most
        return len(data)
    return len(gzip.compress(data, compresslevel=6))


def _invocation(message: str) -> JSON:
    return {
        "executionSuccessful": True,
        "toolExecutionNotifications": [
            {"level": "warning", "message": {"text": _sentence(message)}}
        ],
    }


def _failed_invocation(report: Report) -> JSON:
    """Each input that could not be read, as an error notification: the run did not
    check everything it was asked to (GitHub shows these as tool errors)."""
    return {
        "executionSuccessful": False,
        "exitCode": EXIT_INPUT,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": _sentence(failure.message)},
                "properties": {"input": display_path(failure.input)},
            }
            for failure in report.errors
        ],
    }


def _driver(tool_version: str, descriptors: list[JSON]) -> JSON:
    driver: JSON = {"name": TOOL_NAME, "fullName": f"{TOOL_NAME} {tool_version}",
                    "version": tool_version}  # fmt: skip
    if SEMVER.match(tool_version):  # SARIF requires semanticVersion to be SemVer 2.0
        driver["semanticVersion"] = tool_version
    return driver | {"informationUri": INFORMATION_URI, "rules": descriptors}


# --- what was checked -------------------------------------------------------------------


def _context(
    report: Report, rules: Mapping[str, Rule], subject: str | None
) -> _Context:
    """What was checked: the kind of the rules that ran when they agree, else ``subject``."""
    kinds = {rules[r].applies_to for r in report.rules_run if r in rules}
    if len(kinds) == 1:
        (subject,) = kinds
    subject = subject or "dockerfile"
    images = tuple(report.images) if subject == "image" else ()
    return _Context(source_root(), subject, images)


def _image_only(finding: Finding) -> ImageLocation | None:
    """The location of an image finding that no Dockerfile line explains, else None."""
    location = finding.location
    if isinstance(location, ImageLocation) and location.dockerfile is None:
        return location
    return None


def automation_id(category: str | None, context: _Context) -> str:
    """``--sarif-category`` ending in ``/``, else ``octolint/<what was checked>/``."""
    if category is not None:
        category = category.strip()
        if not category:
            raise ConfigError("must not be empty", source="command line", key="--sarif-category")
        return category if category.endswith("/") else category + "/"
    if context.subject != "image":
        return f"octolint/{context.subject}/"
    names = sorted({image_name(ref, context.root) for ref in context.images})
    return f"octolint/image/{','.join(names) or 'unknown'}/"


def image_name(reference: str, root: pathlib.Path) -> str:
    """A stable name for an image: its repository (no tag or digest), or its archive's path.

    The archive path is relative to ``root`` (its file name when outside it).
    """
    from octolint.image.sources.archive import split_archive_ref
    from octolint.imageref import parse_image_ref

    archive = split_archive_ref(reference)
    if archive is not None:
        path = archive[0].resolve()
        inside = relative_posix(path, root)
        return inside if inside is not None else path.name
    parsed = parse_image_ref(reference)
    return parsed.short_name if parsed is not None else reference


def source_root() -> pathlib.Path:
    """``%SRCROOT%``: the repository holding the working directory, else the directory.

    A ``.git`` file counts too (worktrees, submodules): GitHub resolves relative URIs
    against the checkout, which is the repository's top.
    """
    directory = pathlib.Path.cwd().resolve()
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory




# --- rules ------------------------------------------------------------------------------


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
    doc = rule.doc.strip() or summary
    score = rule.sarif_score or DEFAULT_SCORES[rule.severity]
    footer = (
        f"Default severity: {rule.severity.label}. Applies to: {rule.applies_to}. "
        f"Silence it with `# octolint ignore={rule.id}` on the line above the instruction."
    )
    help_text = f"{doc}\n\n{footer}"
    return {
        "id": rule.id,
        "name": rule.name or rule.id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full_description(doc, rule.id) or summary},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "tags": rule_tags(rule, score)[:MAX_TAGS],
            "precision": score.precision,
            "security-severity": score.security_severity,
        },
    }


def rule_tags(rule: Rule, score: SarifScore) -> list[str]:
    """``octopus-deploy``, what the rule checks, and ``security`` for security rules."""
    tags = ["octopus-deploy"]
    if rule.applies_to in ("dockerfile", "image"):
        tags.append("execution-container")
    tags.append(rule.applies_to)
    return [*tags, "security"] if score.security else tags


def _bare(rule_id: str, names: Mapping[str, str]) -> JSON:
    """A minimal descriptor for a finding whose rule is not in ``rules``."""
    return {
        "id": rule_id,
        "name": names[rule_id] or rule_id,
        "shortDescription": {"text": rule_id},
        "fullDescription": {"text": rule_id},
        "help": {"text": rule_id, "markdown": rule_id},
    }


def full_description(doc: str, rule_id: str = "", limit: int = MAX_FULL_DESCRIPTION) -> str:
    """The prose of ``doc`` before its first example, as one line of at most ``limit``.

    A title (a markdown heading, or a first paragraph starting with the rule id) is
    left out when prose follows it. Too long a text is cut after its last whole
    sentence that fits, else its last whole word, marked with an ellipsis.
    """
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", doc.strip())]
    prose = []
    for paragraph in filter(None, paragraphs):
        if _EXAMPLE_START.match(paragraph):
            break
        if not paragraph.startswith("#"):
            prose.append(paragraph)
    if len(prose) > 1 and rule_id and prose[0].startswith(rule_id):
        prose = prose[1:]
    return _shorten(" ".join(prose), limit)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    sentence = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence > limit // 2:
        return cut[: sentence + 1]
    return cut[: limit - 3].rsplit(" ", 1)[0].rstrip() + "..."


# --- results ----------------------------------------------------------------------------


def _result(
    finding: Finding, rule_index: int, fingerprint: str, rules: Mapping[str, Rule],
    context: _Context,
) -> JSON:  # fmt: skip
    image = _image_only(finding)
    region_of = finding.file
    line, column, end_line, end_column = (
        clamped_region(region_of) if region_of is not None else (1, 1, 1, 2)
    )
    region: JSON = {
        "startLine": line,
        "startColumn": column,
        "endLine": end_line,
        "endColumn": end_column,
    }
    if finding.source and region_of is not None:
        region["snippet"] = {"text": finding.source}
    message = result_message(finding, effective_hint(finding, rules))
    location = (
        _image_location(image.reference, context.root) if image is not None
        else artifact_location(region_of.path if region_of else finding.subject, context.root)
    )  # fmt: skip
    result: JSON = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{image.image}: {message}" if image else message},
        "locations": [{"physicalLocation": {"artifactLocation": location, "region": region}}],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
    }
    properties: JSON = {"stage": finding.stage} if finding.stage else {}
    if isinstance(finding.location, ImageLocation):
        properties |= _image_properties(finding.location)
    if properties:
        result["properties"] = properties
    return result


def _image_properties(location: ImageLocation) -> JSON:
    found = {"image": location.reference, "platform": location.platform, "path": location.path,
             "layer": location.layer, "historyStep": location.history_step}  # fmt: skip
    return {key: value for key, value in found.items() if value is not None}


def result_message(finding: Finding, hint: str | None) -> str:
    """The message, followed by the hint as a second sentence when there is one."""
    message = finding.message.strip() or finding.rule_name or finding.rule_id
    if not hint or not hint.strip():
        return message
    return f"{_sentence(message)} {_sentence(hint.strip())}"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def artifact_location(path: str, root: pathlib.Path) -> JSON:
    """``{"uri", "uriBaseId"}`` relative to ``root`` (:func:`source_root`), or an absolute URI."""
    if path == STDIN_PATH:
        return {"uri": STDIN_URI, "uriBaseId": SRCROOT}
    absolute = pathlib.Path(os.path.abspath(path))
    relative = relative_posix(absolute, root)
    if relative is None:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _image_location(reference: str, root: pathlib.Path) -> JSON:
    """The stand-in file for an image finding (see the module docstring)."""
    # never outside %SRCROOT%: a name (or an archive outside it) has no "..", no "/" first
    parts = image_name(reference, root).replace(":", "_").replace("\\", "/").split("/")
    name = "/".join(part for part in parts if part not in ("", ".", "..")) or "image"
    return {"uri": quote(name), "uriBaseId": SRCROOT}


def _directory_uri(directory: pathlib.Path) -> str:
    uri = directory.as_uri()
    return uri if uri.endswith("/") else uri + "/"


# --- fingerprints -----------------------------------------------------------------------


def primary_location_line_hashes(
    findings: Sequence[Finding], context: _Context
) -> list[str]:
    """One ``<hash>:<n>`` fingerprint per finding, in order (see the module docstring)."""
    seen: Counter[tuple[str, str]] = Counter()
    fingerprints = []
    for finding in findings:
        payload = f"{finding.rule_id}\0{_fingerprint_text(finding, context)}"
        digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        seen[(finding.subject, digest)] += 1
        fingerprints.append(f"{digest}:{seen[(finding.subject, digest)]}")
    return fingerprints


def _fingerprint_text(finding: Finding, context: _Context) -> str:
    """What identifies a finding besides its rule (see the module docstring)."""
    if not isinstance(finding.location, ImageLocation):
        return normalised_source(finding)
    evidence = " ".join(finding.message.split())
    if finding.location.dockerfile is None:
        return f"image\0{image_name(finding.location.reference, context.root)}\0{evidence}"
    # An image rule pointing at a --dockerfile line: several problems of one rule
    # (OCT205's missing libraries and Kerberos) can share the FROM line.
    return f"{normalised_source(finding)}\0{evidence}"
