"""The errors BuildKit's instruction parser raises for lines the line parser accepted.

``docker build`` parses a Dockerfile in two steps: the line parser
(octolint.dockerfile.parser) and then ``instructions.Parse`` in BuildKit's
``frontend/dockerfile/instructions``, which checks each instruction's
arguments and flags and fails the build on the first one it rejects:
``WORKDIR`` without a path, ``COPY`` with one argument, an unknown flag,
``ONBUILD FROM``, an unknown instruction... :func:`check` does the same, in
file order, with BuildKit's wording, so OCT100 fires where the build stops.

The reference is BuildKit v0.32.2 (Dockerfile frontend 1.26.0). What is
checked is what ``instructions.Parse`` checks; values that BuildKit only
reads while building a stage (mount options other than ``from``, variables)
are left to the build. Where BuildKit picks a "did you mean" suggestion by
Go's random map order between equally close names, we pick the first in
alphabetical order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from octolint.dockerfile.parser import (
    KNOWN_INSTRUCTIONS,
    Dockerfile,
    Instruction,
    _from_bytes,
    _go_lower,
    _go_strip,
    _heredoc_from_word,
    _kind,
    _LexError,
    _replace_bytes,
    go_quote,
)
from octolint.errors import DockerfileSyntaxError

# Flag kinds, as BuildKit's BFlags declares them per instruction.
_BOOL, _STRING, _STRINGS = "bool", "string", "strings"
_FLAGS: Mapping[str, Mapping[str, str]] = {
    "ADD": {"chown": _STRING, "chmod": _STRING, "link": _BOOL, "keep-git-dir": _BOOL,
            "checksum": _STRING, "unpack": _BOOL, "exclude": _STRINGS},
    "COPY": {"chown": _STRING, "from": _STRING, "chmod": _STRING, "link": _BOOL,
             "exclude": _STRINGS, "parents": _BOOL},
    "FROM": {"platform": _STRING},
    "RUN": {"device": _STRINGS, "mount": _STRINGS, "network": _STRING, "security": _STRING},
    "HEALTHCHECK": {"interval": _STRING, "timeout": _STRING, "start-period": _STRING,
                    "start-interval": _STRING, "retries": _STRING},
}  # fmt: skip
_STAGE_NAME = re.compile(r"[a-z][a-z0-9_.-]*")
_NETWORKS = ("default", "none", "host")
_SECURITY = ("insecure", "sandbox")
# time.ParseDuration's units, in nanoseconds.
_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6,
          "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}  # fmt: skip
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


class _Rejected(Exception):
    """BuildKit's error for one instruction; the caller adds the line."""


def check(dockerfile: Dockerfile) -> None:
    """Raise DockerfileSyntaxError where BuildKit's instructions.Parse fails the build."""
    seen_from = False
    for instruction in dockerfile.instructions:
        try:
            check_instruction(instruction)
        except _Rejected as error:
            message = _replace_bytes(str(error))  # a flag may hold bytes that are not UTF-8
            raise DockerfileSyntaxError(message, instruction.start_line) from None
        kind = _kind(instruction.keyword)
        seen_from = seen_from or kind == "FROM"
        if not seen_from and kind != "ARG":
            raise DockerfileSyntaxError(
                "no build stage in current context: "
                f"{instruction.keyword} comes before the first FROM, and only ARG may",
                instruction.start_line,
            )
    if dockerfile.instructions and not seen_from:
        raise DockerfileSyntaxError(
            "dockerfile contains no stages to build: there is no FROM",
            dockerfile.instructions[0].start_line,
        )


def check_instruction(instruction: Instruction) -> None:
    """Raise _Rejected with BuildKit's message when ParseInstruction rejects this one."""
    kind = _kind(instruction.keyword)
    if not kind:
        raise _Rejected(_unknown_instruction(instruction.keyword))
    _CHECKS[kind](instruction, list(instruction.value))


# -- one function per instruction, in BuildKit's order of checks -------------------


def _env_or_label(instruction: Instruction, args: list[str]) -> None:
    name = _kind(instruction.keyword)
    _parse_flags(instruction, {})
    if not args:
        raise _Rejected(f"{name} requires at least one argument")
    if any(not key for key in args[::2]):  # our values are (key, value) pairs
        raise _Rejected(f"{name} names can not be blank")


def _exactly_one(instruction: Instruction, args: list[str]) -> None:
    name = _kind(instruction.keyword)
    if len(args) != 1:
        raise _Rejected(f"{name} requires exactly one argument")
    if name != "STOPSIGNAL":  # BuildKit never parses STOPSIGNAL's flags
        _parse_flags(instruction, {})


