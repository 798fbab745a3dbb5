"""OCT205 image-dotnet-deps: a .NET native dependency is missing from the image.

A .NET self-contained program such as Calamari needs, besides glibc and ICU:
`libstdc++.so.6`, `libgcc_s.so.1`, `libz.so.1` and an OpenSSL (`libssl.so.3`,
`.1.1`, `.1.0.2`, `.1.0.0` or `.10`). Each is looked up as the dynamic loader
would. The message lists everything missing and the packages that provide it
on the image's distribution. A missing `libgssapi_krb5.so.2` is reported as a
note: only Kerberos authentication needs it.

Fails: an image built from

```dockerfile
FROM debian:bookworm-slim
RUN apt-get purge -y --allow-remove-essential zlib1g
```

Passes: an image built from

```dockerfile
FROM mcr.microsoft.com/dotnet/runtime-deps:8.0
```

How to fix: install the packages the message names.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import ImageTarget, Options, Problem, SarifScore, Severity, problem_at

ID = "OCT205"
NAME = "image-dotnet-deps"
SEVERITY = "error"
APPLIES_TO = "image"
SUMMARY = "A .NET native dependency (libstdc++, libgcc_s, zlib, OpenSSL) is missing."
HINT = "Install the packages named in the message."
SARIF_SCORE = SarifScore("8.0", "very-high")

REQUIRED = {
    "libstdc++.so.6": ("libstdc++.so.6",),
    "libgcc_s.so.1": ("libgcc_s.so.1",),
    "libz.so.1": ("libz.so.1",),
    "OpenSSL": ("libssl.so.3", "libssl.so.1.1", "libssl.so.1.0.2", "libssl.so.1.0.0",
                "libssl.so.10"),
}  # fmt: skip
KERBEROS = "libgssapi_krb5.so.2"

# family -> library -> package
PACKAGES = {
    "debian": {"libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1",
               "libz.so.1": "zlib1g", "OpenSSL": "libssl3", KERBEROS: "libgssapi-krb5-2"},
    "ubuntu": {"libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1",
               "libz.so.1": "zlib1g", "OpenSSL": "libssl3", KERBEROS: "libgssapi-krb5-2"},
    "fedora": {"libstdc++.so.6": "libstdc++", "libgcc_s.so.1": "libgcc",
               "libz.so.1": "zlib", "OpenSSL": "openssl-libs", KERBEROS: "krb5-libs"},
    "opensuse": {"libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc_s1",
                 "libz.so.1": "libz1", "OpenSSL": "libopenssl3", KERBEROS: "krb5"},
}  # fmt: skip
PACKAGES["rhel"] = PACKAGES["centos"] = PACKAGES["fedora"]
PACKAGES["suse"] = PACKAGES["opensuse"]


def _package_note(target: ImageTarget, missing: list[str]) -> str:
    names = PACKAGES.get(target.distro_family)
    if not names:
        return ""
    return (
        f" (on {target.distro or target.distro_family}: install "
        + ", ".join(names[m] for m in missing if m in names)
        + ")"
    )


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    if target.fs is None or target.os != "linux" or target.loader() is None:
        return  # no loader at all is OCT203's finding
    missing = [
        label for label, sonames in REQUIRED.items()
        if not any(target.library(s) for s in sonames)
    ]  # fmt: skip
    if missing:
        yield problem_at(
            target.at("FROM"),
            "the dynamic loader cannot find "
            + ", ".join(missing)
            + ": Calamari would not start"
            + _package_note(target, missing),
        )
    if target.library(KERBEROS) is None:
        yield problem_at(
            target.at("FROM"),
            f"{KERBEROS} is not reachable: only steps that use Kerberos "
            "authentication need it" + _package_note(target, [KERBEROS]),
            severity=Severity.NOTE,
        )
