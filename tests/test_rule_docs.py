"""Every rule's documentation is its user documentation: its examples must hold."""

from __future__ import annotations

import re

import pytest
from conftest import rule_ids

from octolint.api import lint_bytes
from octolint.config import Config
from octolint.engine import Engine
from octolint.rulebook import Rule, load_rules

# "```dockerfile latin-1" marks an example to be linted as the bytes of that encoding.
_EXAMPLE = re.compile(
    r"^(Fails|Passes)[^\n:]*:\s*\n\s*```dockerfile(?: ([\w-]+))?\n(.*?)\n```", re.M | re.S
)
RULES = [r for r in load_rules() if r.applies_to == "dockerfile"]


def examples(rule: Rule) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(3) + "\n", m.group(2) or "") for m in _EXAMPLE.finditer(rule.doc)]


def ids_of(rule: Rule, dockerfile: str, encoding: str) -> list[str]:
    if not encoding:
        return rule_ids(dockerfile)
    engine = Engine(Config(), load_rules())
    return [f.rule_id for f in lint_bytes(dockerfile.encode(encoding), "Dockerfile", engine)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_documents_a_failing_and_a_passing_example(rule: Rule) -> None:
    kinds = [kind for kind, _, _ in examples(rule)]
    assert "Fails" in kinds and "Passes" in kinds, f"{rule.id} docstring lacks examples"
    assert rule.doc.startswith(f"{rule.id} {rule.name}:"), "first line: 'ID name: summary'"
    assert "How to fix" in rule.doc


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_documented_examples_get_the_documented_verdict(rule: Rule) -> None:
    for kind, dockerfile, encoding in examples(rule):
        found = rule.id in ids_of(rule, dockerfile, encoding)
        assert found is (kind == "Fails"), f"{rule.id} {kind} example:\n{dockerfile}"


def test_every_rule_has_metadata() -> None:
    ids = [r.id for r in load_rules()]
    assert ids == sorted(set(ids))
    for expected in ("OCT100", "OCT101", "OCT102", "OCT103", "OCT104", "OCT105", "OCT106",
                     "OCT107", "OCT109"):  # fmt: skip
        assert expected in ids
    assert "OCT108" not in ids  # reserved
    for rule in load_rules():
        assert rule.summary and rule.hint and rule.name == rule.name.lower()
