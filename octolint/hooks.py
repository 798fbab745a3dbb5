"""The git pre-push hook: ``octolint install-hook`` writes it, git runs it.

The hook file is a few lines of POSIX sh that hand git's arguments and the
pre-push lines on stdin to ``python -I -m octolint.hooks pre-push``, with the
absolute path of the interpreter octolint was installed with: git runs hooks
with whatever PATH the caller has (an IDE, a GUI client), where ``octolint``
may be missing or another version. The work itself is done here, in Python,
so that file names with spaces, newlines or non-UTF-8 bytes are handled.

git runs the hook in the top of the work tree, and ``python -m`` would put
that directory first on sys.path: an ``octolint/`` package there (untracked,
or in any branch checked out) would run at every push. ``-I`` (isolated mode,
Python 3.4+) leaves the current directory, PYTHON* variables and the user's
site-packages out, so only the installed octolint is imported; ``install``
checks that the interpreter can import it that way before writing the hook.

For each ref being pushed it lints the Dockerfiles changed in the commits
being pushed, *as they are in the pushed commit* (not the working tree, which
may hold another branch or uncommitted edits): the files, and the config files
that octolint would find above them, are copied out of git into a temporary
directory that mirrors the repository, and octolint runs there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from octolint.config import CONFIG_FILE, PYPROJECT
from octolint.discover import is_dockerfile_name
from octolint.errors import EXIT_USAGE, ConfigError, OctolintError
from octolint.escape import escape_line

# The line that marks a hook file as ours: only such a file is replaced
# without --force or removed by --uninstall.
SIGNATURE = "# octolint-managed-hook: pre-push"
HOOK_NAME = "pre-push"
_ZERO_SHA = re.compile(r"0+\Z")
_SYMLINK_MODE = "120000"
# How the hook and its octolint run: isolated, so that nothing in the work
# tree or the pushed commit (the hook's working directories) can be imported.
ISOLATED = "-I"
OCTOPUS_OPTION = "--octopus-version"  # the one octolint option the hook passes on

HOOK_TEMPLATE = """#!/bin/sh
{signature}
# Written by `octolint install-hook`; remove it with `octolint install-hook --uninstall`.
# Lints the Dockerfiles changed in the commits being pushed, as they are in
# those commits, and blocks the push when octolint fails
# (skip it once with `git push --no-verify`).
OCTOLINT_PYTHON={python}
if [ ! -x "$OCTOLINT_PYTHON" ]; then
    echo "octolint pre-push hook: $OCTOLINT_PYTHON no longer exists;" \\
        "run 'octolint install-hook' again with the octolint you use, or push with --no-verify" >&2
    exit 1
