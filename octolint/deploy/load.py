"""Finding and reading deploy files: Compose files and Kubernetes manifests.

A YAML file is a Compose file when its top level has ``services`` (and no
``apiVersion``/``kind``), and a Kubernetes manifest when one of its
documents has ``apiVersion`` and ``kind``. Named files that are neither are
an input error; in directories such YAML (CI workflows, Helm values) is
skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from octolint.deploy.compose import read_compose
from octolint.deploy.kube import read_kubernetes
from octolint.deploy.model import COMPOSE, KUBERNETES, DeployFile, DeployTarget
from octolint.deploy.yamlsource import YamlError, YamlFile, comment_lines, load_yaml
from octolint.discover import SKIPPED_DIRS, is_dockerfile_name
from octolint.discover import _excluded as excluded
from octolint.errors import InputError
from octolint.model import Span
from octolint.sources import MAX_BYTES, read_bytes

YAML_SUFFIXES = (".yml", ".yaml")


def is_deploy_name(name: str) -> bool:
    """What plain `octolint FILE` hands to the deploy checks: *.yml / *.yaml."""
    return name.lower().endswith(YAML_SUFFIXES) and not is_dockerfile_name(name)


def kind_of(source: YamlFile) -> str | None:
    first = source.documents[0] if source.documents else None
    if isinstance(first, dict) and "services" in first and "kind" not in first:
        return COMPOSE
    if any(_is_kube(d) for d in source.documents):
        return KUBERNETES
    return None


def _is_kube(document: Any) -> bool:
    return isinstance(document, dict) and "apiVersion" in document and "kind" in document


def load_deploy(
    paths: Sequence[str],
    *,
    env_files: Sequence[Path] | None = None,
    exclude: Sequence[str] = (),
    root: Path | None = None,
) -> DeployTarget:
    """Read every deploy file under the paths into one target.

    Unparseable YAML is not an input error but a file with ``error`` set
    (rule OCT300), as for Dockerfiles: the fix is in the file.
    """
    target = DeployTarget()
    root = (root or Path.cwd()).resolve()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = [(str(p), p) for p in _walk(path, exclude, root)]
            files = [f for d, p in found if (f := _read(d, p, explicit=False)) is not None]
            if not files:
                raise InputError(given, "no Compose files or Kubernetes manifests found")
        elif path.exists():
            read = _read(given, path, explicit=True)
            files = [read] if read is not None else []
        else:
            raise InputError(given, "no such file or directory")
        for file in files:
            _add(file, target, env_files)
    return target


def _read(
    display: str, path: Path, *, explicit: bool
) -> tuple[str, YamlFile] | DeployFile | None:
    """(kind, YamlFile) for a deploy file, a broken DeployFile, or None to skip."""
    data = read_bytes(path, display)
    if len(data) > MAX_BYTES:
        raise InputError(display, "larger than 64 MiB: not a deploy file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if not explicit:
            return None
        raise InputError(display, "not UTF-8 text: not a Compose file or manifest") from None
    if not explicit and "{{" in text:
        return None  # a Helm or Go template, not a manifest yet: lint `helm template` output
    try:
        source = load_yaml(text, display)
    except YamlError as error:
        kind = COMPOSE if "services:" in text else KUBERNETES
        return DeployFile(display, kind, text.splitlines(), comment_lines(text),
                          error.message, _within(text, error.line, error.column))  # fmt: skip
    found = kind_of(source)
    if found is None:
        if not explicit:
            return None
        raise InputError(display, "neither a Compose file (no 'services') nor a Kubernetes "
                                  "manifest (no 'apiVersion' and 'kind')")  # fmt: skip
    return found, source


def _add(
    file: tuple[str, YamlFile] | DeployFile, target: DeployTarget, env_files: Sequence[Path] | None
) -> None:
    if isinstance(file, DeployFile):
        target.files.append(file)
        return
    kind, source = file
    if kind == COMPOSE:
        read_compose(source, target, env_files)
    else:
        read_kubernetes(source, target)


def _walk(top: Path, exclude: Sequence[str], root: Path) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(top):
        here = Path(directory)
        subdirs[:] = sorted(
            d for d in subdirs if d not in SKIPPED_DIRS and not excluded(here / d, root, exclude)
        )
        for name in sorted(files):
            candidate = here / name
            if name.lower().endswith(YAML_SUFFIXES) and not excluded(candidate, root, exclude):
                yield candidate


def _within(text: str, line: int, column: int) -> Span:
    """A parser position (possibly just past the end) as a region inside the file."""
    lines = text.splitlines() or [""]
    line = min(max(line, 1), len(lines))
    length = len(lines[line - 1])
    column = min(max(column, 1), length + 1)
    return Span(line, column, line, max(column, length))
