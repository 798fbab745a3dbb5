"""OCT207 image-version-manager-path: tools under a version manager are not on PATH.

nvm, pyenv, rbenv, sdkman, asdf, cargo and conda install executables in
their own directories and rely on shell start-up files to put them on PATH;
execution containers never read those files. The rule finds such directories
in the image (`*/.nvm/versions/node/*/bin`, `*/.pyenv/shims`,
`*/.rbenv/shims`, `*/.sdkman/candidates/*/current/bin`, `*/.asdf/shims`,
`*/.cargo/bin`, `*/miniconda3/bin`, `/opt/conda/bin` ...; the manager's
directory may be named with or without the dot, as `/usr/local/nvm`) that hold
executables, and reports each one that no directory of the image's PATH
reaches (directly or through a symlink), naming its executables PATH does not
find by name either (a tool linked into `/usr/local/bin` is found). Symlinks inside the manager's
directory are followed, as the shell would: sdkman's `current` is one.

Fails: an image built from

```dockerfile
FROM ubuntu:22.04
RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\
 && . /root/.nvm/nvm.sh && nvm install 20
```

Passes: the same, plus

```dockerfile
ENV PATH="/root/.nvm/versions/node/v20.11.1/bin:$PATH"
```

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian", "layers": [
  {"/root/.nvm/versions/node/v20.11.1/bin/node": {"exe": ""}}
]}
```

Passes:

```image
{"base": "debian",
 "config": {"Env": ["PATH=/root/.nvm/versions/node/v20.11.1/bin:/usr/bin:/bin"]},
 "layers": [{"/root/.nvm/versions/node/v20.11.1/bin/node": {"exe": ""}}]}
```

With `--dockerfile`, the finding points at the `RUN` that installed the
version manager.

How to fix: add the directory the message names to `ENV PATH`.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.image.fs import ImageFS
from octolint.knowledge.version_managers import MANAGERS, VersionManager
from octolint.plugin import ImageLocation, ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT207"
NAME = "image-version-manager-path"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "Executables installed by a version manager (nvm, pyenv, ...) are not on PATH."
HINT = "Add the directory to ENV PATH in the Dockerfile."
SARIF_SCORE = SarifScore("5.0", "very-high")

_MAX_LISTED = 5


def manager_bin_dirs(fs: ImageFS) -> list[str]:
    """The version managers' executable directories in the image, sorted, one path per
    real directory: looked up by name, so the cost does not grow with the image."""
    found = {d for manager in MANAGERS for d in _bin_dirs(fs, manager)}
    by_real: dict[str | None, str] = {}
    for directory in sorted(found):
        by_real.setdefault(fs.realpath(directory), directory)
    return sorted(by_real.values())


def _bin_dirs(fs: ImageFS, manager: VersionManager) -> Iterator[str]:
    """Where the manager keeps its tools: under every directory of its name, and
    under its fixed prefixes (taken literally)."""
    for home in (h for name in manager.homes for h in fs.named(name)):
        for pattern in manager.bin_dirs:
            yield from (d for d in fs.glob(f"{home}/{pattern}") if fs.is_dir(d))
    for prefix in manager.prefixes:
        yield from (d for p in manager.bin_dirs if fs.is_dir(d := f"{prefix}/{p}"))


def _where(target: ImageTarget, fs: ImageFS, directory: str) -> ImageLocation:
    """The directory in the image and, with --dockerfile, the RUN that installed its
    manager (FROM when no RUN did: the base image brought it)."""
    for manager in MANAGERS:
        if directory in set(_bin_dirs(fs, manager)):
            return target.at_run(manager.used, file=directory)
    return target.at("FROM", file=directory)


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    fs = target.fs
    if fs is None:
        return
    reachable = {fs.realpath(d) for d in target.path_dirs} - {None}
    for directory in manager_bin_dirs(fs):
        if fs.realpath(directory) in reachable:
            continue
        # what PATH finds by name is found, whichever version or link it is (a
        # `ln -s .../v20/bin/node /usr/local/bin/node`, another installed version)
        tools = [n for n in sorted(fs.listdir(directory))
                 if fs.is_executable(f"{directory}/{n}") and target.which(n) is None]  # fmt: skip
        if not tools:
            continue
        listed = ", ".join(tools[:_MAX_LISTED]) + (", ..." if len(tools) > _MAX_LISTED else "")
        yield problem_at(
            _where(target, fs, directory),
            f"{directory} holds executables ({listed}) but no "
            "directory of the image's PATH reaches it: execution containers never read "
            ".bashrc, so these tools are not found",
            hint=f'Add ENV PATH="{directory}:$PATH" to the Dockerfile.',
        )