fi
exec "$OCTOLINT_PYTHON" -I -m octolint.hooks pre-push{options} -- "$@"
"""


class HookError(OctolintError):
    """The hook cannot be installed or removed as asked (exit code 2)."""

    exit_code = EXIT_USAGE


class GitError(OctolintError):
    """A git command failed while the hook was working out what to lint."""


def hook_script(python: str, octopus_version: str | None = None) -> str:
    """The text of the pre-push hook that runs octolint with this interpreter (and
    ``--octopus-version``, when one is given: it wins over the pushed commit's config)."""
    options = f" {OCTOPUS_OPTION}={shlex.quote(octopus_version)}" if octopus_version else ""
    return HOOK_TEMPLATE.format(signature=SIGNATURE, python=shlex.quote(python), options=options)


def is_ours(text: str) -> bool:
    return SIGNATURE in text.splitlines()


def hook_path(cwd: Path) -> Path:
    """Where git looks for the pre-push hook: honours core.hooksPath and worktrees."""
    try:
        out = _git(["rev-parse", "--git-path", "hooks"], cwd)
    except GitError:
        raise HookError(f"{cwd}: not inside a git repository") from None
    return cwd / os.fsdecode(out.rstrip(b"\n")) / HOOK_NAME


def install(
    cwd: Path,
    *,
    force: bool = False,
    python: str | None = None,
    octopus_version: str | None = None,
) -> str:
    """Write the hook; refuse to replace a hook octolint did not write unless force.

    The hook runs ``python`` (default: this interpreter, which is first checked
    to import octolint when isolated, as the hook will run it), passing
    ``--octopus-version`` on when given (checked here: a bad one is exit 2 now,
    not a blocked push later)."""
    version = _checked_octopus_version(octopus_version)
    path = hook_path(cwd)
    existing = _read(path)
    if existing is not None and not is_ours(existing) and not force:
        raise HookError(
            f"{path}: a pre-push hook that octolint did not write is already there"
            f"{_kind(path)}; move it away, or use --force to replace it"
        )
    if python is None:
        python = sys.executable
        _check_isolated_import(python)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_replacing(path, hook_script(python, version))
    verb = "updated" if existing is not None and is_ours(existing) else "installed"
    return f"{verb} {path}: git push now lints the Dockerfiles changed in the pushed commits"


def _checked_octopus_version(text: str | None) -> str | None:
    """The version as octolint writes it (``2021.02`` is ``2021.2``), or None."""
    if text is None:
        return None
    from octolint.knowledge.octopus import parse_octopus_version

    try:
        octopus = parse_octopus_version(text)
    except ValueError as exc:
        raise ConfigError(str(exc), source=OCTOPUS_OPTION) from None
    return str(octopus.version)


def _check_isolated_import(python: str) -> None:
    """Refuse an interpreter that finds octolint only through PYTHONPATH or the user's
    site-packages: the hook runs it with -I, where it would fail at every push."""
    with tempfile.TemporaryDirectory(prefix="octolint-hook-check-") as empty:
        proc = subprocess.run(
            [python, ISOLATED, "-c", "import octolint.hooks, octolint.cli"],
            cwd=empty,  # not the repository: nothing of it is imported, even here
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    if proc.returncode != 0:
        raise HookError(
            f"{python} cannot import octolint when run isolated (python -I), as the hook "
            "must be so that no file in the repository can run at git push; octolint is "
            "probably installed in the user site-packages or found through PYTHONPATH: "
            "install it in a virtualenv (or with pipx) and run install-hook from there"
        )


def _write_replacing(path: Path, text: str) -> None:
    """Write a new file beside path and rename it over path: git never sees half a
    hook. The new file gets a fresh random name created with O_EXCL, so a file or
    symlink planted in the hooks directory (it may be committed, with
    core.hooksPath) is never opened or followed; rename replaces a symlink at path
    itself, never its target."""
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{HOOK_NAME}.", suffix=".octolint-tmp", dir=path.parent
        )
    except OSError as exc:
        raise HookError(f"{path.parent}: cannot write the hook: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            os.fchmod(out.fileno(), 0o755)  # mkstemp makes 0600; git runs only executables
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise HookError(f"{path}: cannot write the hook: {exc.strerror or exc}") from None


def uninstall(cwd: Path) -> str:
    """Remove the hook if octolint wrote it; never touch anyone else's."""
    path = hook_path(cwd)
    existing = _read(path)
    if existing is None:
        return f"{path}: no pre-push hook to remove"
    if not is_ours(existing):
        raise HookError(
            f"{path}: this pre-push hook was not written by octolint{_kind(path)}; left in place"
        )
    path.unlink()
    return f"removed {path}"


def _read(path: Path) -> str | None:
    """The hook's text; None when there is none. A symlink (dangling or not) or any
    other non-regular file is never ours: '' (so it is foreign), never followed or
    opened, so a FIFO cannot hang us and a link's target is never touched."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HookError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        return ""
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HookError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _kind(path: Path) -> str:
    """' (a symbolic link to X)' or ' (not a regular file)' for a message; '' for a file."""
    try:
        if path.is_symlink():
            return f" (a symbolic link to {os.readlink(path)})"
        return "" if stat.S_ISREG(path.lstat().st_mode) else " (not a regular file)"
    except OSError:
        return ""


# --------------------------------------------------------------------------
# Running as the hook
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PushedRef:
    """One line of the pre-push hook's stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @classmethod
    def parse(cls, line: str) -> PushedRef:
        parts = line.split()
        if len(parts) != 4:
            raise GitError(f"unexpected pre-push input line: {line!r}")
        return cls(*parts)

    @property
    def deletes(self) -> bool:
        return bool(_ZERO_SHA.match(self.local_sha))

    @property
    def creates(self) -> bool:
        return bool(_ZERO_SHA.match(self.remote_sha))


def changed_dockerfiles(ref: PushedRef, top: Path) -> list[str]:
    """Dockerfiles added or modified by the commits this ref update pushes."""
    if ref.deletes:
        return []
    names = _changed_since_remote_tip(ref, top)
    if names is None:
        names = _changed_by_unpushed_commits(ref, top)
    paths = {os.fsdecode(n) for n in names.split(b"\0") if n}
    return sorted(p for p in paths if is_dockerfile_name(PurePosixPath(p).name))


_CHANGED = ["--name-only", "-z", "--no-renames", "--diff-filter=ACMRT"]


def _changed_since_remote_tip(ref: PushedRef, top: Path) -> bytes | None:
    """The changes since the remote tip's merge base (right for force-pushes too);
    None when the remote tip is new, unknown here, or shares no history."""
    if ref.creates or not _has_commit(ref.remote_sha, top):
        return None
    try:
        return _git(["diff", *_CHANGED, f"{ref.remote_sha}...{ref.local_sha}"], top)
    except GitError:
        return None


def _changed_by_unpushed_commits(ref: PushedRef, top: Path) -> bytes:
    """A new branch (or an unknown remote tip): the files the commits no remote ref has change."""
    commits = _git(["rev-list", ref.local_sha, "--not", "--remotes"], top)
    if not commits:
        return b""
    command = ["diff-tree", "--stdin", "-r", "--no-commit-id", "--root", *_CHANGED]
    return _git(command, top, stdin=commits)


def config_candidates(paths: Iterable[str]) -> set[str]:
    """The config files octolint would look for above these paths, up to the repository root."""
    found: set[str] = set()
    for path in paths:
        for parent in PurePosixPath(path).parents:
            prefix = "" if str(parent) == "." else f"{parent}/"
            found.update(prefix + name for name in (CONFIG_FILE, PYPROJECT))
    return found


def lint_pushed(
    ref: PushedRef, paths: Sequence[str], top: Path, options: Sequence[str] = ()
) -> int:
    """Lint these files as they are in the pushed commit, with these octolint options;
    octolint's exit code."""
    wanted = [*paths, *sorted(config_candidates(paths))]
    blobs = _tree_blobs(ref.local_sha, wanted, top)
    dockerfiles = [p for p in paths if p in blobs]  # deleted again by a later commit: gone
    if not dockerfiles:
        return 0
    print(
        f"octolint pre-push: {escape_line(ref.local_ref)} ({ref.local_sha[:12]}): "
        f"checking {len(dockerfiles)} changed Dockerfile(s)",
        file=sys.stderr,
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="octolint-pre-push-") as tmp:
        root = Path(tmp)
        # A .git marker makes octolint's config search stop here, as it would
        # at the repository root.
        (root / ".git").mkdir()
        for name, sha in blobs.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(["cat-file", "blob", sha], top))
        # Isolated too: the directory holds files from the pushed commit.
        command = [sys.executable, ISOLATED, "-m", "octolint", "lint", *options, "--",
                   *dockerfiles]  # fmt: skip
        return subprocess.run(command, cwd=root, check=False).returncode


def _tree_blobs(commit: str, paths: Sequence[str], top: Path) -> dict[str, str]:
    """Path -> blob sha of the regular files among paths in commit (symlinks and
    submodules skipped)."""
    out = _git(
        ["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths], top
    )
    blobs = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, sha = meta.decode("ascii").split()
        if kind == "blob" and mode != _SYMLINK_MODE:
            blobs[os.fsdecode(name)] = sha
    return blobs


def run_pre_push(lines: Iterable[str], top: Path, options: Sequence[str] = ()) -> int:
    """The hook: 0 lets the push go on; anything else blocks it. ``options`` are passed
    to octolint (``--octopus-version=X.Y`` from install-hook)."""
    failed = False
    for line in lines:
        if not line.strip():
            continue
        ref = PushedRef.parse(line)
        paths = changed_dockerfiles(ref, top)
        if paths and lint_pushed(ref, paths, top, options) != 0:
            failed = True
    if failed:
        print(
            "octolint pre-push: push blocked by the findings above; fix them, "
            "or skip this check once with `git push --no-verify`",
            file=sys.stderr,
        )
        return 1
    return 0


def _has_commit(sha: str, top: Path) -> bool:
    try:
        _git(["cat-file", "-e", f"{sha}^{{commit}}"], top)
    except GitError:
        return False
    return True


def _git(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise HookError("git is not installed (or not on PATH)") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def _hook_options(args: Sequence[str]) -> list[str]:
    """The octolint options install-hook wrote before ``--`` (git's REMOTE URL follow it;
    a hook written before there were options has neither)."""
    options = []
    for arg in args:
        if arg == "--":
            break
        if not arg.startswith(OCTOPUS_OPTION + "="):
            return []  # an older hook: these are git's arguments
        options.append(arg)
    return options


def main(argv: Sequence[str]) -> int:
    """``python -m octolint.hooks pre-push [--octopus-version=X.Y --] REMOTE URL`` with
    git's lines on stdin."""
    if not argv or argv[0] != HOOK_NAME:
        print("usage: python -m octolint.hooks pre-push REMOTE URL < refs", file=sys.stderr)
        return EXIT_USAGE
    options = _hook_options(argv[1:])
    if not sys.flags.isolated:
        # A hook written before the hook ran isolated: whatever octolint package
        # the work tree holds has already been imported by now.
        print(
            "octolint pre-push: warning: this hook was written by an older octolint and "
            "lets a package in the repository run at git push; run `octolint install-hook` "
            "again to replace it",
            file=sys.stderr,
        )
    try:
        top = Path(os.fsdecode(_git(["rev-parse", "--show-toplevel"], Path.cwd()).rstrip(b"\n")))
        return run_pre_push(sys.stdin.readlines(), top, options)
    except OctolintError as exc:
        print(
            f"octolint pre-push: error: {escape_line(str(exc))}; push blocked (skip the check with "
            "`git push --no-verify`)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
