"""The deploy fixtures and documented examples are what the real tools accept.

Kubernetes manifests are validated with kubernetes-validate (PyPI; it ships
the Kubernetes OpenAPI schemas, strict mode refuses unknown fields); Compose
files with Docker's own `docker compose config` (compose-spec schema and
interpolation). A deploy rule's documented examples must also get the
documented verdict from octolint, as Dockerfile rules' do.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from composeoracle import compose_config
from conftest import FIXTURES

from octolint.config import Config
from octolint.deploy import lint_deploy_paths
from octolint.deploy.kube import objects
from octolint.deploy.yamlsource import load_yaml
from octolint.engine import Engine
from octolint.rulebook import Rule, load_rules

DEPLOY = FIXTURES / "deploy"
KUBE_FIXTURES = sorted(DEPLOY.glob("*/kubernetes/*.yaml"))
COMPOSE_FIXTURES = sorted(DEPLOY.glob("*/compose/docker-compose.yml"))
RULES = [r for r in load_rules() if r.applies_to == "deploy"]
_EXAMPLE = re.compile(r"^(Fails|Passes):\s*\n\s*```yaml\n(.*?)\n```", re.M | re.S)


def plain(node: Any) -> Any:
    """ruamel's round-trip types as plain dicts and lists, for jsonschema."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def kube_objects(text: str) -> Iterator[dict[str, Any]]:
    for document in load_yaml(text, "-").documents:
        yield from (plain(o) for o in objects(document))


def validate_kube(obj: dict[str, Any]) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("path", KUBE_FIXTURES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_kubernetes_fixtures_are_valid_manifests(path: Path) -> None:
    found = list(kube_objects(path.read_text(encoding="utf-8")))
    assert found
    for obj in found:
        validate_kube(obj)


def test_the_validator_refuses_a_broken_manifest() -> None:
    import kubernetes_validate

    [obj] = kube_objects((DEPLOY / "variants" / "kubernetes" / "deployment-ha.yaml").read_text())
    obj["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kube(obj)
    obj["spec"]["replicas"] = 2
    obj["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kube(obj)


@pytest.mark.parametrize("path", COMPOSE_FIXTURES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_compose_fixtures_are_valid_for_docker_compose(path: Path, tmp_path: Path) -> None:
    code, document, stderr = compose_config(path.parent, files=(path.name,))
    assert code == 0, stderr
    assert document is not None and "octopus-server" in document["services"]


def examples(rule: Rule) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2) + "\n") for m in _EXAMPLE.finditer(rule.doc)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_deploy_rule_documents_a_failing_and_a_passing_example(rule: Rule) -> None:
    kinds = [kind for kind, _ in examples(rule)]
    assert "Fails" in kinds and "Passes" in kinds, f"{rule.id} docstring lacks examples"
    assert rule.doc.startswith(f"{rule.id} {rule.name}:"), "first line: 'ID name: summary'"
    assert "How to fix" in rule.doc


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_documented_deploy_examples_get_the_documented_verdict(rule: Rule, tmp_path: Path) -> None:
    for index, (kind, text) in enumerate(examples(rule)):
        folder = tmp_path / str(index)
        folder.mkdir()
        path = folder / ("compose.yaml" if text.startswith("services:") else "manifest.yaml")
        path.write_text(text, encoding="utf-8")
        engine = Engine(Config(), [rule])
        found = [f.rule_id for f in lint_deploy_paths([str(path)], engine).findings]
        assert (rule.id in found) is (kind == "Fails"), f"{rule.id} {kind} example:\n{text}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_documented_examples_are_accepted_by_the_real_tools(rule: Rule, tmp_path: Path) -> None:
    for index, (kind, text) in enumerate(examples(rule)):
        if not text.startswith("services:"):
            for obj in kube_objects(text):
                validate_kube(obj)
            continue
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / "compose.yaml").write_text(text, encoding="utf-8")
        code, _document, stderr = compose_config(folder)
        # OCT300's failing example is one docker compose refuses: that is the point
        refused = rule.id == "OCT300" and kind == "Fails"
        assert (code != 0) is refused, f"{rule.id} {kind}: {stderr}"
        if refused:
            assert "required variable MASTER_KEY is missing a value" in stderr
        shutil.rmtree(folder)
