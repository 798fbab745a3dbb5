"""The native libraries a .NET program such as Calamari needs on Linux, besides
glibc and ICU (ICU is :mod:`octolint.knowledge.icu`).

Source: Microsoft's list of .NET's Linux dependencies,
https://learn.microsoft.com/dotnet/core/install/linux-scripted-manual#dependencies
(per distribution: https://github.com/dotnet/core/blob/main/release-notes/8.0/linux-packages.md).
The OpenSSL sonames are those .NET's crypto shim tries to load
(dotnet/runtime, src/native/libs/System.Security.Cryptography.Native/opensslshim.c):
any one of them will do. Used by OCT205 (is each one reachable?), OCT290 and the
``--probe`` (can the image's loader load it?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NativeLibrary:
    """A library .NET loads, by any one of its sonames."""

    name: str  # what people call it: "zlib", "OpenSSL"
    sonames: tuple[str, ...]  # any one of them will do, the preferred first

    @property
    def label(self) -> str:
        """How findings name it: its soname when it has one, else its name."""
        return self.sonames[0] if len(self.sonames) == 1 else self.name

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches exactly its sonames (a whole name)."""
        return re.compile("^(?:" + "|".join(map(re.escape, self.sonames)) + ")$")


LIBSTDCXX = NativeLibrary("libstdc++", ("libstdc++.so.6",))
LIBGCC_S = NativeLibrary("libgcc_s", ("libgcc_s.so.1",))
ZLIB = NativeLibrary("zlib", ("libz.so.1",))
OPENSSL = NativeLibrary("OpenSSL", ("libssl.so.3", "libssl.so.1.1", "libssl.so.1.0.2",
                                     "libssl.so.1.0.0", "libssl.so.10"))  # fmt: skip
REQUIRED = (LIBSTDCXX, LIBGCC_S, ZLIB, OPENSSL)  # Calamari does not start without each one
# What ``--probe`` asks the image's loader to load besides ICU, in the order OCT290
# reports disagreements.
PROBED = (OPENSSL, LIBSTDCXX, LIBGCC_S, ZLIB)

# Only Kerberos (GSSAPI) authentication needs it: a missing one is a note, not an error.
KERBEROS = "libgssapi_krb5.so.2"

# The package that provides each library, by distribution family (the image's
# os-release ID or ID_LIKE), keyed by NativeLibrary.label (and KERBEROS).
# Source: the per-distribution lists in linux-packages.md above (Alpine's and
# openSUSE's also in https://learn.microsoft.com/dotnet/core/install/linux-alpine
# and .../linux-sles), checked against pkgs.alpinelinux.org and packages.debian.org.
_DEBIAN = {LIBSTDCXX.label: "libstdc++6", LIBGCC_S.label: "libgcc-s1", ZLIB.label: "zlib1g",
           OPENSSL.label: "libssl3", KERBEROS: "libgssapi-krb5-2"}  # fmt: skip
_FEDORA = {LIBSTDCXX.label: "libstdc++", LIBGCC_S.label: "libgcc", ZLIB.label: "zlib",
           OPENSSL.label: "openssl-libs", KERBEROS: "krb5-libs"}  # fmt: skip
_OPENSUSE = {LIBSTDCXX.label: "libstdc++6", LIBGCC_S.label: "libgcc_s1", ZLIB.label: "libz1",
             OPENSSL.label: "libopenssl3", KERBEROS: "krb5"}  # fmt: skip
_ALPINE = {LIBSTDCXX.label: "libstdc++", LIBGCC_S.label: "libgcc", ZLIB.label: "zlib",
           OPENSSL.label: "libssl3", KERBEROS: "krb5-libs"}  # fmt: skip
PACKAGES: dict[str, dict[str, str]] = {
    "debian": _DEBIAN, "ubuntu": _DEBIAN,
    "fedora": _FEDORA, "rhel": _FEDORA, "centos": _FEDORA,
    "opensuse": _OPENSUSE, "suse": _OPENSUSE,
    "alpine": _ALPINE,
}  # fmt: skip

# The Dockerfile command that installs packages, by distribution family: each
# distribution's documented non-interactive form (apt-get(8), dnf(8), apk(8),
# zypper(8)); ``microdnf`` on UBI minimal takes the same arguments as dnf here.
_APT = "apt-get update && apt-get install -y --no-install-recommends"
INSTALL: dict[str, str] = {
    "debian": _APT, "ubuntu": _APT,
    "fedora": "dnf install -y", "rhel": "dnf install -y", "centos": "yum install -y",
    "opensuse": "zypper --non-interactive install", "suse": "zypper --non-interactive install",
    "alpine": "apk add --no-cache",
}  # fmt: skip


def install_step(family: str, packages: list[str]) -> str | None:
    """``RUN <install command> <packages>`` for the family, None when it is unknown."""
    command = INSTALL.get(family)
    if command is None or not packages:
        return None
    return f"RUN {command} {' '.join(dict.fromkeys(packages))}"
