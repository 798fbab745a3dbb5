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
from octolint.knowledge import icu
from octolint.knowledge.base_images import SLIM_WITHOUT_ICU, WITHOUT_ICU
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
    f"ENV {icu.INVARIANT_ENV}=1; `octolint image` checks the built image."
)
SARIF_SCORE = SarifScore("7.0", "medium")  # ICU probably missing: Calamari would not start
OPTIONS = {
    "bases-without-icu": list_of(str, default=[]),
    "icu-packages": list_of(str, default=[]),
}

_INSTALLERS = {
    "apt-get": ("install",), "apt": ("install",), "aptitude": ("install",),
    "yum": ("install",), "dnf": ("install",), "microdnf": ("install",), "tdnf": ("install",),
    "zypper": ("install", "in"), "apk": ("add",),
}  # fmt: skip


def install_hint(name: str, tag: str | None) -> str:
    """The exact install command for this base image, where octolint knows it."""
    distro = name.rsplit("/", 1)[-1]
    release = (tag or "").split("-")[0]
    if distro in icu.PACKAGE_BY_RELEASE:
        package = icu.PACKAGE_BY_RELEASE[distro].get(release, "libicu-dev")
        return f"RUN apt-get update && apt-get install -y --no-install-recommends {package}"
    if distro in SLIM_WITHOUT_ICU:
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


def _known_without_icu(name: str, tag: str | None, extra: list[str]) -> bool:
    if _matches(name, (*WITHOUT_ICU, *extra)):
        return True
    return name in SLIM_WITHOUT_ICU and "slim" in (tag or "")


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    build = target.build
    found = build.base_image()
    if found is None:
        return
    stage, ref = found
    if not _known_without_icu(ref.short_name, ref.tag, list(options["bases-without-icu"])):
        return
    wanted = (*icu.PACKAGES, *options["icu-packages"])
    if any(_matches(p, wanted) for p in installed_packages(build)) or icu.invariant(build.env()):
        return
    yield problem_at(
        stage.from_instruction,
        f"the final image is based on {ref}, which ships without ICU, and nothing installs "
        "it: Calamari would fail with \"Couldn't find a valid ICU package installed on the "
        'system"',
        build.final,
        hint=f"Add `{install_hint(ref.short_name, ref.tag)}`, or set "
        f"ENV {icu.INVARIANT_ENV}=1.",
    )
