"""Checking Octopus Server deployments: Docker Compose files and Kubernetes manifests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from octolint.model import InputFailure, Report

if TYPE_CHECKING:
    from octolint.engine import Engine


def lint_deploy_paths(
    paths: Sequence[str],
    engine: Engine,
    env_files: Sequence[Path] | None = None,
    *,
    config_notes: bool = True,
) -> Report:
    """Lint Compose files and manifests (files or directories) as one deployment.

    ``env_files`` replace the ``.env`` beside each Compose file, like
    ``docker compose --env-file``. An input that cannot be read is listed in
    ``Report.errors`` and the others still checked.
    """
    from octolint.deploy.load import load_deploy
    from octolint.errors import InputError

    failures: list[InputError] = []
    target = load_deploy(paths, env_files=env_files, exclude=engine.config.exclude,
                         root=engine.config.root, failures=failures)  # fmt: skip
    target.octopus = engine.octopus
    report = Report(findings=engine.config_findings() if config_notes else [])
    # a value a service inherits through `extends` is reported once, not per service
    report.findings += list(dict.fromkeys(engine.run(target)))
    report.files = list(dict.fromkeys(f.path for f in target.files))  # `extends` reads some twice
    report.rules_run = [r.id for r in engine.active_rules("deploy")]
    report.errors = [InputFailure(exc.path, str(exc)) for exc in failures]
    return report
