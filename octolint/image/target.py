"""What an image rule's ``check()`` receives: the image's config and merged filesystem.

Rules point at a place with :meth:`ImageTarget.at`: an :class:`ImageLocation`
naming the image and platform, the file and its layer or the history step, and
the ``--dockerfile`` region that made it when one was given. The Dockerfile's
pragmas apply to findings at its lines.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from octolint.image.fs import ImageFS
from octolint.image.libraries import dynamic_loader, find_libraries_matching, find_library
from octolint.image.model import Platform, ResolvedImage
from octolint.image.probe import ProbeResult
from octolint.knowledge.base_images import DEFAULT_PATH
from octolint.knowledge.octopus import SUPPORTED, OctopusServer
from octolint.model import FileLocation, ImageLocation, Location, Problem, Span
from octolint.plugin import span_of
from octolint.redact import secret_values
from octolint.suppress import Suppressions, collect

if TYPE_CHECKING:
    from octolint.dockerfile.stages import Build
    from octolint.rulebook import Rule

# config.architecture -> the machine name the dynamic loader and ld.so.cache use
MACHINES = {"amd64": "x86_64", "arm64": "aarch64", "arm": "arm", "386": "i386"}
# The image config's `config` keys (the OCI spec's spelling), by their lower case.
_CONFIG_KEYS = {key.lower(): key for key in (
    "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
    "StopSignal", "ArgsEscaped", "Healthcheck", "Shell", "OnBuild",
)}  # fmt: skip


@dataclass
class ImageTarget:
    """One image for one platform. ``fs`` is None for images that are not Linux."""

    KIND: ClassVar[str] = "image"

    image: ResolvedImage
    fs: ImageFS | None
    dockerfile: Build | None = None  # from --dockerfile, to point findings at source lines
    probe: ProbeResult | None = None  # from --probe: what running the image showed
    octopus: OctopusServer = SUPPORTED  # the Octopus version findings are judged for
    pragmas: Suppressions = field(init=False)

    def __post_init__(self) -> None:
        self.pragmas = collect(self.dockerfile.dockerfile) if self.dockerfile else Suppressions()

    # -- where ----------------------------------------------------------------
    def at(self, setting: str | None = "FROM", *, file: str | None = None) -> ImageLocation:
        """This image, at what set ``setting`` (ENTRYPOINT, CMD; FROM: the base image;
        None: the image as a whole), and at a ``file`` in it (with the layer holding it)."""
        step = None
        if setting in ("ENTRYPOINT", "CMD") and self.dockerfile is None:
            found = self.history_step(rf"\b{setting}\b")
            step = found[0] if found else None
        layer = self.fs.layer_of(file) if file is not None and self.fs is not None else None
        source = self.source_of(setting) if setting is not None else None
        dockerfile = FileLocation.of(source[0], source[1], self._lines) if source else None
        return ImageLocation(self.reference, str(self.image.platform), file, layer, step,
                             dockerfile)  # fmt: skip

    def at_run(self, script: re.Pattern[str], *, file: str | None = None) -> ImageLocation:
        """Like ``at("FROM", file=...)``, but pointing at the --dockerfile's first RUN of
        the final image whose script matches ``script`` (what installed something), when
        there is one: that is the line to fix, not FROM."""
        location = self.at("FROM", file=file)
        build = self.dockerfile
        if build is None:
            return location
        from octolint.dockerfile.shell import run_script

        for _stage, instruction in build.final_instructions():
            if instruction.name == "RUN" and script.search(run_script(instruction)):
                region = FileLocation.of(build.dockerfile.path, span_of(instruction), self._lines)
                return dataclasses.replace(location, dockerfile=region)
        return location

    @property
    def _lines(self) -> Sequence[str]:
        return self.dockerfile.dockerfile.lines if self.dockerfile else ()

    # -- what the engine asks of every target ---------------------------------
    def accepts(self, rule: Rule) -> bool:
        return True

    def locate(self, problem: Problem) -> tuple[Location, str | None]:
        location = problem.image or ImageLocation(self.reference, str(self.image.platform))
        region = location.dockerfile
        if region is None:
            return location, None
        return location, "\n".join(self._lines[region.line - 1 : region.end_line]) or None

    def stage_of(self, problem: Problem) -> str | None:
        return None

    def silences(self, keys: tuple[str, str], location: Location) -> bool:
        region = location.dockerfile if isinstance(location, ImageLocation) else location
        line = region.line if region is not None else -1  # global pragmas still apply
        return self.pragmas.silences(keys, line)

    def pragma_files(self) -> list[tuple[str, Suppressions, Sequence[str]]]:
        return []  # the --dockerfile's own notes come from linting it

    def secrets(self) -> Sequence[str]:
        """Values of the image's Env that look like secrets (octolint.redact)."""
        return secret_values(self.env)

    def close(self) -> None:
        if self.fs is not None:
            self.fs.close()

    # -- config -------------------------------------------------------------
    @property
    def reference(self) -> str:
        return self.image.reference

    @cached_property
    def config(self) -> dict[str, Any]:
        """The ``config`` object of the image config (Env, Entrypoint, Cmd, ...), its
        keys in their usual spelling: Docker decodes them with Go's encoding/json,
        which matches names regardless of case (the last of "Env" and "env" wins)."""
        inner = self.image.config.get("config") or {}
        if not isinstance(inner, dict):
            return {}
        return {_CONFIG_KEYS.get(str(key).lower(), str(key)): value for key, value in inner.items()}

    @property
    def os(self) -> str:
        return str(self.image.config.get("os") or self.image.platform.os)

    @property
    def architecture(self) -> str:
        return str(self.image.config.get("architecture") or self.image.platform.architecture)

    @property
    def variant(self) -> str | None:
        """The architecture's variant (v7, v8...), normalised as containerd does."""
        variant = self.image.config.get("variant") or self.image.platform.variant
        platform = Platform(self.os, self.architecture, str(variant) if variant else None)
        return platform.normalised().variant

    @property
    def os_version(self) -> str | None:
        version = self.image.config.get("os.version") or self.image.platform.os_version
        return str(version) if version else None

    @property
    def machine(self) -> str:
        return MACHINES.get(self.architecture, self.architecture)

    @cached_property
    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for item in self.config.get("Env") or []:
            name, _, value = str(item).partition("=")
            values[name] = value
        return values

    def command(self, key: str) -> list[str]:
        """Entrypoint or Cmd as a list (empty when unset).

        An Entrypoint of one empty string is none: that is how the engine reads
        ``ENTRYPOINT [""]`` (and ``docker run --entrypoint ''``)."""
        value = self.config.get(key)
        if isinstance(value, str):
            value = [value]
        words = [str(v) for v in value] if isinstance(value, list) else []
        return [] if key == "Entrypoint" and words == [""] else words

    @property
    def history(self) -> list[dict[str, Any]]:
        entries = self.image.config.get("history") or []
        return [h for h in entries if isinstance(h, dict)]

    def history_step(self, pattern: str) -> tuple[int, dict[str, Any]] | None:
        """The last history entry whose created_by matches pattern, with its 1-based number."""
        compiled = re.compile(pattern)
        found = None
        for number, entry in enumerate(self.history, 1):
            if compiled.search(str(entry.get("created_by", ""))):
                found = (number, entry)
        return found

    # -- the Dockerfile, when given ------------------------------------------------
    def source_of(self, instruction: str) -> tuple[str, Span] | None:
        """(Dockerfile path, span) of what set ENTRYPOINT/CMD, or of the base image's FROM.

        Only known with --dockerfile. A setting the Dockerfile does not make
        was inherited from the base image, so the FROM line is the place to fix it.
        """
        build = self.dockerfile
        if build is None:
            return None
        found = build.last_setting(instruction) if instruction in ("CMD", "ENTRYPOINT") else None
        node = found[1] if found else build.external_base().from_instruction
        return build.dockerfile.path, span_of(node)

    def inherited(self, instruction: str) -> bool | None:
        """Whether ENTRYPOINT/CMD came from the base image (None without --dockerfile)."""
        if self.dockerfile is None:
            return None
        return self.dockerfile.last_setting(instruction) is None

    # -- filesystem ------------------------------------------------------------
    @property
    def path_dirs(self) -> list[str]:
        """PATH's directories; with no PATH in the config, the one Docker and containerd
        give a Linux container (configs written by ko, Bazel, Nix or by hand often have
        no Env at all)."""
        default = DEFAULT_PATH if self.os != "windows" else ""
        return [d for d in self.env.get("PATH", default).split(":") if d]

    @property
    def ld_library_path(self) -> list[str]:
        return [d for d in self.env.get("LD_LIBRARY_PATH", "").split(":") if d]

    def library(self, soname: str) -> str | None:
        if self.fs is None:
            return None
        return find_library(self.fs, soname, ld_library_path=self.ld_library_path,
                            machine=self.machine)  # fmt: skip

    def libraries_matching(self, pattern: str) -> dict[str, str]:
        if self.fs is None:
            return {}
        return find_libraries_matching(self.fs, pattern, ld_library_path=self.ld_library_path,
                                       machine=self.machine)  # fmt: skip

    def loader(self) -> tuple[str, str] | None:
        return dynamic_loader(self.fs, self.machine) if self.fs is not None else None

    def which(self, name: str) -> str | None:
        """The executable PATH would find, as a shell in the container would."""
        if self.fs is None:
            return None
        for directory in self.path_dirs:
            candidate = f"{directory.rstrip('/')}/{name}"
            if self.fs.is_executable(candidate):
                return candidate
        return None

    @cached_property
    def os_release(self) -> dict[str, str]:
        """/etc/os-release (or /usr/lib/os-release) as a dict; empty when absent."""
        if self.fs is None:
            return {}
        data = self.fs.read("/etc/os-release") or self.fs.read("/usr/lib/os-release") or b""
        values = {}
        for line in data.decode("utf-8", "replace").splitlines():
            key, eq, value = line.partition("=")
            if eq and key.strip() and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
        return values

    @property
    def distro(self) -> str:
        """'debian', 'ubuntu', 'fedora', 'alpine'... ('' when unknown)."""
        return self.os_release.get("ID", "").lower()

    @property
    def distro_family(self) -> str:
        """The distro, or what it is like ('rhel fedora' -> 'fedora'), for package names."""
        known = ("debian", "ubuntu", "fedora", "rhel", "centos", "alpine", "opensuse", "suse")
        for candidate in [self.distro, *self.os_release.get("ID_LIKE", "").lower().split()]:
            if candidate in known:
                return candidate
        return self.distro


def origin(target: ImageTarget, instruction: str) -> str:
    """Where the setting came from, when the --dockerfile tells (the image's history step
    is in the finding's location)."""
    inherited = target.inherited(instruction)
    if inherited is True:
        return ", inherited from the base image"
    if inherited is False:
        return ", set in the Dockerfile"
    return ""
