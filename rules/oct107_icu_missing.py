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
  CBL-Mariner base images, the `-slim` tags of `python`, `node`, `ruby` and
  the other official language images;
- no package install (`apt-get`/`apt`/`yum`/`dnf`/`microdnf`/`tdnf`/`zypper`/`apk`,
  or a package file given to `dpkg -i`, `rpm -i` or `apt-get install ./x.deb`;
  `$PACKAGES` is expanded where its `ARG` or `ENV` value is known; inside
  `if ...; then`, `for ...; do` too, and after options such as `-o X=Y`)
  in the final stage or the stages it is built `FROM` names a package known to
  provide ICU: an ICU package (`libicu*`, `icu`, `icu-libs`, `libicu-dev`),
  one that depends on it (`powershell`, `dotnet-sdk-*`, `dotnet-runtime-*`,
  `aspnetcore-runtime-*`, `dotnet-runtime-deps-*`), or, on Debian and Ubuntu,
  one that pulls it in through libxml2 (`libxml2`, `libxslt1.1`, `rpm`,
  `libarchive-tools`, `cmake`, `software-properties-common`, `postgresql`...;
  the list and its sources are in `octolint/knowledge/icu.py`), and no `RUN`
  starts a well-known script that installs ICU (the dev containers'
  `common-debian.sh`);
- `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT` is not set to `1` or `true`.

Bases that already carry ICU (`mcr.microsoft.com/dotnet/runtime-deps|runtime|aspnet|sdk`,
`octopusdeploy/worker-tools`, `mcr.microsoft.com/powershell`, the
buildpack-deps based `node`, `python`, `ruby`, `rust` tags, `nginx`, the dev
container images), musl or shell-less bases (OCT103 and OCT109 say what is
wrong with those) and images octolint knows nothing about do not trigger it.
A Dockerfile cannot show everything (a script might download ICU): `octolint image` looks for
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

Passes:

