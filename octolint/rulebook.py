"""Finding the rules: every rule, built-in or third-party, is an entry point.

A rule is any object (usually a module) registered in the entry-point group
``octolint.rules`` that has these attributes, yamllint-style:

``ID``          stable id users search for, e.g. ``"OCT101"``
``NAME``        short kebab-case name, e.g. ``"no-entrypoint"``
``SEVERITY``    default severity: ``"error"``, ``"warning"`` or ``"note"``
``APPLIES_TO``  ``"dockerfile"``, ``"image"`` or ``"deploy"`` (Compose/Kubernetes)
``SUMMARY``     one line for ``octolint rules`` and SARIF shortDescription
``HINT``        one-line fix hint shown under each finding
``OPTIONS``     optional dict of option name -> ``list_of(str, default=[...])``,
                ``option(int, default=3)`` or a plain default (octolint.rulefacts)
``SARIF_SCORE`` optional ``SarifScore(security_severity, precision, security)``
``READS_FILES`` image rules: absolute paths (``/dir/*``: its files) whose contents
                the rule reads with ``target.fs.read``; only those are kept
``RUNS_ON_SYNTAX_ERROR``  optional; True to be run on files that do not parse
``check(target, options)``  yields :class:`octolint.model.Problem`; ``target`` is
                the kind's target class (``octolint.plugin``), checked at load

The module docstring is the rule's documentation (``octolint explain``,
SARIF help). See ``rules/`` for the built-in ones.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from octolint.cachedir import NOFOLLOW, cache_root, open_trusted, usable_directory
from octolint.errors import ConfigError
from octolint.model import Problem, Severity
from octolint.rulefacts import Option, SarifScore, options_from

ENTRY_POINT_GROUP = "octolint.rules"
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*[0-9]+$")
TARGET_KINDS = ("dockerfile", "image", "deploy")
MEMO_FORMAT = "2"  # what the memo keeps of a rule; a new field makes old memos stale


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    applies_to: str
    summary: str
    hint: str
    doc: str
    check: Callable[[Any, Mapping[str, Any]], Iterable[Problem]]
    options: Mapping[str, Option] = field(default_factory=dict)
    origin: str = ""  # the entry point's value, for error messages
    runs_on_syntax_error: bool = False  # only the parse-error rule wants broken files
    sarif_score: SarifScore | None = None  # None: from its severity (reporters.sarif)
    reads_files: tuple[str, ...] = ()  # image rules: files whose contents they read


class RuleLoadError(ConfigError):
    pass


def rule_from_object(obj: Any, origin: str) -> Rule:
    """Validate a rule object's metadata and wrap it; errors name the plugin."""

    def attr(name: str) -> Any:
        if not hasattr(obj, name):
            raise RuleLoadError(f"rule plugin has no {name}", source=origin)
        return getattr(obj, name)

    rule_id = str(attr("ID"))
    if not RULE_ID.match(rule_id):
        raise RuleLoadError(f"invalid rule id '{rule_id}'", source=origin)
    applies_to = str(attr("APPLIES_TO"))
    if applies_to not in TARGET_KINDS:
        raise RuleLoadError(f"APPLIES_TO must be one of {TARGET_KINDS}", source=origin)
    try:
        severity = Severity.parse(str(attr("SEVERITY")))
    except ValueError as exc:
        raise RuleLoadError(str(exc), source=origin) from None
    check = attr("check")
    if not callable(check):
        raise RuleLoadError("check is not callable", source=origin)
    _check_target_type(check, applies_to, origin)
    return Rule(
        id=rule_id,
        name=str(attr("NAME")),
        severity=severity,
        applies_to=applies_to,
        summary=str(attr("SUMMARY")),
        hint=str(getattr(obj, "HINT", "")),
        doc=inspect.cleandoc(getattr(obj, "__doc__", None) or ""),
        check=check,
        options=_options(obj, origin),
        origin=origin,
        runs_on_syntax_error=bool(getattr(obj, "RUNS_ON_SYNTAX_ERROR", False)),
        sarif_score=_score(getattr(obj, "SARIF_SCORE", None), origin),
        reads_files=_reads_files(getattr(obj, "READS_FILES", ()), applies_to, origin),
    )


_TARGET_CLASSES = {"dockerfile": "DockerfileTarget", "image": "ImageTarget",
                   "deploy": "DeployTarget"}  # fmt: skip


