"""OCT107 icu-missing: ICU is probably missing from the final image.

Calamari is a .NET program, and .NET needs the ICU library (libicu) for
globalization unless invariant mode is switched on. Without it every
Octopus step in the container dies with "Couldn't find a valid ICU package
installed on the system" — the failure Octopus's documentation names as the
most common one for custom images.

The rule fires when all of these hold:

- the final stage's base image is a glibc distribution image known to ship
  without ICU: `debian`, `ubuntu` (and their `-slim` variants, also under
  `amd64/`, `arm64v8/` and `ubuntu.azurecr.io/`), `fedora`, `rockylinux`,
  `almalinux`, `centos`, `oraclelinux`, `amazonlinux`, `opensuse/leap`,
  Red Hat UBI (`ubi8`, `ubi9`, their `-minimal` variants), Azure Linux and
  CBL-Mariner base images, `python:*-slim`;
- no package install (`apt-get`/`apt`/`yum`/`dnf`/`microdnf`/`tdnf`/`zypper`/`apk`)
  in the final stage or the stages it is built `FROM` names an ICU package
  (`libicu*`, `icu`, `icu-libs`, `libicu-dev`) or one that pulls ICU in
  (`powershell`, `dotnet-sdk-*`, `dotnet-runtime-*`, `aspnetcore-runtime-*`,
  `dotnet-runtime-deps-*`);
- `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT` is not set to `1` or `true`.

Bases that already carry the .NET dependencies
(`mcr.microsoft.com/dotnet/runtime-deps|runtime|aspnet|sdk`,
`octopusdeploy/worker-tools`, `mcr.microsoft.com/powershell`) and images
octolint knows nothing about do not trigger it. A Dockerfile cannot show
everything (a script might download ICU): `octolint image` looks for
`libicuuc.so` in the built image and gives the definitive answer (OCT204).

Fails:

```dockerfile
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates
```

Passes:

```dockerfile
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libicu72 curl
```

How to fix: install your distribution's ICU package (`libicu72` on Debian 12,
`libicu70` on Ubuntu 22.04, `libicu74` on Ubuntu 24.04, `libicu` on
Fedora/UBI), or set `ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1` if your
steps need no culture-specific behaviour.

Options:

- `bases-without-icu`: extra image names (glob patterns) known to lack ICU.
- `icu-packages`: extra package names (glob patterns) that provide ICU.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from octolint.dockerfile.shell import commands, program, run_script
from octolint.plugin import (
    Build,
    DockerfileTarget,
    Options,
    Problem,
    SarifScore,
    list_of,
    problem_at,
)

ID = "OCT107"
NAME = "icu-missing"
SEVERITY = "warning"
APPLIES_TO = "dockerfile"
SUMMARY = "The final image is probably missing ICU (libicu), which Calamari needs."
HINT = (
    "Install ICU (e.g. apt-get install libicu72) or set "
    "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; `octolint image` checks the built image."
)
SARIF_SCORE = SarifScore("7.0", "medium")  # ICU probably missing: Calamari would not start
OPTIONS = {
    "bases-without-icu": list_of(str, default=[]),
    "icu-packages": list_of(str, default=[]),
}

# Official images only: someone's "ghcr.io/acme/ubuntu" may well carry ICU.
_DISTROS = ("debian", "ubuntu", "fedora", "rockylinux", "almalinux", "centos",
            "oraclelinux", "amazonlinux")  # fmt: skip
_MIRRORS = ("", "amd64/", "arm64v8/", "arm32v7/", "i386/", "ppc64le/", "s390x/",
            "public.ecr.aws/docker/library/", "mirror.gcr.io/library/")  # fmt: skip
BASES_WITHOUT_ICU = (
    *(mirror + distro for mirror in _MIRRORS for distro in _DISTROS),
    "ubuntu.azurecr.io/ubuntu", "public.ecr.aws/ubuntu/ubuntu",
    "public.ecr.aws/amazonlinux/amazonlinux",
    "registry.fedoraproject.org/fedora", "quay.io/fedora/fedora", "rockylinux/rockylinux",
    "quay.io/centos/centos", "opensuse/leap", "opensuse/tumbleweed",
    "registry.access.redhat.com/ubi[89]*", "registry.access.redhat.com/ubi10*",
    "redhat/ubi[89]*", "redhat/ubi10*",
    "mcr.microsoft.com/azurelinux/base/core", "mcr.microsoft.com/cbl-mariner/base/core",
)  # fmt: skip
SLIM_BASES_WITHOUT_ICU = ("python",)  # only their -slim tags
ICU_PACKAGES = (
    "libicu*", "icu", "icu-libs", "libicu-dev", "powershell*", "dotnet-sdk-*",
    "dotnet-runtime-*", "aspnetcore-runtime-*", "dotnet-runtime-deps-*", "dotnet[0-9]*",
)  # fmt: skip
_INSTALLERS = {
    "apt-get": ("install",), "apt": ("install",), "aptitude": ("install",),
    "yum": ("install",), "dnf": ("install",), "microdnf": ("install",), "tdnf": ("install",),
    "zypper": ("install", "in"), "apk": ("add",),
}  # fmt: skip


# The ICU package of each release, so the hint can name the exact one.
_ICU_BY_RELEASE = {
    "debian": {"10": "libicu63", "buster": "libicu63", "11": "libicu67", "bullseye": "libicu67",
               "12": "libicu72", "bookworm": "libicu72", "13": "libicu76", "trixie": "libicu76"},
    "ubuntu": {"18.04": "libicu60", "bionic": "libicu60", "20.04": "libicu66", "focal": "libicu66",
               "22.04": "libicu70", "jammy": "libicu70", "24.04": "libicu74", "noble": "libicu74"},
}  # fmt: skip


def install_hint(name: str, tag: str | None) -> str:
    """The exact install command for this base image, where octolint knows it."""
    distro = name.rsplit("/", 1)[-1]
    release = (tag or "").split("-")[0]
    if distro in _ICU_BY_RELEASE:
        package = _ICU_BY_RELEASE[distro].get(release, "libicu-dev")
        return f"RUN apt-get update && apt-get install -y --no-install-recommends {package}"
    if distro in ("python",):
        return "RUN apt-get update && apt-get install -y --no-install-recommends libicu-dev"
    return f"RUN {_rpm_installer(name)} install -y libicu"


def _rpm_installer(name: str) -> str:
    if "opensuse" in name:
        return "zypper"
    if "minimal" in name:
        return "microdnf"
    return "tdnf" if "mariner" in name or "azurelinux" in name else "dnf"


def _matches(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def installed_packages(build: Build) -> Iterator[str]:
    """Package names given to a package manager's install command in the final lineage."""
    for _stage, instruction in build.final_instructions():
        if instruction.name != "RUN":
            continue
        for words in commands(run_script(instruction)):
            subcommands = _INSTALLERS.get(program(words[0]))
            if not subcommands:
                continue
            operands = [w for w in words[1:] if not w.startswith("-")]
            if operands and operands[0] in subcommands:
                # "powershell=7.4.*" pins a version: the name is before '='
                yield from (w.split("=", 1)[0].lower() for w in operands[1:])


def _invariant(build: Build) -> bool:
    value = build.env().get("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT") or ""
    return value.strip().lower() in ("1", "true")


def _known_without_icu(name: str, tag: str | None, extra: list[str]) -> bool:
    if _matches(name, (*BASES_WITHOUT_ICU, *extra)):
        return True
    return name in SLIM_BASES_WITHOUT_ICU and "slim" in (tag or "")


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    build = target.build
    found = build.base_image()
    if found is None:
        return
    stage, ref = found
    if not _known_without_icu(ref.short_name, ref.tag, list(options["bases-without-icu"])):
        return
    wanted = (*ICU_PACKAGES, *options["icu-packages"])
    if any(_matches(p, wanted) for p in installed_packages(build)) or _invariant(build):
        return
    yield problem_at(
        stage.from_instruction,
        f"the final image is based on {ref}, which ships without ICU, and nothing installs "
        "it: Calamari would fail with \"Couldn't find a valid ICU package installed on the "
        'system"',
        build.final,
        hint=f"Add `{install_hint(ref.short_name, ref.tag)}`, or set "
        "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1.",
    )
