"""Every rule's documentation is its user documentation: its examples must hold."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import rule_ids
from imagefixture import findings, from_example

from octolint.api import lint_bytes
from octolint.config import Config
from octolint.engine import Engine
from octolint.rulebook import Rule, load_rules

# "```dockerfile latin-1" marks an example to be linted as the bytes of that encoding.
_EXAMPLE = re.compile(
    r"^(Fails|Passes)[^\n:]*:\s*\n\s*```dockerfile(?: ([\w-]+))?\n(.*?)\n```", re.M | re.S
)
RULES = [r for r in load_rules() if r.applies_to == "dockerfile"]
# Image rules show their examples as images too: a ```image JSON block (the format is
# tests/imagefixture.py's from_example), built in memory and scanned by the rule.
_IMAGE_EXAMPLE = re.compile(r"^(Fails|Passes)[^\n:]*:\s*\n\s*```image\n(.*?)\n```", re.M | re.S)
IMAGE_RULES = [r for r in load_rules() if r.applies_to == "image"]


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


def image_examples(rule: Rule) -> list[tuple[str, dict[str, Any]]]:
    return [(m.group(1), json.loads(m.group(2))) for m in _IMAGE_EXAMPLE.finditer(rule.doc)]


@pytest.mark.parametrize("rule", IMAGE_RULES, ids=lambda r: r.id)
def test_image_rule_documents_a_failing_and_a_passing_image(rule: Rule) -> None:
    kinds = [kind for kind, _ in image_examples(rule)]
    assert "Fails" in kinds and "Passes" in kinds, f"{rule.id} docstring lacks ```image examples"
    assert rule.doc.startswith(f"{rule.id} {rule.name}:"), "first line: 'ID name: summary'"
    assert "How to fix" in rule.doc


@pytest.mark.parametrize("rule", IMAGE_RULES, ids=lambda r: r.id)
def test_documented_images_get_the_documented_verdict(rule: Rule) -> None:
    for kind, spec in image_examples(rule):
        found = [f.rule_id for f in findings(from_example(spec), rule.id)]
        assert bool(found) is (kind == "Fails"), f"{rule.id} {kind} example: {spec}"
