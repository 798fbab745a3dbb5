"""Image references (``name[:tag][@digest]``), normalised as Docker does."""

from __future__ import annotations

from dataclasses import dataclass

DOCKER_HUB = "docker.io"


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
    """Parse a reference; None for what is not one (empty, spaces, bad characters)."""
    text = text.strip()
    if not text or any(c.isspace() for c in text) or "$" in text:
        return None
    name, _, digest = text.partition("@")
    registry, remainder = DOCKER_HUB, name
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, remainder = first, rest
    repository, tag = remainder, None
    if ":" in remainder.rsplit("/", 1)[-1]:
        repository, _, tag = remainder.rpartition(":")
    if not repository:
        return None
    repository = repository.lower() if registry == DOCKER_HUB else repository
    if registry in (DOCKER_HUB, "index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    return ImageRef(registry, repository, tag or None, digest or None)