def _at_least_one(instruction: Instruction, args: list[str]) -> None:
    name = _kind(instruction.keyword)
    if not args:
        raise _Rejected(f"{name} requires at least one argument")
    _parse_flags(instruction, {})
    if name == "VOLUME" and any(not _go_strip(volume) for volume in args):
        raise _Rejected("VOLUME specified can not be an empty string")


def _add_or_copy(instruction: Instruction, args: list[str]) -> None:
    name = _kind(instruction.keyword)
    if len(args) < 2:
        raise _Rejected(
            f"{name} requires at least two arguments, but only one was provided. "
            "Destination could not be determined"
        )
    _parse_flags(instruction, _FLAGS[name])
    if _is_heredoc(args[-1]):
        raise _Rejected(f"{name} cannot accept a heredoc as a destination")


def _from(instruction: Instruction, args: list[str]) -> None:
    if len(args) == 3 and args[1].casefold() == "as":
        if not _STAGE_NAME.fullmatch(_go_lower(args[2])):
            raise _Rejected(
                f"invalid name for build stage: {go_quote(args[2])}, "
                "name can't start with a number or contain symbols"
            )
    elif len(args) != 1:
        raise _Rejected("FROM requires either one or three arguments")
    _parse_flags(instruction, _FLAGS["FROM"])


