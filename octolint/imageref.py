"""Image references (``name[:tag][@digest]``), read and normalised as Docker does.

The grammar is distribution/reference's (what ``docker pull`` and BuildKit accept):
lower-case path components, a domain that is the first component when it holds a
``.`` or ``:``, is ``localhost`` or has upper-case letters, a tag of at most 128 word
characters, ``.`` and ``-`` not starting with either, a digest ``algorithm:hex``.
What it refuses is no reference at all (None): it never reaches a registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"\w[\w.-]{0,127}")
_DIGEST = re.compile(r"(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*)"
                     r":(?P<hex>[0-9a-fA-F]{32,})")  # fmt: skip
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_MAX_NAME = 255


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "docker.io" for Docker Hub
    repository: str  # "library/ubuntu" for the short name "ubuntu"
    tag: str | None = None
    digest: str | None = None

    @property
    def short_name(self) -> str:
        """The repository as people write it: 'ubuntu', 'mcr.microsoft.com/dotnet/sdk'."""
        repo = self.repository
        if self.registry == DOCKER_HUB:
            return repo[len("library/") :] if repo.startswith("library/") else repo
        return f"{self.registry}/{repo}"

    @property
    def last_component(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        text = self.short_name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef | None:
    """Parse a reference; None for what is not one (empty, spaces, upper case in the
    repository, a malformed tag or digest...). A trailing ``:`` (a tag Compose
    interpolated to nothing) is taken as no tag."""
    text = text.strip()
    if not text or any(c.isspace() for c in text) or "$" in text:
        return None
    name, at, digest = text.partition("@")
    if at and not _valid_digest(digest):
        return None
    registry, remainder = DOCKER_HUB, name
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, remainder = first, rest
    repository, tag = remainder, None
    if ":" in remainder.rsplit("/", 1)[-1]:
        repository, _, tag = remainder.rpartition(":")
    if not _PATH.fullmatch(repository) or (tag and not _TAG.fullmatch(tag)):
        return None
    if not _DOMAIN.fullmatch(registry) or len(name) - len(tag or "") > _MAX_NAME:
        return None
    if registry in (DOCKER_HUB, "index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    return ImageRef(registry, repository, tag or None, digest or None)


def _valid_digest(digest: str) -> bool:
    match = _DIGEST.fullmatch(digest)
    if match is None:
        return False
    wanted = _DIGEST_LENGTHS.get(match.group("algorithm"))
    return wanted is None or len(match.group("hex")) == wanted
