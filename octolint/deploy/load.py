"""Finding and reading deploy files: Compose files and Kubernetes manifests.

A YAML file is a Compose file when its top level has ``services`` (and no
``apiVersion``/``kind``), and a Kubernetes manifest when one of its
documents has ``apiVersion`` and ``kind``. Named files that are neither are
an input error; in directories such YAML (CI workflows, Helm values) is
skipped. ``-`` is stdin, told apart by the same test.

A Compose file ``docker compose`` would pick in its directory gets the
override file beside it merged in, as ``docker compose`` does without ``-f``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from octolint.deploy.compose import (
    fragment_service,
    read_compose,
    redact_message,
    redact_unparsed,
)
from octolint.deploy.kube import (
    SHARED_KINDS,
    KubeInputs,
    objects,
    read_kubernetes,
    resolve_secrets,
)
from octolint.deploy.target import COMPOSE, KUBERNETES, DeployFile, DeployTarget
from octolint.deploy.yamlsource import (
    YamlError,
    YamlFile,
    YamlLimit,
    comment_lines,
    get,
    load_yaml,
)
from octolint.discover import YAML_SUFFIXES, walk
from octolint.errors import InputError
from octolint.inputs import MAX_BYTES, read_bytes, read_stdin
from octolint.model import Span

_T = TypeVar("_T")

STDIN = "-"
STDIN_NAME = "<stdin>"
# what docker compose picks in a directory, in its order (compose-go's cli package)
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)


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
    failures: list[InputError] | None = None,
) -> DeployTarget:
    """Read every deploy file under the paths (``-``: stdin) into one target.

    Unparseable YAML is not an input error but a file with ``error`` set
    (rule OCT300), as for Dockerfiles: the fix is in the file. A Compose file
    that ``docker compose`` would pick in its directory gets the override file
    beside it merged in; the override is not read on its own. With ``failures``,
    an input that cannot be read is appended there and the others still read;
    without, its InputError is raised.
    """
    if list(paths).count(STDIN) > 1:
        raise InputError(STDIN_NAME, "given more than once: stdin can be read only once")
    attempt = _Attempt(failures)
    target = DeployTarget()
    root = (root or Path.cwd()).resolve()
    groups = [g for given in paths if (g := attempt(_candidates, given, exclude, root))]
    overrides = {
        path.resolve(): override
        for _given, found, _explicit in groups
        for _display, path in found
        if path is not None and (override := override_for(path)) is not None
    }
    merged = {override.resolve() for override in overrides.values()}
    inputs = KubeInputs()
    for given, found, explicit in groups:
        files = []
        for display, path in found:
            if path is not None and path.resolve() in merged:
                continue
            read = attempt(_read_one, display, path, explicit, overrides)
            if read is not None:
                files.append(read)
        if not files and not explicit and not any(p and p.resolve() in merged for _, p in found):
            attempt(_none_found, given, exclude, root)
        together = _applied_together([f for f, _ in files])
        for file, override_file in files:
            group = given if together else _display(file)
            attempt(_add, file, target, env_files, override_file, (group, inputs))
    resolve_secrets(inputs)
    return target


def _display(file: tuple[str, YamlFile] | DeployFile) -> str:
    return file.path if isinstance(file, DeployFile) else file[1].path


def _applied_together(files: Sequence[tuple[str, YamlFile] | DeployFile]) -> bool:
    """Whether the manifests of one argument are one deployment.

    A file or stdin is one input. A directory is one too (what `kubectl apply -f
    DIR` applies), unless two of its files define the same object (kind,
    namespace, name): then they are alternatives, say several `helm template`
    renders of one release, and each file is an input of its own, never merged.
    """
    seen: set[tuple[str, str, str]] = set()
    for file in files:
        if isinstance(file, DeployFile) or file[0] != KUBERNETES:
            continue
        keys = {(str(get(o, "metadata", "namespace") or ""), str(o.get("kind", "")),
                 str(get(o, "metadata", "name") or ""))
                for d in file[1].documents for o in objects(d)}  # fmt: skip
        # each file may declare the Namespace its objects go to: applied twice, no harm
        keys = {k for k in keys if k[2] and k[1] not in SHARED_KINDS}
        if keys & seen:
            return False
        seen |= keys
    return True


def _nothing_found(directory: Path, exclude: Sequence[str], root: Path) -> str:
    found = sorted(p.parent for p in walk(directory, exclude, root, lambda n: n == "Chart.yaml"))
    # a chart's own subcharts (charts/NAME/Chart.yaml) are rendered with it
    charts = [str(c) for c in found if not any(o in c.parents for o in found)]
    if not charts:
        return "no Compose files or Kubernetes manifests found"
    what = "a Helm chart" if charts == [str(directory)] else f"Helm charts ({', '.join(charts)})"
    return (f"holds {what}, not manifests: its templates are not checked; lint what it "
            f"renders: helm template NAME {charts[0]} -f VALUES | octolint deploy -")


def _chart_of(path: Path) -> Path | None:
    """The chart a file belongs to: its templates, values or Chart.yaml (the nearest
    folder above with a Chart.yaml, at most three levels up: templates/NAME/x.yaml)."""
    folders = [path.parent, *path.parent.parents][:4]
    return next((f for f in folders if (f / "Chart.yaml").is_file()), None)


def chart_root(path: Path, directory: Path) -> bool:
    """Whether a file lies in a Helm chart under the directory (a Chart.yaml beside it
    or in a folder above, up to the directory): a template, not a manifest yet."""
    for folder in (path.parent, *path.parent.parents):
        if (folder / "Chart.yaml").is_file():
            return True
        if folder == directory:
            break
    return False


class _Attempt:
    """Calls a reading step; its InputError goes to ``failures`` (None: raised)."""

    def __init__(self, failures: list[InputError] | None):
        self.failures = failures

    def __call__(self, step: Callable[..., _T], *args: Any) -> _T | None:
        try:
            return step(*args)
        except InputError as exc:
            if self.failures is None:
                raise
            self.failures.append(exc)
            return None


def _read_one(
    display: str, path: Path | None, explicit: bool, overrides: dict[Path, Path]
) -> tuple[tuple[str, YamlFile] | DeployFile, YamlFile | DeployFile | None] | None:
    """The file read (None: skipped) with the override file to merge into it."""
    read = _read_stdin() if path is None else _read(display, path, explicit=explicit)
    if read is None:
        return None
    override = overrides.get(path.resolve()) if path is not None else None
    merged = _override(display, override)
    if not explicit and _fragment(read, merged):
        return None  # in a directory, a file for `-f base -f this` is no deployment alone
    return read, merged


def _fragment(
    read: tuple[str, YamlFile] | DeployFile, override: YamlFile | DeployFile | None
) -> bool:
    if isinstance(read, DeployFile) or read[0] != COMPOSE:
        return False
    documents = [read[1].documents[0]]
    if isinstance(override, YamlFile) and override.documents:
        documents.append(override.documents[0])
    return fragment_service(documents) is not None


def _none_found(given: str, exclude: Sequence[str], root: Path) -> None:
    raise InputError(given, _nothing_found(Path(given), exclude, root))


def _candidates(
    given: str, exclude: Sequence[str], root: Path
) -> tuple[str, list[tuple[str, Path | None]], bool]:
    """(the argument, its (display, file) pairs (None: stdin), whether it named a file)."""
    if given == STDIN:
        return given, [(STDIN, None)], True
    path = Path(given)
    if path.is_dir():
        found = [(str(p), p) for p in walk(path, exclude, root, _is_yaml)]
        # a chart's templates are never half-checked: only their rendered output
        return given, [(d, p) for d, p in found if not chart_root(p, path)], False
    if path.exists():
        chart = _chart_of(path)
        if chart is not None:
            raise InputError(given, f"part of the Helm chart {chart}, not a manifest: its "
                             "templates are not checked; lint what it renders: helm template "
                             f"NAME {chart} -f VALUES | octolint deploy -")  # fmt: skip
        return given, [(given, path)], True
    raise InputError(given, "no such file or directory")


def override_for(path: Path) -> Path | None:
    """The override file ``docker compose`` would merge into this Compose file.

    Only for the file it picks on its own in that directory (the first of
    COMPOSE_FILES there), and the first of OVERRIDE_FILES beside it.
    """
    if path.name not in COMPOSE_FILES:
        return None
    here = path.parent
    picked = next((n for n in COMPOSE_FILES if (here / n).is_file()), None)
    if picked != path.name:
        return None
    return next((here / n for n in OVERRIDE_FILES if (here / n).is_file()), None)


def _override(display: str, path: Path | None) -> YamlFile | DeployFile | None:
    """The override file, shown beside the Compose file's display path."""
    if path is None:
        return None
    shown = str(Path(display).parent / path.name)
    text = _text(read_bytes(path, shown), shown, explicit=True)
    assert text is not None  # explicit: undecodable text raised InputError
    try:
        return load_yaml(text, shown)
    except YamlError as error:
        return _broken(shown, COMPOSE, text, error)
    except YamlLimit as error:
        raise InputError(shown, str(error)) from None


