"""YAML documents with line and column positions, read with ruamel.yaml.

ruamel.yaml's round-trip loader keeps where every key and item is, so a
finding can point at the exact key; a hand-written YAML reader could not be
trusted with anchors, flow style, block scalars and multi-document streams.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
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


class YamlLimit(Exception):
    """The YAML is valid but expands past octolint's bounds: an input error, not OCT300."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


# Aliases let a few hundred bytes stand for billions of nodes (8 levels of 9 aliases:
# 43 million). Every walk over the documents sees the expanded tree, so its size is
# bounded: at most EXPANSION times the nodes (and scalar characters) the text itself
# holds, or the floors below, which real files with `<<: *default` are far below.
EXPANSION = 10
MIN_NODES = 100_000
MIN_CHARS = 1024 * 1024
_SATURATED = 1 << 62  # sizes stop growing here: 2**1000 nodes is just "too many"


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
    check_expansion(documents, len(text))
    return YamlFile(path, text, documents)


def check_expansion(documents: list[Any], text_length: int) -> None:
    """YamlLimit when aliases expand the documents past the bounds (see EXPANSION).

    Sizes are computed once per distinct mapping or sequence (an alias is the same
    object as its anchor), bottom-up, so the check is linear in the text whatever
    the expansion; the line given is the first node that alone is too large.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id -> (nodes, scalar characters), expanded
    order: list[Any] = []  # containers in the order their sizes were known
    distinct = 0  # nodes as written: containers once, plus their scalars
    for document in documents:
        distinct += _measure(document, sizes, order)
    total = _sum(_size(d, sizes) for d in documents)
    nodes = max(MIN_NODES, EXPANSION * distinct)
    chars = max(MIN_CHARS, EXPANSION * text_length)
    if total[0] <= nodes and total[1] <= chars:
        return
    first = next((n for n in order if sizes[id(n)][0] > nodes or sizes[id(n)][1] > chars), None)
    what = f"{nodes:,} nodes" if total[0] > nodes else f"{chars:,} characters"
    raise YamlLimit(f"aliases expand the YAML to more than {what} (octolint's limit)",
                    1 if first is None else node_span(first).line)  # fmt: skip


def _measure(root: Any, sizes: dict[int, tuple[int, int]], order: list[Any]) -> int:
    """Fill ``sizes`` for every container under ``root`` not measured yet (iteratively:
    no recursion limit); return how many nodes were new (a scalar document is one)."""
    new = 0 if _is_container(root) else 1
    pending: list[tuple[Any, bool]] = [(root, False)]
    visiting: set[int] = set()
    while pending:
        node, children_done = pending.pop()
        if not _is_container(node) or (id(node) in sizes and not children_done):
            continue
        if children_done:
            visiting.discard(id(node))
            children = list(_children(node))
            sizes[id(node)] = _sum([(1, 0), *(_size(c, sizes) for c in children)])
            order.append(node)
            new += 1 + sum(not _is_container(c) for c in children)
            continue
        if id(node) in visiting:  # ruamel makes `&a [*a]` None, but never loop on it
            raise YamlLimit("an anchor contains an alias to itself", node_span(node).line)
        visiting.add(id(node))
        pending.append((node, True))
        pending.extend((c, False) for c in _children(node) if _is_container(c))
    return new


def _is_container(node: Any) -> bool:
    return isinstance(node, (dict, list, tuple)) or hasattr(node, "items")


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, (list, tuple)):
        yield from node
        return
    for key, value in node.items():
        yield key
        yield value


def _size(node: Any, sizes: dict[int, tuple[int, int]]) -> tuple[int, int]:
    if _is_container(node):
        return sizes[id(node)]
    return 1, len(node) if isinstance(node, str) else 1


def _sum(sizes: Iterable[tuple[int, int]]) -> tuple[int, int]:
    nodes = chars = 0
    for node_count, char_count in sizes:
        nodes = min(nodes + node_count, _SATURATED)
        chars = min(chars + char_count, _SATURATED)
    return nodes, chars


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


def value_position(mapping: Any, key: Any) -> tuple[int, int] | None:
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
