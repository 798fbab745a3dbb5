"""The rule engine: runs every active rule on a target and turns problems into findings.

Every kind of target (a Dockerfile, an image for one platform, a deployment)
is loaded into a complete object first (octolint.dockerfile.target,
octolint.image.target, octolint.deploy.target): its lines, pragmas and how a
rule's problem maps to a location. :meth:`Engine.run` is then the same for all:
configuration (ignore, severity overrides, rule options) and pragmas are
applied here, once, so rules only say what is wrong.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from octolint.config import Config
from octolint.errors import ConfigError
from octolint.knowledge.octopus import SUPPORTED, OctopusServer
from octolint.model import FileLocation, Finding, Location, Problem, Severity
from octolint.redact import redact
from octolint.rulebook import Rule, load_rules
from octolint.suppress import Suppressions

META_RULE = "OCT001"  # reports unknown rule ids and malformed pragmas


class Target(Protocol):
    """What the engine needs of a loaded target, whatever its kind."""

    KIND: ClassVar[str]  # the APPLIES_TO of the rules it is for

    @property
    def octopus(self) -> OctopusServer:
        """The Octopus Server version the rules judge for (Engine.octopus)."""

    def accepts(self, rule: Rule) -> bool:
        """Whether the rule can run on it (a Dockerfile that does not parse: only OCT100)."""

    def locate(self, problem: Problem) -> tuple[Location, str | None]:
        """The problem's location, and the source text to show for it."""

    def stage_of(self, problem: Problem) -> str | None:
        """The stage to name in the finding, when that helps."""

    def silences(self, keys: tuple[str, str], location: Location) -> bool:
        """Whether a pragma silences the rule (id, name) at this location."""

    def pragma_files(self) -> Sequence[tuple[str, Suppressions, Sequence[str]]]:
        """Each file with pragmas: its path, its pragmas and its lines (for OCT001)."""

    def secrets(self) -> Sequence[str]:
        """Values no finding may show (masked in messages and hints)."""

    def close(self) -> None:
        """Release what the target holds open (an image's layer stores)."""


class Engine:
    def __init__(
        self,
        config: Config | None = None,
        rules: Sequence[Rule] | None = None,
        *,
        ignore: Iterable[str] = (),
        target_stage: str | None = None,
        build_args: Mapping[str, str] | None = None,
        octopus: OctopusServer | None = None,
    ):
        self.config = config or Config()
        # --octopus-version, else the configuration's, else any supported server;
        # every target is loaded with it, so rules read it as target.octopus.
        self.octopus = octopus or self.config.octopus or SUPPORTED
        self.rules = tuple(rules if rules is not None else load_rules())
        # A rule is named by its id or its name, in any case, everywhere: --ignore,
        # the configuration's ignore, severity and [rules.X] tables, pragmas.
        self._id_of = {key.lower(): r.id for r in self.rules for key in (r.id, r.name)}
        self._by_id = {r.id: r for r in self.rules}
        self.ignored = {self._rule_id(i) for i in (*self.config.ignore, *ignore)}
        self.severity = {self._rule_id(k): v for k, v in self.config.severity.items()}
        self.options = {r.id: self._options_for(r) for r in self.rules}
        self.target_stage = target_stage
        self.build_args = dict(build_args or {})
        self.unknown_cli_ids = sorted({i for i in ignore if i.lower() not in self._id_of})

    # -- set-up ---------------------------------------------------------
    def _rule_id(self, key: str) -> str:
        """The id of the rule ``key`` names (an id or a name, any case); else ``key``."""
        return self._id_of.get(key.lower(), key.upper())

    def _options_for(self, rule: Rule) -> dict[str, Any]:
        given: dict[str, Any] = {}
        named = {}  # option -> the table it came from, for messages
        for table, options in self.config.rule_options.items():
            if self._rule_id(table) == rule.id:
                given.update(options)
                named.update(dict.fromkeys(options, table))
        source = _shown(self.config.source) if self.config.source else "configuration"
        for key, value in given.items():
            where = f"rules.{named[key]}.{key}"
            if key not in rule.options:
                known = ", ".join(sorted(rule.options)) or "none"
                raise ConfigError(
                    f"{rule.id} has no option '{key}' (options: {known})", source=source, key=where
                )
            problem = rule.options[key].problem(value)
            if problem is not None:
                raise ConfigError(problem, source=source, key=where)
        return {**{key: spec.default for key, spec in rule.options.items()}, **given}

    def active_rules(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.applies_to == kind and r.id not in self.ignored]

    # -- linting --------------------------------------------------------
    def run(self, target: Target) -> list[Finding]:
        """Every finding of the active rules of the target's kind, pragmas applied, sorted.

        Values the target calls secrets are masked in every message and hint
        (octolint.redact).
        """
        findings = []
        secrets = target.secrets()
        for rule in self.active_rules(target.KIND):
            if not target.accepts(rule):
                continue
            for problem in rule.check(target, self.options[rule.id]):
                finding = self._finding(rule, problem, target)
                if not target.silences((rule.id, rule.name), finding.location):
                    findings.append(_masked(finding, secrets))
        for path, pragmas, lines in target.pragma_files():
            findings += self._pragma_notes(pragmas, path, lines)
        return sorted(findings, key=Finding.sort_key)

    def _finding(self, rule: Rule, problem: Problem, target: Target) -> Finding:
        """A rule's problem as a finding: location, severity after configuration."""
        location, source = target.locate(problem)
        return Finding(
            rule_id=rule.id,
            rule_name=rule.name,
            severity=self.severity.get(rule.id, problem.severity or rule.severity),
            message=problem.message,
            location=location,
            stage=target.stage_of(problem),
            hint=problem.hint or rule.hint or None,
            source=source,
        )

    # -- unknown ids and malformed pragmas -------------------------------
    def _meta_finding(self, message: str, path: str, line: int, source: str | None) -> Finding:
        rule = self._by_id.get(META_RULE)
        return Finding(
            rule_id=META_RULE,
            rule_name=rule.name if rule else "unknown-rule-id",
            severity=self.severity.get(META_RULE, Severity.NOTE),
            message=message,
            location=FileLocation(path, line, 1, line, max(len(source or ""), 1) + 1),
            hint=rule.hint if rule else None,
            source=source,
        )

    def _pragma_notes(
        self, pragmas: Suppressions, path: str, lines: Sequence[str]
    ) -> list[Finding]:
        meta = self._by_id.get(META_RULE)
        if META_RULE in self.ignored or (meta and pragmas.silences((META_RULE, meta.name), 0)):
            return []  # `# octolint global ignore=OCT001` too
        # One note per pragma line, however many unknown names it holds: a note per
        # name made 1 MB of "a,a,a,..." pragmas 450,000 findings (30 s, 1.5 GB).
        unknown: dict[int, dict[str, None]] = {}
        for ref in pragmas.references:
            if ref.text.lower() not in self._id_of:
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
        shown = _shown(source) if source else "None"
        for rule_id in sorted(set(self.config.mentioned_rule_ids())):
            if rule_id.lower() in self._id_of:
                continue
            line = _line_of(text, rule_id)
            findings.append(
                self._meta_finding(
                    f"unknown rule '{rule_id}' in configuration: it has no effect",
                    shown,
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


def _shown(path: Path) -> str:
    """A configuration file as findings and errors name it: relative to the working
    directory like the Dockerfiles beside it, absolute when it is outside."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive (Windows)
        return absolute
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    return absolute if outside else relative


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
