"""The small public API behind the CLI: lint paths or text, get a Report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from octolint.config import Config, resolve_config
from octolint.discover import discover
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
    report = Report(findings=engine.config_findings())
    for display, path in discover(paths, engine.config.exclude, engine.config.root):
        if path is None:
            report.findings += engine.lint_bytes(read_stdin(), display)
        else:
            report.findings += engine.lint_file(path, display)
        report.files.append(display)
    report.rules_run = [r.id for r in engine.active_rules("dockerfile")]
    return report


def lint_text(text: str, path: str = "Dockerfile", engine: Engine | None = None) -> Report:
    """Lint Dockerfile text held in memory."""
    engine = engine or Engine(Config())
    findings = engine.lint_text(text, path)
    rules_run = [r.id for r in engine.active_rules("dockerfile")]
    return Report(findings=findings, files=[path], rules_run=rules_run)
