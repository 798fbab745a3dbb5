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
`FROM` (heredoc bodies included) for a tool installed through a version
manager (`nvm install`, `pyenv install`, `sdk install`, `rbenv install`,
`asdf install`, the rustup and conda installers). Installing only the manager
itself is not a finding: nothing is missing yet. It fires when none of these
makes the tools reachable:

- an `ENV PATH` entry naming the manager's directory, in any order relative
  to the `RUN`, and not dropped by a later `ENV PATH` without `$PATH` (which
  replaces the whole PATH):

  | manager | covered by an ENV PATH entry like |
  |---|---|
  | nvm | `$NVM_DIR/versions/node/v20.11.1/bin`, `$NVM_DIR/current/bin` |
  | pyenv | `$PYENV_ROOT/shims` |
  | rbenv | `$HOME/.rbenv/shims` |
  | sdkman | `$SDKMAN_DIR/candidates/java/current/bin` |
  | asdf | `$HOME/.asdf/shims` |
  | rustup / cargo | `$CARGO_HOME/bin`, `/root/.cargo/bin` |
  | conda | `/opt/conda/bin` |

  or the same directory under the home the Dockerfile gives the manager
  (`CARGO_HOME=/usr/local/rust` and `/usr/local/rust/bin`, the conda
  installer's `-p` prefix).

  An entry counts only when every variable in it is in scope: an `ARG` or
  `ENV` of the Dockerfile, or the known `ENV` of a well-known base image.
  `$NVM_DIR/versions/node/v$NODE_VERSION/bin` with no `NODE_VERSION` is
  `/versions/node/v/bin`, which holds nothing; `$HOME` is not set by `ENV` in
  most images. nvm names its directories `vX.Y.Z`: `versions/node/v22/bin`
  never exists, and when the Dockerfile installs a known node version the
  entry must name that version. An entry still holding a `<placeholder>` counts
  for nothing;
- the base image already puts the manager on PATH (the dev container images
  put nvm and sdkman there, `rust` puts `/usr/local/cargo/bin`);
- a symlink into the manager's tree from a directory on PATH: the tools linked
  into `/usr/local/bin` (`ln -s $NVM_DIR/versions/node/v20.11.1/bin/node
  /usr/local/bin/`, or `update-alternatives --install /usr/bin/node node ...`),
  or the manager's bin directory linked to a directory an `ENV PATH` names
  (`ln -s $(dirname $(which node)) /usr/local/node` with `/usr/local/node` on
  PATH).

`ENV BASH_ENV` does not count: it only helps Bash script steps, not
PowerShell steps or tools Calamari starts directly.

Fails:

```dockerfile
FROM ubuntu:22.04
ENV NVM_DIR=/root/.nvm NODE_VERSION=20.11.1
RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\
 && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"
```

Fails:

```dockerfile
# NODE_VERSION is not defined: the ENV PATH entry is /root/.nvm/versions/node/v/bin
FROM ubuntu:22.04
ENV NVM_DIR=/root/.nvm
RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\
 && . "$NVM_DIR/nvm.sh" && nvm install --lts
ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"
```

Passes:

```dockerfile
# a devcontainers image already has $NVM_DIR/current/bin on PATH
FROM mcr.microsoft.com/devcontainers/javascript-node:20
RUN su node -c ". /usr/local/share/nvm/nvm.sh && nvm install 18"
```

Passes:

```dockerfile
FROM ubuntu:22.04
ENV NVM_DIR=/root/.nvm NODE_VERSION=20.11.1
RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\
 && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"
ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"
```

How to fix: add the `ENV PATH` the finding's hint shows. It is built from the
Dockerfile's own values (the manager's home, the version it installs); where
the Dockerfile does not say, the hint shows a `<placeholder>` that must be
replaced with the real value.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from octolint.dockerfile.expand import expand_or_raw
from octolint.dockerfile.parser import Instruction
from octolint.dockerfile.shell import program, run_script, segments
from octolint.dockerfile.stages import Build, Stage, normalise_dir
from octolint.knowledge.base_images import base_env
from octolint.knowledge.version_managers import (
    MANAGERS,
    NVM_VERSION_ENTRY,
    PLACEHOLDER,
    VersionManager,
    same_version,
)
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT105"
NAME = "version-manager-path"
SEVERITY = "error"
APPLIES_TO = "dockerfile"
SUMMARY = "A version manager (nvm, pyenv, ...) is used but its bin directory is not in ENV PATH."
_NVM = next(m for m in MANAGERS if m.name == "nvm")  # the most common, for the hint
HINT = f'Add e.g. ENV PATH="{_NVM.example}:$PATH", every variable in it defined.'
SARIF_SCORE = SarifScore("5.0", "high")  # steps using version-managed tools fail