def _check_target_type(check: Any, applies_to: str, origin: str) -> None:
    """A ``check`` annotated with another kind's target is a plugin error, not a crash later."""
    try:
        annotation = next(iter(inspect.signature(check).parameters.values())).annotation
    except (StopIteration, TypeError, ValueError):
        return
    if annotation is inspect.Parameter.empty:
        return
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    name = str(name).rsplit(".", 1)[-1]
    others = set(_TARGET_CLASSES.values()) - {_TARGET_CLASSES[applies_to]}
    if name in others:
        raise RuleLoadError(
            f"APPLIES_TO is '{applies_to}' but check() takes a {name}", source=origin
        )


def _options(obj: Any, origin: str) -> dict[str, Option]:
    try:
        return options_from(dict(getattr(obj, "OPTIONS", {}) or {}))
    except (TypeError, ValueError) as exc:
        raise RuleLoadError(f"invalid OPTIONS: {exc}", source=origin) from None


def _score(value: Any, origin: str) -> SarifScore | None:
    if value is None or isinstance(value, SarifScore):
        return value
    raise RuleLoadError("SARIF_SCORE must be a SarifScore", source=origin)


def _reads_files(value: Any, applies_to: str, origin: str) -> tuple[str, ...]:
    paths = (value,) if isinstance(value, str) else tuple(value or ())
    if paths and applies_to != "image":
        raise RuleLoadError("READS_FILES is for image rules only", source=origin)
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/") or "*" in path.rstrip("*")[:-1]:
            raise RuleLoadError(
                f"READS_FILES: '{path}' is not an absolute path (or /dir/*)", source=origin
            )
    return tuple(sorted(set(paths)))


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """All installed rules, sorted by id.

    A rule's module is only imported when its ``check`` first runs: linting a
    Dockerfile then never imports the image and deploy rules (a fifth of a
    pre-push hook's time). What ``octolint rules``, the config checks and the
    reporters need (id, name, severity, summary, hint, options, doc) comes from
    the on-disk memo, which is rebuilt by importing every rule whenever a
    distribution or a rule's source file changes.
    """
    values, described = _entry_points_memo()
    rules: dict[str, Rule] = {}
    for value in values:
        meta = described.get(value)
        rule = _rule_from_memo(meta, value) if meta else None
        rule = rule or rule_from_object(_load(value), value)
        if rule.id in rules and rules[rule.id].origin != rule.origin:
            raise RuleLoadError(
                f"rule id {rule.id} is registered twice ({rules[rule.id].origin})", source=value
            )
        rules[rule.id] = rule
    return tuple(sorted(rules.values(), key=lambda r: r.id))


def _load(value: str) -> Any:
    """Import 'package.module' or 'package.module:attr', as EntryPoint.load() does."""
    module_name, _, attrs = value.partition(":")
    try:
        obj: Any = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
    except Exception as exc:  # a broken plugin must not take the tool down with a traceback
        raise RuleLoadError(f"cannot load rule plugin: {exc}", source=value) from exc
    return obj


class _DeferredCheck:
    """A rule's ``check``, imported on the first call."""

    def __init__(self, value: str):
        self.value = value
        self._check: Callable[[Any, Mapping[str, Any]], Iterable[Problem]] | None = None

    def __call__(self, target: Any, options: Mapping[str, Any]) -> Iterable[Problem]:
        if self._check is None:  # the memo already checked the metadata against this file
            self._check = _load(self.value).check
        return self._check(target, options)


def _rule_from_memo(meta: Mapping[str, Any], value: str) -> Rule | None:
    """The rule as the memo describes it; None when the memo cannot say (load it then)."""
    try:
        return _memoised(meta, value)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _memoised(meta: Mapping[str, Any], value: str) -> Rule:
    return Rule(
        id=meta["id"],
        name=meta["name"],
        severity=Severity.parse(meta["severity"]),
        applies_to=meta["applies_to"],
        summary=meta["summary"],
        hint=meta["hint"],
        doc=meta["doc"],
        check=_DeferredCheck(value),
        options={str(k): Option.from_json(v) for k, v in meta["options"].items()},
        origin=value,
        runs_on_syntax_error=meta["runs_on_syntax_error"],
        sarif_score=SarifScore.from_json(meta["sarif_score"]),
        reads_files=tuple(str(path) for path in meta["reads_files"]),
    )


def _describe(value: str) -> dict[str, Any] | None:
    """What the memo keeps of a rule, or None when it cannot be kept faithfully."""
    obj = _load(value)
    rule = rule_from_object(obj, value)
    source = getattr(sys.modules.get(value.partition(":")[0].strip()), "__file__", None)
    options = {name: spec.to_json() for name, spec in rule.options.items()}
    if not source or json.loads(json.dumps(options)) != options:
        return None  # no file to watch, or options JSON would change (tuples): load eagerly
    return {
        "id": rule.id, "name": rule.name, "severity": rule.severity.name.lower(),
        "applies_to": rule.applies_to, "summary": rule.summary, "hint": rule.hint,
        "doc": rule.doc, "options": options, "runs_on_syntax_error": rule.runs_on_syntax_error,
        "sarif_score": list(rule.sarif_score) if rule.sarif_score else None,
        "reads_files": list(rule.reads_files), "file": source, "stamp": _stamp(source),
    }  # fmt: skip


