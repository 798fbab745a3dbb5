"""OCT105 version-manager-path: tools installed with nvm (and similar) are not on PATH.

Version managers such as nvm, pyenv, rbenv, sdkman, asdf, rustup and conda
make their tools reachable by editing shell start-up files (`~/.bashrc`,
`~/.profile`). Octopus runs execution containers non-interactively, so those
files are never read and `node`, `python` or `cargo` are simply not found.
Octopus's documentation: "If the tool you have installed relies on .bashrc
to modify the path (e.g. nvm) ... you will need to manually define the
additional directories in the $PATH variable in your Dockerfile using the
ENV PATH directive."

The rule looks at every `RUN` of the final stage and the stages it is built
`FROM` (heredoc bodies included) for a version manager being installed or
used, and at every `ENV PATH` of those stages (in any order relative to the
`RUN`, with variables expanded where their value is known). It fires when no
`ENV PATH` entry covers the manager's directory:

| manager | covered by an ENV PATH entry like |
|---|---|
| nvm | `$NVM_DIR/versions/node/v20.11.1/bin`, `$NVM_DIR/current/bin` |
| pyenv | `$PYENV_ROOT/shims` |
| rbenv | `$HOME/.rbenv/shims` |
| sdkman | `$SDKMAN_DIR/candidates/java/current/bin` |
| asdf | `$HOME/.asdf/shims` |
| rustup / cargo | `$CARGO_HOME/bin`, `/root/.cargo/bin` |
| conda | `/opt/conda/bin` |

Linking the tools into `/usr/local/bin` (`ln -s .../bin/node /usr/local/bin/`)
also counts. `ENV BASH_ENV` does not: it only helps Bash script steps, not
PowerShell steps or tools Calamari starts directly.

Fails:

```dockerfile
FROM ubuntu:22.04
ENV NVM_DIR=/root/.nvm NODE_VERSION=20.11.1
RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\
 && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"
```

Passes:

```dockerfile
FROM ubuntu:22.04
ENV NVM_DIR=/root/.nvm NODE_VERSION=20.11.1
RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\
 && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"
ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"
```

How to fix: add an `ENV PATH` naming the manager's bin or shims directory,
as in the table above.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from octolint.dockerfile.shell import commands, program, run_script
from octolint.plugin import Build, DockerfileTarget, Problem, problem_at

ID = "OCT105"
NAME = "version-manager-path"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "A version manager (nvm, pyenv, ...) is used but its bin directory is not in ENV PATH."
HINT = 'Add e.g. ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH".'


@dataclass(frozen=True)
class Coverage:
    """A PATH entry ending in ``tail`` with ``marker`` somewhere before the tail.

    Two searches instead of one ``marker[^:]*tail$`` pattern: that one backtracked
    over the rest of the entry from every marker, quadratic in a long entry such
    as ``nvmnvmnvm...``. The tail has no unbounded run across ``/``, so each
    search is linear.
    """

    tail: re.Pattern[str]  # searched; must match up to the end of the entry
    marker: re.Pattern[str] | None = None

    def covers(self, entry: str) -> bool:
        tail = self.tail.search(entry)
        if tail is None:
            return False
        return self.marker is None or self.marker.search(entry, 0, tail.start()) is not None


@dataclass(frozen=True)
class Manager:
    name: str
    used: re.Pattern[str]  # in a RUN script: installs or uses the manager
    covered: tuple[Coverage, ...]  # PATH entries that make its tools reachable
    linked: str  # what a symlink source into /usr/local/bin contains
    example: str  # for the message

    def covers(self, entry: str) -> bool:
        return any(c.covers(entry) for c in self.covered)


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _after(marker: str, tail: str) -> tuple[Coverage, ...]:
    return (Coverage(_re(tail + "$"), _re(marker)),)


MANAGERS = (
    Manager(
        "nvm",
        _re(r"\bnvm(\.sh)?\b|nvm-sh/nvm|creationix/nvm|\bNVM_DIR\b"),
        (
            Coverage(_re(r"versions/node/[^/]+/bin$")),
            *_after("nvm", r"/(current|default|node)/bin"),
        ),
        "nvm",
        "$NVM_DIR/versions/node/v$NODE_VERSION/bin",
    ),
    Manager(
        "pyenv",
        _re(r"\bpyenv\b"),
        _after("pyenv", r"/(shims|versions/[^/]+/bin)"),
        "pyenv",
        "$PYENV_ROOT/shims",
    ),
    Manager(
        "rbenv",
        _re(r"\brbenv\b"),
        _after("rbenv", r"/(shims|versions/[^/]+/bin)"),
        "rbenv",
        "$HOME/.rbenv/shims",
    ),
    Manager(
        "sdkman",
        _re(r"\bsdkman\b|get\.sdkman\.io|\bsdk\s+install\b"),
        # candidates/java/current/bin, candidates/java/21.0.2-tem/bin: one or two levels
        _after("sdkman", r"/candidates/[^/]+(/[^/]+)?/bin"),
        "sdkman",
        "$SDKMAN_DIR/candidates/java/current/bin",
    ),
    Manager(
        "asdf",
        _re(r"\basdf\b"),
        _after("asdf", r"/shims"),
        "asdf",
        "$HOME/.asdf/shims",
    ),
    Manager(
        "rustup",
        _re(r"\brustup\b|sh\.rustup\.rs|\.cargo/env\b"),
        _after("cargo", r"/bin"),
        "cargo",
        "$CARGO_HOME/bin",
    ),
    Manager(
        "conda",
        _re(r"\bconda\s+init\b|\b(mini|ana)conda\d?\b|\bminiforge\d?\b|\bmambaforge\b"),
        _after(r"conda|miniforge|mambaforge", r"/bin"),
        "conda",
        "/opt/conda/bin",
    ),
)

# Where a symlink makes a tool reachable: /bin, /sbin, /usr/(local/)(s)bin and below.
_PATH_DIR = re.compile(r"/(?:usr/(?:local/)?)?s?bin\b")


def _linked_into_path(build: Build, marker: str) -> bool:
    """Whether some ``ln SOURCE... DIR`` of the final lineage links a tool whose
    source names marker into a directory on the default PATH.

    Commands are split into words first: one pattern over the whole script
    (``ln (-\\w+ )*(\\S+) (\\S+ )*/usr/bin``) backtracked quadratically on
    ``ln -a -a -a ...`` (180 KB took 191 s).
    """
    for _stage, instruction in build.final_instructions():
        if instruction.name == "RUN":
            for command in commands(run_script(instruction)):
                if _links(command, marker):
                    return True
    return False


def _links(command: list[str], marker: str) -> bool:
    if program(command[0]) != "ln":
        return False
    operands = [w for w in command[1:] if not w.startswith("-")]
    if len(operands) < 2 or marker not in operands[0].lower():
        return False
    return any(_PATH_DIR.match(w) for w in operands[1:])


def check(target: DockerfileTarget, options: Mapping[str, Any]) -> Iterator[Problem]:
    build = target.build
    if build is None:
        return
    entries = build.path_entries()
    reported: set[str] = set()
    for stage, instruction in build.final_instructions():
        if instruction.name != "RUN":
            continue
        script = run_script(instruction)
        for manager in MANAGERS:
            if manager.name in reported or not manager.used.search(script):
                continue
            reported.add(manager.name)
            if any(manager.covers(e) for e in entries):
                continue
            if _linked_into_path(build, manager.linked):
                continue
            yield problem_at(
                instruction,
                f"{manager.name} puts its tools on PATH only through shell start-up files, "
                "which execution containers never read, and no ENV PATH names "
                f"{manager.example}",
                stage,
                hint=f'Add ENV PATH="{manager.example}:$PATH" to the final stage.',
            )
