"""What octolint knows about base images from their name and tag alone, for the
Dockerfile rules, which cannot look inside the image (``octolint image`` reads the
built image and decides from its files instead).

Names are short names as :class:`octolint.imageref.ImageRef` gives them (no
``docker.io/`` or ``library/``), matched as glob patterns.

Sources:

- musl: Octopus's execution-container documentation, "Linux distributions built
  on musl, most notably Alpine, do not support Calamari"
  (https://octopus.com/docs/projects/steps/execution-containers-for-workers), and
  the images' own pages (Docker Hub ``alpine``, ``busybox`` ``*-musl`` tags, Void
  Linux, Chimera Linux, postmarketOS).
- Windows: the same page supports Windows containers from ltsc2019 (build 17763);
  release names and their builds from
  https://learn.microsoft.com/windows/release-health/windows-server-release-info.
- No shell: ``scratch`` (https://docs.docker.com/build/building/base-images/),
  distroless (https://github.com/GoogleContainerTools/distroless), Ubuntu chiseled
  images such as .NET's ``*-chiseled`` tags
  (https://learn.microsoft.com/dotnet/core/docker/container-images).
- No ICU: the official distribution images as published (their slim package sets
  leave libicu out); checked by ``octolint image`` on each (OCT204).
"""

from __future__ import annotations

import re

# -- musl (OCT103) ----------------------------------------------------------------------
MUSL_WORD = re.compile(r"(^|[^a-z])(alpine|musl)", re.IGNORECASE)  # in a tag
MUSL_IMAGES = (
    "alpine",
    "*/alpine",
    "alpinelinux/*",
    "voidlinux/voidlinux-musl",
    "ghcr.io/void-linux/void-musl*",
    "chimeralinux/chimera",
    "postmarketos/*",
)
MUSL_TAGGED = "busybox"  # musl only in its *musl* tags

# -- Windows (OCT104, OCT206) -------------------------------------------------------------
SUPPORTED_WINDOWS_BUILD = 17763  # ltsc2019 (1809): the oldest Octopus supports
# Release names and their builds; everything listed is older than 17763.
OLD_WINDOWS_RELEASES = {"ltsc2016": 14393, "sac2016": 14393}  # Windows on any image
OLD_WINDOWS_VERSIONS = {"1607": 14393, "1709": 16299, "1803": 17134}  # on Windows images only
WINDOWS_BUILD = re.compile(r"(?:^|[^0-9.])10\.0\.(\d{5})(?:\.\d+)?(?:$|[^0-9.])")  # 10.0.14393.x
# Names that say Windows (so "node:1709" is not mistaken for a Windows release).
WINDOWS_IMAGE = re.compile(
    r"windows|servercore|nanoserver|dotnet/framework|powershell|microsoft/dotnet",
    re.IGNORECASE,
)

# -- no shell (OCT109) ----------------------------------------------------------------------
NO_SHELL_NAME = {"scratch": "scratch is an empty image"}  # the whole name
NO_SHELL_COMPONENT = {"distroless": "distroless images contain no shell"}  # a path component
NO_SHELL_TAG = {"chiseled": "chiseled images contain no shell"}  # in the tag

# -- no ICU (OCT107) ----------------------------------------------------------------------
# Official images only: someone's "ghcr.io/acme/ubuntu" may well carry ICU.
_DISTROS = ("debian", "ubuntu", "fedora", "rockylinux", "almalinux", "centos",
            "oraclelinux", "amazonlinux")  # fmt: skip
_MIRRORS = ("", "amd64/", "arm64v8/", "arm32v7/", "i386/", "ppc64le/", "s390x/",
            "public.ecr.aws/docker/library/", "mirror.gcr.io/library/")  # fmt: skip
WITHOUT_ICU = (
    *(mirror + distro for mirror in _MIRRORS for distro in _DISTROS),
    "ubuntu.azurecr.io/ubuntu", "public.ecr.aws/ubuntu/ubuntu",
    "public.ecr.aws/amazonlinux/amazonlinux",
    "registry.fedoraproject.org/fedora", "quay.io/fedora/fedora", "rockylinux/rockylinux",
    "quay.io/centos/centos", "opensuse/leap", "opensuse/tumbleweed",
    "registry.access.redhat.com/ubi[89]*", "registry.access.redhat.com/ubi10*",
    "redhat/ubi[89]*", "redhat/ubi10*",
    "mcr.microsoft.com/azurelinux/base/core", "mcr.microsoft.com/cbl-mariner/base/core",
)  # fmt: skip
SLIM_WITHOUT_ICU = ("python",)  # only their -slim tags
