"""The command line: ``octolint [lint] PATH...``, ``octolint rules``, ``octolint explain ID``.

Errors are exceptions everywhere else; they are caught once, here, and
become one line on stderr and a documented exit code (see README):
0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or
configuration error, 3 an input could not be read or analysed, 130
interrupted (Ctrl-C; during an image scan also SIGTERM, see octolint.interrupt).

Every line written to stderr goes through :func:`_say`: it starts with
``octolint:`` and input-derived text in it is escaped (octolint.escape), so a
file name, an image's tag or a registry's error message can neither drive
the terminal nor start a GitHub Actions workflow command (``::add-mask::``).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from octolint import __version__
from octolint.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_USAGE, OctolintError
from octolint.escape import escape_line
from octolint.interrupt import EXIT_INTERRUPTED
from octolint.reporters import FORMATS  # cheap: reporter modules load only when used

FAIL_ON = ("error", "warning", "note", "never")


class _DefaultToLint(click.Group):
    """Lets ``octolint Dockerfile`` mean ``octolint lint Dockerfile``; its help shows the
    lint options and an example of every command, and a mistyped command that is not a
    path gets "did you mean"."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            _refuse_near_miss(args[0], list(self.commands))
            args = ["lint", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("octolint", "[lint] [OPTIONS] PATH...")
        formatter.write_usage("octolint", "COMMAND [ARGS]...", prefix="   or: ")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lint = self.commands["lint"]
        lint_ctx = click.Context(lint, info_name="lint", parent=ctx)
        rows = [r for p in lint.get_params(lint_ctx)
                if isinstance(p, click.Option) and (r := p.get_help_record(lint_ctx))]  # fmt: skip
        with formatter.section("Lint options (octolint [lint] [OPTIONS] PATH...)"):
            formatter.write_dl([r for r in rows if not r[0].startswith("-h")])
        super().format_options(ctx, formatter)  # --version, --help, then the commands

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        listed = self.list_commands(ctx)
        names = [n for n in COMMAND_EXAMPLES if n in listed]
        names += [n for n in listed if n not in COMMAND_EXAMPLES]
        for name in names:
            example, what = COMMAND_EXAMPLES.get(name, (f"octolint {name} --help", ""))
            rows.append((example, what or self.commands[name].get_short_help_str(60)))
        with formatter.section("Commands (octolint COMMAND --help for each one's options)"):
            formatter.write_dl(rows, col_max=34)


# One example and one line per command, for `octolint --help`.
COMMAND_EXAMPLES = {
    "lint": ("octolint lint Dockerfile", "lint Dockerfiles (the default command)"),
    "image": ("octolint image alpine:3.19", "inspect a built image"),
    "deploy": ("octolint deploy compose.yml k8s/", "check an Octopus Server deployment"),
    "rules": ("octolint rules", "list the rules"),
    "explain": ("octolint explain OCT105", "show a rule's documentation"),
    "install-hook": ("octolint install-hook", "lint Dockerfiles before git push"),
    "cache": ("octolint cache info", "the image layer cache (also: clear)"),
}


def _refuse_near_miss(word: str, commands: list[str]) -> None:
    """A first word that is no path but close to a command is a typo for the command:
    a usage error that suggests it, rather than "no such file"."""
    import difflib

    if word.startswith("-") or os.path.lexists(word):
        return
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    if close:
        raise click.UsageError(
            f"'{word}' is neither a command nor a file: did you mean 'octolint {close[0]}'?"
        )


@click.group(cls=_DefaultToLint, context_settings={"help_option_names": ["--help", "-h"]})
@click.version_option(__version__, "--version", prog_name="octolint")
def cli() -> None:
    """Will this Docker image work as an Octopus Deploy execution container?

    \b
    octolint Dockerfile               lint a Dockerfile (also: a directory, or - for stdin)
    octolint . -f sarif -o out.sarif  every Dockerfile below ., as SARIF for code scanning
    """


_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _split_commas(_ctx: Any, _param: Any, values: tuple[str, ...]) -> tuple[str, ...]:
    """--ignore OCT204,OCT205 as --ignore OCT204 --ignore OCT205 (as ruff reads it)."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _build_args(values: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs; a bare ``NAME`` takes its value from the environment, as
    ``docker build --build-arg NAME`` does, and stays unset when the environment
    lacks it."""
    result = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq and _ARG_NAME.fullmatch(name):
            if name in os.environ:
                result[name] = os.environ[name]
            continue
        if not eq or not name:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE or NAME", param_hint="--build-arg")
        result[name] = value
    return result


def report_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options every command that produces a report shares.

    ``--format``/``--output`` reach the command as ``destinations``: a list of
    ``(format, file or None for stdout)``, checked before any work is done.
    """
    options = [
        click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), multiple=True,
                     help="Report format [default: human]. Repeatable: the n-th --format "
                          "goes to the n-th --output, a last one without it to stdout."),
        click.option("--output", "-o", multiple=True,
                     type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
                     help="Write the report to FILE instead of stdout ('-': stdout). "
                          "Repeatable, see --format."),
        click.option("--sarif-category", metavar="TEXT",
                     help="SARIF runAutomationDetails.id, to keep several uploads apart "
                          "[default: from the command]."),
        click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
                     help="Lowest severity that makes the exit code 1 [default: error]."),
        click.option("--ignore", multiple=True, metavar="RULE", callback=_split_commas,
                     help="Skip a rule, by id or name (repeatable, or comma-separated)."),
        click.option("--config", type=click.Path(path_type=Path),
                     help="Use this config file instead of searching for one."),
        click.option("--no-color", is_flag=True, help="Plain output even on a terminal."),
        click.option("--quiet", "-q", is_flag=True,
                     help="Print nothing when there is nothing to report."),
    ]  # fmt: skip

    @functools.wraps(command)
    def with_destinations(*args: Any, fmt: tuple[str, ...], output: tuple[Path, ...],
                          **kwargs: Any) -> None:  # fmt: skip
        command(*args, destinations=_destinations(fmt, output), **kwargs)

    wrapped: Callable[..., None] = with_destinations
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def _destinations(formats: Sequence[str], outputs: Sequence[Path]) -> list[tuple[str, Path | None]]:
    """Pair the n-th --format with the n-th --output; a last format without one is stdout.

    A usage error (exit 2) when they cannot be paired that way, when more than one
    format would go to stdout, or when two formats would write the same file.
    """
    formats = list(formats) or ["human"]
    if len(outputs) > len(formats) or len(outputs) < len(formats) - 1:
        raise click.UsageError(
            f"{len(formats)} --format and {len(outputs)} --output: give every --format but "
            "the last its own --output (they are paired in order; '-o -' is stdout)",
            ctx=click.get_current_context(),
        )
    pairs = [
        (fmt, None if out is None or str(out) == "-" else out)
        for fmt, out in zip(formats, [*outputs, None])
    ]
    to_stdout = [fmt for fmt, out in pairs if out is None]
    if len(to_stdout) > 1:
        raise click.UsageError(
            f"only one format can go to stdout, not {' and '.join(to_stdout)}: "
            "give the others an --output file",
            ctx=click.get_current_context(),
        )
    files = [out.resolve() for _fmt, out in pairs if out is not None]
    for out in files:
        if files.count(out) > 1:
            raise click.UsageError(
                f"{out}: two formats cannot write the same --output file",
                ctx=click.get_current_context(),
            )
    return pairs


# Parsed by make_engine, not by click: a bad value is then one line (exit 2) naming
# the option, as a bad octopus-version in the configuration is.
octopus_version_option = click.option(
    "--octopus-version", metavar="X.Y",
    help="The Octopus Server version the image runs under, e.g. 2020.6 [default: the "
         "configuration's octopus-version, else any supported one: 2021.2 and later].",
)  # fmt: skip


@cli.command("lint")
@click.argument("paths", nargs=-1, required=True)
@report_options
@click.option("--target", help="Lint as if this build stage were the final one.")
@click.option("--build-arg", multiple=True, metavar="KEY[=VALUE]",
              help="Value for an ARG, as docker build --build-arg: without =VALUE, "
                   "from the environment (repeatable).")  # fmt: skip
@octopus_version_option
def lint_command(paths: tuple[str, ...], target: str | None, build_arg: tuple[str, ...],
                 octopus_version: str | None, **report: Any) -> None:  # fmt: skip
    """Lint Dockerfiles: files, directories (searched recursively) or - for stdin."""
    from octolint.api import lint_paths, make_engine

    engine = make_engine(paths, config_path=report["config"], ignore=report["ignore"],
                         target=target, build_args=_build_args(build_arg),
                         octopus_version=octopus_version)  # fmt: skip
    _finish(lint_paths(paths, engine), engine, subject="dockerfile", **report)


@cli.command("image")
@click.argument("references", nargs=-1, required=True)
@report_options
@click.option(
    "--source",
    type=click.Choice(("auto", "daemon", "registry", "archive")),
    default="auto",
    show_default=True,
    help="Where to read images: auto tries a path, then a Docker engine, then the registry.",
)
@click.option(
    "--platform",
    "platform_text",
    metavar="OS/ARCH[/VARIANT]",
    help="Platform to pick from a multi-platform image [default: linux/amd64].",
)
@click.option("--all-platforms", is_flag=True, help="Scan every platform of the image.")
@click.option(
    "--insecure-registry",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Use plain HTTP for this registry (repeatable; localhost always is).",
)
@click.option(
    "--dockerfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The image's Dockerfile: findings point at its lines.",
)
@click.option("--no-cache", is_flag=True, help="Read every layer, bypassing the layer cache.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds allowed for each network step (a layer download: for each further MiB).",
)
@click.option("--probe", is_flag=True,
              help="Also run the image (no network, entrypoint '') to cross-check.")  # fmt: skip
@octopus_version_option
def image_command(references: tuple[str, ...], source: str, platform_text: str | None,
                  all_platforms: bool, insecure_registry: tuple[str, ...],
                  dockerfile: Path | None, no_cache: bool, timeout: float, probe: bool,
                  octopus_version: str | None, **report: Any) -> None:  # fmt: skip
    """Inspect built images: registry references, Docker engine images, archives."""
    from octolint import interrupt
    from octolint.api import make_engine
    from octolint.image.model import Platform
    from octolint.image.scan import ScanOptions, scan_images

    try:
        platform = Platform.parse(platform_text) if platform_text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--platform") from None
    first = str(dockerfile) if dockerfile else "."
    engine = make_engine([first], config_path=report["config"], ignore=report["ignore"],
                         octopus_version=octopus_version)  # fmt: skip
    options = ScanOptions(
        source=source, platform=platform, all_platforms=all_platforms,
        insecure_registries=insecure_registry, timeout=timeout, use_cache=not no_cache,
        dockerfile=_dockerfile_build(dockerfile) if dockerfile else None, probe=probe,
    )  # fmt: skip
    # Ctrl-C and SIGTERM end a scan at once, whatever its threads are doing (exit 130).
    with interrupt.exit_at_once(), _progress(report["quiet"]) as progress:
        options.progress = progress
        result = scan_images(references, engine, options)
    _finish(result.report, engine, subject="image", **report)


@cli.command("deploy")
@click.argument("paths", nargs=-1, required=True)
@report_options
@click.option("--env-file", "env_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Variables for Compose interpolation instead of the .env beside each "
                   "Compose file, as docker compose --env-file (repeatable).")  # fmt: skip
def deploy_command(paths: tuple[str, ...], env_files: tuple[Path, ...], **report: Any) -> None:
    """Check Octopus Server deployments: Compose files, Kubernetes manifests, directories,
    or - for stdin (`helm template chart/ | octolint deploy -`)."""
    from octolint.api import make_engine
    from octolint.deploy import lint_deploy_paths

    engine = make_engine(paths, config_path=report["config"], ignore=report["ignore"])
    _finish(lint_deploy_paths(paths, engine, env_files or None), engine, subject="deploy",
            **report)  # fmt: skip


def _dockerfile_build(path: Path) -> Any:
    """The --dockerfile, parsed; an unparseable one is a usage error here."""
    from octolint.dockerfile.parser import parse
    from octolint.dockerfile.stages import analyse
    from octolint.errors import ConfigError, DockerfileSyntaxError
    from octolint.inputs import decode, read_bytes

    try:
        return analyse(parse(decode(read_bytes(path, str(path)), str(path)), str(path)))
    except DockerfileSyntaxError as exc:
        raise ConfigError(f"cannot parse: {exc}", source=str(path), key="--dockerfile") from None


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A progress display for long layer reads, on a terminal only (stderr)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from octolint.progress import LayerProgress

    with LayerProgress() as progress:
        yield progress.update


def _finish(report: Any, engine: Any, *, destinations: Sequence[tuple[str, Path | None]],
            fail_on: str | None, no_color: bool, quiet: bool, sarif_category: str | None,
            subject: str, **_: Any) -> None:  # fmt: skip
    """Write the report in every requested format and exit with the documented code."""
    from octolint.config import fail_threshold

    threshold = fail_threshold(fail_on or engine.config.fail_on or "error")
    for failure in report.errors:  # each report names them too
        _say(f"error: {failure.message}")
    # What was checked, for the SARIF category of a run without findings.
    options = {"category": sarif_category, "fail_threshold": threshold, "subject": subject}
    for fmt, output in destinations:
        if not (quiet and not report.findings and not report.errors and fmt == "human"):
            _emit(report, engine.rules, fmt, output, no_color, options)
    sys.exit(_exit_code(report, threshold))


def _exit_code(report: Any, threshold: Any) -> int:
    """README's precedence: a usage error (2: a file without the --target stage), then
    an input that could not be read (3), then findings (1)."""
    if any(failure.exit_code == EXIT_USAGE for failure in report.errors):
        return EXIT_USAGE
    if report.errors:
        return EXIT_INPUT
    return EXIT_FINDINGS if report.fails(threshold) else EXIT_OK


def _emit(report: Any, rules: Sequence[Any], fmt: str, output: Path | None, no_color: bool,
          options: dict[str, Any]) -> None:  # fmt: skip
    from octolint.reporters import render

    color = output is None and not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    text = render(fmt, report, {r.id: r for r in rules}, color=color, tool_version=__version__,
                  **options)  # fmt: skip
    if output is None:
        if text:  # e.g. github without findings: nothing, not an empty line
            click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OctolintError(f"{output}: cannot write report: {exc.strerror}") from None


@cli.command("rules")
@click.option("--format", "-f", "fmt", type=click.Choice(("human", "json")), default="human")
def rules_command(fmt: str) -> None:
    """List every rule: id, name, default severity, what it applies to, summary."""
    from octolint.rulebook import load_rules

    rules = load_rules()
    if fmt == "json":
        import json

        rows = [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.label,
                "applies_to": r.applies_to,
                "summary": r.summary,
            }
            for r in rules
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(_rules_table(rules), nl=False)


def _rules_table(rules: Sequence[Any]) -> str:
    """One aligned row per rule: every column as wide as its longest cell."""
    rows = [(r.id, r.name, r.severity.label, r.applies_to, r.summary) for r in rules]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + f"  {row[4]}\n"
        for row in rows
    )


@cli.group("cache")
def cache_group() -> None:
    """The layer cache used by `octolint image`."""


@cache_group.command("info")
def cache_info() -> None:
    """Where the cache is and how big."""
    from octolint.image.cache import LayerCache

    entries, size, path = LayerCache().info()
    click.echo(f"{path}: {entries} layer(s), {size / 1e6:.1f} MB")


@cache_group.command("clear")
def cache_clear() -> None:
    """Delete every cached layer index."""
    from octolint.image.cache import LayerCache

    cache = LayerCache()
    entries, _size, path = cache.info()
    cache.clear()
    click.echo(f"{path}: removed {entries} layer(s)")


@cli.command("explain")
@click.argument("rule")
def explain_command(rule: str) -> None:
    """Show a rule's documentation (by id or name)."""
    from octolint.rulebook import load_rules

    wanted = rule.lower()
    for r in load_rules():
        if wanted in (r.id.lower(), r.name.lower()):
            click.echo(
                f"{r.doc}\n\nDefault severity: {r.severity.label}. Applies to: "
                f"{r.applies_to}. Silence with: # octolint ignore={r.id}"
            )
            return
    raise click.BadParameter(f"no rule '{rule}' (see `octolint rules`)", param_hint="RULE")


@cli.command("install-hook")
@click.option("--force", is_flag=True, help="Replace a pre-push hook octolint did not write.")
@click.option("--uninstall", is_flag=True, help="Remove octolint's pre-push hook (only ours).")
@octopus_version_option
def install_hook_command(force: bool, uninstall: bool, octopus_version: str | None) -> None:
    """Install a git pre-push hook that lints the Dockerfiles changed in pushed commits.

    The hook runs octolint with this Python interpreter, whatever PATH git has, and
    with --octopus-version when given here (else the pushed commit's configuration says).
    """
    from octolint import hooks

    cwd = Path.cwd()
    if uninstall:
        click.echo(hooks.uninstall(cwd))
        return
    click.echo(hooks.install(cwd, force=force, octopus_version=octopus_version))


def _say(message: str) -> None:
    """One line on stderr: ``octolint: message``, with the message escaped."""
    click.echo(f"octolint: {escape_line(message)}", err=True)


# Click 8.2+ shows a command's help as this "error" when it gets no arguments.
_HELP_AS_ERROR: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _show_click_error(exc: click.ClickException) -> None:
    """Click's usage error (usage, hint, ``Error: ...``) with its message escaped: it
    can quote an argument, such as a file name. A help text is ours: shown as is."""
    if isinstance(exc, _HELP_AS_ERROR):
        exc.show()
        return
    message = escape_line(exc.format_message())
    if isinstance(exc, click.UsageError):
        click.UsageError(message, ctx=exc.ctx).show()
    else:
        click.ClickException(message).show()


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:  # fmt: skip
    """A library's warning as one escaped line (it can quote its input)."""
    _say(f"warning: {category.__name__}: {message}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: runs the CLI and turns every error into one line and an exit code."""
    warnings.showwarning = _show_warning
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="octolint",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _show_click_error(exc)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        _say("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except OctolintError as exc:
        _say(f"error: {exc}")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except Exception as exc:  # never a traceback for users; OCTOLINT_DEBUG=1 shows it
        if os.environ.get("OCTOLINT_DEBUG"):
            raise
        _say(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set OCTOLINT_DEBUG=1 for details, and please report it)"
        )
        sys.exit(EXIT_INPUT)
