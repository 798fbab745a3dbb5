"""ICU, the Unicode library .NET needs for globalization on Linux.

Sources:

- .NET looks for ``libicuuc.so.N`` from the highest N it supports down to 50
  (dotnet/runtime, src/native/libs/System.Globalization.Native/pal_icushim.c,
  ``MinICUVersion``); https://learn.microsoft.com/dotnet/core/extensions/globalization-icu.
- Invariant mode needs no ICU: ``DOTNET_SYSTEM_GLOBALIZATION_INVARIANT`` set to
  ``true`` or ``1``,
  https://learn.microsoft.com/dotnet/core/runtime-config/globalization#invariant-mode.
- Package names: the distributions' package indexes (packages.debian.org,
  packages.ubuntu.com, the Fedora/RHEL repositories, pkgs.alpinelinux.org,
  software.opensuse.org) and Microsoft's per-distribution dependency lists,
  https://github.com/dotnet/core/blob/main/release-notes/8.0/linux-packages.md.

Used by OCT107 (the Dockerfile), OCT204 (the image), OCT290 and the ``--probe``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MIN_VERSION = 50
SONAME = re.compile(r"^libicuuc\.so\.(\d+)$")  # any version; see version()
# The sonames the --probe asks the image's loader about: every usable major up to 99.
PROBED_SONAMES = tuple(f"libicuuc.so.{n}" for n in range(MIN_VERSION, 100))

INVARIANT_ENV = "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"
I18N_PREFIX = "libicui18n.so."  # .NET needs it too, of the same major version


def version(soname: str) -> int | None:
    """The ICU major version of a ``libicuuc.so.N`` .NET would load, else None."""
    match = SONAME.match(soname)
    if match and int(match.group(1)) >= MIN_VERSION:
        return int(match.group(1))
    return None


def invariant(env: Mapping[str, str | None]) -> bool:
    """Whether this environment switches invariant globalization on (no ICU needed)."""
    # AppContextConfigHelper.GetBooleanConfig: "1", or "true" in any case; no trimming
    value = env.get(INVARIANT_ENV) or ""
    return value == "1" or value.lower() == "true"


# Packages that install ICU, or pull it in on every distribution (PowerShell and .NET
# depend on it: https://learn.microsoft.com/powershell/scripting/install/install-debian,
# https://github.com/dotnet/core/blob/main/release-notes/8.0/linux-packages.md);
# glob patterns over package names.
PACKAGES = (
    "libicu*", "icu", "icu-libs", "libicu-dev", "icu-devtools", "powershell*", "dotnet-sdk-*",
    "dotnet-runtime-*", "aspnetcore-runtime-*", "dotnet-runtime-deps-*", "dotnet[0-9]*",
)  # fmt: skip

# Packages that pull ICU in through their dependencies on Debian and Ubuntu (apt
# installs dependencies, --no-install-recommends included): libxml2 depends on
# libicuNN, and these depend on libxml2 (directly or through libarchive13, libxslt1.1,
# appstream). Source: each package's "Depends" on packages.debian.org and
# packages.ubuntu.com (bullseye/bookworm, focal/jammy/noble), e.g.
# https://packages.debian.org/bookworm/libxml2 and
# https://packages.ubuntu.com/jammy/software-properties-common. PostgreSQL is built
# with ICU (https://packages.debian.org/bookworm/postgresql-15).
DEBIAN_INDIRECT = (
    "libxml2", "libxml2-dev", "libxml2-utils", "libxslt1.1", "libxslt1-dev", "xsltproc",
    "libarchive13", "libarchive-dev", "libarchive-tools", "bsdtar", "cmake", "rpm",
    "software-properties-common", "python3-software-properties", "appstream",
    "python3-lxml", "php*-xml", "postgresql", "postgresql-[0-9]*",
)  # fmt: skip
# Well-known install scripts that install ICU themselves: the VS Code dev containers'
# common-debian.sh installs libicu[0-9][0-9] with the other .NET dependencies
# (https://github.com/microsoft/vscode-dev-containers/blob/main/script-library/common-debian.sh).
SCRIPTS = re.compile(r"(?:^|/)common-debian\.sh\b")
DEBIAN_INSTALLERS = frozenset({"apt-get", "apt", "aptitude"})

# The ICU package of each release (by version and code name), so a hint can name it.
PACKAGE_BY_RELEASE = {
    "debian": {"10": "libicu63", "buster": "libicu63", "11": "libicu67", "bullseye": "libicu67",
               "12": "libicu72", "bookworm": "libicu72", "13": "libicu76", "trixie": "libicu76"},
    "ubuntu": {"18.04": "libicu60", "bionic": "libicu60", "20.04": "libicu66", "focal": "libicu66",
               "22.04": "libicu70", "jammy": "libicu70", "24.04": "libicu74", "noble": "libicu74"},
}  # fmt: skip

# The ICU package of distributions whose package name does not carry the version.
PACKAGE_BY_FAMILY = {"fedora": "libicu", "rhel": "libicu", "centos": "libicu",
                     "alpine": "icu-libs", "opensuse": "libicu", "suse": "libicu"}  # fmt: skip


def package(family: str, os_release: Mapping[str, str]) -> str | None:
    """The ICU package to install on this distribution (os-release values), or None
    when its release is not one we know the package of."""
    if family in PACKAGE_BY_FAMILY:
        return PACKAGE_BY_FAMILY[family]
    releases = PACKAGE_BY_RELEASE.get(family, {})
    for key in ("VERSION_ID", "VERSION_CODENAME", "UBUNTU_CODENAME"):
        found = releases.get(os_release.get(key, "").lower())
        if found:
            return found
    return None
