"""The build graph of a Dockerfile: stages, their bases, and what the final image gets.

Rules ask questions of a :class:`Build` rather than walking instructions
themselves, so that stage aliases, ARG defaults, ``--target``, ONBUILD and
"a later instruction overrides an earlier one" are handled once, here.
"""

from __future__ import annotations

import re
import shlex
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar, cast

from octolint.dockerfile.expand import Variables, expand, expand_or_raw, referenced
from octolint.dockerfile.parser import Dockerfile, Instruction
from octolint.errors import DockerfileSyntaxError, UnknownStageError
from octolint.imageref import ImageRef, parse_image_ref

# Instructions that never apply to the image being built (ONBUILD runs in children).
_NOT_APPLIED = frozenset({"ONBUILD"})


# eq=False: a stage is itself, not its fields. Field-wise equality made every
# membership test compare instructions and walk parents (5,000 chained stages took
# 88 s in lineage()), and identity makes stages hashable, so they can go in sets.
@dataclass(eq=False)
class Stage:
    index: int
    from_instruction: Instruction
    base_written: str  # the FROM argument as written, e.g. "${BASE}:latest"
    base: str | None  # after ARG expansion; None when it cannot be known
    # after ARG expansion, unknown variables left as written: "runtime:7.0-alpine-${P}"
    base_partial: str = ""
    alias: str | None = None  # lower-cased, as Docker compares stage names
    parent: Stage | None = None  # the stage this one is built FROM, if any
    instructions: list[Instruction] = field(default_factory=list)
    # Global ARGs (before the first FROM): a stage sees one only when it
    # re-declares it with a bare ``ARG NAME``. One dict shared by every stage and
    # only read: a copy per stage made many ARGs times many FROMs quadratic.
    global_args: dict[str, str | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.alias or str(self.index)

    def applied(self) -> Iterator[Instruction]:
        """Instructions that take effect in this stage's image (not ONBUILD)."""
        return (i for i in self.instructions if i.name not in _NOT_APPLIED)


@dataclass
class Build:
    """A parsed Dockerfile seen as a build: stages, final stage and resolved values."""

    dockerfile: Dockerfile
    stages: list[Stage]
    final: Stage
    global_args: dict[str, str | None]
    build_args: dict[str, str] = field(default_factory=dict)
    # env() and path_entries() walk every ENV of the lineage; several rules ask for
    # them, so they are worked out once (and charged to the expansion budget once).
    _env: dict[str, str | None] | None = field(default=None, init=False, repr=False)
    _path: list[str] | None = field(default=None, init=False, repr=False)

    def lineage(self, stage: Stage | None = None) -> list[Stage]:
        """The stage and the stages it is built FROM, root first."""
        chain: list[Stage] = []
        seen: set[Stage] = set()  # by identity: linear however long the chain
        current: Stage | None = stage or self.final
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = current.parent
        chain.reverse()
        return chain

    def external_base(self, stage: Stage | None = None) -> Stage:
        """The lineage's root: the stage whose FROM names an image, not a stage."""
        return self.lineage(stage)[0]

    def base_image(self) -> tuple[Stage, ImageRef] | None:
        """The image the final stage ultimately builds on, or None when it is not known.

        Aliases are followed (``FROM build``); ARG defaults and --build-arg
        values are expanded. When a variable stays unknown in the tag only, the
        reference keeps it as written (``node:20-${VARIANT}``), so the known part of
        the tag can still decide; an unknown name (``${BASE}``) gives None.
        """
        root = self.external_base()
        if root.parent is not None:
            return None
        ref = parse_image_ref(root.base) if root.base is not None else _partial_ref(root)
        return (root, ref) if ref else None

    def inherited_note(self, stage: Stage) -> str:
        """' (inherited from stage X)' when stage is not the final one, else ''."""
        return "" if stage is self.final else f" (inherited from stage '{stage.label}')"

    def final_instructions(self) -> Iterator[tuple[Stage, Instruction]]:
        """Every applied instruction that shapes the final image, in build order."""
        for stage in self.lineage():
            for instruction in stage.applied():
                yield stage, instruction

    def last_setting(self, name: str) -> tuple[Stage, Instruction] | None:
        """The CMD or ENTRYPOINT in force in the final image, or None.

        An empty exec form (``CMD []``, ``ENTRYPOINT [""]``) is a reset. Setting ENTRYPOINT also
        clears a CMD inherited from an earlier stage, as ``docker build`` does.
        """
        current: tuple[Stage, Instruction] | None = None
        for stage in self.lineage():
            cmd_set_here = False
            for instruction in stage.applied():
                if instruction.name == name:
                    current = None if is_reset(instruction) else (stage, instruction)
                if instruction.name == "CMD":
                    cmd_set_here = True
                elif name == "CMD" and instruction.name == "ENTRYPOINT" and not cmd_set_here:
                    current = None
        return current

    def sets(self, name: str) -> bool:
        """Whether the final lineage has any applied ``name`` instruction, a reset included
        (so that a setting of the base image is replaced or cleared)."""
        return any(i.name == name for _stage, i in self.final_instructions())

    def env(self) -> dict[str, str | None]:
        """ENV of the final image; a value is None when it cannot be known."""
        if self._env is None:
            values: dict[str, str | None] = {}
            for _instruction, pairs, scope in self._env_instructions():
                values.update(_assigned(pairs, values, scope, expand))
            self._env = values
        return dict(self._env)

    def resolved_path(self, base: Mapping[str, str] | None = None) -> ResolvedPath:
        """The directories on the final image's PATH that are certain to be there.

        ``base`` is the base image's known ENV (its PATH included). Each entry of
        each ``ENV PATH`` counts only when every variable in it resolves (an ARG or
        ENV in scope, or ``base``): ``$NVM_DIR/versions/node/v$NODE_VERSION/bin``
        with no NODE_VERSION is not a directory anyone can rely on. An ARG declared
        without a default is a build parameter: it is in scope, and stays written
        as it is (``v${NODE_VERSION}``). ``$PATH`` itself stands for what was on
        PATH before; an ``ENV PATH`` without it replaces what was there (when every
        entry resolves: an unknown ``$X`` may hold the old PATH). Order relative to
        RUN does not matter to the callers, who ask whether a directory is reachable
        at all.
        """
        values: dict[str, str | None] = dict(base or {})
        entries = [normalise_dir(e) for e in (values.get("PATH") or "").split(":") if e]
        unresolved: list[str] = []
        # ENV (or ARG) set from a variable nobody defined (ENV GOPATH=$HOME/go): docker
        # made it empty there, so it is no better than the undefined variable itself.
        tainted: set[str] = set()
        for instruction, scope in self._scoped():
            variables = _overlay(values, scope)
            if instruction.name == "ARG":
                self._taint_args(instruction, variables, tainted)
                continue
            if instruction.name != "ENV":
                continue
            # the pairs of one ENV all see the variables as they were before it
            before, updates = set(tainted), {}
            for key, raw in _env_pairs(instruction):
                if key == "PATH":
                    parts = [p for p in raw.split(":") if p]
                    if not any(_SELF_PATH.match(p) for p in parts) and all(
                        _in_scope(p, variables, before) for p in parts
                    ):
                        entries, unresolved = [], []  # ENV PATH=/usr/bin:/bin: the rest goes
                    for part in (p for p in parts if not _SELF_PATH.match(p)):
                        text = normalise_dir(expand_or_raw(part, variables))
                        known = _in_scope(part, variables, before)
                        (entries if known else unresolved).append(text)
                elif _in_scope(raw, variables, before):
                    tainted.discard(key)
                else:
                    tainted.add(key)
                updates[key] = expand(raw, variables)
            values.update(updates)
        return ResolvedPath(entries, unresolved, values)

    def _taint_args(
        self, instruction: Instruction, variables: Variables, tainted: set[str]
    ) -> None:
        """Mark the ARGs whose default needs a variable nobody defined (a --build-arg
        value, no default or a default that resolves clears the mark)."""
        for word in instruction.value:
            name, has_default, default = word.partition("=")
            given = name in self.build_args or not has_default
            if given or _in_scope(_unquote(default), variables, tainted, name):
                tainted.discard(name)
            else:
                tainted.add(name)

    def env_values(self, key: str) -> list[tuple[Instruction, str]]:
        """Every ENV assignment of key in the final lineage, unknown variables left as written."""
        found: list[tuple[Instruction, str]] = []
        values: dict[str, str | None] = {}
        for instruction, pairs, scope in self._env_instructions():
            updates = _assigned(pairs, values, scope, expand_or_raw)
            found += [(instruction, text) for name, text in updates if name == key]
            values.update(updates)
        return found

    def path_entries(self) -> list[str]:
        """Every directory any ENV PATH of the final lineage names (each once), variables
        expanded where known; order of ENV relative to RUN does not matter to the callers."""
        if self._path is None:
            # Each entry once: ENV PATH=/x:$PATH repeated names /x thousands of times.
            written = dict.fromkeys(
                entry for _i, value in self.env_values("PATH") for entry in value.split(":")
            )
            self._path = list(dict.fromkeys(normalise_dir(e) for e in written if e))
        return list(self._path)

    def variables(self, base: Mapping[str, str] | None = None) -> dict[str, str | None]:
        """Every ARG and ENV of the final lineage as a RUN would see it at the end of its
        stage (ENV over ARG, later over earlier), over ``base`` (the base image's ENV).
        A declared ARG without a value is present, with None."""
        values: dict[str, str | None] = dict(base or {})
        scopes: dict[int, Variables] = {}  # each stage's ARG scope once, in build order
        for instruction, scope in self._scoped():
            scopes.setdefault(id(scope), scope)
            if instruction.name == "ENV":
                values.update(_assigned(_env_pairs(instruction), values, scope, expand))
        args: dict[str, str | None] = {}
        for scope in scopes.values():
            args.update(scope)
        return {**args, **values}

    def user(self) -> str | None:
        """The USER in force at the end of the final lineage (None: never set, root),
        its ARG or ENV expanded where known (``USER ${USERNAME}``)."""
        users = [i for _stage, i in self.final_instructions() if i.name == "USER" and i.value]
        if not users:
            return None
        written = users[-1].value[0]
        if "$" in written:
            written = expand_or_raw(written, self.variables())
        return written.split(":", 1)[0]

    def home(self) -> str | None:
        """$HOME of the final USER as a shell in the container sees it (useradd's default
        /home/NAME), or None when it cannot be told (a numeric or variable USER)."""
        user = self.user()
        if user in (None, "root", "0"):
            return "/root"
        return f"/home/{user}" if user and _USER_NAME.fullmatch(user) else None

    def _scoped(self) -> Iterator[tuple[Instruction, Variables]]:
        """Each applied instruction of the final lineage with the ARGs in scope there."""
        for stage in self.lineage():
            scope: dict[str, str | None] = {}
            for instruction in stage.applied():
                if instruction.name == "ARG":
                    scope.update(
                        _declared_args(instruction, scope, stage.global_args, self.build_args)
                    )
                yield instruction, scope

    def _env_instructions(self) -> Iterator[tuple[Instruction, list[tuple[str, str]], Variables]]:
        """(instruction, its (key, unquoted value) pairs, ARG scope) for each ENV, in build
        order. The pairs of one ENV all see the variables as they were before it, as in
        Docker: `ENV a=x b=$a` gives b the earlier a (a common way to leave a PATH
        entry empty)."""
        for instruction, scope in self._scoped():
            if instruction.name == "ENV":
                yield instruction, _env_pairs(instruction), scope


def _in_scope(text: str, variables: Variables, tainted: set[str], itself: str = "") -> bool:
    """Whether every variable ``text`` needs is defined (an ARG without a default is;
    ``ARG X=$X`` is X's own parameter, so ``itself`` counts whatever it was)."""
    return all(
        name in variables and (name not in tainted or name == itself)
        for name in referenced(text)
    )


_USER_NAME = re.compile(r"[a-z_][a-z0-9_.-]*")
_SELF_PATH = re.compile(r"^\$(?:PATH|\{PATH\})$")


@dataclass(frozen=True)
class ResolvedPath:
    """PATH as a Dockerfile leaves it: entries that surely resolve, entries that do not
    (variables with no value), and the ENV values known at the end of the build."""

    entries: list[str]
    unresolved: list[str]
    env: dict[str, str | None]


def _partial_ref(stage: Stage) -> ImageRef | None:
    """The stage's base with unknown variables in its tag kept as written; None when
    the name itself is not known."""
    text = stage.base_partial
    name, colon, tag = text.rpartition(":") if ":" in text.rsplit("/", 1)[-1] else (text, "", "")
    if not colon or "$" in name or "@" in text:
        return None
    ref = parse_image_ref(f"{name}:latest")
    return replace(ref, tag=tag) if ref else None


def _overlay(top: Variables, below: Variables) -> Variables:
    """``top`` over ``below``, without copying either: a copy per ARG or ENV would make
    a Dockerfile of many of them quadratic. ChainMap only reads the maps here."""
    return ChainMap(cast("dict[str, str | None]", top), cast("dict[str, str | None]", below))


_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def normalise_dir(path: str) -> str:
    """'/opt/x/bin/' -> '/opt/x/bin'; '${HOME}' -> '$HOME' for textual comparison."""
    path = path.strip().strip("'\"")
    if "${" in path:
        path = _BRACED.sub(r"$\1", path)
    return path.rstrip("/") or path


def is_reset(instruction: Instruction) -> bool:
    """``CMD []``, ``ENTRYPOINT []``, and ``ENTRYPOINT [""]``: Docker's engine runs an image
    whose Entrypoint is one empty string as if it had none (as ``--entrypoint ''``)."""
    if not instruction.is_json:
        return False
    empty_entrypoint = instruction.name == "ENTRYPOINT" and list(instruction.value) == [""]
    return not instruction.value or empty_entrypoint


def _pairs(instruction: Instruction) -> list[tuple[str, str]]:
    value = instruction.value
    return [(value[i], value[i + 1]) for i in range(0, len(value) - 1, 2)]


def _env_pairs(instruction: Instruction) -> list[tuple[str, str]]:
    """An ENV's (key, value) pairs, the values' shell quoting removed."""
    return [(key, _unquote(raw)) for key, raw in _pairs(instruction)]


_T = TypeVar("_T")


def _assigned(pairs: list[tuple[str, str]], values: dict[str, str | None], scope: Variables,
              how: Callable[[str, Variables], _T]) -> list[tuple[str, _T]]:  # fmt: skip
    """One ENV's pairs expanded by ``how``, all with the variables as they were before
    it (Docker: `ENV a=x b=$a` gives b the earlier a)."""
    variables = _overlay(values, scope)
    return [(key, how(raw, variables)) for key, raw in pairs]


def _unquote(word: str) -> str:
    """Remove shell quoting from an ENV/ARG value word (BuildKit keeps it in the node)."""
    if not any(c in word for c in "'\"\\"):
        return word
    try:
        parts = shlex.split(word, posix=True)
    except ValueError:
        return word
    return " ".join(parts)


def _declared_args(
    instruction: Instruction,
    scope: Variables,
    inherited: Variables,
    overrides: Mapping[str, str],
) -> dict[str, str | None]:
    """Values of the ARGs an instruction declares.

    ``--build-arg`` values win; then the written default; a bare ``ARG X``
    inside a stage takes the value of the global ARG X, if any.
    """
    declared: dict[str, str | None] = {}
    for word in instruction.value:
        name, has_default, default = word.partition("=")
        if name in overrides:
            declared[name] = overrides[name]
        elif has_default:
            declared[name] = expand(_unquote(default), _overlay(declared, scope))
        else:
            declared[name] = inherited.get(name)
    return declared


# BuildKit's automatic platform ARGs: defined in the global scope without an ARG line,
# so `FROM build-${TARGETARCH}` works (a stage still declares `ARG TARGETARCH` to use
# one). octolint lints for linux/amd64, where Octopus workers run execution
# containers; `--build-arg TARGETARCH=arm64` (and the others) lints another platform.
PLATFORM_ARGS = {
    "TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
    "TARGETVARIANT": "", "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux",
    "BUILDARCH": "amd64", "BUILDVARIANT": "",
}  # fmt: skip


def analyse(
    dockerfile: Dockerfile,
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
) -> Build:
    """Split a parsed Dockerfile into stages and resolve each stage's base."""
    build_args = dict(build_args or {})
    global_args: dict[str, str | None] = {
        name: build_args.get(name, default) for name, default in PLATFORM_ARGS.items()
    }
    stages: list[Stage] = []
    aliases: dict[str, Stage] = {}  # the first stage of each name (a lookup per FROM)
    for instruction in dockerfile.instructions:
        if instruction.name == "FROM":
            stage = _new_stage(instruction, stages, global_args, aliases)
            stages.append(stage)
            if stage.alias:
                aliases.setdefault(stage.alias, stage)
        elif not stages:
            _global_instruction(instruction, global_args, build_args)
        else:
            stages[-1].instructions.append(instruction)
    if not stages:
        first = dockerfile.instructions[0]
        raise DockerfileSyntaxError(
            "no FROM instruction: the Dockerfile builds no image", first.start_line
        )
    return Build(dockerfile, stages, _pick_final(stages, target), global_args, build_args)


def _global_instruction(
    instruction: Instruction, global_args: dict[str, str | None], build_args: Mapping[str, str]
) -> None:
    if instruction.name != "ARG":
        raise DockerfileSyntaxError(
            f"{instruction.name} before the first FROM: only ARG may come before FROM",
            instruction.start_line,
        )
    global_args.update(_declared_args(instruction, global_args, {}, build_args))


def _new_stage(
    instruction: Instruction,
    stages: list[Stage],
    global_args: dict[str, str | None],
    aliases: Mapping[str, Stage],
) -> Stage:
    words = list(instruction.value)
    if not words:
        raise DockerfileSyntaxError("FROM requires an image name", instruction.start_line)
    alias = None
    if len(words) == 3 and words[1].lower() == "as":
        alias = words[2].lower()
    elif len(words) != 1:
        raise DockerfileSyntaxError(
            "FROM takes an image and optionally 'AS name'", instruction.start_line
        )
    written = words[0]
    base = expand(written, global_args)
    partial = base if base is not None else expand_or_raw(written, global_args)
    parent = None
    if base is not None:
        parent = aliases.get(base.lower())
    return Stage(
        index=len(stages),
        from_instruction=instruction,
        base_written=written,
        base=base,
        base_partial=partial,
        alias=alias,
        parent=parent,
        global_args=global_args,  # complete once the first FROM is seen
    )


def _pick_final(stages: list[Stage], target: str | None) -> Stage:
    if target is None:
        return stages[-1]
    wanted = target.lower()
    for stage in stages:
        if stage.alias == wanted:
            return stage
    names = ", ".join(s.alias for s in stages if s.alias) or "none"
    raise UnknownStageError(target, names)