def _read_stdin() -> tuple[str, YamlFile] | DeployFile:
    """Stdin (`helm template chart/ | octolint deploy -`): Compose or Kubernetes by content.

    Findings name it ``-`` (``<stdin>`` in reports), as for Dockerfiles. As
    with ``docker compose -f -``, a Compose file's .env is the one in the
    current directory.
    """
    data = read_stdin()
    if not data.strip():
        raise InputError(STDIN_NAME, "empty: pipe a Compose file or Kubernetes manifests "
                                     "into 'octolint deploy -'")  # fmt: skip
    read = _parse(STDIN, STDIN_NAME, data, explicit=True)
    assert read is not None  # explicit: what is neither raised InputError
    return read


def _read(
    display: str, path: Path, *, explicit: bool
) -> tuple[str, YamlFile] | DeployFile | None:
    """(kind, YamlFile) for a deploy file, a broken DeployFile, or None to skip."""
    return _parse(display, display, read_bytes(path, display), explicit=explicit)


def _parse(
    display: str, name: str, data: bytes, *, explicit: bool
) -> tuple[str, YamlFile] | DeployFile | None:
    """``display`` is the finding's path, ``name`` the one input errors give."""
    text = _text(data, name, explicit=explicit)
    if text is None:
        return None
    if not explicit and "{{" in text:
        return None  # a Helm or Go template, not a manifest yet: lint `helm template` output
    try:
        source = load_yaml(text, display)
    except YamlError as error:
        return _broken(display, COMPOSE if "services:" in text else KUBERNETES, text, error)
    except YamlLimit as error:
        raise InputError(name, str(error)) from None
    found = kind_of(source)
    if found is None:
        if not explicit:
            return None
        raise InputError(name, "neither a Compose file (no 'services') nor a Kubernetes "
                               "manifest (no 'apiVersion' and 'kind')")  # fmt: skip
    return found, source


