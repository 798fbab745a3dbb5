"""The rule engine: runs every active rule on a target and turns problems into findings.

Configuration (ignore, severity overrides, rule options) and inline pragmas
are applied here, once, so rules only say what is wrong.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octolint.config import Config
from octolint.dockerfile import instructions
from octolint.dockerfile.expand import expansion_budget
from octolint.dockerfile.parser import Dockerfile, parse
from octolint.dockerfile.stages import Build, analyse
from octolint.errors import ConfigError, DockerfileSyntaxError
from octolint.model import Finding, Problem, Severity, Span
from octolint.plugin import DockerfileTarget
from octolint.redact import redact, secret_values
from octolint.registry import Rule, load_rules
from octolint.sources import decode, read_bytes
from octolint.suppress import Suppressions, collect, collect_comments

if TYPE_CHECKING:
    from octolint.deploy.model import DeployTarget
    from octolint.image.target import ImageTarget

META_RULE = "OCT001"  # reports unknown rule ids and malformed pragmas


class Engine:
    def __init__(
        self,
        config: Config | None = None,
        rules: Sequence[Rule] | None = None,
        *,
        ignore: Iterable[str] = (),
        target_stage: str | None = None,
        build_args: Mapping[str, str] | None = None,
    ):
        self.config = config or Config()
        self.rules = tuple(rules if rules is not None else load_rules())
        self._keys = {key.lower() for r in self.rules for key in (r.id, r.name)}
        self._by_id = {r.id: r for r in self.rules}
        self.ignored = {i.upper() for i in (*self.config.ignore, *ignore)}
        self.options = {r.id: self._options_for(r) for r in self.rules}
        self.target_stage = target_stage
        self.build_args = dict(build_args or {})
        self.unknown_cli_ids = sorted({i for i in ignore if i.lower() not in self._keys})

    # -- set-up ---------------------------------------------------------
    def _options_for(self, rule: Rule) -> dict[str, Any]:
        given = self.config.rule_options.get(rule.id, {})
        source = str(self.config.source or "configuration")
        for key, value in given.items():
            if key not in rule.options:
                known = ", ".join(sorted(rule.options)) or "none"
                raise ConfigError(
                    f"{rule.id} has no option '{key}' (options: {known})",
                    source=source,
                    key=f"rules.{rule.id}.{key}",
                )
            if not isinstance(value, type(rule.options[key])):
                expected = type(rule.options[key]).__name__
                raise ConfigError(
                    f"must be of type {expected}", source=source, key=f"rules.{rule.id}.{key}"
                )
        return {**rule.options, **given}

    def active_rules(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.applies_to == kind and r.id not in self.ignored]

    # -- linting --------------------------------------------------------
    def lint_file(self, path: Path, display: str) -> list[Finding]:
        return self.lint_bytes(read_bytes(path, display), display)

    def lint_bytes(self, data: bytes, display: str) -> list[Finding]:
        try:
            text = decode(data, display)
        except DockerfileSyntaxError as error:
            return self._run(DockerfileTarget(display, None, None, error), Suppressions())
        return self.lint_text(text, display)

    def lint_text(self, text: str, display: str) -> list[Finding]:
        # One budget of variable expansion per Dockerfile: memory stays bounded however
        # its ARGs and ENVs feed each other (see octolint.dockerfile.expand).
        with expansion_budget():
            return self._run(*self._prepare(text, display))

    def _run(self, target: DockerfileTarget, pragmas: Suppressions) -> list[Finding]:
        findings: list[Finding] = []
        for rule in self.active_rules("dockerfile"):
            if target.build is None and not rule.runs_on_syntax_error:
                continue
            for problem in rule.check(target, self.options[rule.id]):
                finding = self._finding(rule, problem, target)
                if not pragmas.silences((rule.id, rule.name), finding.line):
                    findings.append(finding)
        findings += self._pragma_findings(pragmas, target)
        return sorted(findings, key=Finding.sort_key)

    def _prepare(self, text: str, display: str) -> tuple[DockerfileTarget, Suppressions]:
        dockerfile: Dockerfile | None = None
        try:
            dockerfile = parse(text, display)
            build = self._analyse(dockerfile)
        except DockerfileSyntaxError as error:
            pragmas = collect(dockerfile) if dockerfile else Suppressions()
            return DockerfileTarget(display, dockerfile, None, error), pragmas
        return DockerfileTarget(display, dockerfile, build), collect(dockerfile)

    def _analyse(self, dockerfile: Dockerfile) -> Build:
        instructions.check(dockerfile)  # where BuildKit's instruction parser stops the build
        return analyse(dockerfile, self.target_stage, self.build_args)

    def _finding(self, rule: Rule, problem: Problem, target: DockerfileTarget) -> Finding:
        build = target.build
        # naming the stage only helps when there is more than one
        several_stages = build is not None and len(build.stages) > 1
        lines = target.dockerfile.lines if target.dockerfile else []
        return self._bind(rule, problem, problem.path or target.path, lines, several_stages)

    def _bind(
        self, rule: Rule, problem: Problem, path: str, lines: Sequence[str], stages: bool
    ) -> Finding:
        """A rule's problem as a finding: file, full region, severity after configuration."""
        span = problem.span or Span(line=1)
        end_line = max(span.end_line or span.line, span.line)
        end_column = span.end_column
        if end_column is None:
            end_column = max(len(lines[end_line - 1]) if end_line <= len(lines) else 1, 1)
        return Finding(
            rule_id=rule.id,
            rule_name=rule.name,
            severity=self.config.severity.get(rule.id, problem.severity or rule.severity),
            message=problem.message,
            path=path,
            line=span.line,
            column=span.column,
            end_line=end_line,
            end_column=end_column + 1,  # exclusive, as SARIF counts
            stage=problem.stage if stages else None,
            hint=problem.hint or rule.hint or None,
            source="\n".join(lines[span.line - 1 : end_line]) or None,
        )

    def lint_image(self, target: ImageTarget) -> list[Finding]:
        """Run the image rules. Findings point at --dockerfile lines where that is known,
        and that Dockerfile's pragmas apply to them. Values of the image's Env that look
        like secrets are masked in every message and hint (octolint.redact)."""
        build = target.dockerfile
        lines = build.dockerfile.lines if build else []
        pragmas = collect(build.dockerfile) if build else Suppressions()
        secrets = secret_values(target.env)
        findings = []
        for rule in self.active_rules("image"):
            for problem in rule.check(target, self.options[rule.id]):
                finding = self._bind(rule, problem, problem.path or target.reference,
                                     lines if problem.path else [], False)  # fmt: skip
                line = finding.line if problem.path else -1
                if not pragmas.silences((rule.id, rule.name), line):
                    findings.append(_masked(finding, secrets))
        return sorted(findings, key=Finding.sort_key)

    def lint_deploy(self, target: DeployTarget) -> list[Finding]:
        """Run the deploy rules over Compose files and manifests deployed together.

        Findings point at the file a problem names; YAML comment pragmas work as
        Dockerfile ones do (on the line(s) above the key). Lines are the
        redacted ones, so no report can show a secret value.
        """
        files = {f.path: f for f in target.files}
        pragmas = {
            path: collect_comments(f.comments, _content_lines(f.lines, f.comments))
            for path, f in files.items()
        }
        default = target.files[0].path if target.files else "-"
        findings = []
        for rule in self.active_rules("deploy"):
            for problem in rule.check(target, self.options[rule.id]):
                path = problem.path or default
                lines = files[path].lines if path in files else []
                finding = self._bind(rule, problem, path, lines, False)
                silenced = path in pragmas and pragmas[path].silences(
                    (rule.id, rule.name), finding.line
                )
                if not silenced:
                    findings.append(finding)
        for path, found in pragmas.items():
            findings += self._pragma_notes(found, path, files[path].lines)
        return sorted(findings, key=Finding.sort_key)

    # -- unknown ids and malformed pragmas -------------------------------
    def _meta_finding(self, message: str, path: str, line: int, source: str | None) -> Finding:
        rule = self._by_id.get(META_RULE)
        return Finding(
            rule_id=META_RULE,
            rule_name=rule.name if rule else "unknown-rule-id",
            severity=self.config.severity.get(META_RULE, Severity.NOTE),
            message=message,
            path=path,
            line=line,
            column=1,
            end_line=line,
            end_column=max(len(source or ""), 1) + 1,
            hint=rule.hint if rule else None,
            source=source,
        )

    def _pragma_findings(self, pragmas: Suppressions, target: DockerfileTarget) -> list[Finding]:
        if target.dockerfile is None:
            return []
        return self._pragma_notes(pragmas, target.path, target.dockerfile.lines)

    def _pragma_notes(
        self, pragmas: Suppressions, path: str, lines: Sequence[str]
    ) -> list[Finding]:
        if META_RULE in self.ignored:
            return []
        # One note per pragma line, however many unknown names it holds: a note per
        # name made 1 MB of "a,a,a,..." pragmas 450,000 findings (30 s, 1.5 GB).
        unknown: dict[int, dict[str, None]] = {}
        for ref in pragmas.references:
            if ref.text.lower() not in self._keys:
                unknown.setdefault(ref.line, {})[ref.text] = None
        findings = [
            self._meta_finding(_unknown_names_message(list(names)), path, line, lines[line - 1])
            for line, names in unknown.items()
        ]
        findings += [
            self._meta_finding(
                "comment looks like an octolint pragma but is not one: "
                "write '# octolint ignore=OCT101' or '# octolint global ignore=OCT101'",
                path,
                line,
                lines[line - 1],
            )
            for line in pragmas.malformed
        ]
        return findings

    def config_findings(self) -> list[Finding]:
        """Notes for rule ids in the configuration or on the command line that no rule has."""
        if META_RULE in self.ignored:
            return []
        findings = []
        source = self.config.source
        text = source.read_text(encoding="utf-8", errors="replace") if source else ""
        for rule_id in sorted(set(self.config.mentioned_rule_ids())):
            if rule_id.lower() in self._keys:
                continue
            line = _line_of(text, rule_id)
            findings.append(
                self._meta_finding(
                    f"unknown rule '{rule_id}' in configuration: it has no effect",
                    str(source),
                    line,
                    text.splitlines()[line - 1] if text else None,
                )
            )
        for rule_id in self.unknown_cli_ids:
            findings.append(
                self._meta_finding(
                    f"unknown rule '{rule_id}' given to --ignore: it has no effect",
                    "<command line>",
                    1,
                    None,
                )
            )
        return findings


def _masked(finding: Finding, secrets: Sequence[str]) -> Finding:
    if not secrets:
        return finding
    return dataclasses.replace(
        finding, message=redact(finding.message, secrets) or "", hint=redact(finding.hint, secrets)
    )


def _content_lines(lines: Sequence[str], comments: Mapping[int, str]) -> set[int]:
    """Lines holding YAML content (keys, items): what a pragma above can apply to."""
    return {n for n, text in enumerate(lines, 1) if text.strip() and n not in comments}


def _line_of(text: str, word: str) -> int:
    match = re.search(re.escape(word), text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


_NAMES_SHOWN = 5


def _unknown_names_message(names: list[str]) -> str:
    """The note for a pragma's unknown rule names (a few, then how many more)."""
    if len(names) == 1:
        return f"unknown rule '{names[0]}' in octolint pragma: it silences nothing"
    shown = ", ".join(f"'{name}'" for name in names[:_NAMES_SHOWN])
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return f"unknown rules {shown}{more} in octolint pragma: they silence nothing"