def _stamp(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return ""
    return f"{info.st_mtime_ns}:{info.st_size}"


def _entry_points_memo() -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Every ``octolint.rules`` entry point value, and the memoised description of each.

    importlib.metadata costs about 50 ms to import and scan, half the budget of
    a pre-push hook, so its answer is memoised on disk, keyed by the
    distributions found on sys.path and their modification times: installing,
    upgrading or removing one invalidates the memo, and so does editing a
    rule's source file (its modification time and size are kept beside it).

    The memo never decides what is imported: the entry points are read again
    from the installed distributions' ``entry_points.txt`` on every run (a few
    small reads), and the memo is used only when it lists exactly those. It is
    read only from a cache directory and file no other user can write
    (``octolint.cachedir``), since its descriptions decide what each rule is.
    """
    key, installed = _installed_entry_points()
    memo = memo_path()
    data = _read_memo(memo)
    if data is not None and data.get("key") == key and _same(data.get("values"), installed):
        described = data.get("rules")
        try:
            if isinstance(described, dict) and all(
                isinstance(meta, dict) and _stamp(meta["file"]) == meta["stamp"]
                for meta in described.values()
            ):
                return list(installed), described
        except (KeyError, TypeError, ValueError):
            pass  # a damaged memo: rebuild it
    from importlib.metadata import entry_points

    values = [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
    described = {}
    for value in values:
        meta = _describe(value)
        if meta is not None:
            described[value] = meta
    _write_memo(memo, json.dumps({"key": key, "values": values, "rules": described}))
    return values, described


def _same(memoised: object, installed: list[str]) -> bool:
    return isinstance(memoised, list) and sorted(map(str, memoised)) == sorted(installed)


def memo_path() -> Path:
    return cache_root() / "entry-points.json"


def _read_memo(memo: Path) -> dict[str, Any] | None:
    """The memo's JSON, if it exists and only the current user could have written it."""
    if not usable_directory(memo.parent, top=True, create=False):
        return None
    try:
        with os.fdopen(open_trusted(memo), "rb") as handle:
            data = json.loads(handle.read(_MAX_MEMO_BYTES))
    except (OSError, ValueError):
        return None  # no memo yet, another user's, or unreadable: rebuild it
    return data if isinstance(data, dict) else None


_MAX_MEMO_BYTES = 16 << 20  # a memo is kilobytes per rule; a bigger one is not ours


def _installed_entry_points() -> tuple[str, list[str]]:
    """(a fingerprint of the distributions on sys.path with their mtimes, the values of
    their ``octolint.rules`` entry points), read from the metadata directories as
    importlib.metadata does: the first distribution of a name on sys.path wins."""
    parts = [sys.version, ENTRY_POINT_GROUP, MEMO_FORMAT]
    values: list[str] = []
    seen: set[str] = set()
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                infos = [item for item in found if item.name.endswith((".dist-info", ".egg-info"))]
                parts += sorted(f"{item.path}:{item.stat().st_mtime_ns}" for item in infos)
        except OSError:
            continue  # not a directory (a zip, or gone): importlib.metadata decides alone
        for item in infos:
            name = _normalised(os.path.splitext(item.name)[0].partition("-")[0])
            if name not in seen:
                seen.add(name)
                values += _group_values(item.path)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest(), values


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _group_values(info_dir: str) -> list[str]:
    """The values of the ``octolint.rules`` entry points a distribution declares."""
    try:
        with open(os.path.join(info_dir, "entry_points.txt"), encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []  # most distributions declare no entry point at all
    if f"[{ENTRY_POINT_GROUP}]" not in text:
        return []
    parser = configparser.ConfigParser(
        delimiters=("=",), interpolation=None, strict=False, comment_prefixes=("#", ";")
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    try:
        parser.read_string(text)
    except configparser.Error:
        return []  # importlib.metadata then disagrees, and the memo is rebuilt from it
    return [value.strip() for value in parser[ENTRY_POINT_GROUP].values()]


def _write_memo(path: Path, text: str) -> None:
    """Write the memo through a new private file (never through an existing name or
    link) renamed into place, and only into a cache directory the user alone controls."""
    if not usable_directory(path.parent, top=True, create=True):
        return  # read-only home or untrusted directory: only costs speed
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW
        with os.fdopen(os.open(temporary, flags, 0o600), "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in load_rules()}
