"""Images in memory, for unit tests of image rules: no registry, no Docker, no build.

``image_target(layers, config)`` writes each layer (a dict of path -> content) as a
real tar, indexes it with the real layer indexer (``octolint.image.layers``), which
records the same facts a scan does (glibc versions, kept files), and stacks the
indexes into a real :class:`ImageFS`. Rules then see exactly what a scan gives them::

    target = image_target(
        [{"/bin/sh": Exe(), "/lib64/ld-linux-x86-64.so.2": GLIBC_LOADER}],
        {"config": {"Env": ["PATH=/usr/bin:/bin"], "Entrypoint": ["nginx"]}},
    )
    assert finding_ids(target, "OCT201") == ["OCT201"]

A layer's value is text or bytes (a file, mode 0644, or 0755 under a ``bin`` or
``sbin`` directory), ``Exe(data)`` / ``File(data, mode)``, ``Link(target)`` (a
symlink), ``DIR`` or ``WHITEOUT`` (deletes the path from the layers below).
``config`` is the image config JSON (``os``, ``architecture``, ``os.version``,
``config``: Env, Entrypoint, Cmd; ``history``); os and architecture default to
linux/amd64. Only Linux images get a filesystem, as in a scan.

``from_example(spec)`` builds one from the ```` ```image ```` examples of image rules'
docstrings (run by tests/test_rule_docs.py): a JSON object with

- the image config's own keys, as in the image config JSON: ``"os"``,
  ``"architecture"``, ``"os.version"``, ``"config"`` (``Env``, ``Entrypoint``,
  ``Cmd``...), ``"history"``;
- ``"base": "debian"``: start from a debian:bookworm-slim-like image (its layer:
  os-release, ``/bin/sh``, bash, a glibc 2.36 loader and libc, ICU 72 and the
  other .NET libraries; and its ``Env`` PATH). ``Env`` entries given are appended,
  so a later ``PATH=`` wins, as in a Dockerfile;
- ``"layers"``: more layers, bottom first, each ``{path: value}`` where value is the
  file's text, ``{"exe": text}`` (mode 0755), ``{"link": target}`` or
  ``{"whiteout": true}``;
- ``"probe"`` (``--probe`` rules): ``{"os_release": {...}, "loadable": {soname: bool},
  "loader_checked": true}``.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from octolint.config import Config
from octolint.engine import Engine
from octolint.image.fs import ImageFS
from octolint.image.layers import index_layer, kept_files
from octolint.image.model import Descriptor, Platform, ResolvedImage
from octolint.image.probe import ProbeResult
from octolint.image.target import ImageTarget
from octolint.model import Finding
from octolint.rulebook import load_rules

REFERENCE = "example.test/app:1"


@dataclass(frozen=True)
class File:
    data: bytes | str = b""
    mode: int = 0o644


@dataclass(frozen=True)
class Link:
    target: str


def Exe(data: bytes | str = b"#!/bin/sh\n") -> File:
    return File(data, 0o755)


DIR = object()
WHITEOUT = object()
Content = Union[bytes, str, File, Link, object]
Layer = Mapping[str, Content]

# What the layer indexer recognises as glibc and musl (octolint.image.layers).
GLIBC_LOADER = File(b"\0ld.so (GNU libc) stable release version 2.36.\0", 0o755)
MUSL_LOADER = File(b"\0musl libc (x86_64)\nVersion 1.2.5\0", 0o755)


def glibc(version: str) -> File:
    """A libc.so.6 whose banner gives ``version``."""
    return File(f"\0GNU C Library (GLIBC {version}) stable release version {version}.\0".encode())


def debian(*extra: Layer) -> list[dict[str, Content]]:
    """A Debian-like base layer with a working .NET environment, and more layers."""
    base: dict[str, Content] = {
        "/etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
        "/bin/sh": Exe(),
        "/bin/bash": Exe(),
        "/lib64/ld-linux-x86-64.so.2": GLIBC_LOADER,
        "/lib/x86_64-linux-gnu/libc.so.6": glibc("2.36"),
        **{f"/usr/lib/x86_64-linux-gnu/{name}": b"" for name in DOTNET_LIBRARIES},
    }
    return [base, *(dict(layer) for layer in extra)]


DOTNET_LIBRARIES = ("libicuuc.so.72", "libicui18n.so.72", "libstdc++.so.6", "libgcc_s.so.1",
                    "libz.so.1", "libssl.so.3", "libgssapi_krb5.so.2")  # fmt: skip


def _mode(path: str, content: Content) -> int:
    if isinstance(content, File):
        return content.mode
    return 0o755 if path.rpartition("/")[0].endswith(("bin", "sbin")) else 0o644


def _add(tar: tarfile.TarFile, path: str, content: Content) -> None:
    name = path.strip("/")
    if content is WHITEOUT:
        parent, _, base = name.rpartition("/")
        name = f"{parent}/.wh.{base}" if parent else f".wh.{base}"
        content = b""
    info = tarfile.TarInfo(name)
    if isinstance(content, Link):
        info.type, info.linkname = tarfile.SYMTYPE, content.target
        tar.addfile(info)
    elif content is DIR:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        raw = content.data if isinstance(content, File) else content
        data = raw.encode() if isinstance(raw, str) else raw
        assert isinstance(data, bytes), f"{path}: unsupported content {content!r}"
        info.size, info.mode = len(data), _mode(path, content)
        tar.addfile(info, io.BytesIO(data))


def layer_tar(layer: Layer) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in layer.items():
            _add(tar, path, content)
    return buffer.getvalue()


def image_target(
    layers: Sequence[Layer] = (),
    config: Mapping[str, Any] | None = None,
    *,
    reference: str = REFERENCE,
    reads_files: Sequence[str] = (),
    probe: ProbeResult | None = None,
) -> ImageTarget:
    """A real ImageTarget of these layers (bottom first) and this image config.

    The files every installed image rule reads (READS_FILES) are kept, plus
    ``reads_files``: what a plugin rule under test declares."""
    full = {"os": "linux", "architecture": "amd64", **(config or {})}
    platform = Platform(str(full["os"]), str(full["architecture"]),
                        os_version=full.get("os.version"))  # fmt: skip
    kept = kept_files([*(r.reads_files for r in load_rules()), reads_files])
    tars = [layer_tar(layer) for layer in layers]
    digests = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    fs = None
    if platform.os == "linux":
        indexes = [index_layer(io.BytesIO(t), d, "", kept=kept) for t, d in zip(tars, digests)]
        fs = ImageFS.from_indexes(indexes)
    image = ResolvedImage(reference, "archive", "memory", platform, full,
                          [Descriptor(d, "") for d in digests])  # fmt: skip
    return ImageTarget(image, fs, probe=probe)


def findings(target: ImageTarget, rule_id: str) -> list[Finding]:
    """The findings of one rule on the target (the target is closed afterwards)."""
    rules = [r for r in load_rules() if r.id == rule_id]
    assert rules, f"no rule {rule_id}"
    try:
        return Engine(Config(), rules).run(target)
    finally:
        target.close()


def finding_ids(target: ImageTarget, rule_id: str) -> list[str]:
    return [f.rule_id for f in findings(target, rule_id)]


def layer_digest(target: ImageTarget, position: int) -> str:
    """The digest of the layer at ``position`` (0: the bottom one), as locations name it."""
    return target.image.layers[position].digest


PATH = "PATH=/usr/local/bin:/usr/bin:/bin"


def linux(env: Sequence[str] = (PATH,), **config: Any) -> dict[str, Any]:
    """An image config with this Env and any other ``config`` keys (Entrypoint, Cmd...)."""
    return {"config": {"Env": list(env), **config}}


DEBIAN_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _content(path: str, value: Any) -> Content:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        kind, argument = next(iter(value.items()))
        if kind == "exe":
            return Exe(str(argument))
        if kind == "link":
            return Link(str(argument))
        if kind == "whiteout" and argument is True:
            return WHITEOUT
    raise ValueError(f"{path}: expected text, {{'exe': text}}, {{'link': target}} or "
                     f"{{'whiteout': true}}, not {value!r}")  # fmt: skip


def from_example(spec: Mapping[str, Any]) -> ImageTarget:
    """The image a rule's ```image example describes (see the module docstring)."""
    spec = dict(spec)
    base = spec.pop("base", None)
    if base not in (None, "debian"):
        raise ValueError(f"unknown base {base!r} (only 'debian')")
    layers = [{p: _content(p, v) for p, v in layer.items()} for layer in spec.pop("layers", [])]
    probe = spec.pop("probe", None)
    inner = dict(spec.pop("config", {}))
    if base == "debian":
        layers = debian(*layers)
        inner["Env"] = [DEBIAN_PATH, *inner.get("Env", [])]
    config = {**spec, "config": inner}
    return image_target(layers, config, probe=ProbeResult(**probe) if probe else None)
