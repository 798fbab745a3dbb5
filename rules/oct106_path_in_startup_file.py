"""OCT106 path-in-startup-file: a RUN adds to PATH in a shell start-up file only.

Writing `export PATH=...` into `~/.bashrc`, `~/.profile`,
`~/.bash_profile`, `~/.zshrc`, `~/.zprofile`, `/etc/profile`,
`/etc/profile.d/*`, `/etc/bash.bashrc` or `/etc/environment` works in an
interactive shell, but Octopus runs execution containers non-interactively
and never reads those files: the directory is not on PATH when your step runs.

The rule looks at every `RUN` of the final stage and the stages it is built
`FROM`, finds PATH assignments written into a start-up file (with `>>`, `>`,
`tee` or `sed -i`; the text as the shell writes it, quotes and escapes
applied), and checks each directory they add against the `ENV PATH`s of those
stages and the PATH of a well-known base image, or the default one
(`/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`) of any other
(an `ENV PATH` without `$PATH` replaces what was there before; the pairs of one
`ENV` see the variables from before it, as in Docker). As for
OCT105, an `ENV PATH` entry counts only when every variable in it is in
scope (`ENV PATH=$HOME/.cargo/bin` does not cover `~/.cargo/bin`: `$HOME` is
not set by `ENV` in most images); `$HOME` in the start-up file is the final
`USER`'s home.

Fails:

```dockerfile
FROM ubuntu:22.04
RUN echo 'export PATH="/opt/tools/bin:$PATH"' >> /root/.bashrc
```

Fails:

```dockerfile
# $HOME is not set by ENV: this ENV PATH names /.cargo/bin
FROM ubuntu:22.04
RUN echo 'export PATH="$HOME/.cargo/bin:$PATH"' >> ~/.zshrc
ENV PATH="$HOME/.cargo/bin:$PATH"
```

Passes:

```dockerfile
FROM ubuntu:22.04
RUN echo 'export PATH="/opt/tools/bin:$PATH"' >> /root/.bashrc
ENV PATH="/opt/tools/bin:$PATH"
```

How to fix: add the same directory with `ENV PATH="/the/dir:$PATH"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octolint.dockerfile.expand import expand_or_raw
from octolint.dockerfile.shell import run_script, segments, unquoted
from octolint.dockerfile.stages import normalise_dir
from octolint.knowledge.base_images import base_env
from octolint.knowledge.version_managers import STARTUP_FILE
from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore, problem_at

ID = "OCT106"
NAME = "path-in-startup-file"
SEVERITY = "warning"
APPLIES_TO = "dockerfile"
SUMMARY = "A RUN adds a directory to PATH in ~/.bashrc or similar, which is never read."
HINT = 'Add the directory with ENV PATH="/the/dir:$PATH".'
SARIF_SCORE = SarifScore("5.0", "medium")  # PATH set only in a start-up file never read

_WRITES = re.compile(r">>?|\btee\b")
# ``sed ... -i`` within one command. Not one ``sed[^|;&]*\s-i`` pattern: that scans
# to the end of the command from every "sed", quadratic on ``sed sed sed ...``.
_COMMAND_BREAK = re.compile(r"[|;&]")
_SED = re.compile(r"\bsed\b")
_IN_PLACE = re.compile(r"\s-i")
# In the words as the shell passes them on: a backslash ends a value (`\$PATH`
# escaped for a later shell, printf's `\n`).
_PATH_VALUE = re.compile(r"\bPATH=([\"']?)([^\"'\s;&|>\\]*)")
_SELF = re.compile(r"^\\?\$(PATH|\{PATH\})$")


def added_dirs(segment: str) -> list[str]:
    """Directories a PATH assignment in this command adds (not $PATH itself)."""
    dirs: list[str] = []
    for match in _PATH_VALUE.finditer(segment):
        dirs += [d for d in match.group(2).split(":") if d and not _SELF.match(d)]
    return dirs


def _writes(segment: str) -> bool:
    """Whether the command writes a file: a redirection, tee, or sed -i."""
    if _WRITES.search(segment):
        return True
    for command in _COMMAND_BREAK.split(segment):
        sed = _SED.search(command)
        if sed and _IN_PLACE.search(command, sed.end()):
            return True
    return False


def _shown(written: str, resolved: str) -> str:
    return resolved if "$" not in resolved else written


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    build = target.build
    base = build.base_image()
    env = base_env(base[1] if base else None)
    covered = set(build.resolved_path(env).entries)
    known = {k: v for k, v in build.variables(env).items() if v is not None}
    home = build.home()
    if home and "HOME" not in known:  # the shell reading the start-up file has $HOME
        known["HOME"] = home
    for stage, instruction in build.final_instructions():
        if instruction.name != "RUN":
            continue
        for segment in segments(run_script(instruction), keep_pipelines=True):
            startup = STARTUP_FILE.search(segment)
            if not startup or not _writes(segment):
                continue
            for directory in added_dirs(" ".join(unquoted(segment))):
                resolved = normalise_dir(expand_or_raw(directory.replace("\\$", "$"), known))
                if resolved not in covered:
                    yield problem_at(
                        instruction,
                        f"{directory} is added to PATH only in {startup.group(0)}, which "
                        "execution containers never read, and no ENV PATH names it",
                        stage,
                        # the directory itself: `$HOME` is not set by ENV in most images
                        hint=f'Add ENV PATH="{_shown(directory, resolved)}:$PATH" to the '
                        "final stage.",
                    )