Variables = Mapping[str, "str | None"]


@dataclass(frozen=True)
class _Run:
    stage: Stage
    instruction: Instruction
    script: str


@dataclass(frozen=True)
class _Scene:
    """What the rule needs to know about the build, computed once."""

    runs: list[_Run]
    entries: list[str]  # directories surely on PATH
    unresolved: list[str]  # ENV PATH entries with a variable that has no value
    variables: Variables  # ARG and ENV values (None: declared, value unknown)
    home: str  # $HOME of the final USER, or a placeholder


def _scene(build: Build) -> _Scene:
    base = build.base_image()
    env = base_env(base[1] if base else None)
    path = build.resolved_path(env)
    runs = [_Run(stage, i, run_script(i)) for stage, i in build.final_instructions()
            if i.name == "RUN"]  # fmt: skip
    entries = [e for e in path.entries if not PLACEHOLDER.search(e)]
    home = build.home() or f"<the home directory of USER {build.user()}>"
    return _Scene(runs, entries, path.unresolved, build.variables(env), home)


def _installed(manager: VersionManager, scene: _Scene) -> list[str] | None:
    """What RUNs install through the manager (versions, candidates; "" when the pattern
    captures nothing), or None when nothing is installed through it."""
    pattern = manager.installs or manager.used
    found = [m for run in scene.runs for m in pattern.finditer(run.script)]
    if not found:
        return None
    return [expand_or_raw(m.group(1) or "", scene.variables) if m.groups() else "" for m in found]


def _covered(manager: VersionManager, scene: _Scene, installed: list[str]) -> bool:
    # the versions installed, when all are known (an alias such as lts/* may be any)
    exact = installed if all(re.fullmatch(r"v?\d+(\.\d+)*", v) for v in installed) else []
    own = _own_bin_dir(manager, scene)
    for entry in scene.entries:
        if not manager.covers(entry):
            if own and own.fullmatch(entry):  # CARGO_HOME=/opt/rust: /opt/rust/bin
                return True
            continue
        named = NVM_VERSION_ENTRY.search(entry) if manager.name == "nvm" else None
        if named and not same_version(named.group(1), exact):
            continue  # a directory nvm never makes, or another version than installed
        return True
    return False


def _own_bin_dir(manager: VersionManager, scene: _Scene) -> re.Pattern[str] | None:
    """The manager's bin directory under the home this Dockerfile gives it (its ENV or
    ARG, the installer's prefix option), whatever that home is called."""
    if manager.name == "nvm":  # its layout is recognisable anywhere; versions are checked
        return None
    home = _manager_home(manager, scene)
    if "<" in home:
        return None
    template = re.escape(f"{home}/{manager.bin_dir}").replace(re.escape("{0}"), "[^/:]+")
    return re.compile(template)


_LINK_OPTIONS = re.compile(r"^-")
_WHICH = re.compile(
    r"\$\((?:which|command\s+-v)\s+([\w.+-]+)\)|`(?:which|command\s+-v)\s+([\w.+-]+)`"
)


def _linked(manager: VersionManager, scene: _Scene) -> bool:
    """Whether a RUN links the manager's tools (or its bin directory) into a directory
    on PATH, or links its directory where an ENV PATH entry points."""
    on_path = set(scene.entries)
    for run in scene.runs:
        for segment in segments(run.script, keep_pipelines=True):
            operands = _link_operands(segment)
            if len(operands) < 2:
                continue
            *sources, dest = (normalise_dir(expand_or_raw(o, scene.variables)) for o in operands)
            if not any(_points_into(manager, source) for source in sources):
                continue
            if dest in on_path or posixpath.dirname(dest) in on_path:
                return True
    return False