def _text(data: bytes, name: str, *, explicit: bool) -> str | None:
    if len(data) > MAX_BYTES:
        raise InputError(name, "larger than 64 MiB: not a deploy file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if not explicit:
            return None
        raise InputError(name, "not UTF-8 text: not a Compose file or manifest") from None


def _broken(display: str, kind: str, text: str, error: YamlError) -> DeployFile:
    """A file YAML cannot parse: its lines and the error with secret-looking values
    redacted by their shape, since there is no structure to find them by."""
    lines, secrets = redact_unparsed(text.splitlines())
    return DeployFile(display, kind, lines, comment_lines(text), redact_message(
        error.message, secrets), _within(text, error.line, error.column))  # fmt: skip


def _add(
    file: tuple[str, YamlFile] | DeployFile,
    target: DeployTarget,
    env_files: Sequence[Path] | None,
    override: YamlFile | DeployFile | None,
    group: tuple[str, KubeInputs],
) -> None:
    if isinstance(file, DeployFile):  # docker compose refuses it: nothing to merge into
        target.files.append(file)
        return
    kind, source = file
    if kind == COMPOSE:
        read_compose(source, target, env_files, [override] if override is not None else [])
    else:
        read_kubernetes(source, target, *group)


def _is_yaml(name: str) -> bool:
    return name.lower().endswith(YAML_SUFFIXES)


def _within(text: str, line: int, column: int) -> Span:
    """A parser position (possibly just past the end) as a region inside the file."""
    lines = text.splitlines() or [""]
    line = min(max(line, 1), len(lines))
    length = len(lines[line - 1])
    column = min(max(column, 1), length + 1)
    return Span(line, column, line, max(column, length))
