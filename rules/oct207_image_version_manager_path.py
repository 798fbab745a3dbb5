"""OCT207 image-version-manager-path: tools under a version manager are not on PATH.

nvm, pyenv, rbenv, sdkman, asdf, cargo and conda install executables in
their own directories and rely on shell start-up files to put them on PATH;
execution containers never read those files. The rule finds such directories
in the image (`*/.nvm/versions/node/*/bin`, `*/.pyenv/shims`,
`*/.rbenv/shims`, `*/.sdkman/candidates/*/current/bin`, `*/.asdf/shims`,
`*/.cargo/bin`, `*/conda/bin` ...) that hold executables, and reports each
one that no directory of the image's PATH reaches (directly or through a
symlink).

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

How to fix: add the directory the message names to `ENV PATH`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from octolint.image.target import ImageTarget, located
from octolint.model import Problem

ID = "OCT207"
NAME = "image-version-manager-path"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "Executables installed by a version manager (nvm, pyenv, ...) are not on PATH."
HINT = "Add the directory to ENV PATH in the Dockerfile."

MANAGER_BIN_DIRS = re.compile(
    r"/(?:\.?nvm/versions/node/[^/]+/bin"
    r"|\.?pyenv/shims|\.?rbenv/shims"
    r"|\.?sdkman/candidates/[^/]+/current/bin"
    r"|\.?asdf/shims"
    r"|\.cargo/bin"
    r"|(?:mini|ana)conda\d?/bin|miniforge\d?/bin|/opt/conda/bin)$"
)
_MAX_LISTED = 5


def check(target: ImageTarget, options: Mapping[str, Any]) -> Iterator[Problem]:
    fs = target.fs
    if fs is None:
        return
    reachable = {fs.realpath(d) for d in target.path_dirs} - {None}
    for directory in sorted(fs.directories()):
        if not MANAGER_BIN_DIRS.search(directory) or fs.realpath(directory) in reachable:
            continue
        tools = [n for n in sorted(fs.listdir(directory))
                 if fs.is_executable(f"{directory}/{n}")]  # fmt: skip
        if not tools:
            continue
        listed = ", ".join(tools[:_MAX_LISTED]) + (", ..." if len(tools) > _MAX_LISTED else "")
        yield Problem(
            message=f"{target.where(directory)} holds executables ({listed}) but no "
            "directory of the image's PATH reaches it: execution containers never read "
            ".bashrc, so these tools are not found",
            hint=f'Add ENV PATH="{directory}:$PATH" to the Dockerfile.',
            **located(target, "FROM"),
        )
