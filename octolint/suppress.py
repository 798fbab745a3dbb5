"""Inline pragmas that silence rules, hadolint-style.

``# octolint ignore=OCT101,OCT102`` on the comment line(s) directly above an
instruction silences those rules for that instruction;
``# octolint global ignore=OCT107`` anywhere silences them for the whole file.
Compose files and Kubernetes manifests take the same comments above a key.
Text after a second ``#`` is a free comment. Rule names work as well as ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from octolint.dockerfile.parser import Dockerfile

# The ids are taken greedily up to a '#' and stripped afterwards: a lazy group before
# \s* backtracked over a long run of spaces from every position (quadratic).
_PRAGMA = re.compile(
    r"^\s*octolint\s*(?P<global>global\s+)?ignore\s*=(?P<ids>[^#]*)(?:#.*)?$",
    re.IGNORECASE,
)
_MENTION = re.compile(r"^\s*octolint\b", re.IGNORECASE)


@dataclass(frozen=True)
class PragmaReference:
    """A rule id or name written in a pragma, kept to report unknown ones."""

    text: str
    line: int


@dataclass
class Suppressions:
    global_ids: set[str] = field(default_factory=set)
    by_line: dict[int, set[str]] = field(default_factory=dict)  # instruction line -> ids
    references: list[PragmaReference] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)  # lines that look like a pragma but are not

    def silences(self, rule_keys: tuple[str, ...], line: int) -> bool:
        """True when any of the rule's keys (id, name) is silenced at this line."""
        local = self.by_line.get(line, set())
        return any(k.lower() in self.global_ids or k.lower() in local for k in rule_keys)


def collect(dockerfile: Dockerfile) -> Suppressions:
    starts = {i.start_line for i in dockerfile.instructions}
    return collect_comments(dockerfile.comments, starts)


def collect_comments(comments: Mapping[int, str], starts: set[int]) -> Suppressions:
    """Pragmas among full-line comments (line -> text after '#'); ``starts`` are the
    lines a pragma may apply to (Dockerfile instructions, YAML keys)."""
    result = Suppressions()
    below = _lines_below(comments)
    for line, text in comments.items():
        match = _PRAGMA.match(text)
        if match is None:
            if _MENTION.match(text):
                result.malformed.append(line)
            continue
        ids = [part.strip() for part in match.group("ids").split(",") if part.strip()]
        if not ids:  # `# octolint ignore=` names nothing: a typo, not a pragma
            result.malformed.append(line)
            continue
        result.references += [PragmaReference(i, line) for i in ids]
        keys = {i.lower() for i in ids}  # ids and names match case-insensitively
        if match.group("global"):
            result.global_ids |= keys
            continue
        target = below[line]
        if target in starts:
            result.by_line.setdefault(target, set()).update(keys)
    return result


def _lines_below(comments: Mapping[int, str]) -> dict[int, int]:
    """For each comment line, the first line below its comment block.

    One pass from the bottom up: walking down the block from every one of its
    lines was quadratic (a block of 40,000 pragmas took 85 s).
    """
    below: dict[int, int] = {}
    for line in sorted(comments, reverse=True):
        below[line] = below.get(line + 1, line + 1)
    return below
