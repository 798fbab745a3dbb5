"""docs/adding-a-rule.md shows a complete rule and its tests: both must keep working."""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from typing import Any

import pytest
import rulecheck
from conftest import REPO

from octolint.api import lint_bytes
from octolint.config import Config
from octolint.engine import Engine
from octolint.rulebook import Rule, load_rules, rule_from_object

PAGE = (REPO / "docs" / "adding-a-rule.md").read_text(encoding="utf-8")
# The rule's block is fenced with four backticks: its docstring holds ``` fences.
BLOCKS = [m.group(2) for m in re.finditer(r"^(````|```)python\n(.*?)^\1$", PAGE, re.M | re.S)]


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"docs/adding-a-rule.md ({name})", "exec"), module.__dict__)
    return module


def _calls(function: Callable[..., Any]) -> list[dict[str, Any]]:
    """The keyword arguments of each case of a (possibly parametrized) test function."""
    cases: list[dict[str, Any]] = [{}]
    for mark in getattr(function, "pytestmark", []):
        assert mark.name == "parametrize", mark.name
        names, values = mark.args
        cases = [{**case, names: value} for case in cases for value in values]
    return cases


@pytest.fixture
def example_rule(monkeypatch: pytest.MonkeyPatch) -> Rule:
    """The page's rule, as the rule loader would load it, and the only rule installed."""
    rule = rule_from_object(_module("oct111_unpinned_base", BLOCKS[0]), "docs/adding-a-rule.md")
    monkeypatch.setattr(rulecheck, "load_rules", lambda: (rule,))
    return rule


def test_the_page_shows_a_rule_its_test_file_and_an_image_test() -> None:
    assert len(BLOCKS) == 3


def test_the_example_rules_documented_examples_hold(example_rule: Rule) -> None:
    examples = re.findall(r"^(Fails|Passes):\s*\n\s*```dockerfile\n(.*?)\n```", example_rule.doc,
                          re.M | re.S)  # fmt: skip
    assert {kind for kind, _ in examples} == {"Fails", "Passes"}
    engine = Engine(Config(), [example_rule])
    for kind, text in examples:
        found = lint_bytes(f"{text}\n".encode(), "Dockerfile", engine)
        assert bool(found) is (kind == "Fails"), text


def test_the_example_test_file_passes(example_rule: Rule) -> None:
    tests = _module("test_oct111_unpinned_base", BLOCKS[1])
    functions = [f for name, f in vars(tests).items() if name.startswith("test_")]
    assert len(functions) >= 4
    for function in functions:
        for kwargs in _calls(function):
            function(**kwargs)


def test_the_image_rule_test_passes() -> None:
    image_test = _module("test_image_rule", BLOCKS[2])
    image_test.test_zlib_deleted_by_a_later_layer()


def test_every_built_in_rule_has_its_test_file() -> None:
    """Step 4 of the page: tests/rules/test_<module>.py, for every rule in rules/."""
    modules = [r.origin.split(":")[0] for r in load_rules()]
    built_in = [m.rpartition(".")[2] for m in modules if m.startswith("octolint_rules.")]
    assert len(built_in) > 30
    missing = [m for m in built_in if not (REPO / "tests" / "rules" / f"test_{m}.py").is_file()]
    assert missing == []
