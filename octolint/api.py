"""The small public API behind the CLI: lint paths or text, get a Report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from octolint.config import Config, resolve_config
from octolint.discover import discover, is_deploy_name
from octolint.engine import Engine
from octolint.model import Report
from octolint.sources import read_stdin


def make_engine(
    paths: Sequence[str] = (),
    *,
    config: Config | None = None,
    config_path: Path | None = None,
    ignore: Iterable[str] = (),
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
) -> Engine:
    """An engine set up with the configuration found for the first path."""
    if config is None:
        first = next((Path(p) for p in paths if p != "-"), None)
        config = resolve_config(config_path, first)
    return Engine(config, ignore=ignore, target_stage=target, build_args=build_args)


def lint_paths(paths: Sequence[str], engine: Engine | None = None) -> Report:
    """Lint files, directories (searched for Dockerfiles) and '-' (stdin).

    Raises InputError for an input that cannot be read, ConfigError for bad settings.
    """
    engine = engine or make_engine(paths)
    # Named *.yml/*.yaml files are Compose files or manifests: `octolint deploy` checks
    # them. Directories are still searched for Dockerfiles only.
    deploy = [p for p in paths if is_deploy_name(p) and not Path(p).is_dir()]
    dockerfiles = [p for p in paths if p not in deploy]
    report = Report(findings=engine.config_findings())
    for display, path in discover(dockerfiles, engine.config.exclude, engine.config.root):
        if path is None:
            report.findings += engine.lint_bytes(read_stdin(), display)
        else:
            report.findings += engine.lint_file(path, display)
        report.files.append(display)
    if dockerfiles:
        report.rules_run = [r.id for r in engine.active_rules("dockerfile")]
    if deploy:
        from octolint.deploy import lint_deploy_paths

        checked = lint_deploy_paths(deploy, engine, config_notes=False)
        report.findings += checked.findings
        report.files += checked.files
        report.rules_run += checked.rules_run
    return report


def lint_text(text: str, path: str = "Dockerfile", engine: Engine | None = None) -> Report:
    """Lint Dockerfile text held in memory."""
    engine = engine or Engine(Config())
    findings = engine.lint_text(text, path)
    rules_run = [r.id for r in engine.active_rules("dockerfile")]
    return Report(findings=findings, files=[path], rules_run=rules_run)
