"""The three output formats: human, json (own schema) and sarif (OASIS schema)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.errors import ConfigError
from octolint.model import FileLocation, Finding, ImageLocation, Problem, Report, Severity
from octolint.reporters import FORMATS, render
from octolint.reporters.sarif import full_description
from octolint.rulebook import Rule
from octolint.rulefacts import SarifScore
from octolint.schemas import load_schema

VERSION = "1.2.3"
ANSI = "\x1b"
URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


def no_problems(target: Any, options: Mapping[str, Any]) -> Iterable[Problem]:
    return ()


def make_rule(rule_id: str = "OCT101", **overrides: Any) -> Rule:
    fields: dict[str, Any] = {
        "id": rule_id,
        "name": "no-entrypoint",
        "severity": Severity.ERROR,
        "applies_to": "dockerfile",
        "summary": "The image must not set an ENTRYPOINT.",
        "hint": "Remove the ENTRYPOINT.",
        "doc": "# Title\n\nOctopus runs its own commands\nin the container.\n\nSee [the docs](x).",
        "check": no_problems,
    }
    fields.update(overrides)
    return Rule(**fields)


def make_finding(**overrides: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule_id": "OCT101",
        "rule_name": "no-entrypoint",
        "severity": Severity.ERROR,
        "message": "ENTRYPOINT [] is set",
        "path": "Dockerfile",
        "line": 3,
        "column": 1,
        "end_line": 3,
        "end_column": 14,
        "stage": None,
        "hint": "Remove the ENTRYPOINT line.",
        "source": 'ENTRYPOINT ["/app/run"]',
    }
    fields.update(overrides)
    region = [fields.pop(key) for key in ("path", "line", "column", "end_line", "end_column")]
    return Finding(location=FileLocation(*region), **fields)


RULES = {
    "OCT101": make_rule(sarif_score=SarifScore("8.0", "high")),  # a rule module's SARIF_SCORE
    "OCT102": make_rule(
        "OCT102", name="cmd", severity=Severity.WARNING, summary="CMD", hint="", doc=""
    ),
    "OCT103": make_rule("OCT103", name="musl", severity=Severity.NOTE, applies_to="image",
                        sarif_score=SarifScore("8.0", "very-high")),
}


@cache
def json_validator() -> Any:
    schema = load_schema("octolint-report.schema.json")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@cache
def sarif_validator() -> Any:
    schema = load_schema("sarif-2.1.0")
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def as_json(report: Report, rules: Mapping[str, Rule] = RULES) -> dict[str, Any]:
    text = render("json", report, rules, tool_version=VERSION)
    document: dict[str, Any] = json.loads(text)
    json_validator().validate(document)
    return document


def as_sarif(report: Report, rules: Mapping[str, Rule] = RULES) -> dict[str, Any]:
    text = render("sarif", report, rules, tool_version=VERSION)
    document: dict[str, Any] = json.loads(text)
    sarif_validator().validate(document)
    return document


def human(report: Report, rules: Mapping[str, Rule] = RULES, *, color: bool = False) -> str:
    return render("human", report, rules, color=color, tool_version=VERSION)


# --- the package ---------------------------------------------------------------------


def test_formats_are_the_documented_ones() -> None:
    assert FORMATS == ("human", "json", "sarif", "github", "junit", "gitlab")


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="unknown output format 'xml'"):
        render("xml", Report(), RULES, tool_version=VERSION)


def test_import_is_lazy_and_only_coloured_human_output_imports_rich() -> None:
    code = textwrap.dedent(
        """
        import sys
        import octolint.reporters as r
        from octolint.model import Report

        def loaded():
            return sorted(m for m in sys.modules if m.startswith(("rich", "octolint.rep")))

        print(loaded())
        r.render("json", Report(), {}, tool_version="1")
        r.render("sarif", Report(), {}, tool_version="1")
        print(loaded())
        r.render("human", Report(), {}, tool_version="1")
        print("rich.console" in sys.modules)
        r.render("human", Report(), {}, color=True, tool_version="1")
        print("rich.console" in sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    assert out[0] == "['octolint.reporters']"
    assert out[1] == (
        "['octolint.reporters', 'octolint.reporters._common', "
        "'octolint.reporters.json_report', 'octolint.reporters.sarif']"
    )
    assert out[2:] == ["False", "True"]


def test_every_format_ends_with_exactly_one_newline() -> None:
    report = Report([make_finding()], ["Dockerfile"], ["OCT101"])
    for fmt in FORMATS:
        text = render(fmt, report, RULES, tool_version=VERSION)
        assert text.endswith("\n") and not text.endswith("\n\n"), fmt


def test_load_schema_by_stem_and_rejects_other_names() -> None:
    assert load_schema("sarif-2.1.0") == load_schema("sarif-2.1.0.json")
    with pytest.raises(ValueError):
        load_schema("../model.py")
    with pytest.raises(ValueError):
        load_schema("nope")


# --- human ---------------------------------------------------------------------------


def test_human_shows_location_rule_source_hint_and_summary() -> None:
    findings = [
        make_finding(stage="final"),
        make_finding(
            rule_id="OCT102", rule_name="cmd", severity=Severity.WARNING, message="CMD x",
            path="sub/Dockerfile", line=7, column=2, hint=None, source="CMD x",
        ),
        make_finding(line=9, path="sub/Dockerfile", source="ENTRYPOINT []", hint="Drop it."),
    ]  # fmt: skip
    report = Report(findings, ["Dockerfile", "sub/Dockerfile", "c", "d", "e"], ["OCT101"])
    text = human(report)
    lines = text.splitlines()
    assert "Dockerfile" in lines  # the file header
    assert "sub/Dockerfile" in lines
    headline = next(line for line in lines if line.startswith("Dockerfile:3:1"))
    assert re.match(r"Dockerfile:3:1\s+error\s+OCT101\s+ENTRYPOINT \[\] is set", headline)
    assert '(no-entrypoint, stage "final")' in headline
    assert '    3 | ENTRYPOINT ["/app/run"]' in lines
    assert "    9 | ENTRYPOINT []" in lines
    assert "    fix: Remove the ENTRYPOINT line." in lines
    assert "    fix: Drop it." in lines
    assert any(re.match(r"sub/Dockerfile:7:2\s+warning\s+OCT102\s+CMD x", x) for x in lines)
    assert "3 problems (2 errors, 1 warning) in 2 files; 5 files checked." in lines
    assert lines[-1] == "Run `octolint explain OCT101` for details."
    assert ANSI not in text
    # Files appear in the order they were linted.
    assert lines.index("Dockerfile") < lines.index("sub/Dockerfile")


def test_human_falls_back_to_the_rules_hint() -> None:
    text = human(Report([make_finding(hint=None)], ["Dockerfile"], ["OCT101"]))
    assert "    fix: Remove the ENTRYPOINT." in text.splitlines()


def test_human_next_step_names_the_most_severe_rule() -> None:
    findings = [
        make_finding(rule_id="OCT103", rule_name="musl", severity=Severity.NOTE, line=1),
        make_finding(rule_id="OCT102", rule_name="cmd", severity=Severity.WARNING, line=2),
    ]
    text = human(Report(findings, ["Dockerfile"], []))
    assert "1 problem" not in text
    assert "2 problems (1 warning, 1 note) in 1 file; 1 file checked." in text
    assert text.splitlines()[-1] == "Run `octolint explain OCT102` for details."


def test_human_without_findings() -> None:
    assert human(Report([], ["a", "b"], ["OCT101"])) == "No problems found in 2 files.\n"
    assert human(Report([], ["a"], [])) == "No problems found in 1 file.\n"
    assert human(Report()) == "No files checked.\n"


def test_human_stdin_is_named() -> None:
    text = human(Report([make_finding(path="-")], ["-"], ["OCT101"]))
    assert "<stdin>:3:1" in text
    assert "\n-:3:1" not in text


def test_human_does_not_interpret_markup_or_escape_sequences() -> None:
    finding = make_finding(
        message="[bold red]ENTRYPOINT [][/] \x1b[31mred", source="RUN echo [link]\x07"
    )
    text = human(Report([finding], ["Dockerfile"], ["OCT101"]))
    assert "[bold red]ENTRYPOINT [][/] \\x1b[31mred" in text
    assert "3 | RUN echo [link]\\x07" in text
    colored = human(Report([finding], ["Dockerfile"], ["OCT101"]), color=True)
    assert "[bold red]" in colored
    assert "\x1b[31mred" not in colored  # the message's own escape is neutralised


def test_human_color_uses_severity_colors() -> None:
    findings = [
        make_finding(),
        make_finding(severity=Severity.WARNING, line=4),
        make_finding(severity=Severity.NOTE, line=5),
    ]
    text = human(Report(findings, ["Dockerfile"], ["OCT101"]), color=True)
    assert "\x1b[1;31merror" in text
    assert "\x1b[33mwarning" in text
    assert "\x1b[36mnote" in text


def test_human_long_source_is_cut_to_five_lines_and_clipped() -> None:
    steps = [f"  && step{i} \\" for i in range(8)]
    source = "\n".join(["RUN apt-get update \\", *steps, "x" * 500])
    text = human(Report([make_finding(line=98, source=source)], ["Dockerfile"], ["OCT101"]))
    lines = text.splitlines()
    numbered = [line for line in lines if re.match(r"^\s+\d+ \| ", line)]
    assert [line.split("|")[0].strip() for line in numbered] == ["98", "99", "100", "101", "102"]
    assert "        | ... (5 more lines)" in lines  # aligned with the 3-digit gutter
    assert "x" * 100 not in text
    clipped = human(Report([make_finding(source="RUN " + "y" * 500)], ["Dockerfile"], []))
    source_line = next(line for line in clipped.splitlines() if " | RUN " in line)
    assert source_line.endswith("...")
    assert len(source_line) < 140


def test_human_renders_each_kind_of_image_location() -> None:
    """By the location's type: the image and platform, the file and its layer or the
    history step; at a --dockerfile line, that line, with the file in the image below."""
    image = "reg.example/app:1"
    loader = ImageLocation(image, "linux/arm64", "/lib/ld-musl-aarch64.so.1",
                           "sha256:" + "ab" * 32)  # fmt: skip
    step = ImageLocation(image, "linux/arm64", history_step=7)
    at_line = ImageLocation(image, "linux/arm64", "/lib/ld-musl-aarch64.so.1",
                            dockerfile=FileLocation("Dockerfile", 1, 1, 1, 15))  # fmt: skip
    found = [make_finding(rule_id="OCT203"), make_finding(rule_id="OCT201"),
             make_finding(rule_id="OCT205")]  # fmt: skip
    found = [dataclasses.replace(f, location=where, source=None)
             for f, where in zip(found, (loader, step, at_line))]  # fmt: skip
    text = human(Report(found, [loader.image], ["OCT201", "OCT203", "OCT205"]))
    lines = text.splitlines()
    assert lines[0] == "reg.example/app:1 (linux/arm64)"
    assert any(line.startswith("reg.example/app:1 (linux/arm64) /lib/ld-musl-aarch64.so.1 "
                               "(layer abababababab)  error    OCT203") for line in lines)
    assert any(line.startswith("reg.example/app:1 (linux/arm64), history step 7  error    "
                               "OCT201") for line in lines)
    assert any(line.startswith("Dockerfile:1:1  error    OCT205") for line in lines)
    assert "    in image: reg.example/app:1 (linux/arm64) /lib/ld-musl-aarch64.so.1" in lines
    assert "1 problem" not in text and "3 problems (3 errors) in 1 file" in text
    assert ":1:1  error    OCT20" not in text.replace("Dockerfile:1:1", "")


# --- json ----------------------------------------------------------------------------


def test_json_schema_is_valid_and_describes_every_field() -> None:
    schema = load_schema("octolint-report.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def walk(node: dict[str, Any], where: str) -> None:
        for name, sub in node.get("properties", {}).items():
            assert sub.get("description"), f"{where}.{name} has no description"
            walk(sub, f"{where}.{name}")

    walk(schema, "$")
    walk(schema["$defs"]["finding"], "finding")
    walk(schema["$defs"]["input_error"], "input_error")


def test_json_document() -> None:
    findings = [
        make_finding(path="-", stage="build", line=2),
        make_finding(rule_id="OCT103", rule_name="musl", severity=Severity.NOTE, hint=None),
    ]
    document = as_json(Report(findings, ["Dockerfile", "-", "x"], ["OCT101", "OCT103"]))
    assert document["version"] == 3
    assert document["tool"] == {"name": "octolint", "version": VERSION}
    assert document["summary"] == {"files": 3, "errors": 1, "warnings": 0, "notes": 1}
    assert document["files"] == ["Dockerfile", "<stdin>", "x"]
    first, second = document["findings"]
    assert first == {
        "rule_id": "OCT103", "rule_name": "musl", "severity": "note",
        "message": "ENTRYPOINT [] is set", "file": "Dockerfile", "line": 3, "column": 1,
        "end_line": 3, "end_column": 14, "stage": None, "hint": "Remove the ENTRYPOINT.",
        "location": {"kind": "file", "path": "Dockerfile", "line": 3, "column": 1,
                     "end_line": 3, "end_column": 14},
    }  # fmt: skip
    assert second["file"] == "<stdin>"
    assert second["stage"] == "build"
    assert second["hint"] == "Remove the ENTRYPOINT line."


def test_json_schema_rejects_what_it_should() -> None:
    document = as_json(Report([make_finding()], ["Dockerfile"], ["OCT101"]))
    broken = json.loads(json.dumps(document))
    broken["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        json_validator().validate(broken)
    del document["summary"]["notes"]
    with pytest.raises(jsonschema.ValidationError):
        json_validator().validate(document)


def test_json_clamps_impossible_regions() -> None:
    finding = make_finding(line=0, column=0, end_line=-3, end_column=0)
    (out,) = as_json(Report([finding], ["Dockerfile"], []))["findings"]
    assert (out["line"], out["column"], out["end_line"], out["end_column"]) == (1, 1, 1, 2)


# --- sarif ---------------------------------------------------------------------------


def test_sarif_schema_is_the_vendored_oasis_draft4_schema() -> None:
    schema = load_schema("sarif-2.1.0.json")
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert isinstance(sarif_validator(), jsonschema.Draft4Validator)


def sarif_report() -> Report:
    findings = [
        make_finding(path="dir with space/Dockerfile", stage="final"),
        make_finding(rule_id="OCT102", rule_name="cmd", severity=Severity.WARNING,
                     message="CMD is wrong.", hint=None, line=5, end_line=2, end_column=1,
                     source="CMD x"),
        make_finding(rule_id="OCT103", rule_name="musl", severity=Severity.NOTE, path="-"),
    ]  # fmt: skip
    files = ["dir with space/Dockerfile", "Dockerfile", "-"]
    return Report(findings, files, ["OCT103", "OCT101", "OCT102", "OCT999"])


def test_sarif_driver_and_rules() -> None:
    log = as_sarif(sarif_report())
    assert log["version"] == "2.1.0"
    assert "sarif-schema-2.1.0.json" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "octolint"
    assert driver["semanticVersion"] == VERSION
    assert driver["informationUri"].startswith("https://")
    assert [rule["id"] for rule in driver["rules"]] == ["OCT101", "OCT102", "OCT103"]
    oct101, oct102, oct103 = driver["rules"]
    assert oct101["name"] == "no-entrypoint"
    assert oct101["shortDescription"] == {"text": "The image must not set an ENTRYPOINT."}
    assert oct101["fullDescription"] == {
        "text": "Octopus runs its own commands in the container. See [the docs](x)."
    }
    assert oct101["help"]["markdown"].startswith(RULES["OCT101"].doc + "\n\n")
    assert "`# octolint ignore=OCT101`" in oct101["help"]["markdown"]
    assert oct101["help"]["text"] == oct101["help"]["markdown"]
    assert oct101["properties"]["security-severity"] == "8.0"  # the rule's own SARIF_SCORE
    assert oct101["defaultConfiguration"] == {"level": "error"}
    assert oct101["properties"]["precision"] == "high"
    assert "dockerfile" in oct101["properties"]["tags"]
    assert oct102["defaultConfiguration"] == {"level": "warning"}
    assert oct102["fullDescription"]["text"]  # falls back to the summary when there is no doc
    assert oct103["defaultConfiguration"] == {"level": "note"}
    assert oct103["properties"]["security-severity"] == "8.0"
    assert "image" in oct103["properties"]["tags"]


def test_sarif_semantic_version_only_when_it_is_semver() -> None:
    for version, semantic in [("0.1.0", True), ("1.0.0-rc.1+g1a2b", True), ("0.1.dev3", False)]:
        log = json.loads(render("sarif", Report(), {}, tool_version=version))
        driver = log["runs"][0]["tool"]["driver"]
        assert driver["version"] == version
        assert ("semanticVersion" in driver) is semantic, version


def test_sarif_rules_are_only_those_that_ran() -> None:
    log = as_sarif(Report([], ["Dockerfile"], ["OCT102"]))
    assert [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]] == ["OCT102"]
    assert log["runs"][0]["results"] == []


def test_sarif_results() -> None:
    log = as_sarif(sarif_report())
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["OCT101", "OCT102", "OCT103"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    first, second, third = results
    assert first["level"] == "error"
    assert first["message"]["text"] == "ENTRYPOINT [] is set. Remove the ENTRYPOINT line."
    assert first["properties"] == {"stage": "final"}
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "dir%20with%20space/Dockerfile",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["region"] == {
        "startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 14,
        "snippet": {"text": 'ENTRYPOINT ["/app/run"]'},
    }  # fmt: skip
    assert second["level"] == "warning"
    assert second["message"]["text"] == "CMD is wrong."  # no hint: no second sentence
    assert "properties" not in second
    region = second["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["endLine"]) == (5, 5)
    assert region["endColumn"] > region["startColumn"]
    assert third["level"] == "note"
    assert third["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stdin"


def test_sarif_rule_missing_from_rules_still_gets_a_descriptor() -> None:
    finding = make_finding(rule_id="XYZ1", rule_name="plugin-rule")
    run = as_sarif(Report([finding], ["Dockerfile"], ["OCT101"]))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["OCT101", "XYZ1"]
    assert rules[run["results"][0]["ruleIndex"]]["name"] == "plugin-rule"


def test_sarif_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    inside = str(tmp_path / "a" / "Dockerfile")
    outside = str(tmp_path.parent / "elsewhere" / "Dockerfile")
    paths = [inside, outside, "./b/../c/Dockerfile#1", "ü.Dockerfile"]
    report = Report([make_finding(path=p) for p in paths], paths, ["OCT101"])
    locations = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]
        for r in as_sarif(report)["runs"][0]["results"]
    ]
    assert locations[0] == {"uri": "a/Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert locations[1] == {"uri": Path(outside).as_uri()}
    assert locations[2] == {"uri": "c/Dockerfile%231", "uriBaseId": "%SRCROOT%"}
    assert locations[3] == {"uri": "%C3%BC.Dockerfile", "uriBaseId": "%SRCROOT%"}


def fingerprints(report: Report) -> list[str]:
    results = as_sarif(report)["runs"][0]["results"]
    return [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]


def test_fingerprint_survives_moving_lines_and_whitespace() -> None:
    before = make_finding(line=3, end_line=3, source='ENTRYPOINT ["/app/run"]')
    after = make_finding(line=40, end_line=40, column=5, source='  ENTRYPOINT   ["/app/run"]  ')
    other = make_finding(rule_id="OCT102", rule_name="cmd", line=1, source="CMD x")
    (fp_before,) = fingerprints(Report([before], ["Dockerfile"], []))
    fp_other, fp_after = fingerprints(Report([after, other], ["Dockerfile"], []))
    assert fp_before == fp_after
    assert re.fullmatch(r"[0-9a-f]{16}:1", fp_before)
    assert fp_other != fp_before


def test_fingerprint_differs_between_rules_and_sources() -> None:
    a = make_finding()
    b = make_finding(rule_id="OCT102", rule_name="cmd")
    c = make_finding(source='ENTRYPOINT ["/app/other"]', line=9)
    fp_a, fp_b, fp_c = fingerprints(Report([a, b, c], ["Dockerfile"], []))
    assert fp_a.split(":")[0] != fp_b.split(":")[0]
    assert fp_a.split(":")[0] != fp_c.split(":")[0]


def test_fingerprint_counts_identical_findings_per_file() -> None:
    findings = [make_finding(line=3), make_finding(line=9), make_finding(path="other", line=1)]
    fp_3, fp_9, fp_other = fingerprints(Report(findings, ["Dockerfile", "other"], []))
    digest = fp_3.split(":")[0]
    assert (fp_3, fp_9, fp_other) == (f"{digest}:1", f"{digest}:2", f"{digest}:1")


def test_full_description() -> None:
    doc = "OCT1 x: title.\n\n# Heading\n\nOne\ntwo.\n\nThree.\n\nFails:\n\n```\nFROM x\n```\n\nEnd."
    assert full_description(doc, "OCT1") == "One two. Three."  # the prose before examples
    assert full_description("OCT1 x: only a title.", "OCT1") == "OCT1 x: only a title."
    assert full_description("") == ""
    long = full_description("word " * 1000)
    assert len(long) <= 1024 and long.endswith("...")
    sentences = full_description("A sentence here. " * 100)
    assert len(sentences) <= 1024 and sentences.endswith("here.")


# --- any report at all ---------------------------------------------------------------

rule_ids = st.from_regex(r"[A-Z]{1,4}[0-9]{1,4}", fullmatch=True)
texts = st.text(max_size=60)
maybe_text = st.none() | texts
numbers = st.integers(min_value=-3, max_value=10**12)
paths = st.sampled_from(
    ["-", "Dockerfile", "a b/Docker file", "../up/Dockerfile", "/abs/Dockerfile",
     "C:\\win\\Dockerfile", "ünï/cödé", "dir/[x]/%20#?", "", "."]
) | st.text(min_size=1, max_size=20)  # fmt: skip

file_locations = st.builds(
    FileLocation, path=paths, line=numbers, column=numbers, end_line=numbers,
    end_column=numbers,
)  # fmt: skip
image_locations = st.builds(
    ImageLocation, reference=paths, platform=texts, path=st.none() | paths,
    layer=st.none() | texts, history_step=st.none() | st.integers(1, 300),
    dockerfile=st.none() | file_locations,
)  # fmt: skip
findings = st.builds(
    Finding,
    rule_id=rule_ids,
    rule_name=texts,
    severity=st.sampled_from(Severity),
    message=texts,
    location=file_locations | image_locations,
    stage=maybe_text,
    hint=maybe_text,
    source=st.none() | st.text(max_size=300),
)


@st.composite
def reports_and_rules(draw: st.DrawFn) -> tuple[Report, dict[str, Rule]]:
    found = draw(st.lists(findings, max_size=8))
    extra = draw(st.lists(rule_ids, max_size=3))
    known = {f.rule_id for f in found} | set(extra)
    rules = {
        rule_id: make_rule(
            rule_id, name=draw(texts), summary=draw(texts), hint=draw(texts), doc=draw(texts),
            severity=draw(st.sampled_from(Severity)),
        )
        for rule_id in known
        if draw(st.booleans())
    }  # fmt: skip
    files = draw(st.lists(paths, max_size=4)) + [f.path for f in found if draw(st.booleans())]
    rules_run = draw(st.lists(st.sampled_from(sorted(known)), max_size=6)) if known else []
    return Report(found, files, rules_run), rules


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports_and_rules())
def test_any_report_renders_in_every_format(case: tuple[Report, dict[str, Rule]]) -> None:
    report, rules = case
    text = human(report, rules)
    assert ANSI not in text
    assert text.endswith("\n")
    if report.findings:
        assert f"{len(report.findings)} problem" in text.splitlines()[-2]

    document = as_json(report, rules)
    assert len(document["findings"]) == len(report.findings)
    counts = document["summary"]
    assert counts["errors"] + counts["warnings"] + counts["notes"] == len(report.findings)

    log = as_sarif(report, rules)
    run = log["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    ids = [d["id"] for d in descriptors]
    assert ids == sorted(set(ids))
    assert {r for r in report.rules_run if r in rules} <= set(ids)
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        assert descriptors[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert URI_CHARS.match(location["artifactLocation"]["uri"])
        region = location["region"]
        assert region["endLine"] >= region["startLine"] >= 1
        if region["endLine"] == region["startLine"]:
            assert region["endColumn"] > region["startColumn"]
    relative = [
        unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in run["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId")
    ]
    assert not any(uri.startswith(("/", "../")) for uri in relative)
