"""Finding the Dockerfiles to lint under the paths a user gives."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from octolint.errors import InputError

SKIPPED_DIRS = frozenset({".git", "node_modules", ".hg", ".svn", ".tox", ".venv", "__pycache__"})
STDIN = "-"
YAML_SUFFIXES = (".yml", ".yaml")
STEMS = frozenset({"dockerfile", "containerfile"})
_WORD_SEPARATORS = re.compile(r"[._-]")
# Files named after a Dockerfile that are not one: documentation, data, scripts that
# build one, templates (not valid Dockerfiles until rendered), backups, and BuildKit's
# per-Dockerfile ignore file. Named on the command line, they are still linted.
NOT_DOCKERFILE_EXTENSIONS = frozenset({
    "md", "markdown", "rst", "txt", "adoc", "html", "pdf",  # documentation
    "json", "yml", "yaml", "toml", "xml", "ini", "cfg", "conf", "env", "lock", "log", "csv",
    "sh", "bash", "zsh", "ps1", "psm1", "bat", "cmd", "py", "js", "ts", "go", "rb", "pl",
    "j2", "jinja", "jinja2", "tmpl", "tpl", "template", "erb", "mustache", "hbs", "m4",
    "bak", "orig", "rej", "swp", "tmp", "old", "patch", "diff",
    "dockerignore", "containerignore",
})  # fmt: skip


def is_dockerfile_name(name: str) -> bool:
    """A name with the word ``Dockerfile`` or ``Containerfile`` (any case) in it, joined to
    the rest by ``.``, ``_`` or ``-``: ``Dockerfile``, ``api.Dockerfile``, ``Dockerfile.prod``,
    ``Powershell_Dockerfile``, ``app-Dockerfile``, ``Dockerfile_windows``. Not when its last
    extension says it is something else (``Dockerfile-guide.md``, ``Dockerfile.dockerignore``,
    ``build-dockerfile.sh``, ``Dockerfile.j2``): see NOT_DOCKERFILE_EXTENSIONS."""
    lower = name.lower()
    if not STEMS.intersection(_WORD_SEPARATORS.split(lower)):
        return False
    _stem, dot, extension = lower.rpartition(".")
    return not (dot and extension in NOT_DOCKERFILE_EXTENSIONS)


def is_deploy_name(name: str) -> bool:
    """What plain `octolint FILE` hands to the deploy checks: *.yml / *.yaml."""
    return name.lower().endswith(YAML_SUFFIXES) and not is_dockerfile_name(name)


def _excluded(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    """Globs match the path relative to the config's directory, or any one name in it."""
    try:
        relative = path.resolve().relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    return any(
        fnmatch.fnmatch(relative, p)
        or fnmatch.fnmatch(relative, p.rstrip("/") + "/*")
        or fnmatch.fnmatch(path.name, p)
        for pattern in patterns
        for p in _forms(pattern)
    )


def _forms(pattern: str) -> tuple[str, ...]:
    """A glob, and without its leading `**/`, which matches no directory too
    (`**/testdata/*` skips `testdata/Dockerfile`, as in .gitignore)."""
    return (pattern, pattern[3:]) if pattern.startswith("**/") else (pattern,)


def discover(
    paths: Sequence[str], exclude: Sequence[str] = (), root: Path | None = None
) -> Iterator[tuple[str, Path | None]]:
    """(display path, file) pairs in a stable order; file is None for stdin.

    Files named explicitly are always linted; directories are walked, skipping
    VCS and dependency folders and whatever the configuration excludes.
    """
    root = (root or Path.cwd()).resolve()
    for given in paths:
        if given == STDIN:
            yield "-", None
            continue
        path = Path(given)
        if path.is_dir():
            found = list(walk(path, exclude, root))
            if not found:
                raise InputError(given, "no Dockerfiles found in this directory"
                                 + _excluded_note(path, exclude, root))  # fmt: skip
            yield from ((str(p), p) for p in found)
        elif path.exists() or path.is_symlink():
            yield given, path
        else:
            raise InputError(given, "no such file or directory")


def _excluded_note(path: Path, exclude: Sequence[str], root: Path) -> str:
    """Why a directory with Dockerfiles has none to lint: the configuration's exclude."""
    if not exclude:
        return ""
    count = sum(1 for _ in walk(path, (), root))
    return f" ({count} excluded by the configuration's exclude)" if count else ""


def walk(
    top: Path,
    exclude: Sequence[str],
    root: Path,
    wanted: Callable[[str], bool] = is_dockerfile_name,
) -> Iterator[Path]:
    """Files below ``top`` whose name is ``wanted``, in sorted order, skipping SKIPPED_DIRS
    and what the config's ``exclude`` globs name."""
    for directory, subdirs, files in os.walk(top):
        here = Path(directory)
        subdirs[:] = sorted(
            d for d in subdirs if d not in SKIPPED_DIRS and not _excluded(here / d, root, exclude)
        )
        for name in sorted(files):
            candidate = here / name
            if wanted(name) and not _excluded(candidate, root, exclude):
                yield candidate
