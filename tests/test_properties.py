"""Property-based tests for everything fed by users: text, variables, references, pragmas."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from octolint import lint_text
from octolint.dockerfile.expand import expand, expand_or_raw
from octolint.imageref import parse_image_ref
from octolint.model import Severity
from octolint.registry import rules_by_id
from octolint.reporters import render
from octolint.schemas import load_schema

NAMES = st.sampled_from(["A", "BASE", "TAG", "X_1"])
VALUES = st.one_of(st.none(), st.text(alphabet="abc:-/.", max_size=8))
INSTRUCTION_LINES = st.sampled_from([
    "FROM ubuntu:22.04", "FROM alpine AS base", "FROM base", "ARG BASE=debian:12", "FROM $BASE",
    'CMD ["bash"]', "CMD []", "ENTRYPOINT /x", "ENTRYPOINT []", "RUN nvm install 20",
    "ENV PATH=/root/.nvm/versions/node/v20/bin:$PATH", "# octolint ignore=OCT102",
    "# octolint global ignore=OCT107", "# octolint ignore=nonsense", "RUN <<EOF", "EOF",
    "ONBUILD CMD x", "RUN echo 'export PATH=/x/bin:$PATH' >> ~/.bashrc", "FROM scratch",
    "RUN apt-get install -y libicu72", "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1",
    "FROM mcr.microsoft.com/windows/servercore:ltsc2016", "\\", "",
])  # fmt: skip


@given(st.text(max_size=60), st.dictionaries(NAMES, VALUES))
def test_expand_never_raises_and_is_unknown_or_dollar_free(text: str, variables) -> None:  # type: ignore[no-untyped-def]
    result = expand(text, variables)
    if result is not None and "$" not in text.replace("\\$", ""):
        assert result == text.replace("\\$", "$")
    assert isinstance(expand_or_raw(text, variables), str)


@given(st.dictionaries(NAMES, st.text(alphabet="abc", max_size=5)))
def test_expand_known_forms(variables: dict[str, str]) -> None:
    for name, value in variables.items():
        assert expand(f"${{{name}}}/x", variables) == f"{value}/x"
        assert expand(f"${name}", variables) == value
        assert expand(f"${{{name}:-d}}", variables) == (value or "d")
        assert expand(f"${{{name}:+s}}", variables) == ("s" if value else "")
    assert expand("${NOPE:-fallback}", variables) == "fallback"
    assert expand("$NOPE", variables) is None


@given(st.text(max_size=80))
def test_image_ref_parsing_never_raises(text: str) -> None:
    ref = parse_image_ref(text)
    if ref is not None:
        assert ref.repository and " " not in str(ref)


@settings(max_examples=150, deadline=None)
@given(st.lists(INSTRUCTION_LINES, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_linting_grammar_shaped_dockerfiles_gives_valid_reports(lines: list[str], eol: str) -> None:
    report = lint_text(eol.join(lines) + eol)
    rules = rules_by_id()
    for finding in report.findings:
        assert finding.rule_id in rules and isinstance(finding.severity, Severity)
        assert 1 <= finding.line <= finding.end_line and finding.end_column >= 1
    import jsonschema

    jsonschema.validate(json.loads(render("json", report, rules, tool_version="0")),
                        load_schema("octolint-report.schema.json"))  # fmt: skip
    jsonschema.validate(json.loads(render("sarif", report, rules, tool_version="0")),
                        load_schema("sarif-2.1.0.json"))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_linting_arbitrary_text_never_raises(text: str) -> None:
    report = lint_text(text)
    assert all(f.line >= 1 for f in report.findings)
