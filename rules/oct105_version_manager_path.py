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
from collections.abc import Iterator

from octolint.dockerfile.shell import commands, program, run_script
from octolint.knowledge.version_managers import MANAGERS
from octolint.plugin import Build, DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT105"
NAME = "version-manager-path"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "A version manager (nvm, pyenv, ...) is used but its bin directory is not in ENV PATH."
_NVM = next(m for m in MANAGERS if m.name == "nvm")  # the most common, for the hint
HINT = f'Add e.g. ENV PATH="{_NVM.example}:$PATH".'
SARIF_SCORE = SarifScore("5.0", "high")  # steps using version-managed tools fail


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


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    build = target.build
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
