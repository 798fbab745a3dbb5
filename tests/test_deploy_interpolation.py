"""Compose interpolation and .env reading, checked against the real docker compose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from composeoracle import compose_config, environment_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octolint.deploy.dotenv import DotenvError, parse_dotenv
from octolint.deploy.interpolate import InterpolationError, interpolate

VARS = {"A": "alpha", "E": "", "D": "x$y"}
FIXTURE_CHECK = HealthCheck.function_scoped_fixture  # tmp_path is only overwritten


@pytest.mark.parametrize(
    ("template", "expected", "unset"),
    [
        ("plain", "plain", set()),
        ("$A", "alpha", set()),
        ("${A}", "alpha", set()),
        ("${A}-${A}", "alpha-alpha", set()),
        ("$Anope", "", {"Anope"}),  # the longest name wins, as in a shell
        ("${U}", "", {"U"}),
        ("${U:-d}", "d", set()),  # the file's own fallback: known
        ("${E:-d}", "d", set()),
        ("${E-d}", "", set()),
        ("${U-d}", "d", set()),
        ("${A:+set}", "set", set()),
        ("${E:+set}", "", set()),
        ("${E+set}", "set", set()),
        ("${U+set}", "", set()),
        ("$$A", "$A", set()),
        ("$${A}", "${A}", set()),
        ("${U:-${A}}", "alpha", set()),
        ("${U:-${V:-deep}}", "deep", set()),
        ("${D}", "x$y", set()),  # values are not interpolated again
        ("${a}", "", {"a"}),  # names are case-sensitive
        ("$", "$", set()),  # a $ that starts nothing stays
        ("a $1 b", "a $1 b", set()),
        ("${U:-{}}", "{}", set()),
        ("${U:-a}}", "a}", set()),
        ("${A:-${A}:}", "alpha", set()),
    ],
)
def test_interpolation(template: str, expected: str, unset: set[str]) -> None:
    result = interpolate(template, VARS)
    assert (result.text, result.unset) == (expected, unset)


@pytest.mark.parametrize(
    "template", ["${}", "${1A}", "${A", "x ${A B}", "${U:?needed}", "${E:?x}", "${U?x}",
                 "${U:-${E:?inner}}", "${A:-x}${U:?in the rest}"]
)
def test_what_compose_refuses(template: str) -> None:
    with pytest.raises(InterpolationError):
        interpolate(template, VARS)


def test_required_variable_message_names_it() -> None:
    with pytest.raises(InterpolationError, match="required variable U is missing a value: set U"):
        interpolate("${U:?set U}", VARS)
    assert interpolate("${E?x}", VARS).text == ""  # set, even if empty


# -- agreement with docker compose -------------------------------------------------
NAMES = st.sampled_from(["A", "B", "E", "U"])  # U is never set
LITERAL = st.text(alphabet="ab -:?+{}/=.$1", max_size=4)


def _template(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operator = st.sampled_from([":-", "-", ":+", "+", ":?", "?"])
    reference = st.one_of(
        NAMES.map(lambda n: f"${n}"),
        NAMES.map(lambda n: f"${{{n}}}"),
        st.tuples(NAMES, operator, inner).map(lambda t: f"${{{t[0]}{t[1]}{t[2]}}}"),
        st.just("$$"),
    )
    return st.lists(st.one_of(LITERAL, reference), max_size=4).map("".join)


TEMPLATES = st.recursive(LITERAL, _template, max_leaves=6)
VALUES = st.fixed_dictionaries(
    {"A": st.text(alphabet="xy $-", max_size=3), "B": st.just(""), "E": st.just("")},
)


@settings(max_examples=40, deadline=None, suppress_health_check=[FIXTURE_CHECK])
@given(templates=st.lists(TEMPLATES, min_size=1, max_size=12), variables=VALUES)
@pytest.mark.slow
def test_interpolation_agrees_with_docker_compose(
    tmp_path: Path, templates: list[str], variables: dict[str, str]
) -> None:
    environment = {f"V{i}": t for i, t in enumerate(templates)}
    compose = {"services": {"s": {"image": "x", "environment": environment}}}
    (tmp_path / "compose.yaml").write_text(json.dumps(compose), encoding="utf-8")
    _code, document, stderr = compose_config(tmp_path, env=variables)
    ours: dict[str, str] = {}
    refused = None
    for name, template in environment.items():
        try:
            ours[name] = interpolate(template, variables).text
        except InterpolationError as error:
            refused = f"{name}={template!r}: {error}"
    if document is None:
        assert refused is not None, f"compose refused what we accept: {stderr}"
        return
    assert refused is None, f"we refuse what compose accepts: {refused}"
    assert ours == environment_of(document, "s")


# -- .env ---------------------------------------------------------------------------
def test_dotenv_reads_what_compose_reads() -> None:
    text = (
        "# comment\n"
        "\n"
        "A=plain value # a comment\n"
        "B=a#b\n"
        "export C=exported\n"
        "D: yaml style\n"
        "E='single ${A} \\' quoted'\n"
        'F="double ${A}\\n\\t\\"q\\" \\$A"\n'
        "G=${A:-x}$$\n"
        'H="multi\nline"\n'
        "I=\n"
        "INHERITED\n"
        "J.K-L=dots\n"
    )
    values = {k: e.value for k, e in parse_dotenv(text).items()}
    assert values == {
        "A": "plain value",
        "B": "a#b",
        "C": "exported",
        "D": "yaml style",
        "E": "single ${A} ' quoted",
        "F": 'double plain value\n\t"q" $A',
        "G": "plain value$",
        "H": "multi\nline",
        "I": "",
        "J.K-L": "dots",
    }
    assert parse_dotenv(text)["D"].line == 6


@pytest.mark.parametrize(
    ("text", "line"),
    [("A B=1\n", 1), ('OK=1\nA="unterminated\n', 2), ("A=${B:?need B}\n", 1), ("A=${\n", 1),
     ("A*B=1\n", 1)],
)  # fmt: skip
def test_dotenv_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(DotenvError) as caught:
        parse_dotenv(text)
    assert caught.value.line == line


UNQUOTED = st.text(alphabet="ab1 -=./:", max_size=6).map(str.strip)
SINGLE = st.lists(st.sampled_from(["a", " ", "$", "#", "{}", '"', "\\'", "\\\\", "${K0}"]),
                  max_size=5).map(lambda parts: "'" + "".join(parts) + "'")
DOUBLE = st.lists(
    st.sampled_from(["a", " ", "#", "'", "\\n", "\\t", '\\"', "\\\\", "\\$", "\\q", "${K0}",
                     "$$"]),
    max_size=5,
).map(lambda parts: '"' + "".join(parts) + '"')
LINE = st.tuples(
    st.sampled_from(["", "export "]),
    st.sampled_from(["=", " = ", ": "]),
    st.one_of(UNQUOTED, SINGLE, DOUBLE, st.just("${K0}-x"), st.just("${NOPE:-d}")),
    st.sampled_from(["", " # note"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[FIXTURE_CHECK])
@given(lines=st.lists(LINE, min_size=1, max_size=8), comments=st.booleans())
@pytest.mark.slow
def test_dotenv_agrees_with_docker_compose(
    tmp_path: Path, lines: list[tuple[str, str, str, str]], comments: bool
) -> None:
    text = "K0=base\n"
    for index, (export, separator, value, comment) in enumerate(lines, 1):
        if comments:
            text += "# a comment line\n\n"
        text += f"{export}K{index}{separator}{value}{comment}\n"
    (tmp_path / ".env").write_text(text, encoding="utf-8")
    keys = [f"K{i}" for i in range(len(lines) + 1)]
    environment = {k: f"${{{k}}}" for k in keys}
    compose = {"services": {"s": {"image": "x", "environment": environment}}}
    (tmp_path / "compose.yaml").write_text(json.dumps(compose), encoding="utf-8")
    _code, document, stderr = compose_config(tmp_path)
    assert document is not None, f"{stderr}\n{text}"
    ours = {k: e.value for k, e in parse_dotenv(text).items()}
    assert ours == environment_of(document, "s"), text