```dockerfile
# software-properties-common depends on libxml2, which depends on libicu
FROM ubuntu:20.04
RUN apt-get update && apt-get install -y --no-install-recommends software-properties-common
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
import re
from collections.abc import Iterator

from octolint.dockerfile.expand import expand_or_raw
from octolint.dockerfile.shell import commands, program, run_script
from octolint.knowledge import icu
from octolint.knowledge.base_images import SLIM_WITHOUT_ICU, WITHOUT_ICU, facts
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
# Installers of package files, by the option that installs, and the family whose
# dependency facts apply to what they install.
_FILE_INSTALLERS = {"dpkg": {"-i", "--install"}, "rpm": {"-i", "-U", "-ivh", "-Uvh"}}
_FAMILY = {"dpkg": "apt-get", "rpm": "rpm"}


def install_hint(name: str, tag: str | None) -> str:
    """The exact install command for this base image, where octolint knows it."""
    distro = name.rsplit("/", 1)[-1]
    release = (tag or "").split("-")[0]
    if distro in icu.PACKAGE_BY_RELEASE:
        package = icu.PACKAGE_BY_RELEASE[distro].get(release, "libicu-dev")
        return f"RUN apt-get update && apt-get install -y --no-install-recommends {package}"
    if distro in SLIM_WITHOUT_ICU or facts(name, tag).icu is False:
        # a Debian-based image (python:3.12-slim-bookworm): its codename may be in the tag
        words = re.split(r"[-_.]", (tag or "").lower())
        releases = icu.PACKAGE_BY_RELEASE["debian"] | icu.PACKAGE_BY_RELEASE["ubuntu"]
        package = next((releases[w] for w in words if w in releases and not w.isdigit()),
                       "libicu-dev")  # fmt: skip
        return f"RUN apt-get update && apt-get install -y --no-install-recommends {package}"
    return f"RUN {_rpm_installer(name, tag)} install -y libicu"


def _rpm_installer(name: str, tag: str | None) -> str:
    """The package manager the image has: yum before RHEL 8 (CentOS 7, Oracle Linux 7,
    Amazon Linux 2), microdnf in the minimal and slim images, dnf after."""
    tag = (tag or "").lower()
    major = re.match(r"\d+", tag)
    if "opensuse" in name or "sles" in name:
        return "zypper"
    if "amazonlinux" in name and major is not None and major.group() in ("1", "2"):
        return "yum"
    if re.search(r"centos|oraclelinux|rhel|ubi7", name) and major and int(major.group()) <= 7:
        return "yum"  # oraclelinux:7-slim too
    if "minimal" in name or "minimal" in tag or "slim" in tag:
        return "microdnf"
    if "mariner" in name or "azurelinux" in name:
        return "tdnf"
    return "dnf"


def _matches(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def installed_packages(build: Build) -> Iterator[tuple[str, str]]:
    """(installer, package name) for each package given to a package manager's install
    command in the final lineage. Operands that are ARG or ENV references
    (`apt-get install -y $PACKAGES`) are expanded where their value is known."""
    known = {k: v for k, v in build.variables().items() if v is not None}
    for _stage, instruction in build.final_instructions():
        if instruction.name != "RUN":
            continue
        for words in commands(run_script(instruction)):
            installer = program(words[0])
            operands = [o for w in words[1:] if not w.startswith("-")
                        for o in _expanded(w, known)]  # fmt: skip
            if installer in _FILE_INSTALLERS and set(words[1:]) & _FILE_INSTALLERS[installer]:
                # dpkg -i libicu63_63.2-3_amd64.deb, rpm -i powershell-7.4.1-1.rh.x86_64.rpm
                yield from ((_FAMILY[installer], _package_of(w)) for w in operands)
                continue
            subcommands = _INSTALLERS.get(installer)
            # the first operand that is the subcommand: options before it may take a
            # value of their own (apt-get -o Acquire::Retries=3 install ...)
            start = next((i for i, w in enumerate(operands) if w in (subcommands or ())), -1)
            if start >= 0:
                yield from ((installer, _package_of(w)) for w in operands[start + 1 :])


def _expanded(word: str, known: dict[str, str]) -> list[str]:
    """A command word with its known variables expanded, split as the shell would."""
    return expand_or_raw(word, known).split() if "$" in word else [word]


def _package_of(word: str) -> str:
    """The package name an install operand names: "powershell=7.4.*" pins a version,
    "./pkgs/libicu63_63.2-3_amd64.deb" is a package file (name before the first '_')."""
    name = word.split("=", 1)[0].lower()
    if name.endswith((".deb", ".rpm")):
        name = name.rsplit("/", 1)[-1].split("_", 1)[0]
    return name


def provides_icu(installer: str, package: str, extra: list[str]) -> bool:
    """Whether installing this package is known to put ICU in the image."""
    if _matches(package, (*icu.PACKAGES, *extra)):
        return True
    return installer in icu.DEBIAN_INSTALLERS and _matches(package, icu.DEBIAN_INDIRECT)


def _runs_icu_script(build: Build) -> bool:
    """Whether a RUN starts a well-known script that installs ICU (common-debian.sh)."""
    return any(
        icu.SCRIPTS.search(word)
        for _stage, instruction in build.final_instructions()
        if instruction.name == "RUN"
        for words in commands(run_script(instruction))
        for word in words[:2]  # the script, or bash's argument
    )


def _known_without_icu(name: str, tag: str | None, extra: list[str]) -> bool:
    known = facts(name, tag)
    if known.libc in ("musl", "windows") or known.shell is False:
        return False  # OCT103/OCT109 say what is wrong; Windows has ICU built in
    if _matches(name, (*WITHOUT_ICU, *extra)):
        return True
    return (name in SLIM_WITHOUT_ICU and "slim" in (tag or "")) or known.icu is False


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    build = target.build
    found = build.base_image()
    if found is None:
        return
    stage, ref = found
    if not _known_without_icu(ref.short_name, ref.tag, list(options["bases-without-icu"])):
        return
    extra = list(options["icu-packages"])
    if any(provides_icu(i, p, extra) for i, p in installed_packages(build)):
        return
    if _runs_icu_script(build):
        return
    if icu.invariant(build.env()):
        return
    yield problem_at(
        stage.from_instruction,
        f"the final image is based on {ref}, which ships without ICU, and no package known "
        "to provide ICU was seen installed: Calamari would fail with \"Couldn't find a valid "
        'ICU package installed on the system"',
        build.final,
        hint=_hint(ref.short_name, ref.tag),
    )


def _hint(name: str, tag: str | None) -> str:
    invariant = f"ENV {icu.INVARIANT_ENV}=1"
    if "micro" in name.rsplit("/", 1)[-1]:  # ubi-micro: no package manager at all
        return (f"{name} has no package manager: build FROM its -minimal sibling and add "
                f"`RUN microdnf install -y libicu`, or set {invariant}.")  # fmt: skip
    return f"Add `{install_hint(name, tag)}`, or set {invariant}."
