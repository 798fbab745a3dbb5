"""Compose variable interpolation, as ``docker compose`` does it.

No maintained Python library implements Compose's rules (python-dotenv knows
``${VAR}`` and ``${VAR:-default}`` only), so this follows compose-go's
``template`` package: the same regular expression (Go's RE2 and Python's
``re`` both pick the leftmost, first-alternative match), the same choice of
operator, the same nesting. The test suite checks agreement with the real
``docker compose config`` binary on generated templates.

Supported: ``$$`` (a literal ``$``), ``$VAR``, ``${VAR}``, ``${VAR:-d}``,
``${VAR-d}``, ``${VAR:?err}``, ``${VAR?err}``, ``${VAR:+alt}``, ``${VAR+alt}``,
with nested templates in ``d``/``err``/``alt``. A ``${`` that starts none
of these is an error, as in Compose; a ``$`` before anything else (``$1``,
``$ ``) stays as it is.

Unlike Compose, which silently substitutes an empty string for an unset
variable, the result also says which unset variables it depended on: a linter
must not call a password "empty" when it will come from the deploy
environment.

compose-go recurses for each template and for what follows it, and searches
to the end of the line for each; here one left-to-right pass per line with an
explicit stack gives the same results in linear time, whatever the nesting
or the number of templates. What interpolation produces is bounded (see
ExpansionLimit): a 1.6 KB .env whose variables double each other would
otherwise fill memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

# What compose-go's pattern matches at a `$`, but for the end of a `${VAR<op>...}`:
# its `(.*)\}` reaches the last `}` of the line, found once per line instead.
_HEAD = re.compile(
    r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|\{(?P<braced>[_a-z][_a-z0-9]*)?)"
)
_OPERATOR = re.compile(r":?[-+?]")
_BRACES = re.compile(r"[{}]")
# A value longer than MAX_VALUE once interpolated, or more than MAX_TOTAL characters
# produced within one expansion_budget() (one .env, one Compose project), is refused:
# variables that double each other grow exponentially. Real values are far below.
MAX_VALUE = 1024 * 1024
MAX_TOTAL = 32 * 1024 * 1024
_BUDGET: ContextVar[list[int] | None] = ContextVar("octolint_deploy_budget", default=None)


class InterpolationError(ValueError):
    """A template Compose refuses (invalid ``$`` use, or ``${VAR:?err}`` unmet)."""


class ExpansionLimit(Exception):
    """Interpolation would produce more than octolint's bounds allow (not a Compose error)."""


@dataclass
class Resolution:
    """The interpolated text and the unset variables it depended on."""

    text: str
    unset: set[str] = field(default_factory=set)

    @property
    def known(self) -> bool:
        return not self.unset


@contextmanager
def expansion_budget(chars: int = MAX_TOTAL) -> Iterator[None]:
    """Bound the characters interpolation may produce in this context (one Compose
    project, or one .env read alone). Nested contexts share the outer budget: a
    project's env_files must not each get a budget of their own."""
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set([chars])
    try:
        yield
    finally:
        _BUDGET.reset(token)


class _Lookup:
    def __init__(self, variables: Mapping[str, str]):
        self.variables = variables
        self.unset: set[str] = set()
        self.budget = _BUDGET.get() or [MAX_TOTAL]  # outside a context: per call

    def __call__(self, name: str) -> str:
        value = self.variables.get(name)
        if value is None:
            self.unset.add(name)
        return value or ""

    def charge(self, produced: int) -> None:
        self.budget[0] -= produced
        if self.budget[0] < 0:
            raise ExpansionLimit(f"interpolation produces more than {_size(MAX_TOTAL)} "
                                 "in all (octolint's limit)")  # fmt: skip


def interpolate(template: str, variables: Mapping[str, str]) -> Resolution:
    """Interpolate one string value. Raises InterpolationError as Compose would fail,
    ExpansionLimit when the result would pass octolint's bounds."""
    lookup = _Lookup(variables)
    if "$" not in template:
        return Resolution(template)
    result = _Text(lookup)
    for number, line in enumerate(template.split("\n")):
        if number:
            result.add("\n")
        _line(line, lookup, result)
    return Resolution(result.text(), lookup.unset)


def _size(chars: int) -> str:
    return f"{chars // (1024 * 1024)} MiB"


