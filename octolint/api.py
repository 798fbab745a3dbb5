"""The small public API behind the CLI: lint paths or text, get a Report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from octolint.config import Config, resolve_config
from octolint.discover import discover, is_deploy_name
from octolint.engine import Engine
from octolint.errors import EXIT_USAGE, ConfigError, InputError, UnknownStageError
from octolint.inputs import read_bytes, read_stdin
from octolint.knowledge.octopus import parse_octopus_version
from octolint.model import Finding, InputFailure, Report


def make_engine(
    paths: Sequence[str] = (),
    *,
    config: Config | None = None,
    config_path: Path | None = None,
    ignore: Iterable[str] = (),
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
    octopus_version: str | None = None,
) -> Engine:
    """An engine set up with the configuration found for the first path.

    ``octopus_version`` (``--octopus-version``) wins over the configuration's; one that
    is not a version is a ConfigError."""
    octopus = None
    if octopus_version is not None:
        try:
            octopus = parse_octopus_version(octopus_version)
        except ValueError as exc:
            raise ConfigError(str(exc), source="--octopus-version") from None
    if config is None:
        first = next((Path(p) for p in paths if p != "-"), None)
        config = resolve_config(config_path, first)
    return Engine(config, ignore=ignore, target_stage=target, build_args=build_args,
                  octopus=octopus)  # fmt: skip


def lint_paths(paths: Sequence[str], engine: Engine | None = None) -> Report:
    """Lint files, directories (searched for Dockerfiles) and '-' (stdin).

    An input that cannot be read does not stop the others: it is listed in
    ``Report.errors`` (exit code 3). Raises ConfigError for bad settings.
    """
    engine = engine or make_engine(paths)
    # Named *.yml/*.yaml files are Compose files or manifests: `octolint deploy` checks
    # them. Directories are still searched for Dockerfiles only.
    deploy = [p for p in paths if is_deploy_name(p) and not Path(p).is_dir()]
    dockerfiles = [p for p in paths if p not in deploy]
    report = Report(findings=engine.config_findings())
    for given in dockerfiles:
        _lint_one_path(given, engine, report)
    if dockerfiles:
        report.rules_run = [r.id for r in engine.active_rules("dockerfile")]
    if deploy:
        from octolint.deploy import lint_deploy_paths

        checked = lint_deploy_paths(deploy, engine, config_notes=False)
        report.findings += checked.findings
        report.files += checked.files
        report.rules_run += checked.rules_run
        report.errors += checked.errors
    return report


def _lint_one_path(given: str, engine: Engine, report: Report) -> None:
    """Lint the Dockerfiles ``given`` names into ``report``; what cannot be read is
    recorded in ``report.errors`` and the rest still linted."""
    try:
        found = list(discover([given], engine.config.exclude, engine.config.root))
    except InputError as exc:
        report.errors.append(InputFailure(exc.path, str(exc)))
        return
    for display, path in found:
        try:
            data = read_stdin() if path is None else read_bytes(path, display)
            report.findings += lint_bytes(data, display, engine)
        except InputError as exc:
            report.errors.append(InputFailure(display, str(exc)))
            continue
        except UnknownStageError as exc:  # this file's, when several are linted
            report.errors.append(InputFailure(display, f"{display}: {exc.reason}", EXIT_USAGE))
            continue
        report.files.append(display)


def lint_text(text: str, path: str = "Dockerfile", engine: Engine | None = None) -> Report:
    """Lint Dockerfile text held in memory."""
    from octolint.dockerfile.expand import expansion_budget  # (only Dockerfiles need them:
    from octolint.dockerfile.target import load_text  # an image scan starts faster)

    engine = engine or Engine(Config())
    # One budget of variable expansion per Dockerfile: memory stays bounded however
    # its ARGs and ENVs feed each other (see octolint.dockerfile.expand).
    with expansion_budget():
        findings = engine.run(
            load_text(text, path, engine.target_stage, engine.build_args, engine.octopus)
        )
    rules_run = [r.id for r in engine.active_rules("dockerfile")]
    return Report(findings=findings, files=[path], rules_run=rules_run)


def lint_bytes(data: bytes, display: str, engine: Engine) -> list[Finding]:
    """Lint a Dockerfile's bytes (InputError when they are not text at all)."""
    from octolint.dockerfile.expand import expansion_budget
    from octolint.dockerfile.target import load_bytes

    with expansion_budget():
        return engine.run(
            load_bytes(data, display, engine.target_stage, engine.build_args, engine.octopus)
        )