# A shell word: command substitutions ($(dirname $(which node)), `which node`) and
# quoted parts kept whole, one level of nesting.
_WORD = re.compile(
    r"(?:\$\((?:[^()]|\$\([^()]*\))*\)|`[^`]*`|\"[^\"]*\"|'[^']*'|[^\s\"'`$]|\$(?!\())+"
)


_LN = re.compile(r"(?:sudo\s+|command\s+)?(?:\S*/)?(?:ln|update-alternatives)\s")


def _link_operands(segment: str) -> list[str]:
    """The operands of an `ln` command (sources, then the destination), else []."""
    if not _LN.match(segment):
        return []
    found = [w.strip("'\"") for w in _WORD.findall(segment)]
    while found and (found[0] in ("sudo", "command") or "=" in found[0]):
        found.pop(0)
    if found and program(found[0]) == "update-alternatives" and "--install" in found:
        link, _name, path = [*found[found.index("--install") + 1 :], "", "", ""][:3]
        return [path, link]  # --install LINK NAME PATH PRIORITY: PATH reached at LINK
    if not found or program(found[0]) != "ln":
        return []
    return [w for w in found[1:] if not _LINK_OPTIONS.match(w)]


def _points_into(manager: VersionManager, source: str) -> bool:
    if manager.linked in source.lower():
        return True
    tools = {m.group(1) or m.group(2) for m in _WHICH.finditer(source)}
    return bool(tools & set(manager.tools))


def _hint_dirs(manager: VersionManager, scene: _Scene, installed: list[str]) -> str:
    """The directories to put on PATH (joined with ':'), from the Dockerfile's own
    values where it has them, else with a <placeholder> to replace."""
    home = _manager_home(manager, scene)
    if "{0}" not in manager.bin_dir:
        return f"{home}/{manager.bin_dir}"
    known = list(dict.fromkeys(v for v in installed if v and "$" not in v))
    if manager.name == "nvm":  # one version is enough: the first exact one
        known = [_node_version(next((v for v in known if _exact(v)), ""))]
    return ":".join(f"{home}/{manager.bin_dir.format(v)}" for v in known or ["<candidate>"])


def _exact(version: str) -> bool:
    return re.fullmatch(r"v?\d+\.\d+\.\d+", version) is not None


def _node_version(installed: str) -> str:
    if _exact(installed):
        return "v" + installed.lstrip("v")
    return "<the exact version nvm installed, e.g. v20.11.1>"


def _manager_home(manager: VersionManager, scene: _Scene) -> str:
    value = scene.variables.get(manager.home_var or "")
    if value and "$" not in value:
        return normalise_dir(value)
    if manager.prefix_flag:
        flags = (m.group(1) for r in scene.runs for m in manager.prefix_flag.finditer(r.script))
        flag = next(flags, None)
        if flag:
            return normalise_dir(expand_or_raw(flag, scene.variables))
    return manager.home if manager.home.startswith("/") else f"{scene.home}/{manager.home}"


def _why_not(manager: VersionManager, scene: _Scene, directory: str) -> str:
    """The end of the message: which ENV PATH entry looked right but reaches nothing."""
    near = [e for e in scene.unresolved if manager.covers(e)]
    if near:
        return (f"ENV PATH names {near[0]}, but a variable in it has no value there, so it "
                "reaches nothing")  # fmt: skip
    return f"no ENV PATH names {directory}"


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    scene = _scene(target.build)
    for manager in MANAGERS:
        first = next((run for run in scene.runs if manager.used.search(run.script)), None)
        installed = _installed(manager, scene)
        if first is None or installed is None:
            continue
        if _covered(manager, scene, installed) or _linked(manager, scene):
            continue
        directory = _hint_dirs(manager, scene, installed)
        placeholder = " (replace the <...> part with the real value)" if "<" in directory else ""
        yield problem_at(
            first.instruction,
            f"{manager.name} puts its tools on PATH only through shell start-up files, which "
            f"execution containers never read, and {_why_not(manager, scene, directory)}",
            first.stage,
            hint=f'Add ENV PATH="{directory}:$PATH" to the final stage{placeholder}.',
        )