def _onbuild(instruction: Instruction, args: list[str]) -> None:
    sub = instruction.sub
    if sub is None:
        raise _Rejected("ONBUILD requires at least one argument")
    _parse_flags(instruction, {})
    # The trigger itself is only parsed when a child image builds FROM this one.
    trigger = _go_upper(_go_strip(sub.keyword))
    if trigger == "ONBUILD":
        raise _Rejected("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise _Rejected(f"{trigger} isn't allowed as an ONBUILD trigger")


def _run(instruction: Instruction, args: list[str]) -> None:
    used = _parse_flags(instruction, _FLAGS["RUN"])
    for device in used.get("device", []):
        _check_device(device)
    for mount in used.get("mount", []):
        _check_mount(mount)
    network = used.get("network", ["default"])[-1]
    if network not in _NETWORKS:
        raise _Rejected(f"invalid network mode {go_quote(_text(network))}")
    security = used.get("security", ["sandbox"])[-1]
    if security not in _SECURITY:
        raise _Rejected(f"security {go_quote(_text(security))} is not valid")


def _flags_only(instruction: Instruction, args: list[str]) -> None:
    _parse_flags(instruction, {})


def _healthcheck(instruction: Instruction, args: list[str]) -> None:
    if not args:
        raise _Rejected("HEALTHCHECK requires at least one argument")
    kind = _go_upper(args[0])
    if kind == "NONE":  # BuildKit parses no flags here
        if len(args) > 1:
            raise _Rejected("HEALTHCHECK NONE takes no arguments")
        return
    used = _parse_flags(instruction, _FLAGS["HEALTHCHECK"])
    if kind != "CMD":
        raise _Rejected(f"Unknown type {go_quote(kind)} in HEALTHCHECK (try CMD)")
    if len(args) == 1:
        raise _Rejected("Missing command after HEALTHCHECK CMD")
    for name in ("interval", "timeout", "start-period", "start-interval"):
        if name in used:
            _check_interval(name, used[name][-1])
    if "retries" in used:
        _check_retries(used["retries"][-1])


def _arg(instruction: Instruction, args: list[str]) -> None:
    if not args:
        raise _Rejected("ARG requires at least one argument")
    if any("=" in arg and not arg.partition("=")[0] for arg in args):
        raise _Rejected("ARG names can not be blank")


def _shell(instruction: Instruction, args: list[str]) -> None:
    _parse_flags(instruction, {})
    if not args:
        raise _Rejected("SHELL requires at least one argument")
    if not instruction.is_json:
        raise _Rejected("SHELL requires the arguments to be in JSON form")


_CHECKS = {
    "ENV": _env_or_label, "LABEL": _env_or_label, "MAINTAINER": _exactly_one,
    "WORKDIR": _exactly_one, "USER": _exactly_one, "STOPSIGNAL": _exactly_one,
    "EXPOSE": _at_least_one, "VOLUME": _at_least_one, "ADD": _add_or_copy,
    "COPY": _add_or_copy, "FROM": _from, "ONBUILD": _onbuild, "RUN": _run,
    "CMD": _flags_only, "ENTRYPOINT": _flags_only, "HEALTHCHECK": _healthcheck,
    "ARG": _arg, "SHELL": _shell,
}  # fmt: skip
assert set(_CHECKS) == KNOWN_INSTRUCTIONS


# -- BuildKit's helpers ------------------------------------------------------------------


def _parse_flags(instruction: Instruction, allowed: Mapping[str, str]) -> dict[str, list[str]]:
    """BFlags.Parse: each flag's values, or _Rejected as BuildKit words it."""
    used: dict[str, list[str]] = {}
    for flag in instruction.flags:
        if flag == "--":
            break
        if not flag.startswith("--"):
            raise _Rejected(f"arg should start with -- : {_text(flag)}")
        # Values stay one character per byte (CSV columns count bytes); text for messages.
        written, has_value, value = flag.partition("=")
        name, shown = written[2:], _text(written)
        kind = allowed.get(name)
        if kind is None:
            raise _Rejected(_suggest(f"unknown flag: {shown}", _text(name), sorted(allowed), True))
        if name in used and kind != _STRINGS:
            raise _Rejected(f"duplicate flag specified: {shown}")
        if kind == _BOOL:
            if has_value and not value:
                raise _Rejected(f"missing a value on flag: {shown}")
            if _go_lower(value) not in ("true", "", "false"):
                raise _Rejected(f"expecting boolean value for flag {shown}, not: {_text(value)}")
        elif not has_value:
            raise _Rejected(f"missing a value on flag: {shown}")
        used.setdefault(name, []).append(value)
    return used


def _is_heredoc(word: str) -> bool:
    """MustParseHeredoc: a word the heredoc regexp and lexer accept as a marker."""
    try:
        return _heredoc_from_word(word) is not None
    except _LexError:
        return False


def _unknown_instruction(keyword: str) -> str:
    names = sorted(KNOWN_INSTRUCTIONS)
    return _suggest(f"unknown instruction: {keyword}", keyword, names, False)


def _suggest(message: str, value: str, options: Sequence[str], case_sensitive: bool) -> str:
    """util/suggest.WrapError: add the closest option within two edits, if any."""
    wanted = value if case_sensitive else _go_lower(value)
    best, best_distance = "", 3
    for option in options:
        candidate = option if case_sensitive else _go_lower(option)
        if candidate == wanted:
            return message
        distance = _levenshtein(wanted, candidate)
        if distance < best_distance:
            best, best_distance = candidate, distance
            if not case_sensitive:
                best = _match_case(candidate, value)
    return f"{message} (did you mean {best}?)" if best else message


def _match_case(option: str, original: str) -> str:
    if original == _go_lower(original):
        return option
    if original == _go_upper(original):
        return _go_upper(option)
    return option


def _levenshtein(a: str, b: str) -> int:
    if abs(len(a) - len(b)) >= 3:
        return 3  # too far to be suggested; also bounds the work on a long word
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _go_upper(text: str) -> str:
    """strings.ToUpper with Go's one-to-one mapping ("ß" stays, Python makes it "SS")."""
    if text.isascii():
        return text.upper()
    return "".join(ch.upper() if len(ch.upper()) == 1 else ch for ch in text)


def _check_interval(name: str, value: str) -> None:
    """parseOptInterval: a Go duration, zero or at least 1ms."""
    if not value:
        return
    nanoseconds = _go_duration(value)
    if nanoseconds != 0 and nanoseconds < 10**6:
        raise _Rejected(f"Interval {go_quote(name)} cannot be less than 1ms")


def _go_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds; _Rejected with Go's message."""
    invalid = _Rejected(f"time: invalid duration {_time_quote(text)}")
    pos, sign = 0, 1
    if text[:1] in ("-", "+"):
        pos, sign = 1, (-1 if text[0] == "-" else 1)
    if text[pos:] == "0":
        return 0
    if pos == len(text):
        raise invalid
    total = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        assert match is not None  # every part of the pattern may be empty
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not fraction:
            raise invalid
        if not unit:
            raise _Rejected(f"time: missing unit in duration {_time_quote(text)}")
        if unit not in _UNITS:
            quoted = _time_quote(unit)
            raise _Rejected(f"time: unknown unit {quoted} in duration {_time_quote(text)}")
        if len(whole.lstrip("0")) > 19:
            raise invalid  # overflows int64 whatever the unit (and int() has a digit limit)
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            digits = fraction[:20]  # Go stops adding digits once they no longer count
            total += int(digits) * scale // 10 ** len(digits)
        if total > 2**63:
            raise invalid
        pos = match.end()
    if sign > 0 and total == 2**63:
        raise invalid
    return sign * total


def _time_quote(text: str) -> str:
    """The time package's own quoting of a flag value (one character per byte):
    printable ASCII as is, every other byte as \\xNN."""
    out = ['"']
    for ch in text:
        if " " <= ch <= "\x7f":
            out.append("\\" + ch if ch in '"\\' else ch)
        else:
            out.append(f"\\x{ord(ch) & 0xFF:02x}")
    out.append('"')
    return "".join(out)


def _text(flag: str) -> str:
    """A flag value (one character per byte, see parser.split_command) as text."""
    return _from_bytes(flag)


def _check_retries(value: str) -> None:
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise _Rejected(f"strconv.ParseInt: parsing {go_quote(_text(value))}: invalid syntax")
    digits = value.lstrip("+-").lstrip("0")
    retries = int(value) if len(digits) <= 12 else 2**40  # int() refuses very long text
    if not -(2**31) <= retries < 2**31:
        raise _Rejected(f"strconv.ParseInt: parsing {go_quote(value)}: value out of range")
    if retries < 0:
        raise _Rejected(f"--retries cannot be negative ({retries})")


def _check_device(value: str) -> None:
    """ParseDevice: a name and ``required``, as comma-separated fields."""
    name = ""
    for field in _csv_fields(value, "devices"):
        key, has_value, setting = field.partition("=")
        key = _go_lower(key)
        if not has_value:
            if key == "required":
                continue
            if name:
                raise _Rejected(f"invalid field '{_text(field)}' must be a key=value pair")
            name = field
        elif key == "name":
            if name:
                raise _Rejected(f"device name already set to {_text(name)}")
            name = setting
        elif key == "required":
            if setting not in ("1", "t", "T", "TRUE", "true", "True",
                               "0", "f", "F", "FALSE", "false", "False"):  # fmt: skip
                raise _Rejected(f"invalid value for {key}: {_text(setting)}")
        elif not name:
            name = field
        else:
            message = f"unexpected key '{_text(key)}' in '{_text(field)}'"
            raise _Rejected(_suggest(message, _text(key), ["name", "required"], True))


def _check_mount(value: str) -> None:
    """parseMount without variables: only the CSV and ``from`` are read before the build."""
    for field in _csv_fields(value, "mounts"):
        key, has_value, setting = field.partition("=")
        if has_value and _go_lower(key) == "from":
            dollar = setting.find("$")
            if dollar != -1 and dollar != len(setting) - 1:
                raise _Rejected(
                    "'from' doesn't support variable expansion, define alias stage instead"
                )


def _csv_fields(value: str, what: str) -> list[str]:
    """go-csvvalue's Fields: one CSV record, with encoding/csv's errors (byte columns;
    flag values hold one character per byte)."""
    if not value:
        raise _Rejected(f"failed to parse csv {what}: EOF")
    fields: list[str] = []
    pos, n = 0, len(value)
    while True:
        if pos >= n or value[pos] != '"':
            comma = value.find(",", pos)
            stop = n if comma < 0 else comma
            quote = value.find('"', pos, stop)
            if quote >= 0:
                raise _csv_error(what, quote, 'bare " in non-quoted-field')
            fields.append(value[pos:stop])
            if comma < 0:
                return fields
            pos = comma + 1
            continue
        field, pos = _quoted_field(value, pos + 1, what)
        fields.append(field)
        if pos >= n:
            return fields
        pos += 1  # the comma after the closing quote


def _quoted_field(value: str, pos: int, what: str) -> tuple[str, int]:
    """A quoted field from after its opening quote: its text and where it ended."""
    parts: list[str] = []
    while True:
        quote = value.find('"', pos)
        if quote < 0:
            raise _csv_error(what, pos, 'extraneous or missing " in quoted-field')
        parts.append(value[pos:quote])
        pos = quote + 1
        if value.startswith('"', pos):
            parts.append('"')
            pos += 1
        elif pos >= len(value) or value[pos] == ",":
            return "".join(parts), pos
        else:
            raise _csv_error(what, pos - 1, 'extraneous or missing " in quoted-field')


def _csv_error(what: str, offset: int, reason: str) -> _Rejected:
    return _Rejected(
        f"failed to parse csv {what}: parse error on line 1, column {offset + 1}: {reason}"
    )
