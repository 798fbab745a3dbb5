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

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octolint.imageref import ImageRef

# -- musl (OCT103) ----------------------------------------------------------------------
MUSL_WORD = re.compile(r"(^|[^a-z])(alpine|musl)", re.IGNORECASE)  # in a tag or name
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
NO_SHELL_COMPONENT = {"distroless": "distroless images contain no shell"}  # in the name
NO_SHELL_TAG = {"chiseled": "chiseled images contain no shell",
                "distroless": "distroless images contain no shell"}  # in the tag  # fmt: skip

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

# -- well-known base images: what a FROM inherits ------------------------------------------
# One row per image family, read by the Dockerfile rules through facts(): OCT101 (an
# ENTRYPOINT the base sets), OCT103 (musl), OCT104 (Windows build), OCT105 (ENV the base
# sets: PATH and the version managers' homes), OCT107 (ICU), OCT109 (no shell). A fact
# left None is not known and decides nothing; an image in no row is unknown and every
# rule stays silent about it. Rows are tried in order, and for each fact the first row
# that matches the image and its tag and knows the fact decides, so a tag-specific row
# (``node`` with an ``alpine`` tag) comes before the family's general row.
#
# Sources: each row's ``source`` is the Dockerfile (or the library definition) that
# sets the fact; Docker official images are built from the library definitions at
# https://github.com/docker-library/official-images/tree/master/library, which name
# each tag's Dockerfile. The images' ``docker inspect`` agrees (``octolint image``
# checks the built image: OCT201, OCT203, OCT204, OCT206, OCT207, OCT208).


@dataclass(frozen=True)
class BaseImage:
    """Facts about a family of images, for the tags ``tags`` matches."""

    names: tuple[str, ...]  # glob patterns over ImageRef.short_name
    source: str  # where the facts come from
    tags: str | None = None  # a regular expression searched in the tag; None: any tag
    entrypoint: str | None = None  # the ENTRYPOINT it sets, as its Dockerfile writes it ("": none)
    libc: str | None = None  # "glibc" or "musl"
    icu: bool | None = None  # whether libicu is installed
    shell: bool | None = None  # whether /bin/sh exists
    windows_build: int | None = None  # the newest Windows build of any tag (legacy repos)
    env: tuple[tuple[str, str], ...] = ()  # ENV it sets that the rules use (PATH, homes)


@dataclass(frozen=True)
class Facts:
    """What is known about one image and tag; None: not known."""

    name: str
    entrypoint: str | None = None
    libc: str | None = None
    icu: bool | None = None
    shell: bool | None = None
    windows_build: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's own


def _hub(*names: str) -> tuple[str, ...]:
    """Docker official images (facts() also finds them under their mirrors and
    architecture repositories: amd64/node, public.ecr.aws/docker/library/node)."""
    return names


_OFFICIAL = "https://github.com/docker-library/official-images/blob/master/library/"
_SLIM = r"(^|[-_.])slim($|[-_.])"
_ALPINE = r"alpine"
_WINDOWS_TAG = r"windowsservercore|nanoserver|ltsc20"
_NVM = "/usr/local/share/nvm"
_SDKMAN = "/usr/local/sdkman"
_DEVCONTAINER_PATH = (f"{_NVM}/current/bin:{_SDKMAN}/candidates/java/current/bin:"
                      f"{_SDKMAN}/candidates/maven/current/bin:"
                      f"{_SDKMAN}/candidates/gradle/current/bin:{DEFAULT_PATH}")  # fmt: skip
_CARGO = "/usr/local/cargo"
_CONDA = "/opt/conda"
_DISTROLESS = "https://github.com/GoogleContainerTools/distroless/blob/main/"
_DOTNET = "https://github.com/dotnet/dotnet-docker/tree/main/src/"
_MS_DOTNET = ("mcr.microsoft.com/dotnet/runtime-deps", "mcr.microsoft.com/dotnet/runtime",
              "mcr.microsoft.com/dotnet/aspnet", "mcr.microsoft.com/dotnet/sdk",
              "mcr.microsoft.com/dotnet/core/runtime-deps", "mcr.microsoft.com/dotnet/core/runtime",
              "mcr.microsoft.com/dotnet/core/aspnet", "mcr.microsoft.com/dotnet/core/sdk",
              "mcr.microsoft.com/dotnet/nightly/*", "microsoft/dotnet")  # fmt: skip
