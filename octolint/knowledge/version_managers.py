"""Version managers (nvm, pyenv, rbenv, sdkman, asdf, rustup, conda): tools that put
their executables on PATH only through shell start-up files (``~/.bashrc``,
``~/.profile``), which Octopus's execution containers never read.

Source: Octopus's documentation, "If the tool you have installed relies on .bashrc
to modify the path (e.g. nvm) ... you will need to manually define the additional
directories in the $PATH variable in your Dockerfile using the ENV PATH directive"
(https://octopus.com/docs/projects/steps/execution-containers-for-workers); each
manager's install layout from its own documentation (nvm-sh/nvm, pyenv/pyenv,
rbenv/rbenv, sdkman.io, asdf-vm.com, rustup.rs, docs.conda.io).

One table, read two ways: OCT105 looks for a manager in a Dockerfile (``used``,
``covered``, ``linked``), OCT207 for its directories in an image (``homes``,
``bin_dirs``, ``prefixes``). OCT106 looks for PATH written into the start-up
files themselves (``STARTUP_FILE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The shell start-up files a version manager's installer edits (and a Dockerfile's
# `echo 'export PATH=...' >> ~/.bashrc` writes), named as a RUN script names them:
# bash reads them only for an interactive or login shell
# (https://www.gnu.org/software/bash/manual/html_node/Bash-Startup-Files.html),
# /etc/environment only pam_env at login; an execution container is neither. zsh
# likewise reads ~/.zshrc only when interactive (zsh's manual, "STARTUP/SHUTDOWN FILES").
STARTUP_FILE = re.compile(
    r"(?:~|\$HOME|\$\{HOME\}|/root|/home/[^/\s]+)/\.(?:bashrc|profile|bash_profile|zshrc|zprofile)\b"
    r"|/etc/profile(?:\.d/[^\s'\";&|]*)?|/etc/bash\.bashrc|/etc/environment"
)


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


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


def _after(marker: str, tail: str) -> tuple[Coverage, ...]:
    return (Coverage(_re(tail + "$"), _re(marker)),)


@dataclass(frozen=True)
class VersionManager:
    name: str
    # -- in a Dockerfile
    used: re.Pattern[str]  # in a RUN script: installs or uses the manager
    covered: tuple[Coverage, ...]  # ENV PATH entries that make its tools reachable
    linked: str  # what the source of a symlink into /usr/local/bin contains
    example: str  # the ENV PATH entry to suggest
    # -- in an image
    homes: tuple[str, ...]  # names of its directory, found anywhere (/root/.nvm, /usr/local/nvm)
    bin_dirs: tuple[str, ...]  # globs, under a home, of the directories holding its tools
    prefixes: tuple[str, ...] = ()  # absolute homes whose name alone would be too common
    # -- what a Dockerfile installs through it, and where that lands (OCT105's hint)
    # A RUN that installs a tool through the manager; group 1, when there is one, is
    # what it installs (nvm: the node version; sdkman: the candidate). None: using
    # the manager at all installs a tool (rustup's installer installs a toolchain).
    installs: re.Pattern[str] | None = None
    tools: tuple[str, ...] = ()  # the commands it provides: `$(which node)` points into it
    home_var: str | None = None  # the ENV its installer honours for its home
    home: str = ""  # its home when home_var is not set: under $HOME, or absolute
    bin_dir: str = ""  # under its home, where the tools are; {0}: what group 1 captured
    prefix_flag: re.Pattern[str] | None = None  # the installer's option naming its home

    def covers(self, entry: str) -> bool:
        return any(c.covers(entry) for c in self.covered)


# What OCT105's hint shows where the Dockerfile does not say what it installs: a
# placeholder that the user must replace. An ENV PATH entry that still holds one
# reaches nothing, and never counts as covering a manager.
PLACEHOLDER = re.compile(r"<[^<>]*>")


def same_version(entry: str, installed: list[str]) -> bool:
    """Whether a ``versions/node/<entry>`` directory can exist and be one that ``nvm
    install`` made: nvm names every directory ``vX.Y.Z`` (``v22`` never exists), and
    ``nvm install 20`` or ``nvm install v20.11.1`` makes a ``v20.*`` one. An ARG with
    no default (``v${NODE_VERSION}``) may be any; ``installed`` empty: any version."""
    if "$" in entry:
        return True
    if not NVM_VERSION_DIR.fullmatch(entry):
        return False
    found = entry.lstrip("v")
    wanted = [v.lstrip("v") for v in installed]
    return not wanted or any(found == w or found.startswith(w + ".") for w in wanted)


NVM_VERSION_ENTRY = re.compile(r"versions/node/([^/]+)/bin$")  # its version directory
NVM_VERSION_DIR = re.compile(r"v\d+\.\d+\.\d+")


def _dotted(name: str) -> tuple[str, str]:
    return name, f".{name}"


_CONDA_HOMES = tuple(f"{kind}{n}" for kind in ("miniconda", "anaconda", "miniforge")
                     for n in ("", *"0123456789"))  # fmt: skip

MANAGERS = (
    VersionManager(
        "nvm",
        # nvm itself, not a user or directory that happens to be called "nvm"
        _re(r"\bnvm\.sh\b|nvm-sh/nvm|creationix/nvm|\bNVM_DIR\b"
            r"|\bnvm\s+(?:install|use|alias|exec|run|ls|current|version|which)\b"),
        (
            Coverage(_re(r"versions/node/[^/]+/bin$")),
            *_after("nvm", r"/(current|default|node)/bin"),
        ),
        "nvm",
        "$NVM_DIR/versions/node/v$NODE_VERSION/bin",
        _dotted("nvm"),
        ("versions/node/*/bin",),
        installs=_re(r"\bnvm\s+install\b(?:\s+-\S+)*(?:\s+[\"']?([^\s;&|)'\"]*))?"),
        tools=("node", "npm", "npx", "yarn", "corepack"),
        home_var="NVM_DIR", home=".nvm", bin_dir="versions/node/{0}/bin",
    ),
    VersionManager(
        "pyenv",
        _re(r"\bpyenv\b"),
        _after("pyenv", r"/(shims|versions/[^/]+/bin)"),
        "pyenv",
        "$PYENV_ROOT/shims",
        _dotted("pyenv"),
        ("shims",),
        installs=_re(r"\bpyenv\s+install\b"),
        tools=("python", "python3", "pip", "pip3"),
        home_var="PYENV_ROOT", home=".pyenv", bin_dir="shims",
    ),
    VersionManager(
        "rbenv",
        _re(r"\brbenv\b"),
        _after("rbenv", r"/(shims|versions/[^/]+/bin)"),
        "rbenv",
        "$HOME/.rbenv/shims",
        _dotted("rbenv"),
        ("shims",),
        installs=_re(r"\brbenv\s+install\b"),
        tools=("ruby", "gem", "bundle", "bundler"),
        home_var="RBENV_ROOT", home=".rbenv", bin_dir="shims",
    ),
    VersionManager(
        "sdkman",
        _re(r"\bsdkman\b|get\.sdkman\.io|\bsdk\s+install\b"),
        # candidates/java/current/bin, candidates/java/21.0.2-tem/bin: one or two levels
        _after("sdkman", r"/candidates/[^/]+(/[^/]+)?/bin"),
        "sdkman",
        "$SDKMAN_DIR/candidates/java/current/bin",
        _dotted("sdkman"),
        ("candidates/*/current/bin",),
        installs=_re(r"\bsdk\s+install\s+([a-z0-9]+)"),
        tools=("java", "javac", "mvn", "gradle", "kotlin", "scala", "sbt"),
        home_var="SDKMAN_DIR", home=".sdkman", bin_dir="candidates/{0}/current/bin",
    ),
    VersionManager(
        "asdf",
        _re(r"\basdf\b"),
        _after("asdf", r"/shims"),
        "asdf",
        "$HOME/.asdf/shims",
        _dotted("asdf"),
        ("shims",),
        installs=_re(r"\basdf\s+install\b"),
        home_var="ASDF_DATA_DIR", home=".asdf", bin_dir="shims",
    ),
    VersionManager(
        "rustup",
        _re(r"\brustup\b|sh\.rustup\.rs|\.cargo/env\b"),
        _after("cargo", r"/bin"),
        "cargo",
        "$CARGO_HOME/bin",
        (".cargo",),
        ("bin",),
        tools=("cargo", "rustc", "rustup"),
        home_var="CARGO_HOME", home=".cargo", bin_dir="bin",
    ),
    VersionManager(
        "conda",
        _re(r"\bconda\s+init\b|\b(mini|ana)conda\d?\b|\bminiforge\d?\b|\bmambaforge\b"),
        _after(r"conda|miniforge|mambaforge", r"/bin"),
        "conda",
        "/opt/conda/bin",
        _CONDA_HOMES,
        ("bin",),
        ("/opt/conda",),  # a plain "conda" directory counts only here
        tools=("conda", "python", "pip"),
        home="miniconda3", bin_dir="bin", prefix_flag=_re(r"\s-p\s+([^\s;&|]+)"),
    ),
)