class _Text:
    """Pieces of one result, refused when longer than MAX_VALUE."""

    def __init__(self, lookup: _Lookup):
        self.pieces: list[str] = []
        self.length = 0
        self.lookup = lookup

    def add(self, piece: str) -> None:
        self.length += len(piece)
        if self.length > MAX_VALUE:
            raise ExpansionLimit(f"a value longer than {_size(MAX_VALUE)} once interpolated "
                                 "(octolint's limit)")  # fmt: skip
        self.pieces.append(piece)

    def text(self) -> str:
        """The result, charged to the budget (arguments a template then drops too)."""
        self.lookup.charge(self.length)
        return "".join(self.pieces)


@dataclass
class _Frame:
    """A region of the line being interpolated: the line itself, or the argument of
    a ``${VAR<op>argument}`` (``operator`` and ``name`` then say what to apply)."""

    text: _Text
    position: int
    end: int
    last_brace: int  # of the region: where compose-go's `(.*)}` would stop
    operator: str = ""
    name: str = ""
    resume: int = 0  # where the enclosing region goes on afterwards


def _line(line: str, lookup: _Lookup, result: _Text) -> None:
    """Add one line to ``result``, as compose-go's ReplaceAllStringFunc with its
    recursion would interpolate it."""
    if "$" not in line:
        result.add(line)
        return
    partners = _partners(line) if "${" in line else {}
    stack: list[_Frame] = []
    frame = _Frame(result, 0, len(line), line.rfind("}"))
    while True:
        dollar = line.find("$", frame.position, frame.end)
        if dollar < 0:
            frame.text.add(line[frame.position : frame.end])
            if not stack:
                return
            value = _apply(frame.operator, frame.name, frame.text.text(), lookup)
            resume, frame = frame.resume, stack.pop()
            frame.text.add(value)
            frame.position = resume
            continue
        frame.text.add(line[frame.position : dollar])
        child = _token(line, dollar, frame, partners, lookup)
        if child is not None:
            stack.append(frame)
            frame = child


def _token(
    line: str, dollar: int, frame: _Frame, partners: dict[int, int], lookup: _Lookup
) -> _Frame | None:
    """Handle the `$` at ``dollar``: a simple template is added to ``frame``; for
    ``${VAR<op>argument}`` the frame to interpolate the argument in is returned."""
    head = _HEAD.match(line, dollar, frame.end)
    if head is None:  # `$1`, `$ `, a `$` at the end: stays as it is
        frame.text.add("$")
        frame.position = dollar + 1
        return None
    name = head.group("named") or head.group("braced")
    frame.position = head.end()
    if head.group("escaped"):
        frame.text.add("$")
        return None
    if head.group("named") or (name and line.startswith("}", head.end(), frame.end)):
        frame.text.add(lookup(name))
        frame.position += 0 if head.group("named") else 1
        return None
    operator = _OPERATOR.match(line, head.end(), frame.end)
    if not name or operator is None or frame.last_brace < operator.end():
        raise InterpolationError("invalid interpolation format: '${'")
    # the template ends at the brace balancing its `{` if that comes before the last
    # one of the region, else at that last one; what follows is read on in this region
    closing = partners.get(dollar + 1, -1)
    end = closing if -1 < closing <= frame.last_brace else frame.last_brace
    return _Frame(_Text(lookup), operator.end(), end, line.rfind("}", operator.end(), end),
                  operator.group(), name, end + 1)  # fmt: skip


def _partners(line: str) -> dict[int, int]:
    """For each `{` right after a `$`, the `}` that balances it in compose-go's count
    (which skips the character after each `{`). One pass; the count from any `${`
    agrees with this one, since a `$` is never skipped or counted."""
    partners: dict[int, int] = {}
    opened: list[int] = []
    skip = -1
    for brace in _BRACES.finditer(line):
        index = brace.start()
        if index == skip:
            continue
        if brace.group() == "{":
            opened.append(index)
            skip = index + 1
        elif opened:
            start = opened.pop()
            if start and line[start - 1] == "$":
                partners[start] = index
    return partners


def _apply(operator: str, name: str, argument: str, lookup: _Lookup) -> str:
    """A braced template with an operator. Its fallback is what the file says for an
    unset variable, so unlike a bare ${VAR} the result counts as known."""
    value = lookup.variables.get(name)
    if operator in (":?", "?"):
        if value is None or (operator == ":?" and value == ""):
            raise InterpolationError(f"required variable {name} is missing a value: {argument}")
        return value
    return _ACTIONS[operator](value, argument)


_ACTIONS: dict[str, Callable[[str | None, str], str]] = {
    ":-": lambda value, default: value if value else default,
    "-": lambda value, default: default if value is None else value,
    ":+": lambda value, alt: alt if value else (value or ""),
    "+": lambda value, alt: alt if value is not None else "",
}