_DEVCONTAINERS = ("mcr.microsoft.com/vscode/devcontainers/*", "mcr.microsoft.com/devcontainers/*")

# fmt: off
KNOWN: tuple[BaseImage, ...] = (
    # -- tag variants first: they decide before the family's general row -----------------
    BaseImage(_hub("node", "python", "ruby", "rust", "golang", "nginx", "postgres", "httpd",
                   "redis", "php", "openjdk", "eclipse-temurin", "maven", "gradle", "perl",
                   "haproxy", "memcached", "rabbitmq", "mongo", "mariadb", "mysql", "erlang",
                   "elixir", "julia", "haskell", "buildpack-deps", "bash", "docker", "caddy",
                   "traefik", "registry", "vault", "consul"),
              _OFFICIAL + " (the alpine tags are built FROM alpine)", tags=_ALPINE,
              libc="musl", icu=False),
    BaseImage(_hub("node", "python", "ruby", "rust", "golang", "perl", "openjdk", "php",
                   "erlang", "elixir", "haskell", "julia", "buildpack-deps"),
              _OFFICIAL + " (windowsservercore/nanoserver tags)", tags=_WINDOWS_TAG,
              libc="windows"),
    BaseImage(_hub("node", "python", "ruby", "rust", "perl", "php", "openjdk", "erlang",
                   "elixir", "haskell"),
              _OFFICIAL + " (the -slim tags are FROM debian:*-slim, no buildpack-deps)",
              tags=_SLIM, libc="glibc", icu=False),
    # -- Docker official images -----------------------------------------------------------
    BaseImage(_hub("node"),
              "https://github.com/nodejs/docker-node/issues/1039 (May 2019: no ENTRYPOINT "
              "yet); docker-entrypoint.sh came with the builds of late May 2019 (then "
              "current: 6.17.1, 8.16, 10.15.3, 11.15, 12.x), earlier releases were not rebuilt",
              tags=r"^(?:(?:0|4|5|7|9)(?!\d)|(?:6\.(?:\d|1[0-6])|8\.(?:\d|1[0-5])|10\.(?:\d|1[0-4])"
                   r"|11\.(?:\d|1[0-4])|12\.[01])\.|(?:6\.17\.0|10\.15\.[0-2])(?!\d))",
              entrypoint=""),
    BaseImage(_hub("node"),
              "https://github.com/nodejs/docker-node/blob/main/docker-entrypoint.sh and "
              "Dockerfile-debian.template (ENTRYPOINT since 2019, FROM buildpack-deps)",
              entrypoint='["docker-entrypoint.sh"]', libc="glibc", icu=True, shell=True),
    BaseImage(_hub("python", "ruby", "perl", "buildpack-deps", "erlang", "elixir", "gcc"),
              _OFFICIAL + " (FROM buildpack-deps, whose libxml2-dev pulls in libicu: "
              "https://github.com/docker-library/buildpack-deps/blob/master/debian/bookworm/Dockerfile)",
              libc="glibc", icu=True, shell=True),
    BaseImage(_hub("rust"),
              "https://github.com/rust-lang/docker-rust/blob/master/stable/bookworm/Dockerfile "
              "(ENV RUSTUP_HOME, CARGO_HOME, PATH; FROM buildpack-deps)",
              libc="glibc", icu=True, shell=True,
              env=(("CARGO_HOME", _CARGO), ("RUSTUP_HOME", "/usr/local/rustup"),
                   ("PATH", f"{_CARGO}/bin:{DEFAULT_PATH}"))),
    BaseImage(_hub("golang"),
              "https://github.com/docker-library/golang/blob/master/Dockerfile-linux.template",
              libc="glibc", shell=True,
              env=(("GOPATH", "/go"), ("PATH", f"/go/bin:/usr/local/go/bin:{DEFAULT_PATH}"))),
    BaseImage(_hub("nginx"),
              "https://github.com/nginxinc/docker-nginx/commits/master/entrypoint "
              "(docker-entrypoint.sh arrived in 2020 with 1.19.0; 1.17 and older have none)",
              tags=r"^1\.(?:\d|1[0-7])(?!\d)", entrypoint=""),
    BaseImage(_hub("nginx"),
              "https://github.com/nginxinc/docker-nginx/blob/master/mainline/debian/Dockerfile "
              "(ENTRYPOINT since 1.19; nginx-module-xslt pulls in libxml2 and libicu)",
              entrypoint='["/docker-entrypoint.sh"]', libc="glibc", icu=True, shell=True),
    BaseImage(_hub("postgres", "mysql", "mariadb", "mongo", "redis", "rabbitmq", "memcached",
                   "haproxy", "docker", "consul", "vault", "wordpress", "ghost"),
              _OFFICIAL + " (each image's Dockerfile ends ENTRYPOINT [\"docker-entrypoint.sh\"])",
              entrypoint='["docker-entrypoint.sh"]', shell=True),
    BaseImage(_hub("docker"),
              "https://github.com/docker-library/docker/blob/master/Dockerfile-cli.template",
              libc="musl", icu=False),
    BaseImage(_hub("php"),
              "https://github.com/docker-library/php/blob/master/Dockerfile-linux.template",
              entrypoint='["docker-php-entrypoint"]', libc="glibc", shell=True),
    BaseImage(_hub("maven"),
              "https://github.com/carlossg/docker-maven/blob/main/eclipse-temurin-21/Dockerfile",
              entrypoint='["/usr/local/bin/mvn-entrypoint.sh"]', libc="glibc", shell=True),
    BaseImage(_hub("eclipse-temurin"),
              "https://github.com/adoptium/containers/pull/392 (the CA-certificates entrypoint), "
              "published for the current releases (8u382, 11.0.20, 17.0.8, 20.0.2) by "
              "https://github.com/docker-library/official-images/pull/15162 in August 2023: "
              "older pinned tags were not rebuilt",
              tags=r"^(?:(?:8u(?:[0-2]\d\d|3[0-7]\d)|11\.0\.1?\d|17\.0\.[0-7]|20\.0\.[01])"
                   r"(?!\d)|19\.)", entrypoint=""),
    BaseImage(_hub("eclipse-temurin"),
              "https://github.com/adoptium/containers/blob/main/21/jdk/ubuntu/noble/Dockerfile",
              entrypoint='["/__cacert_entrypoint.sh"]', libc="glibc", shell=True),
    BaseImage(_hub("openjdk", "gradle", "httpd"), _OFFICIAL,
              libc="glibc", shell=True),
    BaseImage(_hub("alpine"), "https://github.com/alpinelinux/docker-alpine",
              libc="musl", icu=False, shell=True),
    BaseImage(_hub("debian", "ubuntu"),
              "https://github.com/debuerreotype/docker-debian-artifacts, "
              "https://git.launchpad.net/cloud-images/+oci/ubuntu-base (minimal package sets)",
              libc="glibc", icu=False, shell=True),
    BaseImage(_hub("continuumio/miniconda3", "continuumio/anaconda3", "condaforge/miniforge3"),
              "https://github.com/ContinuumIO/docker-images/blob/main/miniconda3/debian/Dockerfile",
              libc="glibc", shell=True,
              env=(("PATH", f"{_CONDA}/bin:{DEFAULT_PATH}"),)),
    # -- vendor images on Docker Hub ---------------------------------------------------------
    BaseImage(("hashicorp/terraform",),
              "https://github.com/hashicorp/terraform/blob/main/Dockerfile (FROM alpine)",
              entrypoint='["/bin/terraform"]', libc="musl", icu=False, shell=True),
    BaseImage(("hashicorp/packer",),
              "https://github.com/hashicorp/packer/blob/main/Dockerfile (FROM alpine)",
              entrypoint='["/bin/packer"]', libc="musl", icu=False, shell=True),
    BaseImage(("amazon/aws-cli", "public.ecr.aws/aws-cli/aws-cli"),
              "https://github.com/aws/aws-cli/blob/v2/docker/Dockerfile (FROM amazonlinux)",
              entrypoint='["/usr/local/bin/aws"]', libc="glibc", shell=True),
    BaseImage(("alpine/helm", "alpine/git", "alpine/k8s"),
              "https://github.com/alpine-docker (FROM alpine, ENTRYPOINT the tool)",
              libc="musl", icu=False, shell=True),
    BaseImage(("alpine/helm",), "https://github.com/alpine-docker/helm/blob/master/Dockerfile",
              entrypoint='["helm"]'),
    BaseImage(("alpine/git",), "https://github.com/alpine-docker/git/blob/master/Dockerfile",
              entrypoint='["git"]'),
    BaseImage(("bitnami/kubectl",),
              "https://github.com/bitnami/containers/blob/main/bitnami/kubectl/1.31/debian-12/Dockerfile",
              entrypoint='["kubectl"]', libc="glibc", shell=True),
    BaseImage(("jenkins/jenkins",),
              "https://github.com/jenkinsci/docker/blob/master/debian/bookworm/hotspot/Dockerfile",
              entrypoint='["/usr/bin/tini", "--", "/usr/local/bin/jenkins.sh"]'),
    BaseImage(("jenkins/inbound-agent",),
              "https://github.com/jenkinsci/docker-agent/blob/master/debian/Dockerfile",
              entrypoint='["/usr/local/bin/jenkins-agent"]'),
    BaseImage(("octopusdeploy/worker-tools",),
              "https://github.com/OctopusDeploy/WorkerTools (Ubuntu with PowerShell and the "
              ".NET dependencies)", libc="glibc", icu=True, shell=True),
    # -- Microsoft (MCR) ------------------------------------------------------------------
    BaseImage(_MS_DOTNET, _DOTNET + " (the *-alpine tags are built FROM alpine)", tags=_ALPINE,
              libc="musl"),
    BaseImage(_MS_DOTNET, _DOTNET + " (the *-chiseled tags: Ubuntu chiseled, no shell; "
              "ICU only in *-extra)", tags=r"chiseled", libc="glibc", shell=False),
    BaseImage(_MS_DOTNET, _DOTNET + " (the *-extra tags add ICU and tzdata)", tags=r"-extra",
              icu=True),
    BaseImage(_MS_DOTNET, _DOTNET + " (the *-distroless tags: Azure Linux distroless, no shell)",
              tags=r"distroless", libc="glibc", shell=False),
    BaseImage(_MS_DOTNET, _DOTNET + " (runtime-deps installs libicu; nanoserver and "
              "windowsservercore tags are Windows)", tags=_WINDOWS_TAG, libc="windows"),
    BaseImage(_MS_DOTNET, _DOTNET + "runtime-deps/8.0/bookworm-slim/amd64/Dockerfile "
              "(libicu72 and the other .NET dependencies)", libc="glibc", icu=True,
              shell=True),
    BaseImage(("mcr.microsoft.com/powershell", "mcr.microsoft.com/powershell/*"),
              "https://github.com/PowerShell/PowerShell-Docker (PowerShell depends on libicu)",
              icu=True),
    BaseImage(("mcr.microsoft.com/windows", "mcr.microsoft.com/windows/*",
               "mcr.microsoft.com/dotnet/framework/*", "mcr.microsoft.com/powershell"),
              "https://learn.microsoft.com/virtualization/windowscontainers/manage-containers/"
              "container-base-images (the Windows base images; the release is in the tag)",
              tags=r"windows|servercore|nanoserver|ltsc|^\d{4}", libc="windows"),
    BaseImage(("microsoft/windowsservercore", "microsoft/nanoserver"),
              "https://hub.docker.com/r/microsoft/windowsservercore (deprecated in 2018; its "
              "newest tags are 1803, build 17134; images moved to mcr.microsoft.com/windows)",
              libc="windows", windows_build=17134),
    BaseImage(_DEVCONTAINERS,
              "https://github.com/microsoft/vscode-dev-containers/blob/main/containers/java/"
              ".devcontainer/base.Dockerfile (ENV SDKMAN_DIR, NVM_DIR and their PATH; "
              "script-library/common-debian.sh installs libicu)",
              icu=True, shell=True,
              env=(("NVM_DIR", _NVM), ("SDKMAN_DIR", _SDKMAN), ("PATH", _DEVCONTAINER_PATH))),
    # -- distroless ----------------------------------------------------------------------
    BaseImage(("gcr.io/distroless/*",), _DISTROLESS + "README.md (the :debug tags add busybox)",
              tags=r"debug", shell=True),
    BaseImage(("gcr.io/distroless/nodejs*",), _DISTROLESS + "nodejs/BUILD",
              entrypoint='["/nodejs/bin/node"]'),
    BaseImage(("gcr.io/distroless/java*",), _DISTROLESS + "java/BUILD",
              entrypoint='["/usr/bin/java", "-jar"]'),
    BaseImage(("gcr.io/distroless/python3*",), _DISTROLESS + "python3/BUILD",
              entrypoint='["/usr/bin/python3"]'),
    BaseImage(("gcr.io/distroless/*",), _DISTROLESS + "README.md", libc="glibc", shell=False),
)
# fmt: on


