"""YAML documents with line and column positions, read with ruamel.yaml.

ruamel.yaml's round-trip loader keeps where every key and item is, so a
finding can point at the exact key; a hand-written YAML reader could not be
trusted with anchors, flow style, block scalars and multi-document streams.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from octolint.model import Span


class YamlError(ValueError):
    """The file is not YAML a deploy tool would accept; line/column are 1-based."""

    def __init__(self, message: str, line: int, column: int = 1):
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class YamlFile:
    path: str
    text: str
    documents: list[Any]  # CommentedMap / CommentedSeq / scalars, one per document

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def load_yaml(text: str, path: str) -> YamlFile:
    """Every document of a YAML stream; YamlError for what the YAML spec refuses.

    Neither the error nor anything else quotes the file's values: ruamel's
    duplicate-key message names both values (a password, often), and its
    warnings (a reused anchor) print source lines on stderr.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Compose and kubectl accept what they warn about
            documents = [d for d in yaml.load_all(text) if d is not None]
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem
        if isinstance(error, DuplicateKeyError) and problem:
            problem = str(problem).split(' with value "', 1)[0]  # keep the key, not the values
        message = " ".join(str(p) for p in (error.context, problem) if p)
        raise YamlError(message or "invalid YAML", line, column) from None
    except (YAMLError, ValueError, RecursionError) as error:
        raise YamlError(f"invalid YAML: {error}", 1) from None
    return YamlFile(path, text, documents)


# -- positions -------------------------------------------------------------------
def node_span(node: Any) -> Span:
    """Where a mapping or sequence starts (line 1 when ruamel does not know)."""
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return Span(line=1)
    return Span(line=lc.line + 1, column=lc.col + 1, end_line=lc.line + 1, end_column=lc.col + 1)


def key_span(mapping: Any, key: str) -> Span:
    """The key itself: line, first and last column (merged keys: the mapping's start)."""
    try:
        line, column = mapping.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        return node_span(mapping)
    return Span(line + 1, column + 1, line + 1, column + max(len(str(key)), 1))


def item_span(sequence: Any, index: int, lines: list[str] | None = None) -> Span:
    """A sequence item, to the end of its line when the text is known."""
    try:
        line, column = sequence.lc.item(index)
    except (AttributeError, KeyError, TypeError, IndexError):
        return node_span(sequence)
    end = column + 1
    if lines is not None and line < len(lines):
        end = max(len(lines[line].rstrip()), column + 1)
    return Span(line + 1, column + 1, line + 1, end)


def value_position(mapping: Any, key: str) -> tuple[int, int] | None:
    """1-based (line, column) where a key's value starts, for redacting secrets."""
    try:
        line, column = mapping.lc.value(key)
    except (AttributeError, KeyError, TypeError):
        return None
    return line + 1, column + 1


def tag_of(node: Any) -> str | None:
    """A node's explicit YAML tag (Compose's ``!reset``, ``!override``), or None."""
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", None)
    return value if isinstance(value, str) else None


def untagged(node: Any) -> Any:
    """A tagged scalar's text (``!override true`` is the string 'true'), else the node."""
    from ruamel.yaml.comments import TaggedScalar

    return node.value if isinstance(node, TaggedScalar) else node


def get(node: Any, *keys: str) -> Any:
    """node[k1][k2]... or None when any step is missing or not a mapping."""
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def mappings(node: Any) -> Iterator[Any]:
    """The mapping items of a sequence (others skipped)."""
    if isinstance(node, list):
        yield from (item for item in node if isinstance(item, dict))


def comment_lines(text: str) -> dict[int, str]:
    """Full-line comments, line number -> text after '#', for pragmas."""
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            found[number] = stripped[1:]
    return found
