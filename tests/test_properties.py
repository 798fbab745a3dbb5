"""Property-based tests for everything fed by users: text, variables, references, pragmas."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolint import lint_text
from octolint.dockerfile.expand import MAX_VALUE, expand, expand_or_raw, expansion_budget
from octolint.imageref import parse_image_ref
from octolint.model import Severity
from octolint.reporters import render
from octolint.rulebook import rules_by_id
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
@pytest.mark.slow
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


# -- the expander against a plain reference, around its size limits -------------------------

_REF_VAR = re.compile(
    r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^{}]*))?\})"
)


def reference_expand(text: str, variables: dict[str, str | None]) -> tuple[str | None, int]:
    """Docker's expansion the obvious way (re.sub passes, no limits): the result, or None
    when unknown, and the longest text any pass built."""

    class Unknown(Exception):
        pass

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        operator, word = match.group(3), match.group(4) or ""
        value = variables.get(name)
        if operator is None:
            if value is None:
                raise Unknown
            return value
        if operator in (":-", "-"):
            return value if value or (operator == "-" and value is not None) else word
        return word if value or (operator == "+" and value is not None) else ""

    text = text.replace("\\$", "\x00")
    longest = len(text)
    try:
        for _ in range(32):
            new = _REF_VAR.sub(one, text)
            if new == text:
                break
            text, longest = new, max(longest, len(new))
        else:
            return None, longest
    except Unknown:
        return None, longest
    return (None if "${" in text else text.replace("\x00", "$")), longest


# Values from empty to well past MAX_VALUE, and texts made of references to them.
SIZED_VALUES = st.one_of(
    st.none(),
    st.builds(lambda c, n: c * n, st.sampled_from("ab/"), st.integers(0, MAX_VALUE + 100)),
)
PIECES = st.sampled_from(["$A", "${B}", "${A:-d}", "${B:+s}", "${C-${A}}", "x", "\\$A", ":", "$"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(PIECES, max_size=12).map("".join),
    st.fixed_dictionaries({"A": SIZED_VALUES, "B": SIZED_VALUES}, optional={"C": SIZED_VALUES}),
)
def test_expand_matches_reference_within_limits(
    text: str, variables: dict[str, str | None]
) -> None:
    expected, longest = reference_expand(text, variables)
    with expansion_budget():
        result = expand(text, variables)
        raw = expand_or_raw(text, variables)
    if longest <= MAX_VALUE:
        assert result == expected  # below the limits, exactly Docker's answer
    else:
        assert result is None  # too long somewhere along the way: unknown, never built
    assert result is None or len(result) <= MAX_VALUE
    assert len(raw) <= max(MAX_VALUE, len(text))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 64), st.integers(0, 40))
def test_expansion_budget_bounds_the_total(per_value_kib: int, values: int) -> None:
    # However many values, the characters produced never pass the budget by more than
    # one value's overshoot, and once it is spent everything with a reference is unknown.
    budget = 64 * 1024
    big = {"A": "x" * 1024}
    produced = 0
    with expansion_budget(budget):
        for _ in range(values):
            result = expand("$A" * per_value_kib, big)
            produced += len(result or "")
    assert produced <= budget