_GLOB = re.compile(r"[*?\[]")


@functools.cache
def _rows() -> list[tuple[frozenset[str], tuple[str, ...], BaseImage]]:
    """Each row's literal names as a set and its glob patterns apart, computed once."""
    return [(frozenset(n for n in row.names if not _GLOB.search(n)),
             tuple(n for n in row.names if _GLOB.search(n)), row)
            for row in KNOWN]  # fmt: skip


def _lookup_rows(name: str, tag: str) -> list[BaseImage]:
    name = next((name[len(m):] for m in _MIRRORS if m and name.startswith(m)), name)
    return [row for literal, globs, row in _rows()
            if (name in literal or any(fnmatch.fnmatchcase(name, g) for g in globs))
            and (row.tags is None or re.search(row.tags, tag, re.IGNORECASE))]  # fmt: skip


@functools.lru_cache(maxsize=256)  # the rules of one Dockerfile ask about the same base
def base_env(ref: ImageRef | None) -> dict[str, str]:
    """The ENV the base image ``ref`` (None: unknown) gives a Dockerfile: its known ENV,
    and Docker's default PATH when that is not known (every image has /usr/bin & co.)."""
    env = dict(facts(ref.short_name, ref.tag).env) if ref is not None else {}
    env.setdefault("PATH", DEFAULT_PATH)
    return env


def facts(name: str, tag: str | None) -> Facts:
    """What is known about the image ``name`` (a short name) with this tag (None: latest).

    A tag may still hold an unresolved ``${VAR}``: the words around it decide
    (``7.0-alpine-${PLATFORM}`` is Alpine whatever PLATFORM is). The answer is
    shared between callers: do not change it."""
    rows = _lookup_rows(name, tag or "latest")
    env: dict[str, str] = {}
    for row in rows:
        for key, value in row.env:
            env.setdefault(key, value)

    def first(attribute: str) -> Any:
        return next((getattr(r, attribute) for r in rows if getattr(r, attribute) is not None),
                    None)  # fmt: skip

    return Facts(
        name=name,
        entrypoint=first("entrypoint"),
        libc=first("libc"),
        icu=first("icu"),
        shell=first("shell"),
        windows_build=first("windows_build"),
        env=env,
        sources=tuple(dict.fromkeys(r.source for r in rows)),
    )
